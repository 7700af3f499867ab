// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "core/memory.h"
#include "core/util.h"

/* "512M", "2G", "65536K" or plain bytes; refuses anything that would overflow. */
int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return set_error("bad size '%s'", s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return set_error("bad size '%s'", s);
	switch (toupper((unsigned char)*end)) {
	case 'K':
		shift = 10;
		end++;
		break;
	case 'M':
		shift = 20;
		end++;
		break;
	case 'G':
		shift = 30;
		end++;
		break;
	case 'T':
		shift = 40;
		end++;
		break;
	case 'B':
	case '\0': break;
	default: return set_error("bad size '%s' (use a number with K, M, G or T)", s);
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return set_error("bad size '%s'", s);
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_count(const char *opt, const char *s, unsigned int min, unsigned int max,
		       unsigned int *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end || errno || v < min || v > max)
		return set_error("%s: bad count '%s' (expected %u to %u)", opt, s, min, max);
	*out = (unsigned int)v;
	return 0;
}

static int parse_disk_io(const char *val, enum disk_io *io)
{
	static const char *const names[] = {
	    [DISK_IO_AUTO] = "auto", [DISK_IO_URING] = "uring", [DISK_IO_SYNC] = "sync"};

	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(val, names[i])) {
			*io = (enum disk_io)i;
			return 0;
		}
	}
	return set_error("--disk: bad io '%s' (expected auto, uring or sync)", val);
}

/*
 * What the guest reads back as the disk's ID: up to 20 printable ASCII
 * bytes. Printable is checked first, so that the error can quote it.
 */
static int check_serial(const char *val)
{
	for (const char *c = val; *c; c++) {
		if (*c < 0x20 || *c > 0x7e)
			return set_error("--disk: serial byte %u (0x%02x) is not printable ASCII",
					 (unsigned int)(c - val), (unsigned char)*c);
	}
	if (strlen(val) > VMM_DISK_SERIAL_MAX)
		return set_error("--disk: serial '%s' is longer than %d bytes", val,
				 VMM_DISK_SERIAL_MAX);
	return 0;
}

/* One KEY or KEY=VALUE of a comma-separated list, split in place; *@val NULL if no '='. */
static int split_suboption(const char *what, char *opt, char **val)
{
	if (!*opt)
		return set_error("%s: empty option (two commas, or one at the end?)", what);
	*val = strchr(opt, '=');
	if (*val)
		*(*val)++ = '\0';
	return 0;
}

static int unknown_suboption(const char *what, const char *opt, const char *val)
{
	return set_error("%s: unknown option '%s%s%s'", what, opt, val ? "=" : "", val ? val : "");
}

/* One KEY or KEY=VALUE after the path. */
static int parse_disk_option(struct disk_opt *d, char *opt)
{
	char *val = NULL;

	if (split_suboption("--disk", opt, &val) < 0)
		return -1;
	if (!strcmp(opt, "ro")) {
		if (val)
			return set_error("--disk: option 'ro' takes no value");
		d->ro = true;
		return 0;
	}
	if (strcmp(opt, "serial") && strcmp(opt, "io") && strcmp(opt, "poll"))
		return unknown_suboption("--disk", opt, val);
	if (!val)
		return set_error("--disk: option '%s' needs a value", opt);
	if (!strcmp(opt, "io"))
		return parse_disk_io(val, &d->io);
	if (!strcmp(opt, "poll"))
		return parse_count("--disk: poll", val, 0, VMM_DISK_POLL_US_MAX, &d->poll_us);
	d->serial = val;
	return check_serial(val);
}

/* A copy of @arg in @buf that strsep() may cut up, kept for the life of the config. */
static char *copy_argument(const char *what, char *buf, size_t size, const char *arg)
{
	if (snprintf(buf, size, "%s", arg) >= (int)size) {
		set_error("%s: argument too long", what);
		return NULL;
	}
	return buf;
}

/* PATH[,ro][,serial=STR][,io=auto|uring|sync][,poll=US] */
static int parse_disk(struct vmm_config *cfg, const char *arg)
{
	struct disk_opt *d;
	char *buf, *opt;

	if (cfg->ndisks >= VMM_MAX_DISKS)
		return set_error("--disk: at most %d disks", VMM_MAX_DISKS);
	buf = copy_argument("--disk", cfg->disk_buf[cfg->ndisks], sizeof(cfg->disk_buf[0]), arg);
	if (!buf)
		return -1;
	d = &cfg->disks[cfg->ndisks];
	d->poll_us = VMM_DISK_POLL_US_DEFAULT;
	d->path = strsep(&buf, ",");
	if (!*d->path)
		return set_error("--disk: missing path");
	while ((opt = strsep(&buf, ","))) {
		if (parse_disk_option(d, opt) < 0)
			return -1;
	}
	cfg->ndisks++;
	return 0;
}

/* aa:bb:cc:dd:ee:ff, unicast (the guest's own address cannot be a group). */
static int parse_mac(const char *val, uint8_t mac[6])
{
	unsigned int b[6];
	int end = 0;

	if (sscanf(val, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6 ||
	    val[end] || strlen(val) != 17)
		return set_error("--net: bad mac '%s' (expected six hex bytes, aa:bb:cc:dd:ee:ff)",
				 val);
	if (b[0] & 1)
		return set_error("--net: mac '%s' is a multicast address", val);
	for (unsigned int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* [ADDR]:PORT of a hostfwd; an empty ADDR leaves *@addr as it is. */
static int parse_addr_port(char *s, uint32_t *addr, uint16_t *port)
{
	char *colon = strrchr(s, ':');
	unsigned int p;
	struct in_addr in;

	if (!colon)
		return -1;
	*colon = '\0';
	if (*s) {
		if (inet_pton(AF_INET, s, &in) != 1)
			return -1;
		*addr = ntohl(in.s_addr);
	}
	if (parse_count("--net hostfwd", colon + 1, 1, 65535, &p) < 0)
		return -1;
	*port = (uint16_t)p;
	return 0;
}

/* [tcp:|udp:][HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT */
static int parse_hostfwd(struct net_opt *n, char *val)
{
	char copy[128], *guest;
	struct net_hostfwd *f = &n->hostfwd[n->nr_hostfwd];

	if (n->nr_hostfwd >= VMM_MAX_HOSTFWD)
		return set_error("--net: at most %d hostfwd options", VMM_MAX_HOSTFWD);
	snprintf(copy, sizeof(copy), "%s", val);
	*f = (struct net_hostfwd){.host_addr = INADDR_LOOPBACK};
	if (!strncmp(val, "tcp:", 4) || !strncmp(val, "udp:", 4)) {
		f->udp = val[0] == 'u';
		val += 4;
	}
	guest = strchr(val, '-');
	if (guest)
		*guest++ = '\0';
	if (!guest || parse_addr_port(val, &f->host_addr, &f->host_port) < 0 ||
	    parse_addr_port(guest, &f->guest_addr, &f->guest_port) < 0)
		return set_error("--net: bad hostfwd '%s' (expected "
				 "tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT)",
				 copy);
	n->nr_hostfwd++;
	return 0;
}

static int parse_on_off(const char *opt, const char *val, bool *out)
{
	if (strcmp(val, "on") && strcmp(val, "off"))
		return set_error("--net: %s must be on or off, not '%s'", opt, val);
	*out = !strcmp(val, "on");
	return 0;
}

/* An option that only one kind of backend has. */
static int check_net_kind(const struct net_opt *n, enum net_kind kind, const char *opt)
{
	if (n->kind != kind)
		return set_error("--net: option '%s' is for --net %s only", opt,
				 kind == NET_TAP ? "tap" : "user");
	return 0;
}

static int parse_net_option(struct net_opt *n, char *opt)
{
	unsigned int mtu;
	char *val = NULL;

	if (split_suboption("--net", opt, &val) < 0)
		return -1;
	if (strcmp(opt, "mac") && strcmp(opt, "mtu") && strcmp(opt, "ifname") &&
	    strcmp(opt, "restrict") && strcmp(opt, "hostfwd"))
		return unknown_suboption("--net", opt, val);
	if (!val)
		return set_error("--net: option '%s' needs a value", opt);
	if (!strcmp(opt, "mac")) {
		n->has_mac = true;
		return parse_mac(val, n->mac);
	}
	if (!strcmp(opt, "mtu")) {
		if (parse_count("--net mtu", val, 68, 65535, &mtu) < 0)
			return -1;
		n->mtu = (uint16_t)mtu;
		return 0;
	}
	if (!strcmp(opt, "ifname")) {
		if (!*val || strlen(val) >= IFNAMSIZ || strchr(val, '/'))
			return set_error("--net: bad ifname '%s' (1 to %d bytes, no '/')", val,
					 IFNAMSIZ - 1);
		n->ifname = val;
		return check_net_kind(n, NET_TAP, opt);
	}
	if (check_net_kind(n, NET_USER, opt) < 0)
		return -1;
	if (!strcmp(opt, "restrict"))
		return parse_on_off(opt, val, &n->restrict_net);
	return parse_hostfwd(n, val);
}

/* tap|user[,KEY=VALUE]... */
static int parse_net(struct vmm_config *cfg, const char *arg)
{
	struct net_opt *n = &cfg->nets[cfg->nnets];
	char *buf, *kind, *opt;

	if (cfg->nnets >= VMM_MAX_NICS)
		return set_error("--net: at most %d network cards", VMM_MAX_NICS);
	buf = copy_argument("--net", cfg->net_buf[cfg->nnets], sizeof(cfg->net_buf[0]), arg);
	if (!buf)
		return -1;
	*n = (struct net_opt){.mtu = VMM_DEFAULT_MTU};
	kind = strsep(&buf, ",");
	if (!strcmp(kind, "tap"))
		n->kind = NET_TAP;
	else if (!strcmp(kind, "user"))
		n->kind = NET_USER;
	else
		return set_error("--net: unknown type '%s' (expected tap or user)", kind);
	while ((opt = strsep(&buf, ","))) {
		if (parse_net_option(n, opt) < 0)
			return -1;
	}
	cfg->nnets++;
	return 0;
}

enum opt_id {
	OPT_KERNEL,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_MEM,
	OPT_CPUS,
	OPT_DISK,
	OPT_NET,
	OPT_DUMP_DTB,
	OPT_MPTABLE,
	OPT_NO_EVENTFD,
	OPT_HELP,
	OPT_VERSION
};

static const struct {
	const char *name;
	enum opt_id id;
	bool has_arg;
} options[] = {
    {"kernel", OPT_KERNEL, true},    {"initrd", OPT_INITRD, true},
    {"cmdline", OPT_CMDLINE, true},  {"mem", OPT_MEM, true},
    {"cpus", OPT_CPUS, true},	     {"disk", OPT_DISK, true},
    {"net", OPT_NET, true},	     {"dump-dtb", OPT_DUMP_DTB, true},
    {"mptable", OPT_MPTABLE, false}, {"no-eventfd", OPT_NO_EVENTFD, false},
    {"help", OPT_HELP, false},	     {"version", OPT_VERSION, false},
};

static int apply_option(struct vmm_config *cfg, enum opt_id id, const char *val)
{
	switch (id) {
	case OPT_KERNEL: cfg->kernel = val; return 0;
	case OPT_INITRD: cfg->initrd = val; return 0;
	case OPT_CMDLINE: cfg->cmdline = val; return 0;
	case OPT_DUMP_DTB: cfg->dump_dtb = val; return 0;
	case OPT_MPTABLE: cfg->mptable = true; return 0;
	case OPT_NO_EVENTFD: cfg->no_eventfd = true; return 0;
	case OPT_HELP: cfg->help = true; return 0;
	case OPT_VERSION: cfg->version = true; return 0;
	case OPT_DISK: return parse_disk(cfg, val);
	case OPT_NET: return parse_net(cfg, val);
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
	       "  --mptable           describe the platform with an MP table instead of a\n"
	       "                      device tree (for kernels without CONFIG_OF)\n"
	       "  --dump-dtb FILE     write the device tree blob to FILE and exit\n"
	       "  --no-eventfd        serve virtio notifies and interrupts through VM exits,\n"
	       "                      without KVM ioeventfd/irqfd (for testing)\n"
	       "  --help, --version\n\n"
	       "Console: COM1 on stdin/stdout; Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A.\n",
	       prog, VMM_MAX_CPUS, VMM_MAX_DISKS, VMM_DISK_POLL_US_DEFAULT, VMM_DISK_POLL_US_MAX,
	       VMM_MAX_NICS);
}
