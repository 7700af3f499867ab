// SPDX-License-Identifier: MIT
/*
 * Time from kvmclock: KVM keeps a pvclock record up to date in our memory
 * (system time at a TSC stamp, and the TSC-to-ns scale); we add the TSC
 * ticks since the stamp. The record is user-accessible like everything, so
 * tg_ns() works from ring 3 as well.
 */
#include "cpu.h"
#include "rt.h"

#define MSR_KVM_SYSTEM_TIME_NEW	 0x4b564d01
#define KVM_CPUID_SIGNATURE	 0x40000000
#define KVM_CPUID_FEATURES	 0x40000001
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define CPUID1_ECX_HYPERVISOR	 (1u << 31)

struct pvclock {
	uint32_t version; /* odd while KVM updates the record */
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
};

static volatile struct pvclock pvclock __attribute__((aligned(64)));
static bool have_clock;

/* KVM's signature and its new-style clock MSR: writing an absent MSR would fault. */
static bool kvm_has_clock(void)
{
	uint32_t r[4];

	tg_cpuid(1, 0, r);
	if (!(r[2] & CPUID1_ECX_HYPERVISOR))
		return false;
	tg_cpuid(KVM_CPUID_SIGNATURE, 0, r);
	if (r[1] != 0x4b4d564b || r[2] != 0x564b4d56 || r[3] != 0x4d) /* "KVMKVMKVM\0\0\0" */
		return false;
	tg_cpuid(KVM_CPUID_FEATURES, 0, r);
	return r[0] & KVM_FEATURE_CLOCKSOURCE2;
}

void tg_clock_init(void)
{
	if (!kvm_has_clock())
		return;
	/* Bit 0 enables; KVM fills the record before the guest runs again. */
	tg_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uintptr_t)&pvclock | 1);
	have_clock = pvclock.version != 0 && pvclock.tsc_to_system_mul != 0;
}

uint64_t tg_ns(void)
{
	uint32_t version;
	uint64_t ns;

	if (!have_clock)
		return 0;
	do {
		uint64_t delta;

		version = pvclock.version;
		tg_barrier();
		delta = tg_rdtsc() - pvclock.tsc_timestamp;
		if (pvclock.tsc_shift < 0)
			delta >>= -pvclock.tsc_shift;
		else
			delta <<= pvclock.tsc_shift;
		ns = pvclock.system_time +
		     (uint64_t)(((unsigned __int128)delta * pvclock.tsc_to_system_mul) >> 32);
		tg_barrier();
	} while ((version & 1) || version != pvclock.version);
	return ns;
}

/* ns = ((tsc << shift) * mul) >> 32, so kHz = 10^6 * 2^32 / mul, shifted back. */
uint64_t tg_tsc_khz(void)
{
	uint64_t khz;

	if (!have_clock)
		return 0;
	khz = (1000000ULL << 32) / pvclock.tsc_to_system_mul;
	if (pvclock.tsc_shift < 0)
		return khz << -pvclock.tsc_shift;
	return khz >> pvclock.tsc_shift;
}
