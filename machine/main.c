// SPDX-License-Identifier: MIT
/*
 * vmm: boot a Linux kernel in a KVM virtual machine. This is the
 * composition root, the one file that knows every part and that no part
 * knows: it wires options, guest memory and the kernel, the VM and its
 * devices, the platform description, then runs the vCPUs and the console.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "devices/legacy/platform.h"
#include "devices/legacy/uart.h"
#include "devices/mmio/virtio_mmio.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/net.h"
#include "devices/virtio/virtio_9p.h"
#include "guest/vmm-guest-abi.h"
#include "machine/machine.h"
#include "machine/run.h"
#include "core/api.h"
#include "core/boot.h"
#include "core/cli.h"
#include "core/console.h"
#include "core/error.h"
#include "core/fdt.h"
#include "core/layout.h"
#include "core/loader.h"
#include "core/mptable.h"
#include "core/sandbox.h"
#include "core/stats.h"
#include "core/trace.h"
#include "core/log.h"
#include "core/util.h"
#include "core/vcpu.h"
#include "core/vm.h"

#define DEFAULT_CMDLINE	  "console=ttyS0 reboot=k panic=-1"
#define DISK_ROOT_CMDLINE "root=/dev/vda rw"

static void on_poweroff(void *opaque)
{
	vm_request_stop(opaque, VMM_EXIT_POWEROFF, NULL);
}

static void on_reset(void *opaque)
{
	vm_request_stop(opaque, VMM_EXIT_RESET, "guest reset");
}

static void on_test_exit(void *opaque, uint8_t status)
{
	vm_request_stop(opaque, status, NULL);
}

/* The guest may write the marker as often as it likes. */
static struct log_limit marker_log = {.name = "boot-time marker"};

/*
 * Run mode's init writes the marker once the command's terminal is set: a
 * piped stdin flows from then on (earlier, the tty's defaults would echo and
 * edit it). Said only with --verbose there: its output is the command's.
 */
static void on_boot_marker(void *opaque)
{
	struct machine *m = container_of(opaque, struct machine, vm);
	uint64_t one = 1;

	if (!m->cfg->exec || m->cfg->verbose)
		vmm_log_limited(&marker_log, "guest reached init in %llu ms",
				(unsigned long long)ms_since(&m->vm.start));
	if (atomic_exchange(&m->input_held, false) &&
	    write(m->uart_space_efd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow in practice; nothing to recover. */
	}
}

static int dump_dtb(const struct fdt_desc *desc, const char *path)
{
	static char blob[FDT_MAX_SIZE];
	int size = fdt_build(desc, blob, sizeof(blob));
	FILE *f;

	if (size < 0)
		return -1;
	f = fopen(path, "wb");
	if (!f)
		return set_error("cannot write device tree to '%s': %s", path, strerror(errno));
	if (fwrite(blob, 1, size, f) != (size_t)size || fclose(f) != 0)
		return set_error("cannot write device tree to '%s'", path);
	return 0;
}

static int load_images(struct machine *m)
{
	const struct vmm_config *cfg = m->cfg;

	if (file_map(cfg->kernel, "kernel", &m->kernel) < 0)
		return -1;
	if (cfg->initrd && file_map(cfg->initrd, "initrd", &m->initrd) < 0)
		return -1;
	if (!cfg->mem_overcommit && guest_mem_fits_host(cfg->mem) < 0)
		return -1;
	if (guest_mem_alloc(&m->vm.mem, cfg->mem) < 0)
		return -1;
	if (kernel_load(m->kernel.data, m->kernel.size, &m->vm.mem, &m->image) < 0)
		return set_error("kernel '%s': %s", cfg->kernel, last_error());
	if (m->initrd.data &&
	    initrd_load(m->initrd.data, m->initrd.size, &m->vm.mem, &m->image, &m->initrd_addr) < 0)
		return set_error("initrd '%s': %s", cfg->initrd, last_error());
	m->initrd_size = m->initrd.size;
	if (m->run.initrd && initrd_load(m->run.initrd, m->run.initrd_size, &m->vm.mem, &m->image,
					 &m->initrd_addr) < 0)
		return set_error("--exec: %s", last_error());
	if (m->run.initrd)
		m->initrd_size = m->run.initrd_size;
	/*
	 * Copied into guest RAM: the files' pages (10 MiB for a vmlinux) and
	 * run mode's initramfs would otherwise stay resident for the VM's life.
	 */
	file_unmap(&m->kernel);
	file_unmap(&m->initrd);
	run_mode_release(&m->run);
	return 0;
}

static int create_devices(struct machine *m)
{
	struct irq_line com1_irq = {vm_set_irq, &m->vm, UART_COM1_IRQ};

	m->events = (struct vm_events){&m->vm, on_poweroff, on_reset, on_test_exit, on_boot_marker};
	m->uart_space_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uart_init(&m->com1, &com1_irq, STDOUT_FILENO, m->uart_space_efd);
	/* Piped input must not outrun the guest's tty: run-init sets CRTSCTS. */
	uart_set_rts_flow(&m->com1, m->run.piped_input);
	atomic_store(&m->input_held, m->run.piped_input);
	m->vm.pio.name = "port I/O";
	m->vm.mmio.name = "MMIO";
	if (io_bus_register(&m->vm.pio, UART_COM1_BASE, UART_NR_REGS, &uart_ops, &m->com1) < 0)
		return -1;
	return platform_devices_register(&m->vm.pio, &m->vm.mmio, &m->events, &m->cmos);
}

/*
 * Give each virtio device its window and interrupt pin, and its device-tree
 * node, in command-line order. Done before the VM exists, so that
 * --dump-dtb shows them too.
 */
static int place_virtio_devices(struct machine *m)
{
	unsigned int n = m->cfg->ndevices;

	if (n > VIRTIO_MAX_DEVICES)
		return set_error("at most %d virtio devices (disks and network cards together)",
				 VIRTIO_MAX_DEVICES);
	for (unsigned int i = 0; i < n; i++) {
		struct virtio_mmio *t = &m->virtio[i].transport;

		t->base = VIRTIO_MMIO_BASE + (uint64_t)i * VIRTIO_MMIO_STRIDE;
		t->gsi = VIRTIO_GSI_BASE + i;
		if (fdt_add_device(&m->fdt, virtio_mmio_fdt_node, t) < 0)
			return -1;
	}
	m->nr_virtio = n;
	return 0;
}

/* The platform's own nodes first, then the virtio devices'. */
static int describe_machine(struct machine *m)
{
	m->fdt.ncpus = m->cfg->cpus;
	if (fdt_add_device(&m->fdt, platform_fdt_node, NULL) < 0)
		return -1;
	return place_virtio_devices(m);
}

/* Without --no-eventfd, notifies and interrupts bypass this process's vCPU threads. */
static void init_virtio_host(struct machine *m)
{
	m->virtio_host = (struct virtio_mmio_host){.opaque = &m->vm, .set_irq = vm_set_irq};
	if (!m->cfg->no_eventfd) {
		m->virtio_host.ioeventfd = vm_ioeventfd;
		m->virtio_host.irqfd = vm_irqfd;
	}
}

static void destroy_blk(void *blk)
{
	virtio_blk_destroy(blk);
}

static void destroy_net(void *net)
{
	virtio_net_destroy(net);
}

static void destroy_share(void *share)
{
	virtio_9p_destroy(share);
}

/* The device the user asked for in slot @s: its model, and how to end it. */
static int create_device(struct machine *m, const struct vmm_device *d, struct virtio_slot *s)
{
	const struct vmm_config *cfg = m->cfg;
	struct virtio_blk *blk;
	struct virtio_net *net;
	struct virtio_9p *share;

	switch (d->kind) {
	case VMM_DEVICE_DISK:
		blk = virtio_blk_create(&cfg->disks[d->index], d->index, cfg->cpus, &m->vm.mem);
		if (!blk)
			return -1;
		s->vdev = virtio_blk_dev(blk);
		s->device = blk;
		s->destroy = destroy_blk;
		return 0;
	case VMM_DEVICE_NET:
		net = virtio_net_create(&cfg->nets[d->index], d->index, &m->vm.mem);
		if (!net)
			return -1;
		s->vdev = virtio_net_dev(net);
		s->device = net;
		s->destroy = destroy_net;
		return 0;
	case VMM_DEVICE_SHARE:
		share = virtio_9p_create(&cfg->shares[d->index], d->index, &m->vm.mem);
		if (!share)
			return -1;
		s->vdev = virtio_9p_dev(share);
		s->device = share;
		s->destroy = destroy_share;
		return 0;
	}
	return set_error("unknown device kind %d", (int)d->kind);
}

static int create_virtio_devices(struct machine *m)
{
	init_virtio_host(m);
	for (unsigned int i = 0; i < m->nr_virtio; i++) {
		struct virtio_slot *s = &m->virtio[i];
		struct virtio_mmio *t = &s->transport;

		if (create_device(m, &m->cfg->devices[i], s) < 0 ||
		    virtio_mmio_attach(t, s->vdev, t->base, t->gsi, &m->virtio_host, &m->vm.mmio) <
			0)
			return -1;
	}
	return 0;
}

/* After the vCPUs have stopped: no register access can race with this. */
static void destroy_virtio_devices(struct machine *m)
{
	for (unsigned int i = 0; i < m->nr_virtio; i++) {
		struct virtio_slot *s = &m->virtio[i];

		if (!s->vdev)
			continue;
		virtio_mmio_detach(&s->transport);
		s->destroy(s->device);
		s->vdev = NULL;
	}
}

/*
 * The kernel command line: our defaults, root on the first disk when there
 * is no initrd and the user named no root, the virtio-mmio devices when the
 * kernel finds them without a device tree, then the user's own words, which
 * come last so that they win.
 */
static int build_cmdline(const struct machine *m, char *cmdline, size_t size)
{
	static char virtio[VIRTIO_MAX_DEVICES][80];
	const struct vmm_config *cfg = m->cfg;
	const char *parts[4 + VIRTIO_MAX_DEVICES];
	unsigned int n = 0;

	parts[n++] = DEFAULT_CMDLINE;
	if (m->run.cmdline)
		parts[n++] = m->run.cmdline;
	if (cfg->ndisks && !cfg->initrd && !cfg->exec && !cmdline_has_param(cfg->cmdline, "root"))
		parts[n++] = DISK_ROOT_CMDLINE;
	for (unsigned int i = 0; cfg->mptable && i < m->nr_virtio; i++) {
		if (virtio_mmio_cmdline(&m->virtio[i].transport, virtio[i], sizeof(virtio[i])) < 0)
			return -1;
		parts[n++] = virtio[i];
	}
	parts[n++] = cfg->cmdline;
	return cmdline_build(cmdline, size, parts, n);
}

/*
 * Device tree and RNG seed as setup_data with the MP table's empty companion
 * (core/mptable.h says why), or the whole machine in an MP table.
 */
static int write_boot_info(struct machine *m)
{
	static char dtb[FDT_MAX_SIZE];
	uint8_t seed[BOOT_RNG_SEED_SIZE];
	char cmdline[BOOT_CMDLINE_MAX];
	struct boot_setup bs = {
	    .kernel = &m->image,
	    .cmdline = cmdline,
	    .initrd_addr = m->initrd_addr,
	    .initrd_size = m->initrd_size,
	};
	int size;

	if (build_cmdline(m, cmdline, sizeof(cmdline)) < 0)
		return -1;
	if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		bs.rng_seed = seed;
	if (m->cfg->mptable)
		return mptable_write(&m->vm.mem, MPTABLE_ADDR, m->cfg->cpus)
			   ?: boot_write(&m->vm.mem, &bs);
	size = fdt_build(&m->fdt, dtb, sizeof(dtb));
	if (size < 0 || mptable_write_tree_companion(&m->vm.mem, MPTABLE_ADDR) < 0)
		return -1;
	bs.dtb = dtb;
	bs.dtb_size = size;
	return boot_write(&m->vm.mem, &bs);
}

/* The signals that end the VM; the main thread takes them from a signalfd. */
static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

/*
 * Blocked before the vCPU threads start, which unblock only their kick
 * signal; so every signal sent to the process, SIGUSR1 (--trace: write the
 * trace out now) included, reaches the main thread's signalfd.
 */
static void block_signals(void)
{
	sigset_t set;

	stop_signals(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int open_signalfd(void)
{
	sigset_t set;

	stop_signals(&set);
	sigaddset(&set, SIGUSR1);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* The main thread's side of the console: stdin on its way to COM1. */
struct console_in {
	struct console_escape esc;
	bool open;
	bool line_open;		  /* bytes sent since the last newline */
	unsigned int eof_to_send; /* EOF characters still owed to the guest's tty */
};

/*
 * Run mode with a piped stdin: its end reaches the command as end of file.
 * The guest's tty is canonical, where ^D ends a pending line and ^D at a
 * line's start is end of file: two after a partial line, else one.
 */
static void console_input_ended(struct machine *m, struct console_in *ci)
{
	ci->open = false;
	if (m->run.piped_input)
		ci->eof_to_send = ci->line_open ? 2 : 1;
}

static void console_send_eof(struct machine *m, struct console_in *ci)
{
	static const uint8_t eof = VMM_RUN_INPUT_EOF;

	while (ci->eof_to_send && uart_receive(&m->com1, &eof, 1) == 1)
		ci->eof_to_send--;
}

static void console_input(struct machine *m, struct console_in *ci)
{
	uint8_t in[256], out[256];
	size_t space = uart_rx_space(&m->com1), n;
	ssize_t len = read(STDIN_FILENO, in, MIN(space, sizeof(in)));

	if (len <= 0) {
		if (len == 0 || (errno != EINTR && errno != EAGAIN))
			console_input_ended(m, ci);
		return;
	}
	if (console_filter(&ci->esc, in, len, out, &n) == CONSOLE_QUIT)
		vm_request_stop(&m->vm, VMM_EXIT_POWEROFF, NULL);
	if (n)
		ci->line_open = out[n - 1] != '\n';
	uart_receive(&m->com1, out, n);
}

/* Milliseconds to --timeout's end (-1: no timeout), ending the VM once it has come. */
static int timeout_ms(struct machine *m)
{
	uint64_t limit = (uint64_t)m->cfg->timeout * 1000, ran = ms_since(&m->vm.start);
	char why[64];

	if (!m->cfg->timeout)
		return -1;
	if (ran < limit)
		return (int)MIN(limit - ran, (uint64_t)INT32_MAX);
	snprintf(why, sizeof(why), "timed out after %u s", m->cfg->timeout);
	vm_request_stop(&m->vm, RUN_STATUS_TIMEOUT, why);
	return 0;
}

static void take_signal(struct machine *m, int sig)
{
	if (sig != SIGUSR1)
		vm_request_stop(&m->vm, VMM_EXIT_SIGNAL + sig,
				sig == SIGINT ? "interrupted" : "terminated");
	else if (trace_enabled && trace_flush() < 0)
		vmm_log("%s", last_error());
}

/* The main thread's loop: console input and signals until the VM stops. */
static void run_console(struct machine *m)
{
	struct console_in ci = {.open = true};
	int sfd = open_signalfd();
	uint64_t count;

	while (!atomic_load(&m->vm.stopping)) {
		struct pollfd p[5] = {
		    {m->vm.stop_efd, POLLIN, 0},
		    {sfd, POLLIN, 0},
		    {m->uart_space_efd, POLLIN, 0},
		    {-1, POLLIN, 0},
		};
		struct signalfd_siginfo si;
		unsigned int napi = api_poll_fds(&m->api, &p[4]);

		console_send_eof(m, &ci);
		if (ci.open && !atomic_load(&m->input_held) && uart_rx_space(&m->com1))
			p[3].fd = STDIN_FILENO;
		if (poll(p, 4 + napi, timeout_ms(m)) < 0 && errno != EINTR)
			break;
		api_serve(&m->api, &p[4], napi);
		if ((p[1].revents & POLLIN) && read(sfd, &si, sizeof(si)) == sizeof(si))
			take_signal(m, (int)si.ssi_signo);
		if (p[2].revents & POLLIN && read(m->uart_space_efd, &count, sizeof(count)) < 0)
			continue;
		if (p[3].revents & (POLLERR | POLLNVAL))
			console_input_ended(m, &ci); /* closed or unusable stdin */
		else if (p[3].revents & (POLLIN | POLLHUP))
			console_input(m, &ci);
	}
	if (sfd >= 0)
		close(sfd);
}

static int run_vm(struct machine *m)
{
	const struct vmm_config *cfg = m->cfg;

	if (load_images(m) < 0 || vm_create(&m->vm, cfg->cpus) < 0 || vm_map_memory(&m->vm) < 0 ||
	    create_devices(m) < 0 || create_virtio_devices(m) < 0 || write_boot_info(m) < 0)
		return -1;
	block_signals();
	if (vcpus_create(&m->vm, m->image.entry) < 0 || stats_prepare(m) < 0 ||
	    (cfg->trace && trace_open(cfg->trace, cfg->trace_limit ? cfg->trace_limit
								   : TRACE_LIMIT_DEFAULT) < 0) ||
	    (cfg->api_sock &&
	     api_open(&m->api, cfg->api_sock, &(struct api_ops){api_command, m}) < 0) ||
	    sandbox_init(!cfg->no_seccomp) < 0)
		return -1;
	trace_thread("main");
	console_raw_enter(STDIN_FILENO);
	if (vcpus_start(&m->vm) < 0) {
		vm_request_stop(&m->vm, VMM_EXIT_ERROR, last_error());
	}
	/* After the vCPUs start: they would inherit the main thread's filter. */
	sandbox_enter(THREAD_MAIN);
	run_console(m);
	vcpus_stop(&m->vm);
	console_raw_leave();
	stats_report(m);
	if (trace_enabled && trace_flush() < 0)
		vmm_log("%s", last_error());
	return m->vm.exit_status;
}

int main(int argc, char **argv)
{
	static struct vmm_config cfg;
	static struct machine m = {.vm = {.kvm_fd = -1, .vm_fd = -1},
				   .api = {.listen_fd = -1, .client_fd = -1}};
	int status;

	clock_gettime(CLOCK_MONOTONIC, &m.vm.start);
	if (cli_parse(argc, argv, &cfg) < 0)
		goto fail;
	if (cfg.help || cfg.version) {
		if (cfg.help)
			cli_usage(argv[0]);
		else
			printf("vmm %s\n", VMM_VERSION);
		return 0;
	}
	m.cfg = &cfg;
	/* Before the machine is described: run mode adds its shares to the devices. */
	if (run_mode_prepare(&cfg, &m.run) < 0 || describe_machine(&m) < 0)
		goto fail;
	if (cfg.dump_dtb)
		status = dump_dtb(&m.fdt, cfg.dump_dtb);
	else
		status = run_vm(&m);
	api_close(&m.api);
	destroy_virtio_devices(&m);
	trace_close(); /* after the workers: they record until they stop */
	vm_destroy(&m.vm);
	log_limit_report(&marker_log);
	run_mode_release(&m.run);
	if (status < 0)
		goto fail;
	return status;
fail:
	fprintf(stderr, "vmm: %s\n", last_error());
	return VMM_EXIT_ERROR;
}
