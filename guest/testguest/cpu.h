/* SPDX-License-Identifier: MIT */
/*
 * The test guest's CPU-level internals, shared by the runtime's assembly and
 * C files (not by scenarios: those use rt.h). Included from .S files too, so
 * everything C sits under !__ASSEMBLER__.
 */
#ifndef TESTGUEST_CPU_H
#define TESTGUEST_CPU_H

/* GDT selectors (entry.S lays the table out in this order). */
#define TG_KERNEL_CS 0x08
#define TG_KERNEL_DS 0x10
#define TG_USER_CS   0x18
#define TG_USER_DS   0x20
#define TG_TSS_SEL   0x28 /* 16 bytes: two slots */
#define TG_GDT_SLOTS 7

/* Vectors the runtime owns; tg_irq_route() hands out the ones between. */
#define TG_VEC_IRQ_FIRST 0x30
#define TG_VEC_IRQ_LAST	 0xdf
#define TG_VEC_TIMER	 0xee /* local APIC timer: wakes tg_wait_irq() */
#define TG_VEC_SPURIOUS	 0xff
#define TG_ISR_STUB_SIZE 16 /* vectors.S: one entry stub per vector, this far apart */

#define TG_MSR_EFER    0xc0000080
#define TG_MSR_FS_BASE 0xc0000100
#define TG_EFER_LME    0x100
#define TG_CR0_PE      0x1
#define TG_CR0_PG      0x80000000
#define TG_CR0_NW_CD   0x60000000
#define TG_CR4_PAE     0x20

#define TG_XSTR(x) #x
#define TG_STR(x)  TG_XSTR(x) /* a macro's value as a string, for inline assembly */

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stdint.h>

/* What vectors.S pushes, lowest address first: the registers, then the CPU's frame. */
struct tg_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Set by entry.S before the first C code runs. */
extern uint64_t tg_boot_info; /* boot_params (64-bit entry) or hvm_start_info (PVH) */
extern uint32_t tg_boot_pvh;
extern uint64_t tg_gdt[TG_GDT_SLOTS];
extern char tg_image_start[], tg_image_end[];

/* Runtime start-up, in this order, from tg_start() (rt.c). */
void tg_cpu_init(void);	  /* intr.c: TSS, IDT, local APIC */
void tg_clock_init(void); /* clock.c: kvmclock */

/* The 64-bit TSS (intr.c): user.c writes RSP0, at offset 4 as the SDM lays it out. */
extern struct tss tg_tss;

/* From vectors.S: the first of 256 stubs, each TG_ISR_STUB_SIZE bytes. */
extern char tg_isr_stubs[];
void tg_isr_dispatch(struct tg_frame *f);

/* From user.c: the ring-3 UD2 that ends tg_run_user(), and the way back to its caller. */
extern char tg_user_exit[];
__attribute__((noreturn)) void tg_user_resume(long ret);
bool tg_in_user(void); /* inside tg_run_user()'s function */

static inline uint64_t tg_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void tg_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline void tg_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static inline void tg_cli(void)
{
	__asm__ volatile("cli" ::: "memory");
}

/* Enable interrupts and halt in one go: STI's shadow keeps an interrupt from slipping in between.
 */
static inline void tg_sti_hlt(void)
{
	__asm__ volatile("sti; hlt" ::: "memory");
}
#endif

#endif
