/*
 * init (PID 1) of the vmm test guest.
 *
 * Mounts the pseudo filesystems, tells the VMM that boot is done, runs the
 * checks asked for by vmmtest.* options on the kernel command line and
 * ends the VM with a status the host can test: 0 if every check passed.
 *
 * Built static with musl so that the initramfs stays small: the guest
 * kernel unpacks it very slowly under emulated KVM.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm-guest-abi.h"

#define DT_BASE		"/sys/firmware/devicetree/base"
#define DT_COMPATIBLE	"linux,dummy-virt"

/* What the kernel command line asked for; -1 (shell: 0) if not asked. */
struct vmmtest_opts {
	long cpus;
	long mem_mb;
	long dt;
	long exit_status;
	long shell;
	long poweroff;		/* end with reboot(RB_POWER_OFF), not the port */
	long reboot;		/* end with reboot(RB_AUTOBOOT), not the port */
	char error[128];	/* first bad vmmtest.* option, "" if none */
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
	{ "cpus",	offsetof(struct vmmtest_opts, cpus),	    1, 4096 },
	{ "mem_mb",	offsetof(struct vmmtest_opts, mem_mb),	    1, 1L << 30 },
	{ "dt",		offsetof(struct vmmtest_opts, dt),	    0, 1 },
	{ "exit",	offsetof(struct vmmtest_opts, exit_status), 0, 255 },
	{ "shell",	offsetof(struct vmmtest_opts, shell),	    0, 1 },
	{ "poweroff",	offsetof(struct vmmtest_opts, poweroff),    0, 1 },
	{ "reboot",	offsetof(struct vmmtest_opts, reboot),	    0, 1 },
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

/* Parse one "vmmtest.NAME=VALUE" word; other words are not ours. */
static void parse_vmmtest_word(const char *word, size_t len,
			       struct vmmtest_opts *opts)
{
	char buf[64], *value, *end;
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
			set_error(opts->error, sizeof(opts->error),
				  "bad value: %s=%s", buf, value);
		else
			*(long *)((char *)opts + o->offset) = v;
		return;
	}
	set_error(opts->error, sizeof(opts->error), "unknown option: %s", buf);
}

/* Split the command line into words the way the kernel does (quotes). */
static void parse_cmdline(const char *cmdline, struct vmmtest_opts *opts)
{
	const char *p = cmdline, *start;
	bool quoted;

	memset(opts, 0, sizeof(*opts));
	opts->cpus = opts->mem_mb = opts->dt = opts->exit_status = -1;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			return;
		start = p;
		for (quoted = false; *p; p++) {
			if (*p == '"')
				quoted = !quoted;
			else if (!quoted && (*p == ' ' || *p == '\t' || *p == '\n'))
				break;
		}
		parse_vmmtest_word(start, p - start, opts);
	}
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
typedef enum check_result (*check_fn)(const struct guest_state *st,
				      char *why, size_t len);

static enum check_result pass_if(bool ok)
{
	return ok ? CHECK_PASS : CHECK_FAIL;
}

static enum check_result check_setup(const struct guest_state *st,
				     char *why, size_t len)
{
	snprintf(why, len, "%s", st->setup_error);
	return pass_if(!st->setup_error[0]);
}

static enum check_result check_cmdline(const struct guest_state *st,
				       char *why, size_t len)
{
	snprintf(why, len, "%s", st->opts.error);
	return pass_if(!st->opts.error[0]);
}

static enum check_result check_proc_self(const struct guest_state *st,
					 char *why, size_t len)
{
	(void)st;
	if (access("/proc/self", F_OK) == 0)
		return CHECK_PASS;
	snprintf(why, len, "/proc/self: %s", strerror(errno));
	return CHECK_FAIL;
}

static enum check_result check_uname(const struct guest_state *st,
				     char *why, size_t len)
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

static enum check_result check_cpus(const struct guest_state *st,
				    char *why, size_t len)
{
	long want = st->opts.cpus, sysfs, conf;

	if (want < 0)
		return CHECK_SKIP;
	sysfs = online_cpus();
	conf = sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(why, len, "want %ld, sysfs online %ld, sysconf %ld",
		 want, sysfs, conf);
	return pass_if(sysfs == want && conf == want);
}

static enum check_result check_mem(const struct guest_state *st,
				   char *why, size_t len)
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
	snprintf(why, len, "MemTotal %lld KiB, want (%lld, %lld]",
		 kib, max_kib * 8 / 10, max_kib);
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

static enum check_result check_dt(const struct guest_state *st,
				  char *why, size_t len)
{
	char buf[512];
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
	nodes = count_dt_cpu_nodes();
	online = online_cpus();
	snprintf(why, len, "%d cpu@ nodes, %d online CPUs", nodes, online);
	return pass_if(nodes > 0 && nodes == online);
}

static const struct {
	const char *name;
	check_fn run;
} checks[] = {
	{ "setup",	check_setup },
	{ "cmdline",	check_cmdline },
	{ "proc-self",	check_proc_self },
	{ "uname",	check_uname },
	{ "cpus",	check_cpus },
	{ "mem",	check_mem },
	{ "devicetree",	check_dt },
};

/* Run the wanted checks; returns how many failed. */
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
		case CHECK_SKIP:
			break;
		}
	}
	printf("vmmtest: summary: %d checks passed, %d failed\n", passed, failed);
	return failed;
}

static void mount_fs(struct guest_state *st, const char *type, const char *dir)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		set_error(st->setup_error, sizeof(st->setup_error),
			  "mkdir %s: %s", dir, strerror(errno));
	/* EBUSY: the kernel may have mounted devtmpfs itself. */
	if (mount(type, dir, type, MS_NOSUID, NULL) < 0 && errno != EBUSY)
		set_error(st->setup_error, sizeof(st->setup_error),
			  "mount %s: %s", dir, strerror(errno));
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

/* Interactive use: a shell on the console, the VM ends when it exits. */
static void run_shell(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		/* A session of its own with the console, for job control. */
		setsid();
		ioctl(STDIN_FILENO, TIOCSCTTY, 0);
		execl("/bin/sh", "sh", (char *)NULL);
		perror("vmmtest: exec /bin/sh");
		_exit(127);
	}
	if (pid < 0) {
		perror("vmmtest: fork");
		return;
	}
	/* As PID 1 we also reap orphans until the shell itself is gone. */
	while (wait(NULL) != pid)
		;
}

static void __attribute__((noreturn)) end_vm(const struct guest_state *st,
					     int status)
{
	printf("vmmtest: exit %d\n", status);
	fflush(stdout);
	fflush(stderr);
	sync();
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
		set_error(st.setup_error, sizeof(st.setup_error),
			  "ioperm: %s", strerror(errno));
	}

	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)) < 0) {
		err = errno;
		cmdline[0] = '\0';
	}
	parse_cmdline(cmdline, &st.opts);
	if (err)
		set_error(st.opts.error, sizeof(st.opts.error),
			  "/proc/cmdline: %s", strerror(err));

	status = run_checks(&st) ? 1 : 0;
	if (st.opts.exit_status >= 0)
		status = st.opts.exit_status;
	if (st.opts.shell == 1) {
		fflush(stdout);
		run_shell();
	}
	end_vm(&st, status);
}
