#!/bin/sh
# Build a static fio for the Linux guest from Debian 12's fio source (the
# version its fio package is), fetched from the Debian archive and checked
# against a fixed SHA-256.
#
#   bench/build-fio.sh OUTPUT_BINARY
#
# Why not the fio package's binary: it loads 60 shared libraries (Ceph,
# Gluster, RDMA, PMEM, ... 84 MB), which the guest kernel maps and relocates
# very slowly where its code is emulated, and which a 128 MiB guest fails to
# map ("cannot map zero-fill pages"). Built static without any of the
# optional libraries (the benchmark uses the built-in io_uring engine), fio
# starts at once.
set -eu

version=3.33
sha256=d2410e13e0f379d061d077cc5ae325835bb7c6186aa7bafc1df954cbc9b014fc
url=http://deb.debian.org/debian/pool/main/f/fio/fio_$version.orig.tar.gz

die() {
	echo "build-fio: $*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: $0 OUTPUT_BINARY"
mkdir -p "$(dirname "$1")"
out=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
command -v curl >/dev/null || die "curl missing: apt-get install curl"

work=$(mktemp -d "${TMPDIR:-/tmp}/build-fio.XXXXXX")
trap 'rm -rf "$work"' EXIT
curl -fsS -o "$work/fio.tar.gz" "$url" || die "cannot fetch $url"
echo "$sha256  $work/fio.tar.gz" | sha256sum -c --quiet - ||
	die "fio_$version.orig.tar.gz does not have the expected SHA-256"
tar -xzf "$work/fio.tar.gz" -C "$work"
cd "$work/fio-$version"
# Everything optional off: the guest has none of those libraries, and a
# static fio must not want them.
./configure --build-static --disable-native \
	--disable-numa --disable-rdma --disable-rados --disable-rbd --disable-http \
	--disable-gfapi --disable-libnfs --disable-pmem --disable-xnvme --disable-libzbc \
	--disable-tcmalloc --disable-dfs --disable-lex --disable-shm >"$work/configure.log" 2>&1 ||
	{ cat "$work/configure.log" >&2; die "configure failed"; }
# Static glibc warns about getaddrinfo and dlopen, which fio's net and
# external engines use and the benchmark does not.
make -s -j"$(nproc)" fio >"$work/make.log" 2>&1 ||
	{ tail -20 "$work/make.log" >&2; die "make failed"; }
strip fio
cp fio "$out"
