// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
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

/* One KEY or KEY=VALUE after the path; @opt is split in place. */
static int parse_disk_option(struct disk_opt *d, char *opt)
{
	char *val = strchr(opt, '=');

	if (!*opt)
		return set_error("--disk: empty option (two commas, or one at the end?)");
	if (val)
		*val++ = '\0';
	if (!strcmp(opt, "ro")) {
		if (val)
			return set_error("--disk: option 'ro' takes no value");
		d->ro = true;
		return 0;
	}
	if (strcmp(opt, "serial") && strcmp(opt, "io"))
		return set_error("--disk: unknown option '%s%s%s'", opt, val ? "=" : "",
				 val ? val : "");
	if (!val)
		return set_error("--disk: option '%s' needs a value", opt);
	if (!strcmp(opt, "io"))
		return parse_disk_io(val, &d->io);
	d->serial = val;
	return check_serial(val);
}

/* PATH[,ro][,serial=STR][,io=auto|uring|sync] */
static int parse_disk(struct vmm_config *cfg, const char *arg)
{
	struct disk_opt *d;
	char *buf, *opt;

	if (cfg->ndisks >= VMM_MAX_DISKS)
		return set_error("--disk: at most %d disks", VMM_MAX_DISKS);
	buf = cfg->disk_buf[cfg->ndisks];
	if (snprintf(buf, sizeof(cfg->disk_buf[0]), "%s", arg) >= (int)sizeof(cfg->disk_buf[0]))
		return set_error("--disk: argument too long");
	d = &cfg->disks[cfg->ndisks];
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

enum opt_id {
	OPT_KERNEL,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_MEM,
	OPT_CPUS,
	OPT_DISK,
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
    {"kernel", OPT_KERNEL, true},
    {"initrd", OPT_INITRD, true},
    {"cmdline", OPT_CMDLINE, true},
    {"mem", OPT_MEM, true},
    {"cpus", OPT_CPUS, true},
    {"disk", OPT_DISK, true},
    {"dump-dtb", OPT_DUMP_DTB, true},
    {"mptable", OPT_MPTABLE, false},
    {"no-eventfd", OPT_NO_EVENTFD, false},
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
	case OPT_NO_EVENTFD: cfg->no_eventfd = true; return 0;
	case OPT_HELP: cfg->help = true; return 0;
	case OPT_VERSION: cfg->version = true; return 0;
	case OPT_DISK: return parse_disk(cfg, val);
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
	       "  --disk PATH[,ro][,serial=STR][,io=auto|uring|sync]\n"
	       "                      virtio-blk disk on a raw image (up to %d): ro read-only,\n"
	       "                      serial the ID the guest reads (up to 20 printable bytes,\n"
	       "                      default vmm-disk0, vmm-disk1...), io how requests reach\n"
	       "                      the host (auto: io_uring when the host has it, else sync)\n"
	       "  --mptable           describe the platform with an MP table instead of a\n"
	       "                      device tree (for kernels without CONFIG_OF)\n"
	       "  --dump-dtb FILE     write the device tree blob to FILE and exit\n"
	       "  --no-eventfd        serve virtio notifies and interrupts through VM exits,\n"
	       "                      without KVM ioeventfd/irqfd (for testing)\n"
	       "  --help, --version\n\n"
	       "Console: COM1 on stdin/stdout; Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A.\n",
	       prog, VMM_MAX_CPUS, VMM_MAX_DISKS);
}
