/* SPDX-License-Identifier: MIT */
/*
 * The KVM virtual machine: its file descriptors, guest RAM, the two device
 * buses and the vCPUs, and how the machine stops. Whoever decides that the
 * VM is over (a device, a vCPU error, a signal) calls vm_request_stop(); the
 * first call fixes the exit status, and the main thread then ends every vCPU.
 */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <linux/kvm.h>

#include "core/memory.h"
#include "core/vcpu.h"
#include "devices/mmio/bus.h"

/* The process exit status for each way a VM can end (see README). */
#define VMM_EXIT_POWEROFF 0
#define VMM_EXIT_ERROR	  1
#define VMM_EXIT_RESET	  2
#define VMM_EXIT_SIGNAL	  128 /* plus the signal number */

struct vm {
	int kvm_fd;
	int vm_fd;
	size_t run_size;
	struct guest_mem mem;
	struct io_bus pio;
	struct io_bus mmio;
	struct kvm_cpuid2 *cpuid;
	unsigned int ncpus;
	struct vcpu vcpus[VMM_MAX_CPUS];
	atomic_int stopping;
	struct {
		pthread_mutex_t lock;
		pthread_cond_t cond;
		atomic_bool requested; /* vcpus_pause(): every vCPU parks before KVM_RUN */
		unsigned int parked;
	} pause;
	int exit_status;
	int stop_efd;
	int post_efd;
	struct timespec start;
};

int vm_create(struct vm *vm, unsigned int ncpus);
int vm_map_memory(struct vm *vm);
void vm_set_irq(void *opaque, uint32_t gsi, int level);
int vm_ioeventfd(void *opaque, uint64_t addr, uint32_t len, uint64_t datamatch, int fd);
int vm_irqfd(void *opaque, uint32_t gsi, int fd);
void vm_request_stop(struct vm *vm, int status, const char *why);
void vm_destroy(struct vm *vm);

#endif
