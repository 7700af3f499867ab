/* SPDX-License-Identifier: MIT */
/*
 * The vCPUs: one thread each, running KVM_RUN and dispatching its exits to
 * the VM's buses. The boot vCPU starts at the kernel's entry; the others
 * wait for INIT/SIPI in the in-kernel LAPIC.
 */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <pthread.h>
#include <stdint.h>

#define VMM_MAX_CPUS 32

struct kvm_run;
struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	int started;
};

/* Create every vCPU, the boot one set up to enter the kernel at @entry. */
int vcpus_create(struct vm *vm, uint64_t entry);
int vcpus_start(struct vm *vm);
/* Kick every vCPU out of KVM_RUN and join its thread. */
void vcpus_stop(struct vm *vm);

#endif
