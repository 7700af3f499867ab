#!/usr/bin/env python3
"""make bench: this VMM against QEMU's microvm on the same guests.

Each case runs on both VMMs, alternating, several times; the table gives the
median and the range (min-max) of each side and their ratio. Everything both
VMMs get is the same: kernel, command line, disk images (raw files on the same
file system, in the host's page cache), memory (128 MiB), one vCPU, a tap in a
network namespace of our own (192.0.2.0/24). QEMU gets what matches this
VMM's I/O path: cache=writeback, aio=io_uring, virtio-mmio devices.

The cases:
  boot      guest init reached, for the ELF vmlinux (RUNS boots; ours once
            with its default device tree and once with --mptable, the way
            QEMU's microvm describes its machine) and the bzImage (one boot
            each: the decompressor runs in the emulated guest kernel mode on
            the machines this project is developed on). Ours is the VMM's boot
            marker (port 0x502, from its start); QEMU's is the same guest
            event, the init's first console line, from its start.
  block     the test guest's bench scenario (guest ring 3 drives the queue)
            and fio in the Linux guest (io_uring, O_DIRECT): 4 KiB random
            read and write at queue depth 1 and 32, 1 MiB sequential at 4.
  network   the test guest's netbench scenario (ring 3 drives the queues):
            64-byte, 1514-byte frames and 64000-byte TCP segments (TSO), each
            way, against bench/netpeer on the tap (a packet socket), counted
            at the receiving end; the host-only run puts netpeer on the tap's
            fd in the VMM's place (column host). Then iperf3 between the
            Linux guest (server) and the host (client), both directions.
  run mode  --exec on ours, QEMU booting the same kernel into the same init
            (guest/run-init, its orders as ./vmm writes them) over the same
            9p shares: `true` from start to exit, then a 64 MiB file read
            with cat from the directory shared read-write: the command's
            first console line from start, and the read between two lines.
  start-up  the test guest doing nothing (tg.run=none): from exec to its first
            instruction (a newline on COM1, the console's first byte) and to
            the VMM's exit, at 64 MiB and 4 GiB, 1 and 4 vCPUs.
  memory    resident memory beyond guest RAM, by kind of mapping
            (smaps_breakdown), while the test guest idles (tg.idle=1) with no
            devices, a disk, a disk and user networking; and once while the
            Linux guest idles with its root disk and user networking.
  host fio  the host's fio on the test guest's image (io_uring, buffered,
            same size, depth and count): the limit, as a column.
  host cost the VMM's resident memory that is not guest RAM, read from
            /proc/PID/smaps while the Linux guest idles after its run; host
            CPU time (all the VMM's threads, vCPUs included) per GiB moved by
            the test guest's 1 MiB sequential cases and by iperf3.

Writes bench/results.md (the table), bench/results.json (the figures; a run
of some BENCH_CASES keeps the other cases' rows from it) and
bench/results.png (the plot), puts
both in README.md between its bench markers, and prints the table. Environment: BENCH_RUNS (boots per VMM for the vmlinux and
the network, default 3), BENCH_TG_RUNS (test guest runs per VMM, default 4),
BENCH_BZIMAGE=0 (skip the bzImage boots), BENCH_CASES (a comma list of
tg, net, startup, mem, linux, bzimage, run; default all but bzimage, whose rows
are kept from the last run that had them), BENCH_VMM_ARGS (more options for
each run of ours), BENCH_OUT (default bench/; elsewhere,
README.md is left alone).
"""

import datetime
import json
import os
import platform
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "bench")
GUEST = os.path.join(ROOT, "build", "guest")
VMM = os.path.join(ROOT, "vmm")
QEMU = shutil.which("qemu-system-x86_64") or "qemu-system-x86_64"
DEFAULT_OUT = os.path.join(ROOT, "bench")
OUT = os.environ.get("BENCH_OUT", DEFAULT_OUT)

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
TG_RUNS = int(os.environ.get("BENCH_TG_RUNS", "4"))
BZIMAGE = os.environ.get("BENCH_BZIMAGE", "1") != "0"
ALL_CASES = ("tg", "net", "startup", "mem", "linux", "bzimage", "run")
# More options for every run of ours (say, --stats to see what counting costs).
VMM_ARGS = os.environ.get("BENCH_VMM_ARGS", "").split()
# The bzImage boots (4 minutes of decompressing in the emulated guest kernel
# here) are left out unless asked for: their rows are kept from the last run
# that had them.
DEFAULT_CASES = [c for c in ALL_CASES if c != "bzimage"]
CASES = os.environ.get("BENCH_CASES", ",".join(DEFAULT_CASES)).split(",")

MEM_MB = 128
NETNS = "vmmbench-%d" % os.getpid()
TAP = "vmmbench0"
HOST_IP, GUEST_IP = "192.0.2.1", "192.0.2.2"
IPERF_SECS = 3
FIO_SECS = 2
SCRATCH_MB = 256
GIB = 1 << 30

# The test guest's cases: (name, tg.bench case, unit). Counts give each case
# a few tenths of a second on the faster side.
TG_CASES = [
    ("randread 4k qd1", "randread:4k:1:30000", "IOPS"),
    ("randread 4k qd32", "randread:4k:32:200000", "IOPS"),
    ("randwrite 4k qd1", "randwrite:4k:1:30000", "IOPS"),
    ("randwrite 4k qd32", "randwrite:4k:32:200000", "IOPS"),
    ("read 1m qd4", "read:1m:4:3000", "MB/s"),
    ("write 1m qd4", "write:1m:4:3000", "MB/s"),
]
# The test guest's network cases: (name, frame size without FCS, frames, unit).
# A 64-byte frame on the wire is 60 bytes here; 64000 bytes is one TCP
# segment for TSO (a packet socket's 64 KiB ones would be cut on the host).
NET_CASES = [
    ("64-byte frames", 60, 300000, "frames/s"),
    ("1514-byte frames", 1514, 200000, "frames/s"),
    ("64000-byte TCP segments (TSO)", 64000, 20000, "MB/s"),
]
NETPEER = os.path.join(BUILD, "netpeer")
# Where the test guest sends (nobody's address: the host's stack drops the
# frames, the packet socket counts them), and the MAC the host-only run sends to.
PEER_MAC = "02:00:00:00:00:fe"
HOST_ONLY_MAC = "52:54:00:12:34:56"

# fio's jobs in bench/guest-bench.sh, in its order: (job, name, unit).
FIO_CASES = [
    ("randread-4k-qd1", "randread 4k qd1", "IOPS"),
    ("randread-4k-qd32", "randread 4k qd32", "IOPS"),
    ("randwrite-4k-qd1", "randwrite 4k qd1", "IOPS"),
    ("randwrite-4k-qd32", "randwrite 4k qd32", "IOPS"),
    ("read-1m-qd4", "read 1m qd4", "MB/s"),
    ("write-1m-qd4", "write 1m qd4", "MB/s"),
]

NET_SECTION = "network: test guest (ring 3) over a tap"
SECTIONS = ["boot", "start-up (test guest, tg.run=none)", "block: test guest (ring 3)", "block: fio in the Linux guest",
            NET_SECTION,
            "network: iperf3 over tap", "share and run mode (--exec)", "host cost"]
RUN_SECTION = "share and run mode (--exec)"
RUN_TRUE = "--exec true: start to exit"
RUN_FIRST = "--exec 'echo': start to the command's first output"
RUN_READ = "read a 64 MiB file through the share (cat)"
SHARE_FILE_MB = 64
# What runs in the guest for the share cases: markers the host times.
RUN_READ_CMD = "echo bench-start; cat big > /dev/null && echo bench-read-done"
# The run mode's kernel words, as ./vmm gives them (DEFAULT_CMDLINE and
# machine/run.c): QEMU gets the same.
RUN_CMDLINE = "console=ttyS0 reboot=k panic=-1 quiet loglevel=1"

BOOT_DT = "vmlinux to init (vmm: device tree)"
BOOT_MP = "vmlinux to init (vmm: --mptable; QEMU: the same boots)"

LINUX_MEM = "Linux guest idle, two disks and a tap (after its bench)"

LINUX_CMDLINE = "quiet ip=%s::%s:255.255.255.0::eth0:off" % (GUEST_IP, HOST_IP)


def die(msg):
    print("bench: " + msg, file=sys.stderr)
    sys.exit(1)


def log(msg):
    print("bench: " + msg, flush=True)


def run_cmd(args, **kw):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kw).stdout


def netns_exec(args):
    return ["ip", "netns", "exec", NETNS] + args


# ---------------------------------------------------------------------------
# Running one VM and reading its console line by line.

class VmRun:
    """A VMM process whose console lines are timed from its start.

    on_line(run, line) is called for each line and may answer on the guest's
    console with run.send(). The run ends when the process exits or after
    timeout seconds (then it is killed and counted as failed)."""

    def __init__(self, name, args, timeout, on_line=None, cwd=None):
        self.name = name
        self.cwd = cwd
        self.args = args
        self.timeout = timeout
        self.on_line = on_line
        self.lines = []  # (seconds since start, text)
        self.status = None
        self.cpu = None  # user + system seconds of the whole process
        self.failed = None
        self.ended = None  # seconds from start to the process's end

    def send(self, text):
        os.write(self.proc.stdin.fileno(), text.encode())

    def line_time(self, pattern):
        for t, line in self.lines:
            if re.search(pattern, line):
                return t
        return None

    def find(self, pattern):
        for _, line in self.lines:
            m = re.search(pattern, line)
            if m:
                return m
        return None

    def start(self):
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=self.cwd)
        return self

    def wait(self):
        fd = self.proc.stdout.fileno()
        deadline = self.t0 + self.timeout
        buf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.failed = "no end within %d s" % self.timeout
                os.killpg(self.proc.pid, signal.SIGKILL)
                break
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            now = time.monotonic() - self.t0
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode(errors="replace").rstrip("\r")
                self.lines.append((now, line))
                if self.on_line:
                    self.on_line(self, line)
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.ended = time.monotonic() - self.t0
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.status = self.proc.returncode
        self.cpu = usage.ru_utime + usage.ru_stime
        self.save_log()
        return self

    def save_log(self):
        """The console, timed, as build/bench/logs/NAME.N.log (N counts up)."""
        logs = os.path.join(BUILD, "logs")
        os.makedirs(logs, exist_ok=True)
        n = 1
        while os.path.exists(os.path.join(logs, "%s.%d.log" % (self.name, n))):
            n += 1
        with open(os.path.join(logs, "%s.%d.log" % (self.name, n)), "w") as f:
            f.write("# %s\n" % " ".join(self.args))
            for t, line in self.lines:
                f.write("%9.3f %s\n" % (t, line))
            f.write("# exit status %s%s\n" % (self.status, ", " + self.failed if self.failed else ""))

    def report_failure(self, what):
        """What failed, how the run ended and its last console lines."""
        log("%s failed (%s, status %s):\n%s" % (
            what, self.failed or "exit", self.status,
            "\n".join("    " + line for _, line in self.lines[-15:])))


def guest_exit_status(vmm, status):
    """The status the guest's init gave: ours exits with it, QEMU's
    isa-debug-exit with 2 * status + 1."""
    if vmm == "qemu":
        return (status - 1) // 2 if status is not None and status % 2 == 1 else None
    return status


QEMU_BASE = [
    QEMU, "-M", "microvm,x-option-roms=off,rtc=off,acpi=off", "-enable-kvm",
    "-cpu", "host,-arch-capabilities",
    "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
    "-device", "isa-debug-exit,iobase=0x501,iosize=1",
    "-global", "virtio-mmio.force-legacy=false",
]


def qemu_disk(i, path):
    return ["-drive", "id=d%d,file=%s,format=raw,if=none,cache=writeback,aio=io_uring" % (i, path),
            "-device", "virtio-blk-device,drive=d%d" % i]


def vm_args(vmm, kernel, cmdline, disks=(), net=False, vmm_extra=(), mem_mb=MEM_MB, cpus=1,
            user_net=False):
    """net: a tap in the bench's namespace; user_net: user-mode networking."""
    if vmm == "vmm":
        args = [VMM, "--kernel", kernel, "--mem", "%dM" % mem_mb, "--cpus", str(cpus),
                "--cmdline", cmdline] + list(vmm_extra) + VMM_ARGS
        for d in disks:
            args += ["--disk", d]
        if net:
            args += ["--net", "tap,ifname=" + TAP]
        if user_net:
            args += ["--net", "user"]
    else:
        args = QEMU_BASE + ["-m", str(mem_mb), "-smp", str(cpus), "-kernel", kernel,
                            "-append", cmdline]
        for i, d in enumerate(disks):
            args += qemu_disk(i, d)
        if net:
            args += ["-netdev", "tap,id=n0,ifname=%s,script=no,downscript=no" % TAP,
                     "-device", "virtio-net-device,netdev=n0"]
        if user_net:
            args += ["-netdev", "user,id=n0", "-device", "virtio-net-device,netdev=n0"]
    return netns_exec(args) if net else args


# ---------------------------------------------------------------------------
# Results.

class Results:
    def __init__(self):
        self.rows = []  # (section, name, unit, better, {vmm: [values]})
        self.index = {}
        self.group = None  # the BENCH_CASES group now running
        self.groups = {}  # (section, name): its group
        self.kept = {}  # group: (date, commit) of the earlier run its rows come from
        # Resident memory by kind: {setting: {"group": g, vmm: [smaps_breakdown()]}}
        self.mem = {}

    def save(self, path, meta):
        """The raw figures, for a later run of fewer cases to keep."""
        today = datetime.date.today().isoformat()
        rows = []
        for sec, name, unit, better, vals in self.rows:
            group = self.groups[(sec, name)]
            rows.append(dict(section=sec, name=name, unit=unit, better=better, values=vals,
                             group=group, date=self.kept.get(group, (today,))[0]))
        with open(path, "w") as f:
            json.dump({"rows": rows, "mem": self.mem, "meta": meta}, f, indent=1)

    def keep_earlier(self, path, cases):
        """Rows of the groups not run now, from the earlier run's results.json."""
        try:
            with open(path) as f:
                old = json.load(f)
        except (OSError, ValueError):
            return
        commit = dict(old.get("meta", [])).get("vmm", "?")
        for row in old["rows"]:
            if row["group"] in cases:
                continue
            self.group = row["group"]
            for vmm, values in row["values"].items():
                self.add(row["section"], row["name"], row["unit"], row["better"], vmm, None)
                for v in values:
                    self.add(row["section"], row["name"], row["unit"], row["better"], vmm, v)
            self.kept[row["group"]] = (row.get("date") or "?", commit)
        for setting, entry in old.get("mem", {}).items():
            if entry.get("group") not in cases:
                self.mem[setting] = entry

    def add_mem(self, setting, vmm, kinds):
        entry = self.mem.setdefault(setting, {"group": self.group})
        entry.setdefault(vmm, []).append(kinds)

    def values(self, section, name, vmm):
        key = (section, name)
        return list(self.rows[self.index[key]][4][vmm]) if key in self.index else []

    def add(self, section, name, unit, better, vmm, value):
        key = (section, name)
        self.groups.setdefault(key, self.group)
        if key not in self.index:
            self.index[key] = len(self.rows)
            self.rows.append((section, name, unit, better, {"vmm": [], "qemu": [], "host": []}))
        if value is not None:
            self.rows[self.index[key]][4][vmm].append(value)


def fmt(v):
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def summary(values):
    if not values:
        return "failed", None
    med = statistics.median(values)
    if len(values) == 1:
        return fmt(med), med
    return "%s (%s-%s)" % (fmt(med), fmt(min(values)), fmt(max(values))), med


def ratio_text(ours, theirs, better):
    """ours / QEMU's, and whether that is good for us."""
    if ours is None or theirs is None or theirs == 0 or ours == 0:
        return "-", None
    r = ours / theirs
    good = r > 1 if better == "higher" else r < 1
    return "%.2f%s" % (r, "" if abs(r - 1) < 0.03 else (" (ahead)" if good else " (behind)")), r


# ---------------------------------------------------------------------------
# The cases.

def prepare_images():
    os.makedirs(BUILD, exist_ok=True)
    scratch = os.path.join(BUILD, "scratch.img")
    # Written through once (not sparse), so that reads find data in the page
    # cache on both sides rather than holes.
    with open(scratch, "wb") as f:
        chunk = bytes((i * 7 + (i >> 9)) & 0xFF for i in range(1 << 20))
        for _ in range(SCRATCH_MB):
            f.write(chunk)
    return scratch


def setup_netns():
    run_cmd(["ip", "netns", "add", NETNS])
    run_cmd(["ip", "-n", NETNS, "link", "set", "lo", "up"])
    # No IPv6 router solicitations or the like among the network cases' frames.
    run_cmd(netns_exec(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                        "net.ipv6.conf.default.disable_ipv6=1"]))
    run_cmd(["ip", "-n", NETNS, "tuntap", "add", "dev", TAP, "mode", "tap"])
    run_cmd(["ip", "-n", NETNS, "addr", "add", HOST_IP + "/24", "dev", TAP])
    run_cmd(["ip", "-n", NETNS, "link", "set", TAP, "up"])


def teardown_netns():
    subprocess.run(["ip", "netns", "del", NETNS], stderr=subprocess.DEVNULL)


def host_fio(scratch, rw, size, depth, count, unit):
    """The host's own figure for a test-guest case: fio on the same image,
    io_uring, buffered like both VMMs' disks, the same size, depth and count."""
    out = subprocess.run([os.path.join(BUILD, "fio"), "--name=host", "--filename=" + scratch,
                          "--rw=" + rw, "--bs=%d" % size, "--iodepth=" + depth,
                          "--ioengine=io_uring", "--number_ios=" + count,
                          # Keep the image in the page cache, as the VMMs find it
                          # (fio drops a file's cached pages first by default).
                          "--invalidate=0",
                          "--size=%dM" % SCRATCH_MB, "--output-format=json"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
    try:
        job = json.loads(out[out.index("{"):])["jobs"][0]["write" if "write" in rw else "read"]
        return float(job["iops"]) if unit == "IOPS" else job["bw_bytes"] / 1e6
    except (ValueError, KeyError, IndexError):
        log("host fio failed: " + out[-300:])
        return None


# The virtio-mmio registers a request can cost an exit on once a queue runs:
# set-up and config accesses are not counted.
DATA_PATH_SITES = ("QueueNotify write", "InterruptStatus read", "InterruptACK write")


def exits_per_request(stats_json, device):
    """Exits on the device's data-path registers per request it served."""
    try:
        with open(stats_json) as f:
            d = json.load(f)
    except (OSError, ValueError):
        return None
    exits = sum(e["count"] for e in d["exits"]
                if e["site"] in ["%s %s" % (device, s) for s in DATA_PATH_SITES])
    reqs = sum(q["requests"] for q in d["queues"] if q["device"] == device)
    return exits / reqs if reqs else None


def bench_tg(res, vmm, scratch, first_round):
    """Each case in a test guest of its own (it boots in a fraction of a
    second), from a clean page cache: the dirty pages one case leaves would
    otherwise be written back during the next. In the first round, ours once
    more with --stats-json for the exits per request (kept out of the timed
    runs), and the host's fio on the same image after ours, as the limit."""
    elf = os.path.join(GUEST, "testguest.elf")
    stats = os.path.join(BUILD, "tg-stats.json")
    for name, case, unit in TG_CASES:
        rw, size, depth, count = case.split(":")
        size = {"4k": 4096, "1m": 1 << 20}[size]
        if vmm == "vmm" and first_round:
            os.sync()
            s = VmRun("tg-stats-%s" % name.replace(" ", "-"),
                      vm_args(vmm, elf, "tg.run=bench tg.bench=" + case, [scratch],
                              vmm_extra=["--stats-json", stats]), 300).start().wait()
            res.add("block: test guest (ring 3)", "VM exits per request, " + name, "exits",
                    "lower", "vmm", exits_per_request(stats, "virtio-blk0")
                    if s.status == 0 and not s.failed else None)
        os.sync()
        r = VmRun("tg-%s-%s" % (name.replace(" ", "-"), vmm),
                  vm_args(vmm, elf, "tg.run=bench tg.bench=" + case, [scratch]), 300)
        r.start().wait()
        m = r.find(r"^tg: bench %s bs=%d qd=%s n=\d+: IOPS=(\d+) MB/s=([\d.]+)" %
                   (rw, size, depth))
        ok = m and guest_exit_status(vmm, r.status) == 0 and not r.failed
        if not ok:
            r.report_failure("%s: test guest %s" % (vmm, case))
        value = float(m.group(1) if unit == "IOPS" else m.group(2)) if ok else None
        res.add("block: test guest (ring 3)", name, unit, "higher", vmm, value)
        if vmm == "vmm":
            os.sync()
            res.add("block: test guest (ring 3)", name, unit, "higher", "host",
                    host_fio(scratch, rw, size, depth, count, unit))
        if size == 1 << 20:
            res.add("host cost", "CPU per GiB, %s (test guest)" % name, "s/GiB", "lower", vmm,
                    r.cpu / (int(count) * size / GIB) if ok else None)


class Peer:
    """netpeer in the bench's namespace: its last line parsed into a dict."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(netns_exec([NETPEER] + [str(a) for a in args]),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait_ready(self):
        """A counting end is listening once it says so."""
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            log("netpeer did not start: " + line.strip())
            return False
        return True

    def result(self, timeout=120):
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        fields = dict(w.split("=", 1) for w in out.split() if "=" in w)
        try:
            return {k: float(v) for k, v in fields.items()}
        except ValueError:
            return {}


def peer_rate(r, unit):
    """frames/s or MB/s from a counting end's line, from its first frame to its last."""
    if not r.get("frames") or not r.get("seconds"):
        return None
    return r["frames"] / r["seconds"] if unit == "frames/s" else r["bytes"] / r["seconds"] / 1e6


def net_tx(vmm, elf, size, count, unit, stats=None):
    """The guest sends, netpeer counts on the tap: the rate at the receiving end."""
    peer = Peer("recv", TAP, PEER_MAC, count)
    if not peer.wait_ready():
        return None, None
    extra = ["--stats-json", stats] if stats else []
    r = VmRun("net-tx-%d-%s%s" % (size, vmm, "-stats" if stats else ""),
              vm_args(vmm, elf, "tg.run=netbench.tx tg.netbench=tx:%d:%d" % (size, count),
                      net=True, vmm_extra=extra), 120).start().wait()
    got = peer.result()
    ok = guest_exit_status(vmm, r.status) == 0 and not r.failed
    if not ok:
        r.report_failure("%s: netbench tx %d" % (vmm, size))
    return r, peer_rate(got, unit) if ok else None


def net_rx(vmm, elf, size, count, unit, stats=None):
    """netpeer sends to the MAC the guest announces, the guest counts: its rate."""
    sender = []

    def on_line(run, line):
        m = re.search(r"netbench rx ready mac=([0-9a-f:]{17})", line)
        if m and not sender:
            sender.append(Peer("send", TAP, m.group(1), size, count))

    extra = ["--stats-json", stats] if stats else []
    r = VmRun("net-rx-%d-%s%s" % (size, vmm, "-stats" if stats else ""),
              vm_args(vmm, elf, "tg.run=netbench.rx tg.netbench=rx:%d:%d" % (size, count),
                      net=True, vmm_extra=extra), 120, on_line=on_line).start().wait()
    for p in sender:
        p.result()
    m = r.find(r"^tg: netbench rx size=%d n=(\d+): frames/s=(\d+) MB/s=([\d.]+)" % size)
    ok = m and guest_exit_status(vmm, r.status) == 0 and not r.failed
    if not ok:
        r.report_failure("%s: netbench rx %d" % (vmm, size))
        return r, None
    return r, float(m.group(2) if unit == "frames/s" else m.group(3))


def net_host_only(direction, size, count, unit):
    """The same peer with netpeer in the VMM's place on the tap: what the tap carries."""
    if direction == "tx":
        counter = Peer("recv", TAP, PEER_MAC, count)
        if counter.wait_ready():
            Peer("tap-write", TAP, PEER_MAC, size, count).result()
    else:
        counter = Peer("tap-read", TAP, HOST_ONLY_MAC, count)
        if counter.wait_ready():
            Peer("send", TAP, HOST_ONLY_MAC, size, count).result()
    return peer_rate(counter.result(), unit)


def bench_net(res, vmm, first_round):
    """Each case both ways in a test guest of its own; in the first round ours
    once more with --stats-json for the exits per frame, and the host-only run."""
    elf = os.path.join(GUEST, "testguest.elf")
    stats = os.path.join(BUILD, "net-stats.json")
    for name, size, count, unit in NET_CASES:
        for direction, run in (("tx", net_tx), ("rx", net_rx)):
            row = "%s %s" % (direction, name)
            if vmm == "vmm" and first_round:
                s, _ = run(vmm, elf, size, count, unit, stats)
                res.add(NET_SECTION, "VM exits per frame, " + row, "exits", "lower", "vmm",
                        exits_per_request(stats, "virtio-net0")
                        if s and s.status == 0 and not s.failed else None)
            _, value = run(vmm, elf, size, count, unit)
            res.add(NET_SECTION, row, unit, "higher", vmm, value)
            if vmm == "vmm" and first_round:
                res.add(NET_SECTION, row, unit, "higher", "host",
                        net_host_only(direction, size, count, unit))


STARTUP_SECTION = "start-up (test guest, tg.run=none)"
# (guest RAM in MiB, vCPUs)
STARTUP_SHAPES = [(64, 1), (64, 4), (4096, 1), (4096, 4)]


def shape_text(mem_mb, cpus):
    return "%s, %d vCPU%s" % ("%d GiB" % (mem_mb >> 10) if mem_mb >= 1024 else "%d MiB" % mem_mb,
                              cpus, "s" if cpus > 1 else "")


def bench_startup(res, vmm):
    """From exec to the guest's first instruction (the test guest's entry
    writes a newline on COM1 before anything else: the console's first,
    empty, line) and to the VMM's exit, the test guest doing nothing."""
    elf = os.path.join(GUEST, "testguest.elf")
    for mem_mb, cpus in STARTUP_SHAPES:
        r = VmRun("startup-%d-%d-%s" % (mem_mb, cpus, vmm),
                  vm_args(vmm, elf, "tg.run=none", mem_mb=mem_mb, cpus=cpus), 60).start().wait()
        first = r.line_time(r"^$")
        ok = guest_exit_status(vmm, r.status) == 0 and not r.failed and first is not None
        if not ok:
            r.report_failure("%s: start-up %s" % (vmm, shape_text(mem_mb, cpus)))
        res.add(STARTUP_SECTION, "exec to first guest instruction, " + shape_text(mem_mb, cpus),
                "ms", "lower", vmm, first * 1000 if ok else None)
        res.add(STARTUP_SECTION, "exec to exit, " + shape_text(mem_mb, cpus), "ms", "lower",
                vmm, r.ended * 1000 if ok else None)


MEM_SETTINGS = [("test guest idle, no devices", False, False),
                ("test guest idle, a disk", True, False),
                ("test guest idle, a disk and user networking", True, True)]


def bench_memory(res, vmm, scratch):
    """Resident memory beyond guest RAM while the test guest idles (tg.idle=1,
    after probing its devices), by kind of mapping."""
    elf = os.path.join(GUEST, "testguest.elf")
    for setting, disk, user_net in MEM_SETTINGS:
        kinds = {}

        def on_line(run, line):
            if line == "tg: idle":
                kinds.update(smaps_breakdown(run.proc.pid))
                os.killpg(run.proc.pid, signal.SIGKILL)

        VmRun("mem-%s-%s" % (setting.split(", ")[1].replace(" ", "-"), vmm),
              vm_args(vmm, elf, "tg.run=none tg.idle=1", [scratch] if disk else [],
                      user_net=user_net), 60, on_line).start().wait()
        if kinds:
            res.add_mem(setting, vmm, kinds)
        else:
            log("%s: %s: no idle line" % (vmm, setting))
        res.add("host cost", "RSS beyond guest RAM, " + setting, "MiB", "lower", vmm,
                beyond_ram_mib(kinds) if kinds else None)


LINUX_IDLE_MEM = "Linux guest idle, a disk and user networking"


def bench_linux_idle_memory(res, vmm, root_src):
    """The issue's own setting: the 128 MiB Linux guest booted with its root
    disk and user networking, idle in the bench script (no fio, no iperf3)."""
    root, root_words = fresh_root(vmm, root_src)
    kinds = {}

    def on_line(run, line):
        if line == "bench: measure":
            kinds.update(smaps_breakdown(run.proc.pid))
            run.send("\n")

    r = VmRun("mem-linux-" + vmm, vm_args(vmm, os.path.join(GUEST, "vmlinux"),
                                          "quiet vmmtest.run=/bench/run.sh" + root_words,
                                          [root], user_net=True), 300, on_line).start().wait()
    if not kinds:
        r.report_failure("%s: Linux idle memory" % vmm)
    else:
        res.add_mem(LINUX_IDLE_MEM, vmm, kinds)
    res.add("host cost", "RSS beyond guest RAM, " + LINUX_IDLE_MEM, "MiB", "lower", vmm,
            beyond_ram_mib(kinds) if kinds else None)


# Where resident memory goes, by kind of mapping (smaps_breakdown).
MEM_KINDS = ["guest RAM", "program", "libraries", "other files", "heap", "thread stacks",
             "other anonymous", "kernel (KVM, vDSO)"]


def beyond_ram_mib(kinds):
    """Resident MiB that is not guest RAM, from a smaps_breakdown()."""
    return (sum(kinds.values()) - kinds["guest RAM"]) / (1 << 20)


def smaps_breakdown(pid):
    """Resident bytes of the process by MEM_KINDS, read from /proc/PID/smaps.
    Guest RAM: the anonymous mappings at least as big as the guest's memory
    (the RAM block, on either VMM). Thread stacks: glibc puts each under a
    guard page, so an anonymous mapping right above a PROT_NONE page;
    malloc's arenas leave their PROT_NONE reserve above them instead."""
    maps = []
    exe = os.path.realpath("/proc/%d/exe" % pid)
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            fields = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                lo, hi = (int(x, 16) for x in fields[0].split("-"))
                maps.append(dict(lo=lo, hi=hi, perm=fields[1],
                                 path=" ".join(fields[5:]) if len(fields) > 5 else "", rss=0))
            elif fields[0] == "Rss:":
                maps[-1]["rss"] = int(fields[1]) * 1024
    kinds = dict.fromkeys(MEM_KINDS, 0)
    for i, m in enumerate(maps):
        path, below = m["path"], maps[i - 1] if i else None
        if not path:
            if m["hi"] - m["lo"] >= MEM_MB << 20:
                kind = "guest RAM"
            elif below and below["hi"] == m["lo"] and below["perm"].startswith("---") and \
                    not below["path"] and below["hi"] - below["lo"] <= 64 << 10:
                kind = "thread stacks"
            else:
                kind = "other anonymous"
        elif path == "[heap]":
            kind = "heap"
        elif path == "[stack]":
            kind = "thread stacks"
        elif path.startswith("[") or path.startswith("anon_inode:"):
            kind = "kernel (KVM, vDSO)"
        elif os.path.realpath(path.replace(" (deleted)", "")) == exe:
            kind = "program"
        elif ".so" in os.path.basename(path):
            kind = "libraries"
        else:
            kind = "other files"
        kinds[kind] += m["rss"]
    return kinds


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def iperf_client(reverse):
    args = ["iperf3", "-c", GUEST_IP, "-t", str(IPERF_SECS), "-J"] + (["-R"] if reverse else [])
    out = subprocess.run(netns_exec(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True).stdout
    try:
        end = json.loads(out)["end"]["sum_received"]
        return end["bits_per_second"] / 1e6, end["bytes"]
    except (ValueError, KeyError):
        log("iperf3 client failed: " + out[-300:])
        return None, None


def fresh_root(vmm, root_src):
    """A copy of the bench root disk (the guest writes to it), and the
    command line words that mount it: ours adds root=/dev/vda itself."""
    root = os.path.join(BUILD, "root-run.img")
    shutil.copyfile(root_src, root)
    return root, " root=/dev/vda rw" if vmm == "qemu" else ""


def boot_seconds(vmm, run):
    """Ours: the VMM's boot marker. QEMU's: the init's first console line."""
    if vmm == "vmm":
        m = run.find(r"guest reached init in (\d+) ms")
        return int(m.group(1)) / 1000 if m else None
    return run.line_time(r"^vmmtest: init started")


def bench_linux(res, vmm, root_src, scratch):
    root, root_words = fresh_root(vmm, root_src)
    state = {"cpu_net": 0.0, "bytes_net": 0}
    cmdline = LINUX_CMDLINE + root_words + " vmmtest.run=/bench/run.sh bench.disk=vdb " \
        "bench.secs=%d bench.net=1" % FIO_SECS

    directions = [(False, "host to guest"), (True, "guest to host")]

    def on_line(run, line):
        if line == "bench: iperf3 ready":
            if directions:
                reverse, name = directions.pop(0)
                c0 = proc_cpu(run.proc.pid)
                mbits, nbytes = iperf_client(reverse)
                c1 = proc_cpu(run.proc.pid)
                res.add("network: iperf3 over tap", name, "Mbit/s", "higher", vmm, mbits)
                if nbytes:
                    state["cpu_net"] += c1 - c0
                    state["bytes_net"] += nbytes
                else:
                    directions.clear()  # the server may not listen again
            if not directions:
                run.send("\n")
        elif line == "bench: measure":
            state["mem"] = smaps_breakdown(run.proc.pid)
            res.add_mem(LINUX_MEM, vmm, state["mem"])
            run.send("\n")

    os.sync()
    r = VmRun("linux-" + vmm, vm_args(vmm, os.path.join(GUEST, "vmlinux"), cmdline,
                                      [root, scratch], net=True), 300, on_line).start().wait()
    ok = guest_exit_status(vmm, r.status) == 0 and not r.failed and r.find("^bench: done")
    if not ok:
        r.report_failure("%s: Linux bench run" % vmm)
    res.add("boot", BOOT_DT, "s", "lower", vmm, boot_seconds(vmm, r))
    for job, name, unit in FIO_CASES:
        m = r.find(r"^bench: fio %s read_iops=(\d+) read_kibs=(\d+) write_iops=(\d+) "
                   r"write_kibs=(\d+)" % job)
        value = None
        if m:
            write = "write" in job
            iops, kibs = (int(m.group(3)), int(m.group(4))) if write else \
                (int(m.group(1)), int(m.group(2)))
            value = float(iops) if unit == "IOPS" else kibs * 1024 / 1e6
        res.add("block: fio in the Linux guest", name, unit, "higher", vmm, value)
    if "mem" in state:
        kinds = state["mem"]
        res.add("host cost", "RSS beyond guest RAM (128 MiB guest)", "MiB", "lower", vmm,
                beyond_ram_mib(kinds))
    res.add("host cost", "CPU per GiB, network (iperf3)", "s/GiB", "lower", vmm,
            state["cpu_net"] / (state["bytes_net"] / GIB) if state["bytes_net"] else None)


def bench_mptable_boot(res, root_src):
    """Ours described by an MP table, as QEMU's microvm describes its machine
    (with virtio_mmio.device= for the disk): without a table the kernel
    scans the BIOS area for one, which the emulated guest kernel here takes
    seconds over (a map and unmap per 16 bytes)."""
    root, root_words = fresh_root("vmm", root_src)
    r = VmRun("mptable-vmm", vm_args("vmm", os.path.join(GUEST, "vmlinux"),
                                     "quiet vmmtest.exit=0" + root_words, [root],
                                     vmm_extra=["--mptable"]), 600)
    r.start().wait()
    boot = boot_seconds("vmm", r)
    if boot is None:
        r.report_failure("vmm --mptable: boot")
    res.add("boot", BOOT_MP, "s", "lower", "vmm", boot)


def bench_bzimage(res, vmm, root_src):
    root, root_words = fresh_root(vmm, root_src)
    r = VmRun("bz-" + vmm, vm_args(vmm, os.path.join(GUEST, "bzImage"),
                                   "quiet vmmtest.exit=0" + root_words, [root]), 900)
    r.start().wait()
    boot = boot_seconds(vmm, r)
    if boot is None:
        r.report_failure("%s: bzImage boot" % vmm)
    res.add("boot", "bzImage to init", "s", "lower", vmm, boot)


# ---------------------------------------------------------------------------
# Share and run mode: ./vmm --exec against QEMU booting the same kernel into
# the same init (guest/run-init, with the orders ./vmm would give it) over the
# same two 9p shares: the host's / read-only as vmm-root, the directory the
# command runs in read-write as vmm-rw0 (QEMU: security_model=none).

def cpio_newc(entries):
    """A newc archive of (name, mode, rdev major, rdev minor, data)."""
    out = bytearray()

    def pad():
        out.extend(b"\0" * (-len(out) % 4))

    for ino, (name, mode, major, minor, data) in enumerate(entries + [
            ("TRAILER!!!", 0, 0, 0, b"")], 1):
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, major, minor, len(name) + 1, 0)
        out += b"070701" + b"".join(b"%08X" % f for f in fields) + name.encode() + b"\0"
        pad()
        out += data
        pad()
    return bytes(out)


def run_initramfs(cmd, cwd):
    """The initramfs ./vmm --exec CMD builds in memory (machine/run.c), as a
    file for QEMU: stdout and stdin are pipes, so raw=1 and echo=0."""
    orders = ["cmd=" + cmd, "cwd=" + cwd, "env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
              "/usr/bin:/sbin:/bin", "rw=vmm-rw0:" + cwd, "raw=1", "echo=0"]
    with open(os.path.join(GUEST, "run-init"), "rb") as f:
        init = f.read()
    data = cpio_newc([("dev", 0o40755, 0, 0, b""), ("dev/console", 0o20600, 5, 1, b""),
                      ("proc", 0o40555, 0, 0, b""), ("newroot", 0o40755, 0, 0, b""),
                      ("init", 0o100755, 0, 0, init),
                      ("vmm-run", 0o100644, 0, 0, b"".join(o.encode() + b"\0" for o in orders))])
    path = os.path.join(BUILD, "run-initramfs.cpio")
    with open(path, "wb") as f:
        f.write(data)
    return path


def run_args(vmm, cmd, cwd):
    kernel = os.path.join(GUEST, "vmlinux")
    if vmm == "vmm":
        return [VMM, "--kernel", kernel, "--mem", "%dM" % MEM_MB, "--cpus", "1", "--exec", cmd]
    args = QEMU_BASE + ["-m", str(MEM_MB), "-smp", "1", "-kernel", kernel,
                        "-initrd", run_initramfs(cmd, cwd),
                        "-append", RUN_CMDLINE]
    for i, (tag, path, ro) in enumerate((("vmm-root", "/", True), ("vmm-rw0", cwd, False))):
        args += ["-fsdev", "local,id=f%d,path=%s,security_model=none%s" % (
                     i, path, ",readonly=on" if ro else ""),
                 "-device", "virtio-9p-device,fsdev=f%d,mount_tag=%s" % (i, tag)]
    return args


def prepare_share():
    """The read case's directory, its 64 MiB file written through (in the
    host's page cache on both sides)."""
    share = os.path.join(BUILD, "share")
    os.makedirs(share, exist_ok=True)
    with open(os.path.join(share, "big"), "wb") as f:
        chunk = bytes((i * 13 + (i >> 10)) & 0xFF for i in range(1 << 20))
        for _ in range(SHARE_FILE_MB):
            f.write(chunk)
    return share


def bench_run_mode(res, vmm, share):
    """Two boots in run mode: `true` (start to exit), then the read case
    (start to its first line; the 64 MiB between its two markers)."""
    r = VmRun("exec-true-" + vmm, run_args(vmm, "true", share), 300, cwd=share)
    r.start()
    r.proc.stdin.close()
    r.wait()
    ok = guest_exit_status(vmm, r.status) == 0 and not r.failed
    if not ok:
        r.report_failure("%s: --exec true" % vmm)
    res.add(RUN_SECTION, RUN_TRUE, "s", "lower", vmm,
            r.ended if ok else None)

    r = VmRun("exec-read-" + vmm, run_args(vmm, RUN_READ_CMD, share), 300, cwd=share)
    r.start()
    r.proc.stdin.close()
    r.wait()
    first, done = r.line_time(r"^bench-start$"), r.line_time(r"^bench-read-done$")
    ok = guest_exit_status(vmm, r.status) == 0 and not r.failed and first and done
    if not ok:
        r.report_failure("%s: --exec read through the share" % vmm)
    res.add(RUN_SECTION, RUN_FIRST, "s", "lower", vmm, first if ok else None)
    res.add(RUN_SECTION, RUN_READ, "MB/s", "higher", vmm,
            SHARE_FILE_MB * (1 << 20) / 1e6 / (done - first) if ok else None)


# ---------------------------------------------------------------------------
# Output.

def versions():
    def first_line(args):
        try:
            return run_cmd(args).splitlines()[0].strip()
        except (OSError, subprocess.CalledProcessError, IndexError):
            return "?"
    # Dirty only for changes that are not this benchmark's own output.
    commit = first_line(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    if subprocess.run(["git", "-C", ROOT, "diff", "--quiet", "HEAD", "--", ".",
                       ":!README.md", ":!bench/results.md", ":!bench/results.png"]).returncode:
        commit += " (with uncommitted changes)"
    kvm = "kvm_pvm (nested, guest kernel mode emulated)" if os.path.isdir(
        "/sys/module/kvm_pvm") else "kvm"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return [
        ("machine", "%s, %d CPUs, %d GiB RAM, /dev/kvm: %s" % (
            cpu, os.cpu_count(), os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") >> 30,
            kvm)),
        ("host kernel", platform.release()),
        ("vmm", commit),
        ("QEMU", first_line([QEMU, "--version"])),
        ("guest", "Linux %s (build/guest/vmlinux, bzImage), the test guest "
                  "(build/guest/testguest.elf)" % kernel_version()),
        ("fio / iperf3", "%s (static, Debian's source) / %s" % (
            first_line([os.path.join(BUILD, "fio"), "--version"]),
            first_line(["iperf3", "--version"]).split(" (")[0])),
    ]


def kernel_version():
    try:
        with open(os.path.join(GUEST, "vmlinux"), "rb") as f:
            m = re.search(rb"Linux version (\S+)", f.read())
        return m.group(1).decode() if m else "?"
    except OSError:
        return "?"


def plot_label(section, name):
    """A row's name short enough for the plot's axis."""
    prefix = {"block: test guest (ring 3)": "test guest", "block: fio in the Linux guest": "fio",
              "network: iperf3 over tap": "iperf3", NET_SECTION: "tg net", RUN_SECTION: "run mode",
              "host cost": "cost"}.get(section, section)
    for long, short in ((BOOT_DT, "vmlinux, device tree"), (BOOT_MP, "vmlinux, --mptable"),
                        (" (test guest)", ""), (" (128 MiB guest)", ""),
                        ("CPU per GiB, ", "CPU/GiB "), (" TCP segments (TSO)", " TSO"), (RUN_TRUE, "--exec true"),
                        (RUN_FIRST, "first output"), (RUN_READ, "64 MiB read"), ("RSS beyond guest RAM", "RSS - guest RAM")):
        name = name.replace(long, short)
    return "%s: %s" % (prefix, name)


def notes(res):
    out = ["Test guest: one boot per case, the host's page cache synced before each; the "
           "image is a 256 MiB raw file written through beforehand. Linux guest: fio %d s "
           "per job, iperf3 %d s per direction. Run mode: the same kernel, init (guest/run-init) "
           "and shares on both (QEMU: -fsdev local,security_model=none, virtio-9p-device); "
           "times are the host's, from the VMM's start to its console line or its exit."
           % (FIO_SECS, IPERF_SECS)]
    for vmm, label in (("vmm", "vmm"), ("qemu", "QEMU")):
        runs = res.mem.get(LINUX_MEM, {}).get(vmm)
        if runs:
            total = statistics.median(sum(r.values()) for r in runs) / (1 << 20)
            ram = statistics.median(r["guest RAM"] for r in runs) / (1 << 20)
            out.append("%s: %.1f MiB resident while the Linux guest idled, %.1f MiB of it "
                       "guest RAM (medians)." % (label, total, ram))
    for group, (date, commit) in sorted(res.kept.items()):
        out.append("The %s rows are those of the run of %s (vmm %s), kept: this one ran %s." % (
            group, date, commit, ",".join(CASES)))
    return [" ".join(out)]


def mem_table(res):
    """Where each VMM's resident memory goes, by kind, medians in MiB."""
    if not res.mem:
        return []
    lines = ["Resident memory by kind of mapping (MiB, median of the runs; from "
             "/proc/PID/smaps; libraries' pages are shared with other processes but counted, "
             "as RSS counts them):", "",
             "| setting | VMM | beyond guest RAM | " + " | ".join(MEM_KINDS) + " |",
             "|---|---|---|" + "---|" * len(MEM_KINDS)]
    for setting, entry in res.mem.items():
        for vmm, label in (("vmm", "vmm"), ("qemu", "QEMU")):
            runs = entry.get(vmm)
            if not runs:
                continue
            med = {k: statistics.median(r.get(k, 0) for r in runs) / (1 << 20) for k in MEM_KINDS}
            beyond = statistics.median(beyond_ram_mib(r) for r in runs)
            lines.append("| %s | %s | %.2f | %s |" % (setting, label, beyond, " | ".join(
                "%.2f" % med[k] for k in MEM_KINDS)))
    return ["\n".join(lines)]


def write_table(res, meta, elapsed):
    lines = ["Written by `make bench` on %s in %d min %d s." % (
        datetime.date.today().isoformat(), elapsed // 60, elapsed % 60), ""]
    for k, v in meta:
        lines.append("- %s: %s" % (k, v))
    lines += ["", "Median (min-max) of the runs on each side; ratio = ours / QEMU's, "
              "marked ahead or behind by what is better for the figure.", "",
              "| case | unit | runs | vmm | QEMU | ratio | host | vmm / host |",
              "|---|---|---|---|---|---|---|---|"]
    plot = []
    section = None
    for sec, name, unit, better, vals in sorted(res.rows, key=lambda r: SECTIONS.index(r[0])):
        if sec != section:
            lines.append("| **%s** | | | | | | | |" % sec)
            section = sec
        ours, om = summary(vals["vmm"])
        theirs, tm = summary(vals["qemu"])
        rt, r = ratio_text(om, tm, better)
        runs = "%d/%d" % (len(vals["vmm"]), len(vals["qemu"]))
        host, hm = summary(vals.get("host")) if vals.get("host") else ("", None)
        if not vals["qemu"] and vals["vmm"]:
            theirs = "-"  # a figure only ours has (--stats)
        of_host = "%.2f" % (om / hm) if om and hm else ""
        lines.append("| %s | %s (%s better) | %s | %s | %s | %s | %s | %s |" % (
            name, unit, better, runs, ours, theirs, rt, host, of_host))
        if r:
            plot.append((plot_label(sec, name), r if better == "higher" else 1 / r))
    lines += [""] + notes(res) + [""] + mem_table(res)
    text = "\n".join(lines) + "\n"
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write("# vmm against QEMU microvm\n\n" + text + "\n![the same as a plot](results.png)\n")
    return text, plot


def update_readme(text):
    """The table and the plot between README.md's bench markers."""
    path = os.path.join(ROOT, "README.md")
    with open(path) as f:
        readme = f.read()
    begin, end = "<!-- bench:begin -->\n", "<!-- bench:end -->"
    a, b = readme.find(begin), readme.find(end)
    if a < 0 or b < a:
        log("README.md has no bench markers: not updated")
        return
    body = "### Latest results\n\n" + text + "\n![the same as a plot](bench/results.png)\n"
    with open(path, "w") as f:
        f.write(readme[:a + len(begin)] + body + readme[b:])


def write_plot(plot):
    dat = os.path.join(BUILD, "plot.dat")
    with open(dat, "w") as f:
        for i, (label, v) in enumerate(plot):
            f.write('%d "%s" %.4f\n' % (i, label.replace('"', "'"), v))
    png = os.path.join(OUT, "results.png")
    subprocess.run(["gnuplot", "-e", "datafile='%s'; outfile='%s'" % (dat, png),
                    os.path.join(ROOT, "bench", "plot.gp")], check=True)


# ---------------------------------------------------------------------------

def main():
    if os.geteuid() != 0:
        die("needs root (a network namespace and a tap for the network cases)")
    needs = {"tg": ["testguest.elf"], "net": ["testguest.elf", "../bench/netpeer"],
             "startup": ["testguest.elf"],
             "mem": ["testguest.elf", "../bench/root.img"],
             "linux": ["../bench/root.img"],
             "bzimage": ["bzImage", "../bench/root.img"], "run": ["run-init"]}
    for path in [VMM, os.path.join(GUEST, "vmlinux")] + [
            os.path.normpath(os.path.join(GUEST, f)) for c in CASES for f in needs.get(c, [])]:
        if not os.path.exists(path):
            die("%s is missing (make bench builds it)" % path)
    unknown = set(CASES) - set(ALL_CASES)
    if unknown:
        die("BENCH_CASES: unknown %s (known: %s)" % (",".join(sorted(unknown)),
                                                    ",".join(ALL_CASES)))
    if not shutil.which(QEMU):
        die("%s not found: apt-get install qemu-system-x86" % QEMU)
    started = time.monotonic()
    shutil.rmtree(os.path.join(BUILD, "logs"), ignore_errors=True)
    res = Results()
    scratch = prepare_images() if {"tg", "mem", "linux"} & set(CASES) else None
    root_src = os.path.join(BUILD, "root.img")
    setup_netns()
    try:
        order = ("vmm", "qemu")
        res.group = "tg"
        for i in range(TG_RUNS if "tg" in CASES else 0):
            for vmm in order if i % 2 == 0 else order[::-1]:
                log("test guest block run %d/%d on %s" % (i + 1, TG_RUNS, vmm))
                bench_tg(res, vmm, scratch, i == 0)
        res.group = "net"
        for i in range(RUNS if "net" in CASES else 0):
            for vmm in order if i % 2 == 0 else order[::-1]:
                log("test guest network run %d/%d on %s" % (i + 1, RUNS, vmm))
                bench_net(res, vmm, i == 0)
        res.group = "startup"
        for i in range(TG_RUNS if "startup" in CASES else 0):
            for vmm in order if i % 2 == 0 else order[::-1]:
                log("start-up run %d/%d on %s" % (i + 1, TG_RUNS, vmm))
                bench_startup(res, vmm)
        res.group = "mem"
        for i in range(RUNS if "mem" in CASES else 0):
            for vmm in order if i % 2 == 0 else order[::-1]:
                log("memory run %d/%d on %s" % (i + 1, RUNS, vmm))
                bench_memory(res, vmm, scratch)
        # Ours only: QEMU's split is in the test-guest settings and the Linux
        # run's, and a boot here is half a minute of the 25 the bench may take.
        if "mem" in CASES:
            log("Linux idle memory on vmm (one boot)")
            bench_linux_idle_memory(res, "vmm", root_src)
        res.group = "linux"
        for i in range(RUNS if "linux" in CASES else 0):
            for vmm in order if i % 2 == 0 else order[::-1]:
                log("Linux run %d/%d on %s (boot, fio, iperf3, memory)" % (i + 1, RUNS, vmm))
                bench_linux(res, vmm, root_src, scratch)
            log("vmlinux boot %d/%d on vmm --mptable" % (i + 1, RUNS))
            bench_mptable_boot(res, root_src)
        # QEMU has one way to describe its machine: the same boots count for both rows.
        for value in res.values("boot", BOOT_DT, "qemu"):
            res.add("boot", BOOT_MP, "s", "lower", "qemu", value)
        res.group = "bzimage"
        if BZIMAGE and "bzimage" in CASES:
            for vmm in order:
                log("bzImage boot on %s" % vmm)
                bench_bzimage(res, vmm, root_src)
        res.group = "run"
        share = prepare_share() if "run" in CASES else None
        for i in range(RUNS if share else 0):
            for vmm in order if i % 2 == 0 else order[::-1]:
                log("run mode %d/%d on %s (--exec true, a read through the share)" % (
                    i + 1, RUNS, vmm))
                bench_run_mode(res, vmm, share)
    finally:
        teardown_netns()
    elapsed = int(time.monotonic() - started)
    meta = versions()
    # A run of some cases into bench/ keeps the others' rows from the last one.
    if OUT == DEFAULT_OUT and set(CASES) != set(ALL_CASES):
        res.keep_earlier(os.path.join(OUT, "results.json"), CASES)
    text, plot = write_table(res, meta, elapsed)
    res.save(os.path.join(OUT, "results.json"), meta)
    write_plot(plot)
    if OUT == DEFAULT_OUT:
        update_readme(text)
    print(text)
    log("wrote %s and %s in %d s" % (os.path.join(OUT, "results.md"),
                                      os.path.join(OUT, "results.png"), elapsed))


if __name__ == "__main__":
    main()
