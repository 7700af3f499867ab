// SPDX-License-Identifier: MIT
/*
 * Interrupts and exceptions: the TSS and IDT, the local APIC (xAPIC, MMIO)
 * with its timer for tg_wait_irq() timeouts, and the IO-APIC redirection
 * entries tg_irq_route() programs. One CPU, handlers run with interrupts off.
 */
#include "cpu.h"
#include "rt.h"

#define LAPIC_BASE	 0xfee00000UL
#define LAPIC_ID	 0x020
#define LAPIC_TPR	 0x080
#define LAPIC_EOI	 0x0b0
#define LAPIC_SVR	 0x0f0
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_LVT_TIMER	 0x320
#define LAPIC_LVT_LINT0	 0x350
#define LAPIC_LVT_ERROR	 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR	 0x390
#define LAPIC_TIMER_DIV	 0x3e0
#define LAPIC_DIV_1	 0xb
#define LVT_MASKED	 0x10000
#define MSR_APIC_BASE	 0x1b
#define APIC_BASE_ENABLE 0x800

#define IOAPIC_BASE	0xfec00000UL
#define IOAPIC_REGSEL	0x00
#define IOAPIC_WIN	0x10
#define IOAPIC_VER	0x01
#define IOAPIC_REDIR(n) (0x10 + 2 * (n))
#define REDIR_MASKED	0x10000

#define GATE_INTR_DPL0 0x8e
#define IST_EMERGENCY  1 /* #DF, NMI, #MC: a stack of their own */

/* Nanoseconds one LAPIC timer arm may cover: keeps the tick count in 32 bits. */
#define TIMER_CHUNK_NS 100000000ULL
#define CALIBRATE_NS   2000000ULL

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3, iomap_base;
	uint8_t iomap[8192 + 1]; /* all zero: every port open to ring 3; then the 0xff end byte */
} __attribute__((packed));

struct vec_handler {
	void (*fn)(void *opaque);
	void *opaque;
};

static struct idt_gate idt[256] __attribute__((aligned(16)));
struct tss tg_tss __attribute__((aligned(16)));
_Static_assert(__builtin_offsetof(struct tss, rsp) == 4, "user.c stores RSP0 at offset 4");
static uint8_t emergency_stack[8192] __attribute__((aligned(16)));
static struct vec_handler handlers[256];
static uint8_t gsi_vector[256]; /* 0: not routed */
static unsigned int ioapic_pins;
static uint32_t apic_id;
static uint64_t timer_ticks_per_ms; /* 0: not calibrated yet */
static volatile uint64_t irq_count;
static volatile bool timer_fired;

static const char *const exception_names[32] = {
    "#DE divide error",
    "#DB debug",
    "NMI",
    "#BP breakpoint",
    "#OF overflow",
    "#BR bound range",
    "#UD invalid opcode",
    "#NM no FPU",
    "#DF double fault",
    "coprocessor",
    "#TS invalid TSS",
    "#NP segment not present",
    "#SS stack fault",
    "#GP general protection",
    "#PF page fault",
    "reserved",
    "#MF x87 error",
    "#AC alignment check",
    "#MC machine check",
    "#XM SIMD error",
    "#VE virtualization",
    "#CP control protection",
};

static uint32_t lapic_read(unsigned int reg)
{
	return tg_read32(LAPIC_BASE + reg);
}

static void lapic_write(unsigned int reg, uint32_t v)
{
	tg_write32(LAPIC_BASE + reg, v);
}

static uint32_t ioapic_read(unsigned int reg)
{
	tg_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
	return tg_read32(IOAPIC_BASE + IOAPIC_WIN);
}

static void ioapic_write(unsigned int reg, uint32_t v)
{
	tg_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
	tg_write32(IOAPIC_BASE + IOAPIC_WIN, v);
}

/* The 16-byte 64-bit TSS descriptor in GDT slots 5 and 6, then load TR. */
static void tss_init(void)
{
	uint64_t base = (uintptr_t)&tg_tss, limit = sizeof(tg_tss) - 1;

	/* A bitmap rather than IOPL 3: this machine's KVM honours only the bitmap in ring 3. */
	tg_tss.iomap_base = __builtin_offsetof(struct tss, iomap);
	tg_tss.iomap[sizeof(tg_tss.iomap) - 1] = 0xff;
	tg_tss.ist[IST_EMERGENCY - 1] = (uintptr_t)emergency_stack + sizeof(emergency_stack);
	tg_gdt[TG_TSS_SEL / 8] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ULL << 40 |
				 ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
	tg_gdt[TG_TSS_SEL / 8 + 1] = base >> 32;
	__asm__ volatile("ltr %w0" ::"r"(TG_TSS_SEL));
}

static void set_gate(unsigned int vec, const void *handler, uint8_t type, uint8_t ist)
{
	uint64_t a = (uintptr_t)handler;

	idt[vec] = (struct idt_gate){
	    .off_lo = a & 0xffff,
	    .sel = TG_KERNEL_CS,
	    .ist = ist,
	    .type = type,
	    .off_mid = (a >> 16) & 0xffff,
	    .off_hi = a >> 32,
	};
}

static void idt_init(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {sizeof(idt) - 1, (uintptr_t)idt};

	for (unsigned int v = 0; v < 256; v++)
		set_gate(v, tg_isr_stubs + v * TG_ISR_STUB_SIZE, GATE_INTR_DPL0, 0);
	set_gate(2, tg_isr_stubs + 2 * TG_ISR_STUB_SIZE, GATE_INTR_DPL0, IST_EMERGENCY);
	set_gate(8, tg_isr_stubs + 8 * TG_ISR_STUB_SIZE, GATE_INTR_DPL0, IST_EMERGENCY);
	set_gate(18, tg_isr_stubs + 18 * TG_ISR_STUB_SIZE, GATE_INTR_DPL0, IST_EMERGENCY);
	__asm__ volatile("lidt %0" ::"m"(idtr));
}

/*
 * Software-enable the local APIC; mask LINT0 (the 8259 behind it: nothing
 * of ours uses it) and the timer until tg_wait_irq() arms it.
 */
static void lapic_init(void)
{
	uint64_t base = tg_rdmsr(MSR_APIC_BASE);

	if (!(base & APIC_BASE_ENABLE))
		tg_wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | TG_VEC_SPURIOUS);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	lapic_write(LAPIC_TIMER_DIV, LAPIC_DIV_1);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | TG_VEC_TIMER);
	apic_id = lapic_read(LAPIC_ID) >> 24;
	ioapic_pins = ((ioapic_read(IOAPIC_VER) >> 16) & 0xff) + 1;
}

void tg_cpu_init(void)
{
	tss_init();
	idt_init();
	lapic_init();
}

static void exception(const struct tg_frame *f)
{
	static bool busy;
	uint64_t cr2;

	if (busy) {
		tg_puts("tg: exception while reporting an exception\n");
		tg_exit(99);
	}
	busy = true;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	tg_panic(
	    "exception %lu (%s) at RIP 0x%lx, error code 0x%lx, ring %lu, RSP 0x%lx, CR2 0x%lx",
	    f->vector, exception_names[f->vector] ? exception_names[f->vector] : "reserved", f->rip,
	    f->error, f->cs & 3, f->rsp, cr2);
}

void tg_isr_dispatch(struct tg_frame *f)
{
	const struct vec_handler *h = &handlers[f->vector];

	/* tg_run_user()'s function returned: see user.c. */
	if (f->vector == 6 && (f->cs & 3) == 3 && f->rip == (uintptr_t)tg_user_exit)
		tg_user_resume((long)f->rdi);
	if (f->vector < 32)
		exception(f);
	if (f->vector == TG_VEC_SPURIOUS)
		return; /* no EOI for a spurious interrupt */
	if (f->vector == TG_VEC_TIMER) {
		timer_fired = true;
	} else if (h->fn) {
		irq_count++;
		h->fn(h->opaque);
	} else {
		tg_printf("tg: interrupt on vector %lu, which nothing routed\n", f->vector);
	}
	lapic_write(LAPIC_EOI, 0);
}

int tg_irq_route(unsigned int gsi, void (*fn)(void *opaque), void *opaque)
{
	unsigned int vec = gsi < ioapic_pins ? gsi_vector[gsi] : 0;

	if (gsi >= ioapic_pins || !fn)
		return -1;
	for (unsigned int v = TG_VEC_IRQ_FIRST; !vec && v <= TG_VEC_IRQ_LAST; v++) {
		if (!handlers[v].fn)
			vec = v;
	}
	if (!vec)
		return -1;
	handlers[vec] = (struct vec_handler){fn, opaque};
	gsi_vector[gsi] = vec;
	/* Fixed delivery to this CPU, physical destination, active high, edge, unmasked. */
	ioapic_write(IOAPIC_REDIR(gsi) + 1, apic_id << 24);
	ioapic_write(IOAPIC_REDIR(gsi), vec);
	return (int)vec;
}

void tg_irq_unroute(unsigned int gsi)
{
	unsigned int vec;

	if (gsi >= ioapic_pins || !gsi_vector[gsi])
		return;
	vec = gsi_vector[gsi];
	ioapic_write(IOAPIC_REDIR(gsi), REDIR_MASKED | vec);
	handlers[vec] = (struct vec_handler){0};
	gsi_vector[gsi] = 0;
}

uint64_t tg_irq_count(void)
{
	return irq_count;
}

/*
 * The timer's rate, measured once against kvmclock; without kvmclock,
 * KVM's APIC bus rate (1 GHz, divide by 1) is taken on trust.
 */
static void timer_calibrate(void)
{
	uint64_t t0, t1;
	uint32_t c0, c1;

	timer_ticks_per_ms = 1000000;
	if (!tg_ns())
		return;
	lapic_write(LAPIC_TIMER_INIT, 0xffffffff);
	t0 = tg_ns();
	c0 = lapic_read(LAPIC_TIMER_CUR);
	do
		t1 = tg_ns();
	while (t1 - t0 < CALIBRATE_NS);
	c1 = lapic_read(LAPIC_TIMER_CUR);
	lapic_write(LAPIC_TIMER_INIT, 0);
	if (c0 > c1)
		timer_ticks_per_ms = TG_MAX((uint64_t)(c0 - c1) * 1000000 / (t1 - t0), 1);
}

/* One-shot timer interrupt in @ns (at most TIMER_CHUNK_NS: callers loop). */
static void timer_arm(uint64_t ns)
{
	uint64_t ticks = TG_MIN(ns, TIMER_CHUNK_NS) * timer_ticks_per_ms / 1000000;

	timer_fired = false;
	lapic_write(LAPIC_LVT_TIMER, TG_VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, (uint32_t)TG_MAX(TG_MIN(ticks, 0xffffffffULL), 1));
}

static void timer_disarm(void)
{
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | TG_VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, 0);
}

/*
 * Halt until a routed interrupt's handler has run. Time comes from kvmclock;
 * without it, from the timer expiries themselves.
 */
bool tg_wait_irq(uint64_t timeout_ns)
{
	uint64_t start = irq_count, now = tg_ns(), waited = 0;
	uint64_t deadline = now + timeout_ns < now ? UINT64_MAX : now + timeout_ns;
	bool clock = now != 0, got = false;

	if (!timer_ticks_per_ms)
		timer_calibrate();
	for (;;) {
		uint64_t left = clock ? (now < deadline ? deadline - now : 0) : timeout_ns - waited;

		got = irq_count != start;
		if (got || !left)
			break;
		timer_arm(left);
		tg_sti_hlt();
		tg_cli();
		if (clock)
			now = tg_ns();
		else if (timer_fired)
			waited += TG_MIN(left, TIMER_CHUNK_NS);
	}
	timer_disarm();
	return got;
}
