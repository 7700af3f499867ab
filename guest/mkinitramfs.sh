#!/bin/sh
# Pack the test guest's initramfs: the init as /init plus a static busybox.
#
#   guest/mkinitramfs.sh OUTDIR INIT_BINARY
#
# Writes OUTDIR/initramfs.cpio (uncompressed: the emulated guest kernel
# takes ~100 s to gunzip) and OUTDIR/initramfs.cpio.gz. Needs no root:
# GNU cpio stores every file as owned by root. No /dev/console node is
# packed; the kernel's built-in initramfs already has one.
#
# Environment: BUSYBOX (default /bin/busybox, from Debian's busybox-static),
# SOURCE_DATE_EPOCH (mtime of every entry, default 0, for reproducibility).
set -eu

die() {
	echo "mkinitramfs: $*" >&2
	exit 1
}

[ $# -eq 2 ] || die "usage: $0 OUTDIR INIT_BINARY"
outdir=$1
init=$2
busybox=${BUSYBOX:-/bin/busybox}
epoch=${SOURCE_DATE_EPOCH:-0}
applets="sh ls cat mount dmesg poweroff reboot echo"

[ -f "$init" ] || die "$init: no such init binary"
[ -x "$busybox" ] || die "$busybox missing: apt-get install busybox-static"
# Debian's plain busybox package is dynamic and would not run in the guest.
if command -v readelf >/dev/null &&
   readelf -l "$busybox" | grep -q 'program interpreter'; then
	die "$busybox is dynamically linked: apt-get install busybox-static"
fi
command -v cpio >/dev/null || die "cpio missing: apt-get install cpio"

mkdir -p "$outdir"
staging=$(mktemp -d "${TMPDIR:-/tmp}/mkinitramfs.XXXXXX")
trap 'rm -rf "$staging" "$outdir"/initramfs.cpio*.tmp' EXIT

mkdir -p "$staging/bin" "$staging/proc" "$staging/sys" "$staging/dev" \
	"$staging/tmp"
cp "$init" "$staging/init"
cp "$busybox" "$staging/bin/busybox"
for applet in $applets; do
	ln -s busybox "$staging/bin/$applet"
done
# Fixed modes and mtimes so the same inputs give the same bytes.
chmod 0755 "$staging" "$staging/bin" "$staging/proc" "$staging/sys" \
	"$staging/dev" "$staging/init" "$staging/bin/busybox"
chmod 1777 "$staging/tmp"
find "$staging" -exec touch -h -d "@$epoch" {} +

(cd "$staging" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
	cpio -o -H newc --owner=0:0 --reproducible --quiet) \
	>"$outdir/initramfs.cpio.tmp"
gzip -9n <"$outdir/initramfs.cpio.tmp" >"$outdir/initramfs.cpio.gz.tmp"
mv "$outdir/initramfs.cpio.tmp" "$outdir/initramfs.cpio"
mv "$outdir/initramfs.cpio.gz.tmp" "$outdir/initramfs.cpio.gz"
