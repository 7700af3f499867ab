#!/usr/bin/env bash
# kernel-config/build.sh OUTDIR
#
# Builds the vmm test guest kernel (OUTDIR/vmlinux and OUTDIR/bzImage) from
# Debian's linux-source-6.1:
#   1. extract /usr/src/linux-source-6.1.tar.xz into build/linux-6.1-src
#      (fresh, whenever the inputs below change),
#   2. apply patches/*.patch if the kvm_pvm workarounds are enabled,
#   3. make tinyconfig + vmm-guest.config [+ pvm-workarounds.config]
#      + make olddefconfig,
#   4. check that every assignment of the fragments survived in .config,
#   5. make vmlinux bzImage and copy both to OUTDIR.
#
# Environment:
#   GUEST_KERNEL_WORKAROUNDS=auto|1|0  (default auto)  apply
#       pvm-workarounds.config and patches/*.patch: auto = only when this host's
#       /dev/kvm is the kvm_pvm module (/sys/module/kvm_pvm exists).
#
# Inputs are hashed (fragments, patches, this script, workaround mode); when
# OUTDIR already holds vmlinux and bzImage built from the same hash, nothing is
# done.  Build output goes to build/linux-build.log.
#
# Needs: linux-source-6.1, flex, bison, bc, libelf-dev, gcc, make, perl,
# xz-utils, patch (all in the Makefile's DEBIAN_PACKAGES: make deps installs
# them; this script installs nothing).

set -euo pipefail

die() { echo "build.sh: error: $*" >&2; exit 1; }

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
builddir=$root/build
src=$builddir/linux-6.1-src
log=$builddir/linux-build.log
tarball=/usr/src/linux-source-6.1.tar.xz

mkdir -p "$1" "$builddir"
out=$(cd "$1" && pwd)

# Do not let a calling make (make guest-kernel) leak its flags and command-line
# variables into the kernel's own make.
unset MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL GNUMAKEFLAGS

# --- which inputs ------------------------------------------------------------
mode=${GUEST_KERNEL_WORKAROUNDS:-auto}
case $mode in
auto) if [ -d /sys/module/kvm_pvm ]; then wa=1; else wa=0; fi ;;
1 | 0) wa=$mode ;;
*) die "GUEST_KERNEL_WORKAROUNDS must be auto, 1 or 0 (got '$mode')" ;;
esac

frags=("$here/vmm-guest.config")
patches=()
if [ "$wa" = 1 ]; then
	frags+=("$here/pvm-workarounds.config")
	shopt -s nullglob
	patches=("$here"/patches/*.patch)
	shopt -u nullglob
	[ ${#patches[@]} -gt 0 ] || die "no patches in $here/patches"
fi

hash=$({
	echo "workarounds=$wa"
	for f in "${frags[@]}" "${patches[@]}" "$here/build.sh"; do
		echo "== ${f#"$root"/}"
		cat "$f"
	done
} | sha256sum | cut -d' ' -f1)

# One build at a time (parallel test runs may all call make guest-kernel).
exec 9>"$builddir/.linux-build.lock"
flock 9

if [ -f "$out/vmlinux" ] && [ -f "$out/bzImage" ] &&
	[ "$(cat "$out/.kernel-config-hash" 2>/dev/null || true)" = "$hash" ]; then
	echo "guest kernel up to date"
	exit 0
fi

# --- build dependencies ------------------------------------------------------
missing=()
[ -f "$tarball" ] || missing+=(linux-source-6.1)
for t in flex:flex bison:bison bc:bc gcc:gcc make:make perl:perl xz:xz-utils patch:patch; do
	command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
done
[ -f /usr/include/gelf.h ] || missing+=(libelf-dev)
[ ${#missing[@]} -eq 0 ] || die "missing packages: ${missing[*]} (make deps installs them)"

# --- helpers -----------------------------------------------------------------
# run DESCRIPTION CMD...: append output to the log, show its tail on failure.
run() {
	local what=$1
	shift
	echo "== $what" >>"$log"
	if ! "$@" >>"$log" 2>&1; then
		echo "build.sh: $what failed; last lines of ${log#"$root"/}:" >&2
		tail -n 40 "$log" >&2
		exit 1
	fi
}
kmake() { make -C "$src" ARCH=x86_64 "$@"; }

: >"$log"
t0=$SECONDS
echo "guest kernel: building (workarounds $([ "$wa" = 1 ] && echo on || echo off), log: ${log#"$root"/})"

# --- source: pristine extraction + patches -----------------------------------
# The tree is reused only if it was prepared from exactly these inputs (for
# example after a failed build); otherwise start again from the tarball so
# that the patches always apply to pristine source.
if [ "$(cat "$src/.vmm-source-hash" 2>/dev/null || true)" != "$hash" ]; then
	echo "extracting $(basename "$tarball") into ${src#"$root"/}"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	run "extract $tarball" tar -xf "$tarball" -C "$src.tmp" --strip-components=1
	for p in "${patches[@]}"; do
		echo "applying ${p#"$root"/}"
		run "apply $p" patch -d "$src.tmp" -p1 --forward --batch --fuzz=0 \
			--no-backup-if-mismatch -i "$p"
	done
	mv "$src.tmp" "$src"
	echo "$hash" >"$src/.vmm-source-hash"
fi

# --- configuration -----------------------------------------------------------
run "make tinyconfig" kmake tinyconfig
# merge_config.sh leaves temporary files in the current directory.
run "merge fragments" bash -c 'cd "$1" && shift && scripts/kconfig/merge_config.sh -m -O . .config "$@"' \
	_ "$src" "${frags[@]}"
run "make olddefconfig" kmake olddefconfig

# Every assignment of the fragments must be in the final .config: Kconfig
# silently drops options whose dependencies are not met.
cfg=$src/.config
bad=()
checked=0
for f in "${frags[@]}"; do
	while IFS= read -r line; do
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
			name=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set ]]; then
			name=${BASH_REMATCH[1]} want=n
		else
			continue
		fi
		checked=$((checked + 1))
		got=$(grep -m1 "^$name=" "$cfg" | cut -d= -f2- || true)
		if [ "$want" = n ]; then
			[ -z "$got" ] || bad+=("$name: wanted not set, got $got (${f##*/})")
		elif [ "$got" != "$want" ]; then
			bad+=("$name: wanted $want, got ${got:-not set} (${f##*/})")
		fi
	done <"$f"
done
if [ ${#bad[@]} -gt 0 ]; then
	echo "build.sh: Kconfig did not keep these options (unmet dependencies?):" >&2
	printf '  %s\n' "${bad[@]}" >&2
	exit 1
fi
echo "config: all $checked fragment options verified in .config"

# --- build -------------------------------------------------------------------
echo "compiling vmlinux and bzImage with $(nproc) jobs..."
run "make vmlinux bzImage" kmake -j"$(nproc)" vmlinux bzImage

rm -f "$out/.kernel-config-hash"
cp "$src/vmlinux" "$out/vmlinux.tmp" && mv "$out/vmlinux.tmp" "$out/vmlinux"
cp "$src/arch/x86/boot/bzImage" "$out/bzImage.tmp" && mv "$out/bzImage.tmp" "$out/bzImage"
cp "$cfg" "$out/kernel.config"
echo "$hash" >"$out/.kernel-config-hash"
echo "guest kernel built in $((SECONDS - t0)) s: ${out}/vmlinux, ${out}/bzImage"
