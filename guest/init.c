/*
 * init (PID 1) of the vmm test guest.
 *
 * Mounts the pseudo filesystems, tells the VMM that boot is done, runs the
 * checks asked for by vmmtest.* options on the kernel command line and
 * ends the VM with a status the host can test: 0 if every check passed.
 * It runs as /init of the initramfs or as /sbin/init of the root disk
 * (build/guest/rootfs.img, booted with root=/dev/vda).
 *
 * Built static with musl so that the initramfs stays small: the guest
 * kernel unpacks it very slowly under emulated KVM.
 *
 * Options (each check prints "vmmtest: PASS name" or "vmmtest: FAIL name:
 * why"; a check runs only when its option is given):
 *   vmmtest.cpus=N		cpus: N CPUs online
 *   vmmtest.mem_mb=M		mem: MemTotal within 20% below M MiB
 *   vmmtest.dt=0|1		devicetree: a device tree (not) present, one
 *				cpu@ node per online CPU; with the tree, the
 *				kernel found the MP table's companion (its
 *				search through the BIOS areas ended there)
 *   vmmtest.klog=1		kernel-log: no warning, BUG, "BIOS bug" or
 *				call trace in the kernel's log, and one IO-APIC
 *				registered (a second means the machine was
 *				described twice)
 *   vmmtest.root=DEV		root: / is ext4 mounted read-write from /dev/DEV
 *   vmmtest.serial=DEV:STR	serial: /sys/block/DEV/serial is STR
 *   vmmtest.queues=DEV:N	queues: DEV has N request queues (virtio-blk MQ:
 *				the VMM offers one per vCPU)
 *   vmmtest.pattern=DEV:SECTORS
 *				disk-size: DEV has SECTORS 512-byte sectors;
 *				write-cache: DEV's cache is "write back" (the
 *				device offers flush);
 *				pattern: write the extents of diskpattern.h
 *				to raw DEV with O_DIRECT, fdatasync (a flush
 *				request must complete), read back and compare.
 *				DEV must start zeroed (a new sparse image).
 *   vmmtest.discard=DEV	discard: after the pattern (same DEV), BLKDISCARD
 *				the range DP_DISCARD_OFF/LEN; it must read back
 *				as zeros, its neighbours still as the pattern
 *   vmmtest.zeroes=DEV		write-zeroes: the same with BLKZEROOUT (sent as
 *				VIRTIO_BLK_T_WRITE_ZEROES) of DP_ZERO_OFF/LEN
 *   vmmtest.ro=DEV[:TEXT]	ro: DEV is read-only (/sys/block/DEV/ro), a
 *				write and a BLKZEROOUT through it both fail and
 *				its first and last sectors stay the same; with
 *				TEXT, the first sector starts with TEXT
 * network (netcheck.c; the kernel configures the interface first, from
 * ip= on the command line; a PASS line may carry a note after ": "):
 *   vmmtest.ip=IF:ADDR[/PREFIX]
 *				ip: IF is up with carrier and has ADDR (and
 *				PREFIX)
 *   vmmtest.mac=IF:MAC		mac: IF's hardware address is MAC (xx:..:xx)
 *   vmmtest.mtu=IF:N		mtu: IF's MTU is N
 *   vmmtest.ping=ADDR		ping: 3 ICMP echo requests to ADDR, each
 *				answered within 5 s
 *   vmmtest.tcp=ADDR:PORT:BYTES
 *				tcp: connect to `netpattern serve` there and
 *				run netpattern.h's exchange: BYTES each way,
 *				verified against the pattern on both sides;
 *				prints "vmmtest: tcp: received|sent N bytes
 *				fnv1a=X in T ms" for the host to compare, the
 *				PASS note has KiB/s each way
 *   vmmtest.serve=PORT:BYTES	serve: listen on PORT, print "vmmtest:
 *				listening on PORT", serve one `netpattern
 *				client` the same exchange (lines "vmmtest:
 *				serve: ...")
 *   vmmtest.unreachable=ADDR:PORT
 *				unreachable: a TCP connect to ADDR:PORT does
 *				not succeed within 3 s
 *   vmmtest.share=TAG:TEXT	share: mount the 9p share TAG (--share) on
 *				/mnt/TAG, read its host-file (TEXT and a newline),
 *				write guest-file ("written in the guest\n"), make
 *				guest-dir and find both in a listing
 * and how the VM ends:
 *   vmmtest.exit=N		exit status N whatever the checks said
 *   vmmtest.run=PATH		after the checks, run the program or script at
 *				absolute PATH on the console; a non-zero exit
 *				makes the VM's status 1 (the benchmarks' hook)
 *   vmmtest.shell=1		a busybox shell on the console first
 *   vmmtest.poweroff=1, vmmtest.reboot=1
 *				end through the kernel, not the test-exit port
 * DEV is a block device name such as vda (letters and digits).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diskpattern.h"
#include "netcheck.h"
#include "vmm-guest-abi.h"

#define DT_BASE	      "/sys/firmware/devicetree/base"
#define DT_COMPATIBLE "linux,dummy-virt"

/* From <linux/fs.h>, which musl does not ship (BLKGETSIZE64 and BLKSSZGET
 * come with <sys/mount.h>). */
#ifndef BLKDISCARD
#define BLKDISCARD _IO(0x12, 119)
#endif
#ifndef BLKZEROOUT
#define BLKZEROOUT _IO(0x12, 127)
#endif

#define DEV_NAME_MAX 32
#define DISK_ARG_MAX 64

/* A vmmtest.NAME=DEV[:ARG] option; dev[0] == '\0' if not given. */
struct disk_opt {
	char dev[DEV_NAME_MAX];
	char arg[DISK_ARG_MAX];
};

/* What the kernel command line asked for; -1 (shell: 0) if not asked. */
struct vmmtest_opts {
	long cpus;
	long mem_mb;
	long dt;
	long klog;
	long exit_status;
	long shell;
	long poweroff;		 /* end with reboot(RB_POWER_OFF), not the port */
	long reboot;		 /* end with reboot(RB_AUTOBOOT), not the port */
	struct disk_opt root;	 /* DEV */
	struct disk_opt serial;	 /* DEV:STR */
	struct disk_opt queues;	 /* DEV:N */
	struct disk_opt pattern; /* DEV:SECTORS */
	struct disk_opt discard; /* DEV (the pattern's) */
	struct disk_opt zeroes;	 /* DEV (the pattern's) */
	struct disk_opt ro;	 /* DEV[:TEXT] */
	struct disk_opt share;	 /* TAG:TEXT */
	uint64_t pattern_sectors;
	struct nc_opts net; /* the network checks' options */
	char run[96];	    /* vmmtest.run=PATH, "" if not given */
	char error[160];    /* first bad vmmtest.* option, "" if none */
};

/* Problems met before the checks run, reported by the checks. */
struct guest_state {
	struct vmmtest_opts opts;
	char setup_error[128];
	bool have_ports;
};

struct vmmtest_option {
	const char *name;
	size_t offset;
	long min, max;
};

static const struct vmmtest_option vmmtest_options[] = {
    {"cpus", offsetof(struct vmmtest_opts, cpus), 1, 4096},
    {"mem_mb", offsetof(struct vmmtest_opts, mem_mb), 1, 1L << 30},
    {"dt", offsetof(struct vmmtest_opts, dt), 0, 1},
    {"klog", offsetof(struct vmmtest_opts, klog), 1, 1},
    {"exit", offsetof(struct vmmtest_opts, exit_status), 0, 255},
    {"shell", offsetof(struct vmmtest_opts, shell), 0, 1},
    {"poweroff", offsetof(struct vmmtest_opts, poweroff), 0, 1},
    {"reboot", offsetof(struct vmmtest_opts, reboot), 0, 1},
};

enum disk_arg_kind { ARG_NONE, ARG_OPTIONAL, ARG_REQUIRED };

struct vmmtest_disk_option {
	const char *name;
	size_t offset;
	enum disk_arg_kind arg;
};

static const struct vmmtest_disk_option vmmtest_disk_options[] = {
    {"root", offsetof(struct vmmtest_opts, root), ARG_NONE},
    {"serial", offsetof(struct vmmtest_opts, serial), ARG_REQUIRED},
    {"queues", offsetof(struct vmmtest_opts, queues), ARG_REQUIRED},
    {"pattern", offsetof(struct vmmtest_opts, pattern), ARG_REQUIRED},
    {"discard", offsetof(struct vmmtest_opts, discard), ARG_NONE},
    {"zeroes", offsetof(struct vmmtest_opts, zeroes), ARG_NONE},
    {"ro", offsetof(struct vmmtest_opts, ro), ARG_OPTIONAL},
    {"share", offsetof(struct vmmtest_opts, share), ARG_REQUIRED},
};

/* Keep the first error only: later ones are usually its consequences. */
static void __attribute__((format(printf, 3, 4)))
set_error(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (buf[0])
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* A block device name as in /sys/block: letters and digits only, so that it
 * cannot name anything but /dev/DEV and /sys/block/DEV. */
static bool valid_dev_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= DEV_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/* "DEV[:ARG]" into @d as option @o allows; false if malformed. */
static bool parse_disk_value(const struct vmmtest_disk_option *o, const char *value,
			     struct disk_opt *d)
{
	const char *colon = strchr(value, ':');
	size_t dev_len = colon ? (size_t)(colon - value) : strlen(value);

	if (!valid_dev_name(value, dev_len))
		return false;
	if (colon ? o->arg == ARG_NONE || !colon[1] : o->arg == ARG_REQUIRED)
		return false;
	if (colon && strlen(colon + 1) >= sizeof(d->arg))
		return false;
	snprintf(d->dev, sizeof(d->dev), "%.*s", (int)dev_len, value);
	snprintf(d->arg, sizeof(d->arg), "%s", colon ? colon + 1 : "");
	return true;
}

/* Parse one "vmmtest.NAME=VALUE" word; other words are not ours. */
static void parse_vmmtest_word(const char *word, size_t len, struct vmmtest_opts *opts)
{
	char buf[128], *value, *end;
	size_t i;
	long v;

	if (len < 8 || strncmp(word, "vmmtest.", 8))
		return;
	snprintf(buf, sizeof(buf), "%.*s", (int)len, word);
	if (len >= sizeof(buf)) {
		set_error(opts->error, sizeof(opts->error), "too long: %s", buf);
		return;
	}
	value = strchr(buf, '=');
	if (!value) {
		set_error(opts->error, sizeof(opts->error), "no value: %s", buf);
		return;
	}
	*value++ = '\0';
	for (i = 0; i < sizeof(vmmtest_options) / sizeof(vmmtest_options[0]); i++) {
		const struct vmmtest_option *o = &vmmtest_options[i];

		if (strcmp(buf + 8, o->name))
			continue;
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || end == value || *end || v < o->min || v > o->max)
			set_error(opts->error, sizeof(opts->error), "bad value: %s=%s", buf, value);
		else
			*(long *)((char *)opts + o->offset) = v;
		return;
	}
	for (i = 0; i < sizeof(vmmtest_disk_options) / sizeof(vmmtest_disk_options[0]); i++) {
		const struct vmmtest_disk_option *o = &vmmtest_disk_options[i];

		if (strcmp(buf + 8, o->name))
			continue;
		if (!parse_disk_value(o, value, (struct disk_opt *)((char *)opts + o->offset)))
			set_error(opts->error, sizeof(opts->error), "bad value: %s=%s", buf, value);
		return;
	}
	if (!strcmp(buf + 8, "run")) {
		if (value[0] != '/' || strlen(value) >= sizeof(opts->run))
			set_error(opts->error, sizeof(opts->error), "bad value: %s=%s", buf, value);
		else
			snprintf(opts->run, sizeof(opts->run), "%s", value);
		return;
	}
	switch (nc_parse(buf + 8, value, &opts->net)) {
	case 1: return;
	case -1:
		set_error(opts->error, sizeof(opts->error), "bad value: %s=%s", buf, value);
		return;
	}
	set_error(opts->error, sizeof(opts->error), "unknown option: %s", buf);
}

/* Checks between options, once all are known. */
static void check_disk_opts(struct vmmtest_opts *opts)
{
	unsigned long long sectors;
	char *end;

	if (opts->pattern.dev[0]) {
		errno = 0;
		sectors = strtoull(opts->pattern.arg, &end, 10);
		if (errno || *end || opts->pattern.arg[0] == '-' ||
		    sectors > UINT64_MAX / DP_SECTOR || sectors * DP_SECTOR < DP_MIN_BYTES)
			set_error(opts->error, sizeof(opts->error),
				  "bad value: vmmtest.pattern=%s:%s (sectors, at least %llu)",
				  opts->pattern.dev, opts->pattern.arg, DP_MIN_BYTES / DP_SECTOR);
		else
			opts->pattern_sectors = sectors;
	}
	if (opts->discard.dev[0] && strcmp(opts->discard.dev, opts->pattern.dev))
		set_error(opts->error, sizeof(opts->error),
			  "vmmtest.discard=%s needs vmmtest.pattern=%s:SECTORS", opts->discard.dev,
			  opts->discard.dev);
	if (opts->zeroes.dev[0] && strcmp(opts->zeroes.dev, opts->pattern.dev))
		set_error(opts->error, sizeof(opts->error),
			  "vmmtest.zeroes=%s needs vmmtest.pattern=%s:SECTORS", opts->zeroes.dev,
			  opts->zeroes.dev);
}

/* Split the command line into words the way the kernel does (quotes). */
static void parse_cmdline(const char *cmdline, struct vmmtest_opts *opts)
{
	const char *p = cmdline, *start;
	bool quoted;

	memset(opts, 0, sizeof(*opts));
	opts->cpus = opts->mem_mb = opts->dt = opts->klog = opts->exit_status = -1;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		start = p;
		for (quoted = false; *p; p++) {
			if (*p == '"')
				quoted = !quoted;
			else if (!quoted && (*p == ' ' || *p == '\t' || *p == '\n'))
				break;
		}
		parse_vmmtest_word(start, p - start, opts);
	}
	check_disk_opts(opts);
}

/* Count the CPUs in a sysfs CPU list such as "0-3,6\n"; -1 if malformed. */
static int count_cpu_list(const char *s)
{
	int count = 0;
	long lo, hi;
	char *end;

	while (*s && *s != '\n') {
		lo = hi = strtol(s, &end, 10);
		if (end == s || lo < 0 || count > 65535)
			return -1;
		if (*end == '-') {
			s = end + 1;
			hi = strtol(s, &end, 10);
			if (end == s || hi < lo || hi - lo > 65535)
				return -1;
		}
		count += hi - lo + 1;
		s = end;
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return -1;
	}
	return count ? count : -1;
}

/* Read a small file whole; returns bytes read (NUL-terminated) or -1. */
static ssize_t read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static int online_cpus(void)
{
	char buf[256];

	if (read_file("/sys/devices/system/cpu/online", buf, sizeof(buf)) < 0)
		return -1;
	return count_cpu_list(buf);
}

enum check_result { CHECK_PASS, CHECK_FAIL, CHECK_SKIP };

/* A check returns its result and, on failure, the reason in @why. */
typedef enum check_result (*check_fn)(const struct guest_state *st, char *why, size_t len);

static enum check_result pass_if(bool ok)
{
	return ok ? CHECK_PASS : CHECK_FAIL;
}

static enum check_result check_setup(const struct guest_state *st, char *why, size_t len)
{
	snprintf(why, len, "%s", st->setup_error);
	return pass_if(!st->setup_error[0]);
}

static enum check_result check_cmdline(const struct guest_state *st, char *why, size_t len)
{
	snprintf(why, len, "%s", st->opts.error);
	return pass_if(!st->opts.error[0]);
}

static enum check_result check_proc_self(const struct guest_state *st, char *why, size_t len)
{
	(void)st;
	if (access("/proc/self", F_OK) == 0)
		return CHECK_PASS;
	snprintf(why, len, "/proc/self: %s", strerror(errno));
	return CHECK_FAIL;
}

static enum check_result check_uname(const struct guest_state *st, char *why, size_t len)
{
	struct utsname u;

	(void)st;
	if (uname(&u) < 0) {
		snprintf(why, len, "uname: %s", strerror(errno));
		return CHECK_FAIL;
	}
	printf("vmmtest: kernel %s\n", u.release);
	snprintf(why, len, "empty release");
	return pass_if(u.release[0] != '\0');
}

static enum check_result check_cpus(const struct guest_state *st, char *why, size_t len)
{
	long want = st->opts.cpus, sysfs, conf;

	if (want < 0)
		return CHECK_SKIP;
	sysfs = online_cpus();
	conf = sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(why, len, "want %ld, sysfs online %ld, sysconf %ld", want, sysfs, conf);
	return pass_if(sysfs == want && conf == want);
}

static enum check_result check_mem(const struct guest_state *st, char *why, size_t len)
{
	long long kib, max_kib = st->opts.mem_mb * 1024LL;
	char buf[4096], *line;

	if (st->opts.mem_mb < 0)
		return CHECK_SKIP;
	if (read_file("/proc/meminfo", buf, sizeof(buf)) < 0 ||
	    !(line = strstr(buf, "MemTotal:"))) {
		snprintf(why, len, "no MemTotal in /proc/meminfo");
		return CHECK_FAIL;
	}
	kib = strtoll(line + strlen("MemTotal:"), NULL, 10);
	snprintf(why, len, "MemTotal %lld KiB, want (%lld, %lld]", kib, max_kib * 8 / 10, max_kib);
	/* The kernel keeps some memory for itself: allow up to 20% less. */
	return pass_if(kib * 10 > max_kib * 8 && kib <= max_kib);
}

/* Does the NUL-separated string list @list (@n bytes) hold @s? */
static bool strlist_has(const char *list, size_t n, const char *s)
{
	size_t off;

	for (off = 0; off < n; off += strlen(list + off) + 1)
		if (!strcmp(list + off, s))
			return true;
	return false;
}

static int count_dt_cpu_nodes(void)
{
	DIR *dir = opendir(DT_BASE "/cpus");
	struct dirent *d;
	int count = 0;

	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		count += !strncmp(d->d_name, "cpu@", 4);
	closedir(dir);
	return count;
}

#define KLOG_READ_ALL 3 /* klogctl(2)'s SYSLOG_ACTION_READ_ALL */

/* The kernel's log so far, NUL-terminated; NULL if it cannot be read. */
static const char *kernel_log(void)
{
	static char log[1 << 18]; /* twice the guest kernel's buffer */
	int n = klogctl(KLOG_READ_ALL, log, sizeof(log) - 1);

	if (n < 0)
		return NULL;
	log[n] = '\0';
	return log;
}

/* Copy the log line that holds @at into @why. */
static void quote_log_line(const char *log, const char *at, char *why, size_t len)
{
	const char *start = at, *end = strchrnul(at, '\n');

	while (start > log && start[-1] != '\n')
		start--;
	snprintf(why, len, "kernel log: %.*s", (int)(end - start), start);
}

static enum check_result check_kernel_log(const struct guest_state *st, char *why, size_t len)
{
	static const char *const bad[] = {"WARNING:", "BUG:", "BIOS bug",
					  "Call Trace:", "IOAPIC[1]"};
	const char *log;

	if (st->opts.klog < 0)
		return CHECK_SKIP;
	log = kernel_log();
	if (!log) {
		snprintf(why, len, "klogctl: %s", strerror(errno));
		return CHECK_FAIL;
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *at = strstr(log, bad[i]);

		if (at) {
			quote_log_line(log, at, why, len);
			return CHECK_FAIL;
		}
	}
	snprintf(why, len, "no IOAPIC[0] in the kernel log");
	return pass_if(strstr(log, "IOAPIC[0]"));
}

static enum check_result check_dt(const struct guest_state *st, char *why, size_t len)
{
	char buf[512];
	const char *log;
	int nodes, online;
	ssize_t n;

	if (st->opts.dt < 0)
		return CHECK_SKIP;
	if (st->opts.dt == 0) {
		snprintf(why, len, "vmmtest.dt=0 but " DT_BASE " exists");
		return pass_if(access(DT_BASE, F_OK) < 0 && errno == ENOENT);
	}
	n = read_file(DT_BASE "/compatible", buf, sizeof(buf));
	if (n < 0 || !strlist_has(buf, n, DT_COMPATIBLE)) {
		snprintf(why, len, "no " DT_COMPATIBLE " in " DT_BASE "/compatible");
		return CHECK_FAIL;
	}
	log = kernel_log();
	if (!log || !strstr(log, "found SMP MP-table")) {
		snprintf(why, len, "the kernel log has no \"found SMP MP-table\"");
		return CHECK_FAIL;
	}
	nodes = count_dt_cpu_nodes();
	online = online_cpus();
	snprintf(why, len, "%d cpu@ nodes, %d online CPUs", nodes, online);
	return pass_if(nodes > 0 && nodes == online);
}

/* Read /sys/block/DEV/ATTR (ATTR may have a folder: "queue/ro"). */
static ssize_t read_block_attr(const char *dev, const char *attr, char *buf, size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/block/%s/%s", dev, attr);
	return read_file(path, buf, len);
}

/* A sysfs number; false (why set) if unreadable or not a number. */
static bool block_attr_u64(const char *dev, const char *attr, uint64_t *v, char *why, size_t len)
{
	char buf[64], *end;

	if (read_block_attr(dev, attr, buf, sizeof(buf)) < 0) {
		snprintf(why, len, "/sys/block/%s/%s: %s", dev, attr, strerror(errno));
		return false;
	}
	errno = 0;
	*v = strtoull(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n')) {
		snprintf(why, len, "/sys/block/%s/%s: not a number: %s", dev, attr, buf);
		return false;
	}
	return true;
}

/* Field @index (0-based) of /sys/block/DEV/stat: 11 discard I/Os, 15 flush
 * I/Os (Documentation/block/stat.rst). */
static bool block_stat(const char *dev, unsigned int index, uint64_t *v, char *why, size_t len)
{
	char buf[512], *p = buf, *end;
	unsigned int i;

	if (read_block_attr(dev, "stat", buf, sizeof(buf)) < 0) {
		snprintf(why, len, "/sys/block/%s/stat: %s", dev, strerror(errno));
		return false;
	}
	for (i = 0; i <= index; i++, p = end) {
		*v = strtoull(p, &end, 10);
		if (end == p) {
			snprintf(why, len, "/sys/block/%s/stat has no field %u", dev, index + 1);
			return false;
		}
	}
	return true;
}

static int open_dev(const char *dev, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/%s", dev);
	return open(path, flags | O_CLOEXEC);
}

/* Whole-buffer pread/pwrite; short transfers count as errors (EIO). */
static bool pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);

	if (n >= 0 && (size_t)n != len)
		errno = EIO;
	return n >= 0 && (size_t)n == len;
}

static bool pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	ssize_t n = pwrite(fd, buf, len, (off_t)off);

	if (n >= 0 && (size_t)n != len)
		errno = EIO;
	return n >= 0 && (size_t)n == len;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* O_DIRECT buffers: page-aligned, as large as the largest extent. */
static unsigned char io_buf[DP_MAX_IO] __attribute__((aligned(4096)));
static unsigned char want_buf[DP_MAX_IO] __attribute__((aligned(4096)));

/* Offset of the first byte where @a and @b differ, or -1. */
static long first_difference(const unsigned char *a, const unsigned char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (a[i] != b[i])
			return (long)i;
	return -1;
}

/* Read @len bytes at @off with O_DIRECT and compare them with what the disk
 * must hold after the pattern and @done (dp_expect()); false with the
 * reason in @why. */
static bool verify_range(int fd, const char *dev, uint64_t off, size_t len, unsigned int done,
			 char *why, size_t why_len)
{
	long diff;

	if (!pread_all(fd, io_buf, len, off)) {
		snprintf(why, why_len, "read %zu bytes at %llu from /dev/%s: %s", len,
			 (unsigned long long)off, dev, strerror(errno));
		return false;
	}
	dp_expect(want_buf, off, len, done);
	diff = first_difference(io_buf, want_buf, len);
	if (diff >= 0) {
		snprintf(why, why_len, "byte %llu of /dev/%s reads 0x%02x, want 0x%02x",
			 (unsigned long long)off + diff, dev, io_buf[diff], want_buf[diff]);
		return false;
	}
	return true;
}

/* Verify every pattern extent that overlaps [@off, @off + @len). */
static bool verify_extents_around(int fd, const char *dev, uint64_t disk_bytes, uint64_t off,
				  uint64_t len, unsigned int done, char *why, size_t why_len)
{
	struct dp_extent e[DP_MAX_EXTENTS];
	unsigned int i, n = dp_extents(disk_bytes, e);

	for (i = 0; i < n; i++)
		if (dp_overlaps(e[i].off, e[i].len, off, len) &&
		    !verify_range(fd, dev, e[i].off, e[i].len, done, why, why_len))
			return false;
	return true;
}

/* / is ext4, mounted read-write, from /dev/DEV. */
static enum check_result check_root(const struct guest_state *st, char *why, size_t len)
{
	const char *dev = st->opts.root.dev;
	char mounts[8192], path[64], *line, *save = NULL;
	char type[32] = "", flags[64] = "";
	struct stat root, bdev;

	if (!dev[0])
		return CHECK_SKIP;
	snprintf(path, sizeof(path), "/dev/%s", dev);
	if (stat("/", &root) < 0 || stat(path, &bdev) < 0) {
		snprintf(why, len, "stat / or %s: %s", path, strerror(errno));
		return CHECK_FAIL;
	}
	if (!S_ISBLK(bdev.st_mode) || bdev.st_rdev != root.st_dev) {
		snprintf(why, len, "/ is on device %u:%u, %s is %s %u:%u", major(root.st_dev),
			 minor(root.st_dev), path,
			 S_ISBLK(bdev.st_mode) ? "block device" : "not a block device",
			 major(bdev.st_rdev), minor(bdev.st_rdev));
		return CHECK_FAIL;
	}
	if (read_file("/proc/mounts", mounts, sizeof(mounts)) < 0) {
		snprintf(why, len, "/proc/mounts: %s", strerror(errno));
		return CHECK_FAIL;
	}
	/* The last mount on / is the one in use (rootfs lies below it). */
	for (line = strtok_r(mounts, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char mnt[64], t[32], f[64];

		if (sscanf(line, "%*s %63s %31s %63s", mnt, t, f) == 3 && !strcmp(mnt, "/")) {
			snprintf(type, sizeof(type), "%s", t);
			snprintf(flags, sizeof(flags), "%s", f);
		}
	}
	snprintf(why, len, "/ is %s (%s) from %s, want ext4 (rw)",
		 type[0] ? type : "not in /proc/mounts", flags, path);
	return pass_if(!strcmp(type, "ext4") &&
		       (!strcmp(flags, "rw") || !strncmp(flags, "rw,", 3)));
}

static enum check_result check_serial(const struct guest_state *st, char *why, size_t len)
{
	const struct disk_opt *o = &st->opts.serial;
	char buf[128];
	ssize_t n;

	if (!o->dev[0])
		return CHECK_SKIP;
	n = read_block_attr(o->dev, "serial", buf, sizeof(buf));
	if (n < 0) {
		snprintf(why, len, "/sys/block/%s/serial: %s", o->dev, strerror(errno));
		return CHECK_FAIL;
	}
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	snprintf(why, len, "/sys/block/%s/serial is \"%s\", want \"%s\"", o->dev, buf, o->arg);
	return pass_if(!strcmp(buf, o->arg));
}

/* blk-mq lists one folder per hardware queue under /sys/block/DEV/mq. */
static enum check_result check_queues(const struct guest_state *st, char *why, size_t len)
{
	const struct disk_opt *o = &st->opts.queues;
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	if (!o->dev[0])
		return CHECK_SKIP;
	snprintf(path, sizeof(path), "/sys/block/%s/mq", o->dev);
	d = opendir(path);
	if (!d) {
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return CHECK_FAIL;
	}
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	snprintf(why, len, "/dev/%s has %d queues, want %s", o->dev, n, o->arg);
	return pass_if(n == atoi(o->arg));
}

/* The size in sysfs and from BLKGETSIZE64 is what vmmtest.pattern= says. */
static enum check_result check_disk_size(const struct guest_state *st, char *why, size_t len)
{
	const char *dev = st->opts.pattern.dev;
	uint64_t want = st->opts.pattern_sectors, sectors, bytes = 0;
	int fd;

	if (!dev[0] || !want)
		return CHECK_SKIP;
	if (!block_attr_u64(dev, "size", &sectors, why, len))
		return CHECK_FAIL;
	fd = open_dev(dev, O_RDONLY);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &bytes) < 0) {
		snprintf(why, len, "/dev/%s: BLKGETSIZE64: %s", dev, strerror(errno));
		if (fd >= 0)
			close(fd);
		return CHECK_FAIL;
	}
	close(fd);
	snprintf(why, len,
		 "%s: /sys/block size %llu sectors, BLKGETSIZE64 %llu bytes, want %llu sectors",
		 dev, (unsigned long long)sectors, (unsigned long long)bytes,
		 (unsigned long long)want);
	return pass_if(sectors == want && bytes == want * DP_SECTOR);
}

/* "write back": the device offers VIRTIO_BLK_F_FLUSH, so fsync sends flushes. */
static enum check_result check_write_cache(const struct guest_state *st, char *why, size_t len)
{
	const char *dev = st->opts.pattern.dev;
	char buf[64];

	if (!dev[0])
		return CHECK_SKIP;
	if (read_block_attr(dev, "queue/write_cache", buf, sizeof(buf)) < 0) {
		snprintf(why, len, "/sys/block/%s/queue/write_cache: %s", dev, strerror(errno));
		return CHECK_FAIL;
	}
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(why, len, "/sys/block/%s/queue/write_cache is \"%s\", want \"write back\"", dev,
		 buf);
	return pass_if(!strcmp(buf, "write back"));
}

/* Write the pattern with O_DIRECT, fdatasync, read it back and compare. */
static enum check_result check_pattern(const struct guest_state *st, char *why, size_t len)
{
	const char *dev = st->opts.pattern.dev;
	uint64_t bytes = st->opts.pattern_sectors * DP_SECTOR, lbs, flush0, flush1, total = 0;
	struct dp_extent e[DP_MAX_EXTENTS];
	unsigned int i, n;
	long long t0, t1, t2;
	int fd;

	if (!dev[0] || !bytes)
		return CHECK_SKIP;
	if (!block_attr_u64(dev, "queue/logical_block_size", &lbs, why, len))
		return CHECK_FAIL;
	if (lbs != DP_SECTOR) {
		snprintf(why, len, "%s: logical block size %llu, the pattern needs %llu", dev,
			 (unsigned long long)lbs, DP_SECTOR);
		return CHECK_FAIL;
	}
	if (!block_stat(dev, 15, &flush0, why, len))
		return CHECK_FAIL;
	fd = open_dev(dev, O_RDWR | O_DIRECT);
	if (fd < 0) {
		snprintf(why, len, "open /dev/%s O_RDWR|O_DIRECT: %s", dev, strerror(errno));
		return CHECK_FAIL;
	}
	n = dp_extents(bytes, e);
	t0 = now_ms();
	for (i = 0; i < n; i++) {
		dp_fill(io_buf, e[i].off, e[i].len);
		if (!pwrite_all(fd, io_buf, e[i].len, e[i].off)) {
			snprintf(why, len, "write %llu bytes at %llu to /dev/%s: %s",
				 (unsigned long long)e[i].len, (unsigned long long)e[i].off, dev,
				 strerror(errno));
			close(fd);
			return CHECK_FAIL;
		}
		total += e[i].len;
	}
	if (fdatasync(fd) < 0) {
		snprintf(why, len, "fdatasync /dev/%s: %s", dev, strerror(errno));
		close(fd);
		return CHECK_FAIL;
	}
	t1 = now_ms();
	if (!block_stat(dev, 15, &flush1, why, len)) {
		close(fd);
		return CHECK_FAIL;
	}
	if (flush1 <= flush0) {
		snprintf(why, len,
			 "fdatasync sent no flush to %s (flush count %llu before, %llu after)", dev,
			 (unsigned long long)flush0, (unsigned long long)flush1);
		close(fd);
		return CHECK_FAIL;
	}
	for (i = 0; i < n; i++) {
		if (!verify_range(fd, dev, e[i].off, e[i].len, 0, why, len)) {
			close(fd);
			return CHECK_FAIL;
		}
	}
	t2 = now_ms();
	close(fd);
	printf("vmmtest: %s: wrote %llu KiB in %u extents and flushed in %lld ms, "
	       "read back in %lld ms\n",
	       dev, (unsigned long long)total / 1024, n, t1 - t0, t2 - t1);
	return CHECK_PASS;
}

/* Discard (BLKDISCARD, @discard) or zero (BLKZEROOUT) a range inside the
 * pattern of vmmtest.pattern=: zeros there, the pattern around it. The
 * device must offer the operation (VIRTIO_BLK_F_DISCARD, _WRITE_ZEROES:
 * without WRITE_ZEROES Linux would write zero pages instead) and the
 * request must reach it (the discard count in /sys/block/DEV/stat). */
static enum check_result zero_range(const struct guest_state *st, bool discard, char *why,
				    size_t len)
{
	const char *dev = st->opts.pattern.dev;
	const char *op = discard ? "BLKDISCARD" : "BLKZEROOUT";
	const char *limit = discard ? "queue/discard_max_bytes" : "queue/write_zeroes_max_bytes";
	uint64_t range[2], max_bytes, count0 = 0, count1 = 0;
	uint64_t bytes = st->opts.pattern_sectors * DP_SECTOR;
	unsigned int done = discard ? DP_DISCARDED : DP_ZEROED;
	int fd;

	range[0] = discard ? DP_DISCARD_OFF : DP_ZERO_OFF;
	range[1] = discard ? DP_DISCARD_LEN : DP_ZERO_LEN;
	if (!block_attr_u64(dev, limit, &max_bytes, why, len))
		return CHECK_FAIL;
	if (!max_bytes) {
		snprintf(why, len, "%s: the device offers no %s (%s is 0)", dev,
			 discard ? "discard" : "write zeroes", limit);
		return CHECK_FAIL;
	}
	if (discard && !block_stat(dev, 11, &count0, why, len))
		return CHECK_FAIL;
	fd = open_dev(dev, O_RDWR | O_DIRECT);
	if (fd < 0) {
		snprintf(why, len, "open /dev/%s O_RDWR|O_DIRECT: %s", dev, strerror(errno));
		return CHECK_FAIL;
	}
	if (ioctl(fd, discard ? BLKDISCARD : BLKZEROOUT, range) < 0) {
		snprintf(why, len, "%s %llu bytes at %llu on /dev/%s: %s", op,
			 (unsigned long long)range[1], (unsigned long long)range[0], dev,
			 strerror(errno));
		close(fd);
		return CHECK_FAIL;
	}
	if (discard && !block_stat(dev, 11, &count1, why, len)) {
		close(fd);
		return CHECK_FAIL;
	}
	if (discard && count1 <= count0) {
		snprintf(why, len,
			 "BLKDISCARD sent no discard to %s (count %llu before, %llu after)", dev,
			 (unsigned long long)count0, (unsigned long long)count1);
		close(fd);
		return CHECK_FAIL;
	}
	if (!verify_extents_around(fd, dev, bytes, range[0], range[1], done, why, len)) {
		close(fd);
		return CHECK_FAIL;
	}
	close(fd);
	return CHECK_PASS;
}

static enum check_result check_discard(const struct guest_state *st, char *why, size_t len)
{
	if (!st->opts.discard.dev[0] || !st->opts.pattern_sectors)
		return CHECK_SKIP;
	return zero_range(st, true, why, len);
}

static enum check_result check_write_zeroes(const struct guest_state *st, char *why, size_t len)
{
	if (!st->opts.zeroes.dev[0] || !st->opts.pattern_sectors)
		return CHECK_SKIP;
	return zero_range(st, false, why, len);
}

/* Read the first and last sectors of @fd into @first and @last. */
static bool read_ends(int fd, const char *dev, uint64_t bytes, unsigned char *first,
		      unsigned char *last, char *why, size_t len)
{
	if (pread_all(fd, first, DP_SECTOR, 0) && pread_all(fd, last, DP_SECTOR, bytes - DP_SECTOR))
		return true;
	snprintf(why, len, "read /dev/%s: %s", dev, strerror(errno));
	return false;
}

/* A read-only disk: flagged so, writes refused, content unchanged. */
static enum check_result check_ro(const struct guest_state *st, char *why, size_t len)
{
	const struct disk_opt *o = &st->opts.ro;
	static unsigned char before[2][DP_SECTOR] __attribute__((aligned(4096)));
	static unsigned char after[2][DP_SECTOR] __attribute__((aligned(4096)));
	char write_result[64], zeroout_result[64];
	uint64_t ro, bytes = 0, range[2] = {0, DP_SECTOR};
	size_t text_len = strlen(o->arg);
	int fd;

	if (!o->dev[0])
		return CHECK_SKIP;
	if (!block_attr_u64(o->dev, "ro", &ro, why, len))
		return CHECK_FAIL;
	if (ro != 1) {
		snprintf(why, len, "/sys/block/%s/ro is %llu, want 1", o->dev,
			 (unsigned long long)ro);
		return CHECK_FAIL;
	}
	fd = open_dev(o->dev, O_RDONLY | O_DIRECT);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &bytes) < 0 || bytes < DP_SECTOR) {
		snprintf(why, len, "open /dev/%s or BLKGETSIZE64 (%llu bytes): %s", o->dev,
			 (unsigned long long)bytes, strerror(errno));
		if (fd >= 0)
			close(fd);
		return CHECK_FAIL;
	}
	if (!read_ends(fd, o->dev, bytes, before[0], before[1], why, len)) {
		close(fd);
		return CHECK_FAIL;
	}
	close(fd);
	if (text_len && (text_len > DP_SECTOR || memcmp(before[0], o->arg, text_len))) {
		snprintf(why, len, "the first sector of /dev/%s does not start with \"%s\"", o->dev,
			 o->arg);
		return CHECK_FAIL;
	}

	/* A plain write: the kernel refuses it (EPERM) for a disk the device
	 * marks read-only (VIRTIO_BLK_F_RO). */
	memset(io_buf, 0xa5, DP_SECTOR);
	fd = open_dev(o->dev, O_RDWR | O_DIRECT);
	if (fd < 0) {
		snprintf(write_result, sizeof(write_result), "open refused: %s", strerror(errno));
	} else {
		if (pwrite(fd, io_buf, DP_SECTOR, 0) >= 0) {
			snprintf(why, len, "a write to read-only /dev/%s succeeded", o->dev);
			close(fd);
			return CHECK_FAIL;
		}
		snprintf(write_result, sizeof(write_result), "write refused: %s", strerror(errno));
		close(fd);
	}
	/* BLKZEROOUT: another path to the device (blk-lib), refused too.
	 * Linux 6.1 stops every write to a read-only disk itself, so whether
	 * the device would refuse one is for the host to check (content). */
	fd = open_dev(o->dev, O_WRONLY);
	if (fd < 0) {
		snprintf(zeroout_result, sizeof(zeroout_result), "open refused: %s",
			 strerror(errno));
	} else {
		if (ioctl(fd, BLKZEROOUT, range) == 0) {
			snprintf(why, len, "BLKZEROOUT on read-only /dev/%s succeeded", o->dev);
			close(fd);
			return CHECK_FAIL;
		}
		snprintf(zeroout_result, sizeof(zeroout_result), "BLKZEROOUT refused: %s",
			 strerror(errno));
		close(fd);
	}

	fd = open_dev(o->dev, O_RDONLY | O_DIRECT);
	if (fd < 0) {
		snprintf(why, len, "open /dev/%s: %s", o->dev, strerror(errno));
		return CHECK_FAIL;
	}
	if (!read_ends(fd, o->dev, bytes, after[0], after[1], why, len)) {
		close(fd);
		return CHECK_FAIL;
	}
	close(fd);
	printf("vmmtest: %s: %s; %s\n", o->dev, write_result, zeroout_result);
	snprintf(why, len, "the content of read-only /dev/%s changed", o->dev);
	return pass_if(!memcmp(before, after, sizeof(before)));
}

#define SHARE_GUEST_TEXT "written in the guest\n"

static bool share_has(const char *dir, const char *name)
{
	struct dirent *d;
	DIR *dh = opendir(dir);
	bool found = false;

	while (dh && (d = readdir(dh)))
		found |= !strcmp(d->d_name, name);
	if (dh)
		closedir(dh);
	return found;
}

/* A host directory over virtio-9p: read what the host wrote, write for it to read. */
static enum check_result check_share(const struct guest_state *st, char *why, size_t len)
{
	const struct disk_opt *o = &st->opts.share;
	char dir[64], path[96], text[128];
	int fd;
	ssize_t n;

	if (!o->dev[0])
		return CHECK_SKIP;
	snprintf(dir, sizeof(dir), "/mnt/%s", o->dev);
	mkdir("/mnt", 0755);
	mkdir(dir, 0755);
	if (mount(o->dev, dir, "9p", 0, "trans=virtio,version=9p2000.L") < 0) {
		snprintf(why, len, "mount -t 9p %s %s: %s", o->dev, dir, strerror(errno));
		return CHECK_FAIL;
	}
	snprintf(path, sizeof(path), "%s/host-file", dir);
	if (read_file(path, text, sizeof(text)) < 0 || strlen(text) != strlen(o->arg) + 1 ||
	    strncmp(text, o->arg, strlen(o->arg))) {
		snprintf(why, len, "%s does not hold %s", path, o->arg);
		return CHECK_FAIL;
	}
	snprintf(path, sizeof(path), "%s/guest-file", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	n = fd < 0 ? -1 : write(fd, SHARE_GUEST_TEXT, strlen(SHARE_GUEST_TEXT));
	if (fd < 0 || n != (ssize_t)strlen(SHARE_GUEST_TEXT) || fsync(fd) < 0 || close(fd) < 0) {
		snprintf(why, len, "write %s: %s", path, strerror(errno));
		return CHECK_FAIL;
	}
	snprintf(path, sizeof(path), "%s/guest-dir", dir);
	if (mkdir(path, 0755) < 0) {
		snprintf(why, len, "mkdir %s: %s", path, strerror(errno));
		return CHECK_FAIL;
	}
	snprintf(why, len, "guest-file or guest-dir missing from a listing of %s", dir);
	return pass_if(share_has(dir, "guest-file") && share_has(dir, "guest-dir"));
}

static const struct {
	const char *name;
	check_fn run;
} checks[] = {
    {"setup", check_setup},
    {"cmdline", check_cmdline},
    {"proc-self", check_proc_self},
    {"uname", check_uname},
    {"cpus", check_cpus},
    {"mem", check_mem},
    {"devicetree", check_dt},
    {"root", check_root},
    {"serial", check_serial},
    {"queues", check_queues},
    {"disk-size", check_disk_size},
    {"write-cache", check_write_cache},
    {"pattern", check_pattern},
    {"discard", check_discard},
    {"write-zeroes", check_write_zeroes},
    {"ro", check_ro},
    {"share", check_share},
    /* Last: a warning the checks above made the kernel print counts too. */
    {"kernel-log", check_kernel_log},
};

/* Run the wanted checks, ours then the network's (which may add a note to
 * a PASS line); returns how many failed. */
static int run_checks(const struct guest_state *st)
{
	int passed = 0, failed = 0;
	char why[256];
	size_t i;

	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		why[0] = '\0';
		switch (checks[i].run(st, why, sizeof(why))) {
		case CHECK_PASS:
			printf("vmmtest: PASS %s\n", checks[i].name);
			passed++;
			break;
		case CHECK_FAIL:
			printf("vmmtest: FAIL %s: %s\n", checks[i].name, why);
			failed++;
			break;
		case CHECK_SKIP: break;
		}
	}
	for (i = 0; i < nc_checks_count; i++) {
		why[0] = '\0';
		switch (nc_checks[i].run(&st->opts.net, why, sizeof(why))) {
		case NC_PASS:
			printf("vmmtest: PASS %s%s%s\n", nc_checks[i].name, why[0] ? ": " : "",
			       why);
			passed++;
			break;
		case NC_FAIL:
			printf("vmmtest: FAIL %s: %s\n", nc_checks[i].name, why);
			failed++;
			break;
		case NC_SKIP: break;
		}
		fflush(stdout);
	}
	printf("vmmtest: summary: %d checks passed, %d failed\n", passed, failed);
	return failed;
}

static void mount_fs(struct guest_state *st, const char *type, const char *dir)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		set_error(st->setup_error, sizeof(st->setup_error), "mkdir %s: %s", dir,
			  strerror(errno));
	/* EBUSY: the kernel may have mounted devtmpfs itself. */
	if (mount(type, dir, type, MS_NOSUID, NULL) < 0 && errno != EBUSY)
		set_error(st->setup_error, sizeof(st->setup_error), "mount %s: %s", dir,
			  strerror(errno));
}

/* The kernel gives init the console as fds 0-2 only if it could open it. */
static void open_console(void)
{
	int fd, new;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		new = open("/dev/console", O_RDWR | O_NOCTTY);
		if (new >= 0 && new != fd) {
			dup2(new, fd);
			close(new);
		}
	}
}

/* Run @path on the console and return its exit status (-1 if it could not
 * be started or was killed). */
static int run_on_console(const char *path)
{
	int status;
	pid_t pid, done;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* A session of its own with the console, for job control. */
		setsid();
		ioctl(STDIN_FILENO, TIOCSCTTY, 0);
		execl(path, path, (char *)NULL);
		fprintf(stderr, "vmmtest: exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	if (pid < 0) {
		perror("vmmtest: fork");
		return -1;
	}
	/* As PID 1 we also reap orphans until the child itself is gone. */
	while ((done = wait(&status)) != pid)
		if (done < 0 && errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void __attribute__((noreturn)) end_vm(const struct guest_state *st, int status)
{
	printf("vmmtest: exit %d\n", status);
	fflush(stdout);
	fflush(stderr);
	sync();
	/* A root disk left clean for the next boot (and for fsck on the host);
	 * fails harmlessly on the initramfs or while files are open for writing. */
	mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL);
	/* The kernel's own ways out, so that the host sees them end the VM. */
	if (st->opts.poweroff == 1)
		reboot(RB_POWER_OFF);
	if (st->opts.reboot == 1)
		reboot(RB_AUTOBOOT);
	if (st->have_ports)
		outb((unsigned char)status, VMM_PORT_TEST_EXIT);
	/* Still running: no test-exit device (e.g. QEMU). Power off. */
	reboot(RB_POWER_OFF);
	reboot(RB_AUTOBOOT);
	/* PID 1 must never exit: that would panic the kernel. */
	for (;;)
		pause();
}

int main(void)
{
	static struct guest_state st;
	char cmdline[4096];
	int status, err = 0;

	mount_fs(&st, "proc", "/proc");
	mount_fs(&st, "sysfs", "/sys");
	mount_fs(&st, "devtmpfs", "/dev");
	open_console();

	/* One range for both ports: test-exit 0x501 and boot-mark 0x502. */
	if (ioperm(VMM_PORT_TEST_EXIT, 2, 1) == 0) {
		st.have_ports = true;
		outb(0, VMM_PORT_BOOT_MARK);
	} else {
		set_error(st.setup_error, sizeof(st.setup_error), "ioperm: %s", strerror(errno));
	}

	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)) < 0) {
		err = errno;
		cmdline[0] = '\0';
	}
	parse_cmdline(cmdline, &st.opts);
	/* The same boot event on the console, for VMMs without the marker. */
	printf("vmmtest: init started\n");
	fflush(stdout);
	if (err)
		set_error(st.opts.error, sizeof(st.opts.error), "/proc/cmdline: %s", strerror(err));

	status = run_checks(&st) ? 1 : 0;
	if (st.opts.run[0] && run_on_console(st.opts.run) != 0)
		status = 1;
	if (st.opts.exit_status >= 0)
		status = st.opts.exit_status;
	if (st.opts.shell == 1)
		run_on_console("/bin/sh");
	end_vm(&st, status);
}
