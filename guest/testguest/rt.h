/* SPDX-License-Identifier: MIT */
/*
 * The test guest's runtime: a freestanding x86-64 program (no libc) that the
 * VMM boots like a Linux kernel (64-bit entry, boot_params in RSI) and QEMU
 * boots through its PVH note (32-bit entry, hvm_start_info in EBX). Both
 * entries end in tg_main() on an identity map of the first 4 GiB, with every
 * page also reachable from ring 3 (for tg_run_user()).
 *
 * Everything here runs on one CPU, in kernel mode unless said otherwise.
 */
#ifndef TESTGUEST_RT_H
#define TESTGUEST_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_PAGE_SIZE	  4096UL
#define TG_ALIGN_UP(x, a) (((x) + (a)-1) & ~((uint64_t)(a)-1))
#define TG_ARRAY_SIZE(a)  (sizeof(a) / sizeof((a)[0]))
#define TG_MIN(a, b)	  ((a) < (b) ? (a) : (b))
#define TG_MAX(a, b)	  ((a) > (b) ? (a) : (b))

/* The program: called once with the runtime ready (console, memory, cmdline). */
int tg_main(void);

/* Console: COM1 (0x3f8), polled. printf knows %d %i %u %x %lx %lu %ld %llu %llx %s %c %p %%. */
void tg_putc(char c);
void tg_puts(const char *s);
int tg_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tg_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int tg_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* One byte from the console's input, or -1 after @timeout_ns (how a host test paces a guest). */
int tg_getc(uint64_t timeout_ns);

/*
 * End the VM with @status: the VMM's test-exit port (0x501); under QEMU the
 * same port is an isa-debug-exit device (QEMU then exits with 2 * status + 1).
 * If neither ends the VM, halts for ever.
 */
__attribute__((noreturn)) void tg_exit(int status);
/* Stop this CPU for good, interrupts off (the VM stays up: tg.idle). */
__attribute__((noreturn)) void tg_halt(void);
/* Print "tg: panic: ..." and exit with status 99. */
__attribute__((noreturn, format(printf, 1, 2))) void tg_panic(const char *fmt, ...);

/* The libc subset the guest (and libfdt.a) needs. */
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t n);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
unsigned long strtoul(const char *s, char **end, int base);
unsigned long long strtoull(const char *s, char **end, int base);

/*
 * Memory: a bump allocator over the RAM above the program, zeroed, physical
 * address == virtual address. tg_alloc_mark()/tg_alloc_release() give back
 * everything allocated since the mark (each scenario runs between the two).
 * Panics when RAM runs out.
 */
void *tg_alloc(size_t size, size_t align);
uintptr_t tg_alloc_mark(void);
void tg_alloc_release(uintptr_t mark);
uint64_t tg_ram_top(void); /* the end of the RAM block the allocator uses */

/* Boot information. */
const char *tg_cmdline(void); /* "" when none */
const void *tg_dtb(void);     /* the device tree from setup_data (SETUP_DTB), or NULL */
bool tg_booted_pvh(void);     /* entered through the PVH note (QEMU) */
/*
 * Find word NAME=VALUE on the command line (the last one wins, as in Linux);
 * copy VALUE to @val. False when absent. tg_param_next() walks all the words
 * named @name from *@pos on (start with 0), for repeated ones such as
 * virtio_mmio.device=.
 */
bool tg_param(const char *name, char *val, size_t len);
bool tg_param_next(const char *name, size_t *pos, char *val, size_t len);

/* MMIO and barriers. The compiler must not merge, split or reorder these. */
static inline uint8_t tg_read8(uintptr_t a)
{
	return *(volatile uint8_t *)a;
}
static inline uint16_t tg_read16(uintptr_t a)
{
	return *(volatile uint16_t *)a;
}
static inline uint32_t tg_read32(uintptr_t a)
{
	return *(volatile uint32_t *)a;
}
static inline void tg_write8(uintptr_t a, uint8_t v)
{
	*(volatile uint8_t *)a = v;
}
static inline void tg_write16(uintptr_t a, uint16_t v)
{
	*(volatile uint16_t *)a = v;
}
static inline void tg_write32(uintptr_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}
static inline void tg_mb(void)
{
	__asm__ volatile("mfence" ::: "memory");
}
static inline void tg_rmb(void)
{
	__asm__ volatile("lfence" ::: "memory");
}
static inline void tg_wmb(void)
{
	__asm__ volatile("sfence" ::: "memory");
}
static inline void tg_barrier(void)
{
	__asm__ volatile("" ::: "memory");
}
static inline void tg_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}
static inline uint8_t tg_inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint64_t tg_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/*
 * Time: nanoseconds from KVM's clock (kvmclock, MSR 0x4b564d01, which both
 * this VMM's KVM and QEMU's provide), converted from the TSC. tg_tsc_khz():
 * the TSC frequency the same clock implies (for figures timed in ring 3 with
 * rdtsc). 0 from both when the clock is not there.
 */
uint64_t tg_ns(void);
uint64_t tg_tsc_khz(void);

/*
 * Interrupts: IO-APIC pin @gsi (edge, as virtio-mmio's) delivered to the
 * local APIC as a vector of its own; @fn runs in interrupt context with
 * @opaque. Returns the vector, -1 when no vector is left or the pin is out
 * of range.
 * tg_wait_irq() enables interrupts and halts until one handler has run or
 * @timeout_ns passed (false then); interrupts are off again on return.
 */
int tg_irq_route(unsigned int gsi, void (*fn)(void *opaque), void *opaque);
void tg_irq_unroute(unsigned int gsi);
bool tg_wait_irq(uint64_t timeout_ns);
/* Interrupts handled since boot (all vectors): to tell "no interrupt came". */
uint64_t tg_irq_count(void);

/*
 * Run @fn(@arg) in ring 3 (CPL 3) on a stack of its own, with interrupts off,
 * and return what it returns. It may read and write all memory and MMIO
 * (every page is user-accessible), I/O ports (the TSS bitmap opens them all)
 * and rdtsc, but no privileged instruction: a fault there ends the call with
 * tg_panic(). It returns to ring 0 through a ud2 at a known address: `int`
 * from ring 3 raises #UD on the KVM of the development machines.
 */
long tg_run_user(long (*fn)(void *arg), void *arg);

#endif
