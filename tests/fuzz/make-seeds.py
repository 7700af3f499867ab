#!/usr/bin/env python3
# Write the seed corpora of tests/fuzz/corpus/: a few small valid inputs per
# harness, in each harness's input language (see the comments of its .c).
import os
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")


def put(harness, name, data):
    d = os.path.join(out, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def seg(gpa_off, length, write):
    """fz_seg: flags byte, offset in the buffer area, length (< 2048)."""
    return struct.pack("<BHH", 1 if write else 0, gpa_off, length)


def chain(segs, indirect=False, table=0):
    c = (len(segs) - 1) | (0x80 if indirect else 0)
    head = struct.pack("<B", c) + (struct.pack("<H", table) if indirect else b"")
    return head + b"".join(segs)


# virtqueue: cfg (4 event_idx, 8 indirect), log2 size, then ops.
POST, POP, PUSH, NOTIFY, INTR, HAS = 1, 4, 6, 8, 9, 10
vq = bytes([0x0C, 4])
vq += bytes([POST]) + chain([seg(0x100, 16, False), seg(0x200, 512, True)])
vq += bytes([HAS, POP]) + struct.pack("<H", 600) + bytes([PUSH, 0]) + struct.pack("<I", 513)
vq += bytes([INTR, NOTIFY, 1])
put("virtqueue", "direct", vq)
vq = bytes([0x0C, 3, POST]) + chain([seg(0x300, 64, False), seg(0x400, 64, True)], True, 0x1000)
vq += bytes([POP]) + struct.pack("<H", 64) + bytes([PUSH, 0]) + struct.pack("<I", 64) + bytes([INTR])
put("virtqueue", "indirect", vq)

# net: feature bits (MRG_RXBUF 1, EVENT_IDX 0x80, INDIRECT 0x100, vnet header 0x8000), sizes.
frame = bytes(6) + bytes([0x52, 0x54, 0, 0x12, 0x34, 0x56]) + b"\x08\x00" + bytes(46)
for feat, name in ((0x0000, "plain"), (0x8001, "mrg_vnet"), (0x81FF, "offloads")):
    n = struct.pack("<H", feat) + bytes([4, 4])
    n += bytes([0]) + chain([seg(0, 1526, True)])
    n += bytes([3]) + struct.pack("<H", len(frame)) + frame
    n += bytes([2]) + chain([seg(0x2000, 12, False), seg(0x2100, len(frame), False)])
    n += bytes([5, 4, 7])
    put("net", name, n)

# blk_requests: cfg (1 io_uring, 2 all features), buffers: header, data, status.
for t, name in ((0, "read"), (1, "write"), (4, "flush"), (8, "get_id")):
    hdr = struct.pack("<IIQ", t, 0, 1)
    b = bytes([3, 2])
    b += struct.pack("<BH", 2, 15) + hdr
    b += struct.pack("<BH", 0 if t == 1 else 1, 511 if t != 8 else 19)
    b += struct.pack("<BH", 1, 0)
    put("blk_requests", name, b)
    put("blk_requests", name + "_uring", bytes([3]) + b[1:])

# virtio_mmio_blk: bring-up (op 0, queue byte, features, sizes), a read posted, notify.
hdr = struct.pack("<IIQ", 0, 0, 0)
m = bytes([0, 0]) + struct.pack("<II", 0xFFFFFFFF, 0xFFFFFFFF) + bytes([4, 4])
m += bytes([1, 0]) + chain([seg(0x0, 16, False), seg(0x100, 512, True), seg(0x400, 1, True)])
m += bytes([4, 0, 0])
put("virtio_mmio_blk", "read", m)
m2 = m.replace(bytes([4, 0, 0]), bytes([4, 0, 0, 6, 0]) + struct.pack("<HB", 0x60, 3) + bytes(8))
put("virtio_mmio_blk", "read_isr", m2)

# net_user: MTU byte, then a DHCP discover and an ARP request sent, polled and read.
mac = bytes([0x52, 0x54, 0, 0x12, 0x34, 0x56])
arp = b"\xff" * 6 + mac + b"\x08\x06" + struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1)
arp += mac + bytes([10, 0, 2, 15]) + bytes(6) + bytes([10, 0, 2, 2])
u = bytes([0, 0]) + struct.pack("<H", len(arp)) + arp + struct.pack("<H", 0)
u += bytes([2]) + struct.pack("<H", 16) + bytes([1, 1]) + bytes([3, 1])
put("net_user", "arp", u)

# uart_legacy: LCR, divisor, IER, a byte out, a scratch read, CMOS, a receive.
w = lambda port, val: bytes([1]) + struct.pack("<HB", port, 0) + bytes([val])
r = lambda port: bytes([0]) + struct.pack("<HB", port, 0)
ua = w(0x3FB, 0x80) + w(0x3F8, 1) + w(0x3F9, 0) + w(0x3FB, 3) + w(0x3F9, 0x0F)
ua += w(0x3F8, ord("x")) + r(0x3FA) + r(0x3FD) + w(0x70, 0x0B) + r(0x71)
ua += bytes([0xE0, 4]) + b"hi\r\n" + r(0x3F8) + r(0x3FD)
put("uart_legacy", "probe", ua)

# loaders: a small ELF64 vmlinux with one PT_LOAD, and a bzImage header.
ph = struct.pack("<IIQQQQQQ", 1, 7, 0x1000, 0x100000, 0x100000, 0x100, 0x200, 0x1000)
eh = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
eh += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x100000, 64, 0, 0, 64, 56, 1, 64, 0, 0)
elf = eh + ph
elf += bytes(0x1000 - len(elf)) + b"\x90" * 0x100 + b"\x40"
put("loaders", "elf", elf)
bz = bytearray(0x800)
bz[0x1F1] = 2  # setup_sects
struct.pack_into("<H", bz, 0x1FE, 0xAA55)
bz[0x202:0x206] = b"HdrS"
struct.pack_into("<H", bz, 0x206, 0x20F)
struct.pack_into("<I", bz, 0x214, 0x100000)  # code32_start
struct.pack_into("<I", bz, 0x22C, 0x7FFFFFFF)  # initrd_addr_max
struct.pack_into("<I", bz, 0x230, 0x200000)  # kernel_alignment
bz[0x234] = 1  # relocatable
struct.pack_into("<H", bz, 0x236, 0x3)  # xloadflags: 64-bit entry
struct.pack_into("<I", bz, 0x238, 0x800)  # cmdline_size
struct.pack_into("<I", bz, 0x260, 0x10000)  # init_size
put("loaders", "bzimage", bytes(bz) + b"\x90" * 0x400 + b"\x80")

# cli: argv split on NUL.
args = [
    [b"--kernel", b"vmlinux", b"--mem", b"64M", b"--cpus", b"2"],
    [b"--kernel", b"k", b"--disk", b"/x.img,ro,serial=abc,io=sync,poll=10", b"--net",
     b"user,mac=52:54:00:00:00:01,hostfwd=tcp::2222-:22"],
    [b"--kernel", b"k", b"--initrd", b"i", b"--cmdline", b"console=ttyS0", b"--mptable",
     b"--no-eventfd", b"--net", b"tap,ifname=tap0,mtu=9000"],
    [b"--help"],
]
for i, a in enumerate(args):
    put("cli", "args%d" % i, b"\0".join(a))

# p9: messages, each len[2] then the message (size[4] type[1] tag[2] body).
def p9msg(mtype, body, tag=1):
    m = struct.pack("<IBH", 7 + len(body), mtype, tag) + body
    return struct.pack("<H", len(m)) + m


def p9s(s):
    return struct.pack("<H", len(s)) + s


def p9walk(fid, newfid, *names):
    return p9msg(110, struct.pack("<IIH", fid, newfid, len(names)) + b"".join(map(p9s, names)))


put("p9", "read", p9walk(1, 2, b"file") + p9msg(12, struct.pack("<II", 2, 0))
    + p9msg(116, struct.pack("<IQI", 2, 0, 4096)) + p9msg(120, struct.pack("<I", 2)))
put("p9", "create", p9walk(1, 2) + p9msg(14, struct.pack("<I", 2) + p9s(b"new")
    + struct.pack("<III", 1, 0o644, 0)) + p9msg(118, struct.pack("<IQI", 2, 0, 3) + b"abc"))
put("p9", "escape", p9walk(1, 2, b"rel", b"secret") + p9walk(1, 3, b"dir", b"up")
    + p9msg(12, struct.pack("<II", 3, 2)) + p9walk(1, 4, b"..", b"..", b"outside"))
put("p9", "dirops", p9msg(72, struct.pack("<I", 1) + p9s(b"d") + struct.pack("<II", 0o755, 0))
    + p9msg(74, struct.pack("<I", 1) + p9s(b"d") + struct.pack("<I", 1) + p9s(b"e"))
    + p9msg(16, struct.pack("<I", 1) + p9s(b"l") + p9s(b"../outside/secret") + struct.pack("<I", 0))
    + p9walk(1, 5) + p9msg(12, struct.pack("<II", 5, 0o200000))
    + p9msg(40, struct.pack("<IQI", 5, 0, 4096)) + p9msg(76, struct.pack("<I", 1) + p9s(b"e")
    + struct.pack("<I", 0x200)))

# api: control socket request lines (tools/vmm-api writes these).
put("api", "info", b'{"cmd":"info"}')
put("api", "quit", b'{"cmd": "quit", "status": 3}')
put("api", "escapes", b'{"cmd":"st\\u0061ts","x":[1],"y":true,"z":null,"s":"a\\"b"}')
put("api", "numbers", b'{"status":-2147483648,"cmd":"quit","n":1.5e3}')
