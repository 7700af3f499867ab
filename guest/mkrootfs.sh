#!/bin/sh
# Build the test guest's root disk: an ext4 image holding a static busybox
# (every applet as a symlink to /bin/busybox) and the test init as /sbin/init
# and /init, plus empty /dev, /proc, /sys, /tmp and /root.
#
#   guest/mkrootfs.sh OUTPUT_IMAGE INIT_BINARY
#
# The VMM boots it with `--disk OUTPUT_IMAGE` (it adds `root=/dev/vda rw`).
# Needs no root: `mkfs.ext4 -d` copies a staging folder into the image and
# debugfs then sets every inode's owner to root and its times to a fixed
# value, so the same inputs give the same bytes (fixed UUID and hash seed).
#
# Environment: BUSYBOX (default /bin/busybox, from Debian's busybox-static),
# ROOTFS_SIZE (default 16M, a truncate size), SOURCE_DATE_EPOCH (the time of
# every inode and of the file system, default 1: mke2fs ignores 0), EXTRA_DIR
# (a folder whose contents are copied over the image's root, e.g. the
# benchmark tools).
set -eu

die() {
	echo "mkrootfs: $*" >&2
	exit 1
}

[ $# -eq 2 ] || die "usage: $0 OUTPUT_IMAGE INIT_BINARY"
out=$1
init=$2
busybox=${BUSYBOX:-/bin/busybox}
size=${ROOTFS_SIZE:-16M}
epoch=${SOURCE_DATE_EPOCH:-1}
[ "$epoch" -gt 0 ] 2>/dev/null || die "SOURCE_DATE_EPOCH must be a positive number"
# Any fixed values will do; fixed so that rebuilding gives the same image.
uuid=6f1c2e3d-7a4b-4c5d-9e8f-0a1b2c3d4e5f
hash_seed=2d4c6b8a-1f3e-4d5c-8b7a-695847362514

[ -f "$init" ] || die "$init: no such init binary"
[ -x "$busybox" ] || die "$busybox missing: apt-get install busybox-static"
if command -v readelf >/dev/null &&
   readelf -l "$busybox" | grep -q 'program interpreter'; then
	die "$busybox is dynamically linked: apt-get install busybox-static"
fi
for tool in mkfs.ext4 debugfs; do
	command -v $tool >/dev/null || die "$tool missing: apt-get install e2fsprogs"
done

mkdir -p "$(dirname "$out")"
work=$(mktemp -d "${TMPDIR:-/tmp}/mkrootfs.XXXXXX")
trap 'rm -rf "$work" "$out.tmp"' EXIT
staging=$work/root

mkdir -p "$staging/bin" "$staging/sbin" "$staging/usr/bin" "$staging/usr/sbin" \
	"$staging/dev" "$staging/proc" "$staging/sys" "$staging/tmp" "$staging/root"
cp "$busybox" "$staging/bin/busybox"
cp "$init" "$staging/sbin/init"
ln -s sbin/init "$staging/init"
if [ -n "${EXTRA_DIR:-}" ]; then
	[ -d "$EXTRA_DIR" ] || die "$EXTRA_DIR: no such folder"
	cp -a "$EXTRA_DIR/." "$staging/"
fi
# Applets by their usual paths (bin/ls, usr/sbin/chroot, ...), except the
# ones that would replace our init.
applets=$("$busybox" --list-full) || die "$busybox --list-full failed"
for path in $applets; do
	case $path in
	bin/busybox | sbin/init | linuxrc | init) continue ;;
	esac
	# A real program from EXTRA_DIR wins over the applet.
	[ -e "$staging/$path" ] && continue
	mkdir -p "$staging/$(dirname "$path")"
	ln -s /bin/busybox "$staging/$path"
done
find "$staging" -type d -exec chmod 0755 {} +
chmod 1777 "$staging/tmp"
chmod 0700 "$staging/root"
chmod 0755 "$staging/bin/busybox" "$staging/sbin/init"
find "$staging" -exec touch -h -d "@$epoch" {} +

rm -f "$out.tmp"
truncate -s "$size" "$out.tmp"
# No lazy init: the guest kernel would zero the inode tables on first mount.
E2FSPROGS_FAKE_TIME=$epoch mkfs.ext4 -q -F -L vmm-root -U "$uuid" \
	-E "hash_seed=$hash_seed,root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0" \
	-d "$staging" "$out.tmp" ||
	die "mkfs.ext4 failed (is $size big enough?)"

# mke2fs -d copies the staging files' owners and their atime and ctime
# (which touch cannot set): make them root's and $epoch in every inode.
(cd "$staging" && find . -mindepth 1 | LC_ALL=C sort) | sed 's|^\.||' |
	while read -r path; do
		for field in uid gid; do
			echo "set_inode_field $path $field 0"
		done
		for field in atime ctime mtime crtime; do
			echo "set_inode_field $path $field @$epoch"
		done
	done >"$work/debugfs.cmd"
for field in atime ctime mtime crtime; do
	echo "set_inode_field / $field @$epoch"
done >>"$work/debugfs.cmd"
E2FSPROGS_FAKE_TIME=$epoch debugfs -w -f "$work/debugfs.cmd" "$out.tmp" \
	>"$work/debugfs.log" 2>&1 || {
	cat "$work/debugfs.log" >&2
	die "debugfs failed"
}
# debugfs reports errors in its output but exits 0.
if grep -v '^debugfs[: ]' "$work/debugfs.log" | grep -q .; then
	cat "$work/debugfs.log" >&2
	die "debugfs reported errors"
fi
e2fsck -fn "$out.tmp" >/dev/null 2>&1 || die "e2fsck finds the new image inconsistent"
mv "$out.tmp" "$out"
