// SPDX-License-Identifier: MIT
/*
 * PID 1 of --exec (run mode). The VMM builds an initramfs in memory
 * holding this program as /init and its orders as /vmm-run; it is built
 * static (musl) and carried inside ./vmm, so it needs nothing of the host's
 * layout. It mounts the host's root (the 9p share "vmm-root", read-only)
 * on /newroot, tmpfs on /tmp, /run and /var/tmp, /proc, /sys and /dev, the
 * read-write shares at their host paths; enters it (chroot), changes to the
 * directory the user ran from, and runs /bin/sh -c CMD on the console with
 * the user's PATH, HOME, TERM and USER. Then it ends the VM through the
 * test-exit port with the command's status: its exit code, or 128 + the
 * signal that killed it. 125 when this setup itself fails (said on the
 * console, one line).
 *
 * /vmm-run: NUL-terminated KEY=VALUE records, in any order:
 *   cmd=CMD, cwd=DIR, env=NAME=VALUE (repeated), rw=TAG:PATH (repeated),
 *   raw=1 (the host's stdout is no terminal: no CR added to line ends),
 *   echo=0 (the host's stdin is no terminal: input passes as it is, not
 *   echoed back, and ^D, which the VMM sends at its end, is end of file)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "vmm-guest-abi.h"

#define ORDERS_MAX   (256 * 1024)
#define MAX_ENV	     16
#define MAX_RW	     8
#define STATUS_SETUP 125
#define NEWROOT	     "/newroot"
#define MOUNT_9P     "trans=virtio,version=9p2000.L,msize=262144"

struct orders {
	char *cmd, *cwd;
	char *env[MAX_ENV + 1];
	unsigned int nenv;
	char *rw[MAX_RW];
	unsigned int nrw;
	int raw, echo;
};

static void end_vm(int status) __attribute__((noreturn));

static void end_vm(int status)
{
	sync();
	if (ioperm(VMM_PORT_TEST_EXIT, 1, 1) == 0)
		outb((unsigned char)status, VMM_PORT_TEST_EXIT);
	for (;;)
		pause();
}

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fputs("vmm-init: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	end_vm(STATUS_SETUP);
}

static void read_orders(struct orders *o)
{
	static char buf[ORDERS_MAX + 1];
	ssize_t n;
	int fd = open("/vmm-run", O_RDONLY);

	if (fd < 0 || (n = read(fd, buf, ORDERS_MAX)) <= 0)
		fail("no orders in /vmm-run: %s", strerror(errno));
	close(fd);
	buf[n] = 0;
	*o = (struct orders){.echo = 1};
	for (char *p = buf; p < buf + n; p += strlen(p) + 1) {
		if (!strncmp(p, "cmd=", 4))
			o->cmd = p + 4;
		else if (!strncmp(p, "cwd=", 4))
			o->cwd = p + 4;
		else if (!strncmp(p, "env=", 4) && o->nenv < MAX_ENV)
			o->env[o->nenv++] = p + 4;
		else if (!strncmp(p, "rw=", 3) && o->nrw < MAX_RW)
			o->rw[o->nrw++] = p + 3;
		else if (!strcmp(p, "raw=1"))
			o->raw = 1;
		else if (!strcmp(p, "echo=0"))
			o->echo = 0;
	}
	if (!o->cmd || !o->cwd)
		fail("/vmm-run names no command or directory");
}

static void mount_or_fail(const char *src, const char *dir, const char *type, unsigned long flags,
			  const char *data)
{
	if (mount(src, dir, type, flags, data) < 0)
		fail("mount %s on %s: %s", type, dir, strerror(errno));
}

/* mkdir -p: a read-write share under /tmp lands in the new tmpfs, where nothing is yet. */
static void make_path(char *dir)
{
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		mkdir(dir, 0755);
		*p = '/';
	}
	mkdir(dir, 0755);
}

/* The new root: the host's, read-only, with the few places a command writes. */
static void build_root(const struct orders *o)
{
	static const char *const tmpfs[] = {"/tmp", "/run", "/var/tmp"};
	char dir[4200];

	mkdir(NEWROOT, 0755);
	mount_or_fail("vmm-root", NEWROOT, "9p", MS_RDONLY, MOUNT_9P);
	for (unsigned int i = 0; i < sizeof(tmpfs) / sizeof(tmpfs[0]); i++) {
		snprintf(dir, sizeof(dir), NEWROOT "%s", tmpfs[i]);
		mount_or_fail("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	}
	mount_or_fail("proc", NEWROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_or_fail("sysfs", NEWROOT "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_or_fail("devtmpfs", NEWROOT "/dev", "devtmpfs", MS_NOSUID, NULL);
	for (unsigned int i = 0; i < o->nrw; i++) {
		char *tag = o->rw[i], *path = strchr(tag, ':');

		if (!path)
			fail("bad rw order '%s'", tag);
		*path++ = 0;
		snprintf(dir, sizeof(dir), NEWROOT "%s", path);
		make_path(dir);
		mount_or_fail(tag, dir, "9p", 0, MOUNT_9P);
	}
	if (chroot(NEWROOT) < 0 || chdir("/") < 0)
		fail("chroot %s: %s", NEWROOT, strerror(errno));
}

/*
 * The host's stdin is a pipe or a file: its bytes reach the command as they
 * are, lines of up to 4095 bytes (the tty's line buffer), no echo, no
 * signals from ^C, no editing; the one character left meaning something is
 * VEOF (^D), which the VMM sends when the input ends.
 */
static void pass_piped_input(struct termios *t)
{
	static const int editing[] = {VINTR, VQUIT, VERASE, VKILL, VSTART, VSTOP,
				      VSUSP, VREPRINT, VWERASE, VLNEXT, VDISCARD};

	t->c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ECHOE | ECHOK | ISIG | IEXTEN);
	t->c_iflag &= ~(tcflag_t)(ICRNL | INLCR | IGNCR | IXON | IXOFF | ISTRIP);
	for (unsigned int i = 0; i < sizeof(editing) / sizeof(editing[0]); i++)
		t->c_cc[editing[i]] = _POSIX_VDISABLE;
	t->c_cc[VEOF] = VMM_RUN_INPUT_EOF;
	t->c_cflag |= CRTSCTS; /* the tty holds RTS low when full: the VMM waits */
}

/* Line ends and echo as the host's stdout and stdin want them. */
static void set_terminal(int fd, const struct orders *o)
{
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		return;
	if (o->raw)
		t.c_oflag &= ~(tcflag_t)ONLCR;
	if (!o->echo)
		pass_piped_input(&t);
	tcsetattr(fd, TCSANOW, &t);
}

/* The console as the command's terminal: its controlling tty. */
static void take_console(void)
{
	int fd;

	setsid();
	fd = open("/dev/ttyS0", O_RDWR);
	if (fd < 0)
		fd = open("/dev/console", O_RDWR);
	if (fd < 0)
		_exit(STATUS_SETUP);
	ioctl(fd, TIOCSCTTY, 1);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

/*
 * The console's settings for the command, then the boot marker: the VMM
 * holds a piped stdin back until now, so none of it meets the tty's
 * defaults (echo, ^C) first. Input arriving before the shell reads it
 * waits in the tty.
 */
static void prepare_console(const struct orders *o)
{
	int fd = open("/dev/ttyS0", O_RDWR | O_NOCTTY);

	if (fd < 0)
		fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd >= 0) {
		set_terminal(fd, o);
		close(fd);
	}
	if (ioperm(VMM_PORT_BOOT_MARK, 1, 1) == 0)
		outb(0, VMM_PORT_BOOT_MARK);
}

static int run_command(const struct orders *o)
{
	pid_t pid, w;
	int status;

	prepare_console(o);
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		char *argv[] = {"sh", "-c", o->cmd, NULL};

		take_console();
		if (chdir(o->cwd) < 0) {
			fprintf(stderr, "vmm-init: cd %s: %s\n", o->cwd, strerror(errno));
			_exit(STATUS_SETUP);
		}
		execve("/bin/sh", argv, (char **)o->env);
		fprintf(stderr, "vmm-init: /bin/sh: %s\n", strerror(errno));
		_exit(127);
	}
	/* PID 1 reaps every orphan too; the VM ends when the command does. */
	while ((w = wait(&status)) != pid) {
		if (w < 0 && errno != EINTR)
			fail("wait: %s", strerror(errno));
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(void)
{
	struct orders o;

	mkdir("/proc", 0555);
	mount("proc", "/proc", "proc", 0, NULL);
	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	read_orders(&o);
	set_terminal(STDERR_FILENO, &o);
	build_root(&o);
	end_vm(run_command(&o));
}
