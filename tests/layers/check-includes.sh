#!/bin/bash
# The layering rules of README's "Layout", checked over the #include lines:
#
#   machine/        the composition root: may include anything; nothing outside it includes it
#   core/           the KVM VM, vCPUs, boot, loaders, CLI; may include devices/
#                   (the CLI calls the devices' option parsers; the VM has the buses)
#   devices/        the device models, their transports and backends: from core/
#                   only the leaf headers below, never the CLI, the VM or the root
#   core leaves     util.h error.h log.h options.h memory.h layout.h fdt.h
#                   console.h files.h: include no device and no other part of core
#
# Within devices/: the virtio device models and the virtio core never know
# their transport (no devices/virtio/ file includes devices/mmio/), the disk
# layer never knows its backends or their chooser (disk.c, disk.h), and no
# two headers include each other, directly or round a longer loop.
#
# Usage: check-includes.sh [DIR]       check the tree at DIR (default: the repo)
#        check-includes.sh --self-test  prove the check fails on a bad include
set -u
here=$(cd "$(dirname "$0")" && pwd)

CORE_LEAVES="core/util.h core/error.h core/log.h core/options.h core/memory.h core/layout.h
	core/fdt.h core/console.h core/files.h core/stats.h core/trace.h core/api.h
	core/json.h"

# "FILE INCLUDED" for every quoted include of our own under DIR.
includes() {
	(cd "$1" && grep -rHo --include='*.c' --include='*.h' '^#include "[^"]*"' core devices machine) |
		sed 's/:#include "\(.*\)"$/ \1/'
}

is_leaf() {
	local f
	for f in $CORE_LEAVES; do
		[ "$1" = "$f" ] && return 0
	done
	return 1
}

# The header a .c file implements (core/log.c -> core/log.h), else the file.
unit_of() {
	case $1 in
	*.c) echo "${1%.c}.h" ;;
	*) echo "$1" ;;
	esac
}

check() {
	local dir=$1 bad=0 file inc
	local edges
	edges=$(includes "$dir") || { echo "layers: cannot read $dir"; return 1; }
	while read -r file inc; do
		[ -n "$file" ] || continue
		case $file:$inc in
		machine/*:machine/*) ;; # the root's own parts (run mode) among themselves
		*:machine/*)
			echo "layers: $file includes $inc: nothing outside machine/ includes the composition root"
			bad=1
			;;
		esac
		case $file in
		devices/*)
			case $inc in
			core/*) is_leaf "$inc" || {
				echo "layers: $file includes $inc: a device may include only core's leaf headers"
				bad=1
			} ;;
			esac
			;;
		esac
		if is_leaf "$(unit_of "$file")"; then
			case $inc in
			devices/* | guest/*)
				echo "layers: $file includes $inc: core's leaves include no device"
				bad=1
				;;
			core/*) is_leaf "$inc" || {
				echo "layers: $file includes $inc: core's leaves include only each other"
				bad=1
			} ;;
			esac
		fi
		case $file:$inc in
		devices/virtio/*:devices/mmio/*)
			echo "layers: $file includes $inc: virtio devices do not know their transport"
			bad=1
			;;
		devices/virtio/disk.[ch]:devices/virtio/disk_*)
			echo "layers: $file includes $inc: the disk layer does not know its backends"
			bad=1
			;;
		esac
	done <<<"$edges"
	# A loop among headers: tsort says "input contains a loop".
	if ! grep '\.h .*\.h$' <<<"$edges" | tsort >/dev/null 2>"$dir/.layers-tsort.err"; then
		echo "layers: headers include each other in a loop:"
		sed 's/^/  /' "$dir/.layers-tsort.err"
		bad=1
	fi
	rm -f "$dir/.layers-tsort.err"
	return $bad
}

self_test() {
	local tmp rc
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-layers.XXXXXX")
	trap 'rm -rf "$tmp"' RETURN
	cp -r "$here/../../core" "$here/../../devices" "$here/../../machine" "$tmp/"
	check "$tmp" >/dev/null || { echo "FAIL: layers self-test: the clean copy fails"; return 1; }
	sed -i '0,/^#include "/s//#include "core\/cli.h"\n&/' "$tmp/devices/virtio/blk.c"
	check "$tmp" >"$tmp/out"
	rc=$?
	if [ $rc -eq 0 ] || ! grep -q 'devices/virtio/blk.c includes core/cli.h' "$tmp/out"; then
		echo "FAIL: layers self-test: core/cli.h in a device went unnoticed"
		return 1
	fi
	echo "PASS: layers self-test: $(head -n 1 "$tmp/out")"
}

if [ "${1:-}" = --self-test ]; then
	self_test
	exit
fi
check "${1:-$here/../..}" && echo "PASS: layers: every #include follows README's layering"
