#!/bin/sh
# Stage what the Linux guest needs for the benchmarks, to be copied over the
# bench root disk (guest/mkrootfs.sh's EXTRA_DIR): a static fio
# (bench/build-fio.sh), iperf3 from the host's Debian package with every
# shared library it loads (the guest has no package manager), and the guest
# side of the benchmark as /bench/run.sh.
#
#   bench/mkbenchtree.sh OUTPUT_DIR FIO_BINARY
set -eu

die() {
	echo "mkbenchtree: $*" >&2
	exit 1
}

[ $# -eq 2 ] || die "usage: $0 OUTPUT_DIR FIO_BINARY"
out=$1
fio=$2
here=$(dirname "$0")

rm -rf "$out"
[ -x "$fio" ] || die "$fio: no such program (bench/build-fio.sh makes it)"
iperf3=$(command -v iperf3) || die "iperf3 missing: apt-get install iperf3"
mkdir -p "$out/usr/bin" "$out/bench"
cp "$fio" "$out/usr/bin/fio"
cp -L "$iperf3" "$out/usr/bin/iperf3"
# Each library at the path the host's loader found it, which the guest's
# loader searches too (there is no ld.so.cache in the guest).
ldd "$iperf3" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
	while read -r lib; do
		mkdir -p "$out$(dirname "$lib")"
		cp -L "$lib" "$out$lib"
	done
cp "$here/guest-bench.sh" "$out/bench/run.sh"
chmod 0755 "$out/bench/run.sh"
