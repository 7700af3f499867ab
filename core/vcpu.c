// SPDX-License-Identifier: MIT
/*
 * vCPUs: CPUID, MSRs and registers for the 64-bit boot entry, then one thread
 * each running KVM_RUN and dispatching exits to the device buses. Only the
 * boot vCPU gets the entry state; with the in-kernel LAPIC the others wait
 * for the INIT/SIPI the guest sends them.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "core/boot.h"
#include "core/error.h"
#include "core/layout.h"
#include "core/log.h"
#include "core/trace.h"
#include "core/util.h"
#include "core/vm.h"

#define KICK_SIGNAL VCPU_KICK_SIGNAL

#define CPUID_HYPERVISOR_BIT BIT(31)
#define CR0_PE		     BIT(0)
#define CR0_ET		     BIT(4)
#define CR0_PG		     BIT(31)
#define CR4_PAE		     BIT(5)
#define EFER_LME	     BIT(8)
#define EFER_LMA	     BIT(10)

#define MSR_IA32_TSC		0x10
#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MISC_ENABLE_FAST_STRING BIT(0)

#define APIC_LVT0	 0x350
#define APIC_LVT1	 0x360
#define APIC_MODE_NMI	 0x4
#define APIC_MODE_EXTINT 0x7

static struct kvm_cpuid2 *get_supported_cpuid(int kvm_fd)
{
	for (unsigned int n = 128; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			break;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG)
			break;
	}
	set_error("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	return NULL;
}

/* Per-vCPU CPUID: the host's supported leaves with this vCPU's APIC id. */
static int setup_cpuid(struct vcpu *v)
{
	const struct kvm_cpuid2 *sup = v->vm->cpuid;
	size_t size = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	int ret = 0;

	if (!c)
		return set_error("out of memory");
	memcpy(c, sup, size);
	for (unsigned int i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x00ffffff) | (v->id << 24);
			e->ecx |= CPUID_HYPERVISOR_BIT;
			break;
		case 0xb:
		case 0x1f:
			e->edx = v->id; /* x2APIC id */
			break;
		}
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		ret = set_error("KVM_SET_CPUID2: %s", strerror(errno));
	free(c);
	return ret;
}

static int setup_msrs(struct vcpu *v)
{
	static const uint32_t zeroed[] = {
	    MSR_IA32_SYSENTER_CS,
	    MSR_IA32_SYSENTER_ESP,
	    MSR_IA32_SYSENTER_EIP,
	    MSR_STAR,
	    MSR_CSTAR,
	    MSR_KERNEL_GS_BASE,
	    MSR_SYSCALL_MASK,
	    MSR_LSTAR,
	    MSR_IA32_TSC,
	};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[ARRAY_SIZE(zeroed) + 1];
	} msrs = {0};
	int n;

	for (size_t i = 0; i < ARRAY_SIZE(zeroed); i++)
		msrs.e[i].index = zeroed[i];
	msrs.e[ARRAY_SIZE(zeroed)].index = MSR_IA32_MISC_ENABLE;
	msrs.e[ARRAY_SIZE(zeroed)].data = MISC_ENABLE_FAST_STRING;
	msrs.hdr.nmsrs = ARRAY_SIZE(msrs.e);
	n = ioctl(v->fd, KVM_SET_MSRS, &msrs);
	if (n < 0)
		return set_error("KVM_SET_MSRS: %s", strerror(errno));
	if ((unsigned int)n < msrs.hdr.nmsrs)
		return set_error("KVM refused boot MSR 0x%x", msrs.e[n].index);
	return 0;
}

/* Route the legacy PIC through LINT0 and NMIs through LINT1, as a PC BIOS would. */
static int setup_lapic(struct vcpu *v)
{
	struct kvm_lapic_state lapic;
	uint32_t *lvt0 = (uint32_t *)&lapic.regs[APIC_LVT0];
	uint32_t *lvt1 = (uint32_t *)&lapic.regs[APIC_LVT1];

	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
		return set_error("KVM_GET_LAPIC: %s", strerror(errno));
	*lvt0 = (*lvt0 & ~0x700u) | (APIC_MODE_EXTINT << 8);
	*lvt1 = (*lvt1 & ~0x700u) | (APIC_MODE_NMI << 8);
	if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0)
		return set_error("KVM_SET_LAPIC: %s", strerror(errno));
	return 0;
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	*s = (struct kvm_segment){
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = sel,
	    .type = type,
	    .present = 1,
	    .dpl = 0,
	    .db = code ? 0 : 1,
	    .s = 1,
	    .l = code ? 1 : 0,
	    .g = 1,
	};
}

/* Long mode with paging on, as the 64-bit boot protocol requires at entry. */
static int setup_boot_sregs(struct vcpu *v)
{
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return set_error("KVM_GET_SREGS: %s", strerror(errno));
	flat_segment(&s.cs, BOOT_CS, 0xb, true);
	flat_segment(&s.ds, BOOT_DS, 0x3, false);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.tr = (struct kvm_segment){
	    .selector = BOOT_TSS, .limit = 0xfffff, .type = 0xb, .present = 1, .g = 1};
	s.gdt.base = BOOT_GDT_ADDR;
	s.gdt.limit = 5 * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr0 = CR0_PE | CR0_ET | CR0_PG;
	s.cr3 = BOOT_PML4_ADDR;
	s.cr4 = CR4_PAE;
	s.efer = EFER_LME | EFER_LMA;
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return set_error("KVM_SET_SREGS: %s", strerror(errno));
	return 0;
}

static int setup_boot_regs(struct vcpu *v, uint64_t entry)
{
	struct kvm_regs r = {
	    .rip = entry,
	    .rsi = BOOT_PARAMS_ADDR,
	    .rsp = BOOT_STACK_TOP,
	    .rbp = BOOT_STACK_TOP,
	    .rflags = 0x2,
	};
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};

	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return set_error("KVM_SET_REGS: %s", strerror(errno));
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		return set_error("KVM_SET_FPU: %s", strerror(errno));
	return setup_boot_sregs(v);
}

static int vcpu_create(struct vm *vm, unsigned int id, uint64_t entry)
{
	struct vcpu *v = &vm->vcpus[id];

	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		return set_error("KVM_CREATE_VCPU %u: %s", id, strerror(errno));
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return set_error("mmap of vCPU %u: %s", id, strerror(errno));
	}
	if (setup_cpuid(v) < 0 || setup_msrs(v) < 0 || setup_lapic(v) < 0)
		return -1;
	return id == 0 ? setup_boot_regs(v, entry) : 0;
}

int vcpus_create(struct vm *vm, uint64_t entry)
{
	pthread_mutex_init(&vm->pause.lock, NULL);
	pthread_cond_init(&vm->pause.cond, NULL);
	for (unsigned int i = 0; i < vm->ncpus; i++)
		vm->vcpus[i].fd = -1;
	vm->cpuid = get_supported_cpuid(vm->kvm_fd);
	if (!vm->cpuid)
		return -1;
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		if (vcpu_create(vm, i, entry) < 0)
			return -1;
	}
	return 0;
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	/* String I/O (rep outsb and friends) arrives as count items of size bytes. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		io_bus_access(&v->vm->pio, run->io.port, data, run->io.size,
			      run->io.direction == KVM_EXIT_IO_OUT);
}

/* Fetch the bytes at RIP through the guest's own page tables, for the report. */
static int read_insn(struct vcpu *v, uint64_t rip, uint8_t *buf, int max)
{
	struct kvm_run *run = v->run;
	struct kvm_translation tr = {.linear_address = rip};
	uint8_t *p;

	if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
	    run->emulation_failure.suberror == KVM_INTERNAL_ERROR_EMULATION &&
	    run->emulation_failure.ndata >= 3 &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		int n = MIN((int)run->emulation_failure.insn_size, max);

		memcpy(buf, run->emulation_failure.insn_bytes, n);
		return n;
	}
	if (ioctl(v->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
		return 0;
	p = gpa_to_hva(&v->vm->mem, tr.physical_address, max);
	if (!p)
		return 0;
	memcpy(buf, p, max);
	return max;
}

static const char *internal_error_name(uint32_t suberror)
{
	switch (suberror) {
	case KVM_INTERNAL_ERROR_EMULATION: return "emulation failure";
	case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV: return "event delivery failure";
	default: return "internal error";
	}
}

/* One message saying what stopped the vCPU, where, and on which instruction. */
static void report_vcpu_error(struct vcpu *v, const char *what)
{
	struct kvm_regs regs = {0};
	uint8_t insn[15];
	char bytes[3 * sizeof(insn) + 1] = "unavailable";
	char msg[512];
	int n;

	ioctl(v->fd, KVM_GET_REGS, &regs);
	n = read_insn(v, regs.rip, insn, sizeof(insn));
	for (int i = 0; i < n; i++)
		snprintf(bytes + 3 * i, sizeof(bytes) - 3 * i, "%02x%s", insn[i],
			 i + 1 < n ? " " : "");
	snprintf(msg, sizeof(msg), "vcpu%u: %s at RIP 0x%llx, instruction bytes: %s%s", v->id, what,
		 (unsigned long long)regs.rip, bytes,
		 v->run->exit_reason == KVM_EXIT_INTERNAL_ERROR
		     ? "; the host's KVM could not emulate it (on an emulating or nested KVM the"
		       " guest kernel may need clearcpuid=, see kernel-config/README.md)"
		     : "");
	vm_request_stop(v->vm, VMM_EXIT_ERROR, msg);
}

static void handle_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN: vm_request_stop(v->vm, VMM_EXIT_POWEROFF, NULL); break;
	case KVM_SYSTEM_EVENT_RESET: vm_request_stop(v->vm, VMM_EXIT_RESET, "guest reset"); break;
	default: report_vcpu_error(v, "guest crash event"); break;
	}
}

static void handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char what[96];

	switch (run->exit_reason) {
	case KVM_EXIT_IO: handle_io(v); break;
	case KVM_EXIT_MMIO:
		io_bus_access(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data,
			      MIN(run->mmio.len, sizeof(run->mmio.data)), run->mmio.is_write);
		break;
	case KVM_EXIT_HLT:
	case KVM_EXIT_INTR: break;
	case KVM_EXIT_SHUTDOWN:
		vm_request_stop(v->vm, VMM_EXIT_RESET, "guest reset (triple fault)");
		break;
	case KVM_EXIT_SYSTEM_EVENT: handle_system_event(v); break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof(what), "KVM internal error, suberror %u (%s)",
			 run->internal.suberror, internal_error_name(run->internal.suberror));
		report_vcpu_error(v, what);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "VM entry failed, hardware reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		report_vcpu_error(v, what);
		break;
	default:
		snprintf(what, sizeof(what), "unhandled KVM exit reason %u", run->exit_reason);
		report_vcpu_error(v, what);
		break;
	}
}

/*
 * Held by vcpus_pause() between two KVM_RUNs (an exit's handling is done,
 * so an MMIO read's answer waits in kvm_run for the next entry, as usual).
 * immediate_exit is cleared only under the lock and only if no new pause
 * came meanwhile, so a pause's kick can never be lost.
 */
static void park(struct vcpu *v)
{
	struct vm *vm = v->vm;

	pthread_mutex_lock(&vm->pause.lock);
	vm->pause.parked++;
	pthread_cond_broadcast(&vm->pause.cond);
	while (atomic_load(&vm->pause.requested) && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->pause.cond, &vm->pause.lock);
	vm->pause.parked--;
	if (!atomic_load(&vm->pause.requested) && !atomic_load(&vm->stopping))
		v->run->immediate_exit = 0;
	pthread_mutex_unlock(&vm->pause.lock);
}

static unsigned int started_vcpus(const struct vm *vm)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < vm->ncpus; i++)
		n += vm->vcpus[i].started ? 1 : 0;
	return n;
}

int vcpus_pause(struct vm *vm)
{
	struct timespec deadline;
	int err = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 1;
	pthread_mutex_lock(&vm->pause.lock);
	atomic_store(&vm->pause.requested, true);
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		if (!vm->vcpus[i].started)
			continue;
		vm->vcpus[i].run->immediate_exit = 1;
		pthread_kill(vm->vcpus[i].thread, KICK_SIGNAL);
	}
	while (vm->pause.parked < started_vcpus(vm) && !atomic_load(&vm->stopping) && !err)
		err = pthread_cond_timedwait(&vm->pause.cond, &vm->pause.lock, &deadline);
	pthread_mutex_unlock(&vm->pause.lock);
	if (err)
		return set_error("a vCPU did not stop within a second");
	return 0;
}

void vcpus_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause.lock);
	atomic_store(&vm->pause.requested, false);
	pthread_cond_broadcast(&vm->pause.cond);
	pthread_mutex_unlock(&vm->pause.lock);
}

bool vcpus_paused(struct vm *vm)
{
	return atomic_load(&vm->pause.requested);
}

/* --stats and --trace: the exit handled since @start. */
static void account_exit(struct vcpu *v, int64_t start)
{
	uint64_t ns = (uint64_t)(monotonic_ns() - start);

	if (v->stats)
		vcpu_stats_exit(v, ns);
	if (trace_enabled)
		trace_record(TRACE_EXIT, NULL, vcpu_exit_key(v), 0, start, ns);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	sigset_t kick;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&kick);
	sigaddset(&kick, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	vmm_thread_enter(THREAD_VCPU); /* confined before the first KVM_RUN */
	trace_thread("vcpu%u", v->id);
	while (!atomic_load(&v->vm->stopping)) {
		if (atomic_load(&v->vm->pause.requested)) {
			park(v);
			continue;
		}
		bool timed = v->stats || trace_enabled;
		int64_t t0 = timed ? monotonic_ns() : 0, t1;
		int r = ioctl(v->fd, KVM_RUN, 0);

		t1 = timed ? monotonic_ns() : 0;
		if (v->stats)
			vcpu_stats_run(v, (uint64_t)(t1 - t0));
		if (r < 0) {
			/* EINTR: kicked; EAGAIN: an AP not yet started by SIPI on some hosts. */
			if (errno == EINTR || errno == EAGAIN)
				continue;
			report_vcpu_error(v, strerror(errno));
			break;
		}
		handle_exit(v);
		if (timed)
			account_exit(v, t1);
	}
	return NULL;
}

static void kick_handler(int sig)
{
	(void)sig;
}

/* --trace names exits when it writes them out: the VM's buses say what they hit. */
static const struct vm *traced_vm;

static void name_exit(uint64_t key, char *buf, size_t len)
{
	vcpu_exit_name(traced_vm, key, buf, len);
}

int vcpus_start(struct vm *vm)
{
	struct sigaction sa = {.sa_handler = kick_handler};

	if (trace_enabled) {
		traced_vm = vm;
		trace_set_exit_namer(name_exit);
	}

	/* No SA_RESTART: the kick must make KVM_RUN return EINTR. */
	sigemptyset(&sa.sa_mask);
	sigaction(KICK_SIGNAL, &sa, NULL);
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		int err = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);

		if (err)
			return set_error("cannot start vCPU thread: %s", strerror(err));
		vm->vcpus[i].started = 1;
	}
	return 0;
}

/* Make every vCPU leave KVM_RUN and wait for its thread. */
void vcpus_stop(struct vm *vm)
{
	/* Parked ones see stopping once woken (vm_request_stop() set it). */
	pthread_mutex_lock(&vm->pause.lock);
	pthread_cond_broadcast(&vm->pause.cond);
	pthread_mutex_unlock(&vm->pause.lock);
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!v->started)
			continue;
		v->run->immediate_exit = 1;
		pthread_kill(v->thread, KICK_SIGNAL);
	}
	for (unsigned int i = 0; i < vm->ncpus; i++) {
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
		vm->vcpus[i].started = 0;
	}
}
