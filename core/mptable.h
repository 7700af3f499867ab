/* SPDX-License-Identifier: MIT */
/*
 * The Intel MultiProcessor table, for guest kernels built without device
 * tree support: one processor entry per vCPU, an ISA bus, the IO-APIC and
 * its 24 pins routed one to one, ExtINT on LINT0 and NMI on LINT1.
 */
#ifndef VMM_MPTABLE_H
#define VMM_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/memory.h"

#define MPTABLE_MAX_CPUS 32
#define IOAPIC_PINS	 24

size_t mptable_size(unsigned int ncpus);
int mptable_write(const struct guest_mem *mem, uint64_t addr, unsigned int ncpus);

#endif
