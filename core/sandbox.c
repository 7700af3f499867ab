// SPDX-License-Identifier: MIT
/*
 * The seccomp filters. libseccomp (Debian's libseccomp-dev) rather than
 * hand-built BPF: it resolves system call names for this architecture,
 * checks the ABI (x32 and i386 calls are refused with the rest), compiles
 * argument comparisons (the ioctl numbers) correctly, and keeps each list
 * readable as names; a hand-written BPF program would need all of that
 * done, and reviewed, by hand.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "core/console.h"
#include "core/error.h"
#include "core/sandbox.h"
#include "core/util.h"

#define MAX_SYSCALL_NR 512 /* names resolved in advance, for the SIGSYS handler */

static bool sandbox_on;
/*
 * VMM_SECCOMP_TEST=KIND: a thread of that kind makes one forbidden call
 * (getppid, which no list has) once confined, for the tests to prove that
 * each filter is loaded and reports (tests/cli/cli-test.sh). Read once, at
 * sandbox_init(), before any filter.
 */
static int test_kind = -1;
static const char *syscall_names[MAX_SYSCALL_NR];
/* The main thread's until a thread's own filter is loaded: new threads read "new". */
static __thread enum thread_kind this_kind = THREAD_KINDS;

/* What every thread does: memory, locks, signals, time, its end, log lines. */
static const char *const common_calls[] = {
    "brk",
    "mmap",
    "munmap",
    "mremap",
    "madvise",
    "mprotect",
    "futex",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sigaltstack",
    "exit",
    "exit_group",
    "clock_gettime",
    "clock_nanosleep",
    "nanosleep",
    "gettid",
    "getpid",
    "sched_yield",
    "restart_syscall",
    "write",
    "read",
    "close",
    "poll",
    "ppoll",
    "rseq",
    "set_robust_list",
    "sched_getaffinity", /* glibc's malloc counts CPUs when a thread first needs an arena */
};

/* Starting threads: the spawner's (core/log.h), for the workers a DRIVER_OK starts. */
static const char *const spawn_calls[] = {
    "clone", "clone3", "seccomp", /* a worker loads its own filter under the spawner's */
};
/* What a vCPU's DRIVER_OK does itself before it asks for the workers: a queue's set-up. */
static const char *const queue_setup_calls[] = {"eventfd2", "io_uring_setup", "io_uring_register",
						"io_uring_enter"};

/*
 * ftruncate: --trace rewrites its file on each SIGUSR1 (lseek too);
 * accept4, sendto, recvfrom: --api-sock's clients (send and recv are those);
 * unlink: its socket file, removed at exit (no guest data reaches this thread).
 */
static const char *const main_calls[] = {"tgkill",    "io_uring_enter", "shutdown", "lseek",
					 "signalfd4", "ftruncate",	"accept4",  "sendto",
					 "recvfrom",  "unlink"};
static const char *const vcpu_calls[] = {"tgkill", "lseek"};
static const char *const blk_sync_calls[] = {"preadv", "pwritev", "fdatasync", "fallocate"};
static const char *const blk_uring_calls[] = {"io_uring_enter"};
static const char *const net_tap_calls[] = {"readv", "writev"};
/*
 * The 9P2000.L server: lookups by openat2 only (plain openat stays EACCES),
 * then calls on the fds it gave (p9.c). renameat2: glibc's renameat on
 * some versions.
 */
static const char *const p9_calls[] = {
    "openat2",	 "newfstatat", "fstatfs",   "getdents64", "lseek",     "pread64",
    "pwrite64",	 "mkdirat",    "unlinkat",  "renameat",	  "renameat2", "symlinkat",
    "linkat",	 "readlinkat", "mknodat",   "fchmod",	  "fchownat",  "ftruncate",
    "utimensat", "fsync",      "fdatasync", "dup",
};
static const char *const net_user_calls[] = {
    "socket",	   "connect",	  "bind",     "listen",	 "accept",     "accept4",
    "sendto",	   "recvfrom",	  "sendmsg",  "recvmsg", "setsockopt", "getsockopt",
    "getsockname", "getpeername", "shutdown", "fcntl",	 "writev",     "readv",
};

struct call_list {
	const char *const *names;
	unsigned int n;
};

#define LIST(a)                                                                                    \
	{                                                                                          \
		(a), ARRAY_SIZE(a)                                                                 \
	}

static const struct call_list kind_calls[THREAD_KINDS] = {
    [THREAD_MAIN] = LIST(main_calls),
    [THREAD_VCPU] = LIST(vcpu_calls),
    [THREAD_BLK_SYNC] = LIST(blk_sync_calls),
    [THREAD_BLK_URING] = LIST(blk_uring_calls),
    [THREAD_NET_TAP] = LIST(net_tap_calls),
    [THREAD_NET_USER] = LIST(net_user_calls),
    [THREAD_P9] = LIST(p9_calls),
    [THREAD_SPAWNER] = LIST(spawn_calls),
};

/* The ioctls each kind may make: the terminal's for everyone (raw mode restored). */
static const unsigned long term_ioctls[] = {TCGETS, TCSETS, TCSETSW, TCSETSF};
static const unsigned long vcpu_ioctls[] = {
    KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, KVM_TRANSLATE, KVM_IOEVENTFD, KVM_IRQFD, TUNSETOFFLOAD,
};
static const unsigned long main_ioctls[] = {KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS, KVM_IOEVENTFD,
					    KVM_IRQFD};
static const unsigned long net_user_ioctls[] = {FIONREAD, FIONBIO};
/* A worker interrupts the guest itself where KVM gave no irqfd (--no-eventfd). */
static const unsigned long irq_ioctls[] = {KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS};

static int allow_names(scmp_filter_ctx ctx, const char *const *names, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);

		/* A call this kernel's headers do not know (clone3 on old ones) cannot be made. */
		if (nr == __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0)
			return set_error("seccomp: cannot allow %s", names[i]);
	}
	return 0;
}

static int allow_ioctls(scmp_filter_ctx ctx, const unsigned long *reqs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_EQ, reqs[i], 0)) < 0)
			return set_error("seccomp: cannot allow ioctl 0x%lx", reqs[i]);
	}
	return 0;
}

/*
 * At exit the main thread hands the VM's last close to a child (vm.c says
 * why): a clone with SIGCHLD alone, a new process and never a thread, which
 * closes its other fds with close_range under this same filter and waits
 * on a pipe (pipe2) for ours to be closed.
 */
static int allow_vm_closer(scmp_filter_ctx ctx)
{
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
			     SCMP_A0(SCMP_CMP_EQ, SIGCHLD, 0)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(close_range), 0) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(pipe2), 0) < 0)
		return set_error("seccomp: cannot allow the VM's closer");
	return 0;
}

/* The workers' lists: the spawner's filter, which they inherit, must allow all of them. */
static int allow_workers(scmp_filter_ctx ctx)
{
	int err = allow_ioctls(ctx, net_user_ioctls, ARRAY_SIZE(net_user_ioctls));

	for (int k = THREAD_BLK_SYNC; k < THREAD_SPAWNER && !err; k++)
		err = allow_names(ctx, kind_calls[k].names, kind_calls[k].n);
	return err;
}

/* A thread's own list, and what every thread needs. */
static int allow_kind(scmp_filter_ctx ctx, enum thread_kind kind)
{
	int err = allow_names(ctx, common_calls, ARRAY_SIZE(common_calls));

	err = err ?: allow_names(ctx, kind_calls[kind].names, kind_calls[kind].n);
	err = err ?: allow_ioctls(ctx, term_ioctls, ARRAY_SIZE(term_ioctls));
	/* A thread names itself (pthread_setname_np) under its creator's filter. */
	err = err
		  ?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				      SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME, 0));
	/*
	 * Opening files fails instead of trapping: glibc's malloc reads
	 * /proc/sys/vm/overcommit_memory when it gives a thread's arena back,
	 * and does without it; nothing of ours opens a file once running.
	 */
	err = err ?: seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	err = err ?: seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
	if (kind == THREAD_MAIN)
		err = err ?: allow_ioctls(ctx, main_ioctls, ARRAY_SIZE(main_ioctls)) ?: allow_vm_closer(ctx);
	else
		err = err ?: allow_ioctls(ctx, irq_ioctls, ARRAY_SIZE(irq_ioctls));
	if (kind == THREAD_NET_USER)
		err = err ?: allow_ioctls(ctx, net_user_ioctls, ARRAY_SIZE(net_user_ioctls));
	if (kind == THREAD_SPAWNER)
		err = err ?: allow_workers(ctx);
	if (kind == THREAD_VCPU) {
		err = err ?: allow_names(ctx, queue_setup_calls, ARRAY_SIZE(queue_setup_calls));
		err = err ?: allow_ioctls(ctx, vcpu_ioctls, ARRAY_SIZE(vcpu_ioctls));
	}
	return err;
}

/*
 * The one line, then the end. Only write() and exit_group(), which every
 * filter allows: another forbidden call here would kill us without a word.
 */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char line[160];
	int nr = si->si_syscall;
	const char *name =
	    nr >= 0 && nr < MAX_SYSCALL_NR && syscall_names[nr] ? syscall_names[nr] : "unknown";
	int n;

	(void)sig, (void)uc;
	/* A raw terminal needs its carriage returns (console_is_raw() only reads a flag). */
	n = snprintf(line, sizeof(line),
		     "%svmm: seccomp: a %s thread made a system call it may not make: %s (%d)%s",
		     console_is_raw() ? "\r\n" : "", thread_kind_name(this_kind), name, nr,
		     console_is_raw() ? "\r\n" : "\n");
	/* The raw call: a sanitizer's _exit() would run more code that may be denied. */
	if (write(STDERR_FILENO, line, n > 0 ? (size_t)n : 0) < 0)
		syscall(SYS_exit_group, 1);
	syscall(SYS_exit_group, 1);
}

/* Names resolved now: the handler may not allocate (the call may have been inside malloc). */
static void resolve_names(void)
{
	for (int nr = 0; nr < MAX_SYSCALL_NR; nr++)
		syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
}

/*
 * Every capability gone, bounding set included: root was needed only to
 * create a tap or bind a low host port, which set-up has done. Per thread,
 * so before any vCPU or worker exists: they inherit the empty sets.
 */
static int drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct none[2] = {{0}};

	for (int cap = 0; cap <= 63; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL && errno != EPERM)
			return set_error("PR_CAPBSET_DROP: %s", strerror(errno));
	}
	if (syscall(SYS_capset, &hdr, none) < 0)
		return set_error("cannot drop capabilities: %s", strerror(errno));
	return 0;
}

int sandbox_init(bool enabled)
{
	struct rlimit no_core = {0, 0};
	struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return set_error("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	if (setrlimit(RLIMIT_CORE, &no_core) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return set_error("cannot turn core dumps off: %s", strerror(errno));
	if (drop_capabilities() < 0)
		return -1;
	if (!enabled)
		return 0;
	resolve_names();
	this_kind = THREAD_MAIN;
	for (int k = 0; k < THREAD_KINDS && getenv("VMM_SECCOMP_TEST"); k++) {
		if (!strcmp(getenv("VMM_SECCOMP_TEST"), thread_kind_name(k)))
			test_kind = k;
	}
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return set_error("sigaction SIGSYS: %s", strerror(errno));
	sandbox_on = true;
	vmm_thread_set_enter_hook(sandbox_enter);
	/* Now, while nothing is confined: the vCPUs may not clone, the spawner does it for them. */
	return vmm_spawner_start();
}

void sandbox_enter(enum thread_kind kind)
{
	scmp_filter_ctx ctx;
	int err;

	if (!sandbox_on)
		return;
	this_kind = kind;
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx) {
		fprintf(stderr, "vmm: seccomp: cannot make a filter\n");
		_exit(1);
	}
	/* No new privileges is set already, process-wide: loading must not ask again. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0 || allow_kind(ctx, kind) < 0) {
		fprintf(stderr, "vmm: %s\n", last_error());
		_exit(1);
	}
	err = seccomp_load(ctx);
	seccomp_release(ctx);
	if (err < 0) {
		fprintf(stderr, "vmm: seccomp: cannot confine a %s thread: %s\n",
			thread_kind_name(kind), strerror(-err));
		_exit(1);
	}
	if ((int)kind == test_kind)
		syscall(SYS_getppid);
}
