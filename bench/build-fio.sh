#!/bin/sh
# Build a static fio for the Linux guest from Debian's own fio source
# package, fetched with apt-get source through the machine's configured
# package sources (a deb-src entry is derived from each deb entry, in a
# private apt state, so the machine's apt setup is left as it is; apt checks
# the download against the signed Release and Sources files).
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

die() {
	echo "build-fio: $*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: $0 OUTPUT_BINARY"
mkdir -p "$(dirname "$1")"
out=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
command -v apt-get >/dev/null || die "apt-get missing: this builds from Debian's fio source"

work=$(mktemp -d "${TMPDIR:-/tmp}/build-fio.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/apt/parts" "$work/apt/lists/partial" "$work/src"

# deb-src twins of the machine's deb sources: one-line and deb822 forms.
if [ -f /etc/apt/sources.list ]; then
	sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' /etc/apt/sources.list >"$work/apt/list"
else
	: >"$work/apt/list"
fi
for f in /etc/apt/sources.list.d/*.list; do
	[ -f "$f" ] && sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >>"$work/apt/list"
done
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] && sed 's/^Types:.*/Types: deb-src/' "$f" >"$work/apt/parts/$(basename "$f")"
done
apt_opts="-o Dir::Etc::SourceList=$work/apt/list -o Dir::Etc::SourceParts=$work/apt/parts
	-o Dir::State::Lists=$work/apt/lists -o Dir::Cache=$work/apt/cache
	-o APT::Sandbox::User=root -q"
# shellcheck disable=SC2086 # apt_opts is a list of words
apt-get $apt_opts update >"$work/apt.log" 2>&1 ||
	{ tail -20 "$work/apt.log" >&2; die "apt-get update of the deb-src sources failed"; }
# shellcheck disable=SC2086
(cd "$work/src" && apt-get $apt_opts source --download-only fio) >>"$work/apt.log" 2>&1 ||
	{ tail -20 "$work/apt.log" >&2; die "apt-get source fio failed"; }
set -- "$work"/src/fio_*.orig.tar.*
[ -f "$1" ] || die "apt-get source fio brought no orig tarball"
tar -xf "$1" -C "$work"
set -- "$work"/fio-*/configure
[ -f "$1" ] || die "the fio source has no configure"
cd "$(dirname "$1")"
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
