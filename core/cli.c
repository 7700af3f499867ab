// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "core/cli.h"
#include "core/trace.h"
#include "core/error.h"
#include "core/memory.h"
#include "core/options.h"
#include "core/util.h"
#include "core/vcpu.h"

/* A copy of @arg in @buf that strsep() may cut up, kept for the life of the config. */
static char *copy_argument(const char *what, char *buf, size_t size, const char *arg)
{
	if (snprintf(buf, size, "%s", arg) >= (int)size) {
		set_error("%s: argument too long", what);
		return NULL;
	}
	return buf;
}

/* Remember where the device came on the command line: its virtio slot. */
static void add_device(struct vmm_config *cfg, enum vmm_device_kind kind, unsigned int index)
{
	cfg->devices[cfg->ndevices].kind = kind;
	cfg->devices[cfg->ndevices].index = index;
	cfg->ndevices++;
}

static int parse_disk(struct vmm_config *cfg, const char *arg)
{
	char *buf;

	if (cfg->ndisks >= VMM_MAX_DISKS)
		return set_error("--disk: at most %d disks", VMM_MAX_DISKS);
	buf = copy_argument("--disk", cfg->disk_buf[cfg->ndisks], sizeof(cfg->disk_buf[0]), arg);
	if (!buf || blk_parse_opt(&cfg->disks[cfg->ndisks], buf) < 0)
		return -1;
	add_device(cfg, VMM_DEVICE_DISK, cfg->ndisks++);
	return 0;
}

static int parse_net(struct vmm_config *cfg, const char *arg)
{
	char *buf;

	if (cfg->nnets >= VMM_MAX_NICS)
		return set_error("--net: at most %d network cards", VMM_MAX_NICS);
	buf = copy_argument("--net", cfg->net_buf[cfg->nnets], sizeof(cfg->net_buf[0]), arg);
	if (!buf || net_parse_opt(&cfg->nets[cfg->nnets], buf) < 0)
		return -1;
	add_device(cfg, VMM_DEVICE_NET, cfg->nnets++);
	return 0;
}

static int parse_share(struct vmm_config *cfg, const char *arg)
{
	char *buf;

	if (cfg->nshares >= VMM_MAX_SHARES)
		return set_error("--share: at most %d shares", VMM_MAX_SHARES);
	buf =
	    copy_argument("--share", cfg->share_buf[cfg->nshares], sizeof(cfg->share_buf[0]), arg);
	if (!buf || p9_parse_opt(&cfg->shares[cfg->nshares], buf) < 0)
		return -1;
	add_device(cfg, VMM_DEVICE_SHARE, cfg->nshares++);
	return 0;
}

enum opt_id {
	OPT_KERNEL,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_MEM,
	OPT_MEM_OVERCOMMIT,
	OPT_NO_SECCOMP,
	OPT_CPUS,
	OPT_DISK,
	OPT_NET,
	OPT_SHARE,
	OPT_DUMP_DTB,
	OPT_MPTABLE,
	OPT_NO_EVENTFD,
	OPT_HELP,
	OPT_VERSION,
	OPT_EXEC,
	OPT_ROOT,
	OPT_RWDIR,
	OPT_TIMEOUT,
	OPT_VERBOSE,
	OPT_STATS,
	OPT_STATS_JSON,
	OPT_TRACE,
	OPT_TRACE_LIMIT,
	OPT_API_SOCK
};

static const struct {
	const char *name;
	enum opt_id id;
	bool has_arg;
} options[] = {
    {"kernel", OPT_KERNEL, true},
    {"initrd", OPT_INITRD, true},
    {"cmdline", OPT_CMDLINE, true},
    {"mem", OPT_MEM, true},
    {"cpus", OPT_CPUS, true},
    {"disk", OPT_DISK, true},
    {"net", OPT_NET, true},
    {"share", OPT_SHARE, true},
    {"dump-dtb", OPT_DUMP_DTB, true},
    {"mptable", OPT_MPTABLE, false},
    {"no-eventfd", OPT_NO_EVENTFD, false},
    {"mem-overcommit", OPT_MEM_OVERCOMMIT, false},
    {"no-seccomp", OPT_NO_SECCOMP, false},
    {"exec", OPT_EXEC, true},
    {"root", OPT_ROOT, true},
    {"rwdir", OPT_RWDIR, true},
    {"timeout", OPT_TIMEOUT, true},
    {"verbose", OPT_VERBOSE, false},
    {"stats", OPT_STATS, false},
    {"stats-json", OPT_STATS_JSON, true},
    {"trace", OPT_TRACE, true},
    {"trace-limit", OPT_TRACE_LIMIT, true},
    {"api-sock", OPT_API_SOCK, true},
    {"help", OPT_HELP, false},
    {"version", OPT_VERSION, false},
};

static int apply_option(struct vmm_config *cfg, enum opt_id id, const char *val)
{
	switch (id) {
	case OPT_KERNEL: cfg->kernel = val; return 0;
	case OPT_INITRD: cfg->initrd = val; return 0;
	case OPT_CMDLINE: cfg->cmdline = val; return 0;
	case OPT_DUMP_DTB: cfg->dump_dtb = val; return 0;
	case OPT_MPTABLE: cfg->mptable = true; return 0;
	case OPT_MEM_OVERCOMMIT: cfg->mem_overcommit = true; return 0;
	case OPT_NO_SECCOMP: cfg->no_seccomp = true; return 0;
	case OPT_NO_EVENTFD: cfg->no_eventfd = true; return 0;
	case OPT_HELP: cfg->help = true; return 0;
	case OPT_VERSION: cfg->version = true; return 0;
	case OPT_EXEC:
		if (!*val)
			return set_error("--exec: empty command");
		cfg->exec = val;
		return 0;
	case OPT_ROOT: cfg->root = val; return 0;
	case OPT_VERBOSE: cfg->verbose = true; return 0;
	case OPT_STATS: cfg->stats = true; return 0;
	case OPT_STATS_JSON: cfg->stats_json = val; return 0;
	case OPT_TRACE: cfg->trace = val; return 0;
	case OPT_API_SOCK: cfg->api_sock = val; return 0;
	case OPT_TRACE_LIMIT:
		return parse_count("--trace-limit", val, TRACE_LIMIT_MIN, TRACE_LIMIT_MAX,
				   &cfg->trace_limit);
	case OPT_RWDIR:
		if (cfg->nrwdirs >= VMM_MAX_RWDIRS)
			return set_error("--rwdir: at most %d", VMM_MAX_RWDIRS);
		cfg->rwdirs[cfg->nrwdirs++] = val;
		return 0;
	case OPT_TIMEOUT: return parse_count("--timeout", val, 1, VMM_MAX_TIMEOUT, &cfg->timeout);
	case OPT_DISK: return parse_disk(cfg, val);
	case OPT_NET: return parse_net(cfg, val);
	case OPT_SHARE: return parse_share(cfg, val);
	case OPT_CPUS: return parse_count("--cpus", val, 1, VMM_MAX_CPUS, &cfg->cpus);
	case OPT_MEM:
		if (parse_size(val, &cfg->mem) < 0)
			return set_error("--mem: %s", last_error());
		return guest_mem_layout(&(struct guest_mem){0}, cfg->mem) < 0
			   ? set_error("--mem: %s", last_error())
			   : 0;
	}
	return 0;
}

/* Find "--name" or "--name=value"; *inline_val points at the value if given. */
static int lookup_option(const char *arg, const char **inline_val)
{
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);

	*inline_val = eq ? eq + 1 : NULL;
	for (unsigned int i = 0; i < ARRAY_SIZE(options); i++) {
		if (strlen(options[i].name) == len && !strncmp(arg, options[i].name, len))
			return (int)i;
	}
	return -1;
}

int cli_parse(int argc, char *const argv[], struct vmm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem = VMM_DEFAULT_MEM;
	cfg->cpus = 1;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val;
		int o;

		if (!strcmp(arg, "-h"))
			arg = "--help";
		if (strncmp(arg, "--", 2) || (o = lookup_option(arg + 2, &val)) < 0)
			return set_error("unknown option '%s' (try --help)", argv[i]);
		if (options[o].has_arg && !val) {
			if (i + 1 >= argc)
				return set_error("option '--%s' needs a value", options[o].name);
			val = argv[++i];
		} else if (!options[o].has_arg && val) {
			return set_error("option '--%s' takes no value", options[o].name);
		}
		if (apply_option(cfg, options[o].id, val) < 0)
			return -1;
	}
	if (!cfg->kernel && !cfg->help && !cfg->version && !cfg->dump_dtb)
		return set_error("no kernel given (use --kernel PATH, or --help)");
	if (!cfg->exec && (cfg->root || cfg->nrwdirs))
		return set_error("--%s is for run mode: give --exec CMD too",
				 cfg->root ? "root" : "rwdir");
	return 0;
}

void cli_usage(const char *prog)
{
	printf("usage: %s --kernel PATH [options]\n"
	       "Boot a Linux kernel in a KVM virtual machine.\n\n"
	       "  --kernel PATH       bzImage or ELF vmlinux to boot\n"
	       "  --initrd PATH       initial ramdisk\n"
	       "  --cmdline STR       kernel command line (appended to the defaults)\n"
	       "  --mem SIZE          guest RAM, with K/M/G suffix (default 256M)\n"
	       "  --mem-overcommit    allow --mem beyond the host's RAM and swap\n"
	       "  --cpus N            number of vCPUs, 1 to %d (default 1)\n"
	       "  --disk PATH[,ro][,serial=STR][,io=auto|uring|sync][,poll=US]\n"
	       "                      virtio-blk disk on a raw image (up to %d): ro read-only,\n"
	       "                      serial the ID the guest reads (up to 20 printable bytes,\n"
	       "                      default vmm-disk0, vmm-disk1...), io how requests reach\n"
	       "                      the host (auto: io_uring when the host has it, else sync),\n"
	       "                      poll how long (microseconds, default %d, 0 to %d) a\n"
	       "                      queue is watched for more requests before its thread\n"
	       "                      sleeps: less latency for a little CPU\n"
	       "  --net tap[,ifname=NAME][,mac=MAC][,mtu=N]\n"
	       "                      virtio-net card on a host tap device (up to %d cards):\n"
	       "                      ifname an existing tap to attach to, or the name of a\n"
	       "                      new one (needs CAP_NET_ADMIN); checksum and TSO offloads\n"
	       "  --net user[,restrict=on|off][,hostfwd=tcp:[HADDR]:HPORT-[GADDR]:GPORT]...\n"
	       "                      [,mac=MAC][,mtu=N]\n"
	       "                      virtio-net card on user-mode networking (libslirp, no\n"
	       "                      privileges): guest 10.0.2.15 by DHCP, gateway 10.0.2.2,\n"
	       "                      DNS 10.0.2.3; hostfwd forwards HADDR:HPORT (default\n"
	       "                      127.0.0.1) to the guest; restrict=on lets the guest\n"
	       "                      reach nothing but forwarded ports. Default MAC\n"
	       "                      02:76:6d:00:00:N for card N (from 0)\n"
	       "  --share DIR[,tag=TAG][,ro]\n"
	       "                      the host directory DIR for the guest's 9p file system\n"
	       "                      (virtio-9p, 9P2000.L; up to %d): mount -t 9p -o\n"
	       "                      trans=virtio,version=9p2000.L TAG /mnt (default tag\n"
	       "                      share0, share1...); files are made as the VMM's user;\n"
	       "                      ro refuses every write\n"
	       "  --exec CMD          run mode: boot with the host's / as the guest's root\n"
	       "                      (read-only, over 9p), the current directory read-write\n"
	       "                      at its path, run /bin/sh -c CMD there and exit with its\n"
	       "                      status (125: the guest could not set up)\n"
	       "  --root DIR          run mode: DIR instead of / as the guest's root\n"
	       "  --rwdir DIR         run mode: DIR read-write too (up to %d)\n"
	       "  --verbose           run mode: kernel messages on the console\n"
	       "  --timeout SECONDS   end the VM after SECONDS with one line, exit status 124\n"
	       "  --stats             at exit, vCPU exits by reason and device register (count,\n"
	       "                      time in the VMM), virtqueue counters, vCPU time, on stderr\n"
	       "  --stats-json FILE   the same as JSON in FILE (README: its schema)\n"
	       "  --trace FILE        a timeline of exits, notifies, interrupts and requests\n"
	       "                      in FILE, Chrome trace-event JSON (Perfetto), written at\n"
	       "                      exit and on SIGUSR1\n"
	       "  --trace-limit N     keep the newest N events (default %d)\n"
	       "  --api-sock PATH     a control socket (mode 0600), JSON lines: info, pause,\n"
	       "                      resume, stats, quit (tools/vmm-api talks to it)\n"
	       "  --mptable           describe the platform with an MP table instead of a\n"
	       "                      device tree (for kernels without CONFIG_OF)\n"
	       "  --dump-dtb FILE     write the device tree blob to FILE and exit\n"
	       "  --no-eventfd        serve virtio notifies and interrupts through VM exits,\n"
	       "                      without KVM ioeventfd/irqfd (for testing)\n"
	       "  --no-seccomp        run without the per-thread seccomp filters\n"
	       "  --help, --version\n\n"
	       "Console: COM1 on stdin/stdout; Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A.\n",
	       prog, VMM_MAX_CPUS, VMM_MAX_DISKS, BLK_POLL_US_DEFAULT, BLK_POLL_US_MAX,
	       VMM_MAX_NICS, VMM_MAX_SHARES, VMM_MAX_RWDIRS, TRACE_LIMIT_DEFAULT);
}
