/* SPDX-License-Identifier: MIT */
/*
 * The vCPUs: one thread each, running KVM_RUN and dispatching its exits to
 * the VM's buses. The boot vCPU starts at the kernel's entry; the others
 * wait for INIT/SIPI in the in-kernel LAPIC.
 */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define VMM_MAX_CPUS 32
/*
 * What makes a vCPU leave KVM_RUN: a real-time signal nobody else sends,
 * so that the user's SIGUSR1 goes to the main thread (every other thread
 * blocks this one).
 */
#define VCPU_KICK_SIGNAL (SIGRTMIN + 1)

struct kvm_run;
struct vm;
struct vcpu_stats;
struct stats_report;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	int started;
	struct vcpu_stats *stats; /* --stats only (core/vcpu_stats.c) */
};

/* Create every vCPU, the boot one set up to enter the kernel at @entry. */
int vcpus_create(struct vm *vm, uint64_t entry);
int vcpus_start(struct vm *vm);
/* Kick every vCPU out of KVM_RUN and join its thread. */
void vcpus_stop(struct vm *vm);

/*
 * Every started vCPU out of KVM_RUN and held until vcpus_resume(); returns
 * once all are held. -1 with set_error() if one is not within a second (it
 * is left to park when it can; vcpus_resume() releases it).
 */
int vcpus_pause(struct vm *vm);
void vcpus_resume(struct vm *vm);
bool vcpus_paused(struct vm *vm);

/* --stats (core/vcpu_stats.c): tables allocated before the vCPU runs. */
int vcpu_stats_alloc(struct vcpu *v);
void vcpu_stats_free(struct vcpu *v);
void vcpu_stats_run(struct vcpu *v, uint64_t ns);
/* The exit now in v->run was handled in @ns. */
void vcpu_stats_exit(struct vcpu *v, uint64_t ns);
/* The exit now in v->run: its register (I/O, MMIO) or reason, for --trace. */
uint64_t vcpu_exit_key(const struct vcpu *v);
/* "MMIO virtio-blk0 QueueNotify write", "HLT": the exit of @key. */
void vcpu_exit_name(const struct vm *vm, uint64_t key, char *buf, size_t len);
/* Add every vCPU's figures to @r: the exit rows and one vCPU row each. */
int vcpu_stats_gather(const struct vm *vm, struct stats_report *r);

#endif
