// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/error.h"
#include "core/layout.h"
#include "core/log.h"
#include "core/util.h"
#include "core/vm.h"

#define KVM_DEVICE "/dev/kvm"

static int open_kvm(void)
{
	int fd = open(KVM_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		return set_error("cannot open %s: no such device (is KVM enabled on this host?)",
				 KVM_DEVICE);
	if (fd < 0 && errno == EACCES)
		return set_error("cannot open %s: permission denied (join the kvm group)",
				 KVM_DEVICE);
	if (fd < 0)
		return set_error("cannot open %s: %s", KVM_DEVICE, strerror(errno));
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		close(fd);
		return set_error("%s is not a usable KVM device", KVM_DEVICE);
	}
	return fd;
}

static int check_caps(struct vm *vm, unsigned int ncpus)
{
	static const struct {
		int cap;
		const char *name;
	} needed[] = {
	    {KVM_CAP_IRQCHIP, "in-kernel IRQ chip"}, {KVM_CAP_USER_MEMORY, "user memory"},
	    {KVM_CAP_SET_TSS_ADDR, "TSS address"},   {KVM_CAP_PIT2, "in-kernel PIT"},
	    {KVM_CAP_EXT_CPUID, "CPUID setting"},    {KVM_CAP_IMMEDIATE_EXIT, "immediate exit"},
	};
	int max;

	for (size_t i = 0; i < ARRAY_SIZE(needed); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0)
			return set_error("KVM lacks the %s capability", needed[i].name);
	}
	max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max > 0 && ncpus > (unsigned int)max)
		return set_error("--cpus %u: this KVM allows at most %d vCPUs", ncpus, max);
	return 0;
}

/* Swallow Linux's port-0x80 I/O delay writes in the kernel instead of exiting for each. */
static void absorb_post_port(struct vm *vm)
{
	struct kvm_ioeventfd io = {
	    .addr = POST_PORT,
	    .len = 1,
	    .flags = KVM_IOEVENTFD_FLAG_PIO,
	};

	vm->post_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	io.fd = vm->post_efd;
	if (vm->post_efd >= 0 && ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0) {
		/* Not fatal: the port then exits to the VMM, which ignores it. */
		close(vm->post_efd);
		vm->post_efd = -1;
	}
}

static int create_platform(struct vm *vm)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};

	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		return set_error("KVM_SET_TSS_ADDR: %s", strerror(errno));
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return set_error("KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return set_error("KVM_CREATE_IRQCHIP: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return set_error("KVM_CREATE_PIT2: %s", strerror(errno));
	absorb_post_port(vm);
	return 0;
}

int vm_create(struct vm *vm, unsigned int ncpus)
{
	int size;

	vm->vm_fd = -1;
	vm->post_efd = -1;
	vm->ncpus = ncpus;
	vm->kvm_fd = open_kvm();
	if (vm->kvm_fd < 0 || check_caps(vm, ncpus) < 0)
		return -1;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return set_error("KVM_CREATE_VM: %s", strerror(errno));
	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size <= 0)
		return set_error("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	vm->run_size = (size_t)size;
	vm->stop_efd = eventfd(0, EFD_CLOEXEC);
	if (vm->stop_efd < 0)
		return set_error("eventfd: %s", strerror(errno));
	return create_platform(vm);
}

int vm_map_memory(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->mem.nr; i++) {
		struct kvm_userspace_memory_region r = {
		    .slot = i,
		    .guest_phys_addr = vm->mem.region[i].gpa,
		    .memory_size = vm->mem.region[i].size,
		    .userspace_addr = (uintptr_t)vm->mem.region[i].hva,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return set_error("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	}
	return 0;
}

void vm_set_irq(void *opaque, uint32_t gsi, int level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level irq = {.irq = gsi, .level = level};

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		vmm_log("KVM_IRQ_LINE %u: %s", gsi, strerror(errno));
}

/*
 * Bind @fd to MMIO writes of @len bytes at @addr carrying @datamatch: KVM then
 * signals the eventfd itself and the vCPU does not exit to us.
 */
int vm_ioeventfd(void *opaque, uint64_t addr, uint32_t len, uint64_t datamatch, int fd)
{
	struct vm *vm = opaque;
	struct kvm_ioeventfd io = {
	    .datamatch = datamatch,
	    .addr = addr,
	    .len = len,
	    .fd = fd,
	    .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};

	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return set_error("KVM_IOEVENTFD at 0x%llx: %s", (unsigned long long)addr,
				 strerror(errno));
	return 0;
}

/* Bind @fd to @gsi: each eventfd write is an edge on that line, with no ioctl from us. */
int vm_irqfd(void *opaque, uint32_t gsi, int fd)
{
	struct vm *vm = opaque;
	struct kvm_irqfd irqfd = {.fd = (uint32_t)fd, .gsi = gsi};

	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return set_error("KVM_IRQFD for GSI %u: %s", gsi, strerror(errno));
	return 0;
}

/* The first caller decides the exit status; @why, if any, is told to the user. */
void vm_request_stop(struct vm *vm, int status, const char *why)
{
	uint64_t one = 1;
	int expected = 0;

	if (!atomic_compare_exchange_strong(&vm->stopping, &expected, 1))
		return;
	vm->exit_status = status;
	if (why)
		vmm_log("%s", why);
	if (write(vm->stop_efd, &one, sizeof(one)) < 0)
		abort(); /* an eventfd write of 1 cannot fail; if it does, do not hang */
}

/* In a child: close every fd but @lo and @hi (lo < hi). */
static void close_others(int lo, int hi)
{
	if (lo > 0)
		close_range(0, (unsigned int)lo - 1, 0);
	if (hi > lo + 1)
		close_range((unsigned int)lo + 1, (unsigned int)hi - 1, 0);
	close_range((unsigned int)hi + 1, ~0U, 0);
}

/*
 * Destroying a VM is mostly waiting: KVM takes the PIT's, the PIC's and the
 * IO-APIC's devices off its buses one by one, each after an SRCU grace
 * period (13 ms of our exit here, some on any host). When this runs nothing
 * else of ours needs the VM, and guest RAM, the devices, their files and
 * locks are gone, so a child that holds the VM's fd alone makes the last
 * close, and our exit, which a CI job waits for, does not wait for it. The
 * child closes only once we have (the end of the gate pipe), or ours would
 * be the last. A bare clone (a new process, no glibc fork handlers) that
 * makes only system calls; if anything fails, we close the fd ourselves.
 */
static void close_vm_fd(int fd)
{
	int gate[2];
	char c;

	if (pipe2(gate, O_CLOEXEC) < 0) {
		close(fd);
		return;
	}
	if (syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0) == 0) {
		close_others(MIN(fd, gate[0]), MAX(fd, gate[0]));
		while (read(gate[0], &c, 1) < 0 && errno == EINTR)
			;
		close(fd);
		_exit(0);
	}
	close(fd);
	close(gate[1]);
	close(gate[0]);
}

void vm_destroy(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		vcpu_stats_free(&vm->vcpus[i]);
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, vm->run_size);
		if (vm->vcpus[i].fd > 0)
			close(vm->vcpus[i].fd);
	}
	free(vm->cpuid);
	io_bus_free(&vm->pio);
	io_bus_free(&vm->mmio);
	guest_mem_free(&vm->mem);
	if (vm->vm_fd >= 0)
		close_vm_fd(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
}
