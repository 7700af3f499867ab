#!/bin/bash
# The same test guest (build/guest/testguest.elf) under QEMU's microvm
# machine, booted through its PVH note: the blk scenarios must pass against
# QEMU's virtio-blk too, which keeps them honest about the spec rather than
# about this VMM. Skipped (status 0) when QEMU is not installed.
#
# QEMU differs where the spec lets it or is loose, and the guest is told so:
# its GET_ID writes the serial and one NUL without padding the 20 bytes
# (tg.blk.id_unpadded=1), and a discard on a read-only disk is answered OK
# and changes nothing (tg.blk.ro_discard_ok=1). Discards reach the image only
# with discard=unmap. QEMU exits with 2 * status + 1 through isa-debug-exit.
#
# TG_ELF=path picks another guest; TIMEOUT (seconds) bounds the run.
set -u
cd "$(dirname "$0")/../.." || exit 1
QEMU=${QEMU:-qemu-system-x86_64}
ELF=${TG_ELF:-build/guest/testguest.elf}
TIMEOUT=${TIMEOUT:-60}

if ! command -v "$QEMU" >/dev/null; then
	echo "SKIP: $QEMU not installed"
	exit 0
fi
[ -e "$ELF" ] || { echo "FAIL: $ELF is missing (make testguest)"; exit 1; }

BLK_SCENARIOS="probe rw indirect flush get_id discard write_zeroes ro past_end
	poll_event_idx poll_no_event_idx irq_event_idx irq_no_event_idx wrap"
SERIAL=tg-scratch
RO_SERIAL=tg-ro-disk
SECTORS=16384

# Under build/ rather than /tmp: cache=none needs O_DIRECT, which tmpfs lacks.
mkdir -p build
work=$(mktemp -d "$PWD/build/qemu-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

truncate -s $((SECTORS * 512)) "$work/rw.img"
awk 'BEGIN { for (i = 0; i < 2048; i++) {
	s = sprintf("tg-ro %08d\n", i); printf "%s", s
	for (j = length(s); j < 512; j++) printf "." } }' >"$work/ro.img"

start=$(date +%s%N)
timeout -k 5 "$TIMEOUT" "$QEMU" -M microvm,x-option-roms=off,rtc=off,acpi=off \
	-enable-kvm -cpu host,-arch-capabilities -m 64 -nodefaults -no-user-config \
	-nographic -serial stdio -device isa-debug-exit,iobase=0x501,iosize=1 \
	-global virtio-mmio.force-legacy=false \
	-kernel "$ELF" \
	-append "tg.run=blk tg.blk.serial=$SERIAL tg.blk.ro_serial=$RO_SERIAL tg.blk.ro_pattern=1 tg.blk.sectors=$SECTORS tg.blk.id_unpadded=1 tg.blk.ro_discard_ok=1" \
	-drive "id=d0,file=$work/rw.img,format=raw,if=none,cache=none,aio=native,discard=unmap" \
	-device "virtio-blk-device,drive=d0,serial=$SERIAL" \
	-drive "id=d1,file=$work/ro.img,format=raw,if=none,readonly=on" \
	-device "virtio-blk-device,drive=d1,serial=$RO_SERIAL" \
	</dev/null 2>&1 | tr -d '\r' >"$work/qemu.log"
rc=${PIPESTATUS[0]}
ms=$((($(date +%s%N) - start) / 1000000))

n=0
missing=""
for s in $BLK_SCENARIOS; do
	n=$((n + 1))
	grep -q "^tg: PASS blk\.${s}[: ]" "$work/qemu.log" || missing="$missing $s"
done
if [ "$rc" -eq 1 ] && [ -z "$missing" ] &&
	grep -q "^tg: summary: $n passed, 0 failed, 0 skipped$" "$work/qemu.log" &&
	grep -q '^tg: booted via PVH' "$work/qemu.log"; then
	echo "PASS: qemu microvm: $n blk scenarios in $ms ms"
	exit 0
fi
echo "FAIL: qemu microvm: exit status $rc (1 is the guest's 0)${missing:+, no PASS line for:$missing}"
sed 's/^/    /' "$work/qemu.log"
exit 1
