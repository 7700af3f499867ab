/* SPDX-License-Identifier: MIT */
/*
 * The Intel MultiProcessor table, for guest kernels built without device
 * tree support: one processor entry per vCPU, an ISA bus, the IO-APIC and
 * its 24 pins routed one to one, ExtINT on LINT0 and NMI on LINT1.
 *
 * A device tree gets a companion table that describes nothing (the tree has
 * the CPUs and the IO-APIC; Linux would register them twice): Linux looks for
 * an MP table whatever else it has, mapping the BIOS areas 16 bytes at a
 * time, and finding one where it looks second ends that search instead of
 * going through 64 KiB of BIOS area (seconds where the guest kernel is
 * emulated, milliseconds on hardware).
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
size_t mptable_tree_companion_size(void);
int mptable_write_tree_companion(const struct guest_mem *mem, uint64_t addr);

#endif
