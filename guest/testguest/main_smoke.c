// SPDX-License-Identifier: MIT
/*
 * A temporary tg_main(): exercises the runtime once (boot information,
 * allocator, clock, interrupts, ring 3) and exits 0. Replaced by the real
 * scenarios' tg_main.
 */
#include <libfdt.h>

#include "rt.h"

#define COM1_IRQ      4
#define UART_IER      1
#define UART_IIR      2
#define UART_IER_THRI 0x02
#define KERNEL_LOOPS  2000
#define USER_LOOPS    100000000UL

static volatile int uart_irqs;

static void smoke_boot_info(void)
{
	const void *fdt = tg_dtb();
	char val[64];

	tg_printf("smoke: booted via %s, cmdline \"%s\"\n", tg_booted_pvh() ? "PVH" : "boot_params",
		  tg_cmdline());
	tg_printf("smoke: a=%s", tg_param("a", val, sizeof(val)) ? val : "(absent)");
	tg_printf(" b=%s", tg_param("b", val, sizeof(val)) ? val : "(absent)");
	tg_printf(" nope=%s\n", tg_param("nope", val, sizeof(val)) ? val : "(absent)");
	for (size_t pos = 0; tg_param_next("virtio_mmio.device", &pos, val, sizeof(val));)
		tg_printf("smoke: virtio_mmio.device=%s\n", val);
	if (!fdt) {
		tg_printf("smoke: no device tree\n");
		return;
	}
	tg_printf("smoke: device tree at %p, %u bytes, check %d, model \"%s\"\n", fdt,
		  fdt_totalsize(fdt), fdt_check_header(fdt),
		  (const char *)fdt_getprop(fdt, 0, "model", NULL));
}

static void smoke_alloc(void)
{
	uintptr_t mark = tg_alloc_mark();
	uint8_t *a = tg_alloc(100, 8), *b = tg_alloc(4096, 4096);
	uint64_t t0 = tg_ns(), *c = tg_alloc(1 << 20, 64), t1 = tg_ns();

	tg_printf("smoke: RAM top 0x%lx; allocated %p %p %p (1 MiB zeroed in %lu us)\n",
		  tg_ram_top(), a, b, c, (t1 - t0) / 1000);
	if (((uintptr_t)b & 4095) || c[(1 << 17) - 1] || a[99])
		tg_panic("allocator: misaligned or not zeroed");
	memcpy(a, "0123456789abcdef", 17);
	memmove(a + 3, a, 10); /* overlapping, copied backwards */
	memmove(a + 20, a + 21, 5);
	if (strcmp((char *)a, "0120123456789def"))
		tg_panic("memmove: \"%s\"", (char *)a);
	tg_alloc_release(mark);
	if (tg_alloc(8, 8) != a)
		tg_panic("allocator: release did not give the memory back");
	tg_alloc_release(mark);
}

static void uart_irq(void *opaque)
{
	(void)opaque;
	tg_outb(0x3f8 + UART_IER, 0); /* one is enough */
	(void)tg_inb(0x3f8 + UART_IIR);
	uart_irqs++;
}

static void smoke_irq(void)
{
	uint64_t count = tg_irq_count(), t0 = tg_ns();
	bool got = tg_wait_irq(20 * 1000 * 1000);
	uint64_t t1 = tg_ns();
	int vec;

	tg_printf("smoke: wait with nothing routed: %s after %lu us, irq count %lu -> %lu\n",
		  got ? "interrupt (wrong)" : "timed out", (t1 - t0) / 1000, count, tg_irq_count());
	/* A real one: the UART's "transmitter empty" interrupt fires as soon as it is enabled. */
	vec = tg_irq_route(COM1_IRQ, uart_irq, NULL);
	tg_outb(0x3f8 + UART_IER, UART_IER_THRI);
	t0 = tg_ns();
	got = tg_wait_irq(1000 * 1000 * 1000);
	t1 = tg_ns();
	tg_irq_unroute(COM1_IRQ);
	tg_outb(0x3f8 + UART_IER, 0);
	tg_printf("smoke: UART irq %d on vector %d: %s after %lu us, handler ran %d time(s)\n",
		  COM1_IRQ, vec, got ? "delivered" : "timed out", (t1 - t0) / 1000, uart_irqs);
}

static uint64_t spin(uint64_t n)
{
	uint64_t t0 = tg_rdtsc();

	__asm__ volatile("1: dec %0; jnz 1b" : "+r"(n));
	return tg_rdtsc() - t0;
}

static long user_fn(void *arg)
{
	uint64_t fs_guard;

	__asm__ volatile("movq %%fs:0x28, %0" : "=r"(fs_guard));
	tg_printf("smoke: hello from ring 3 (arg %p, %%fs:0x28 = 0x%lx)\n", arg, fs_guard);
	return (long)spin(USER_LOOPS);
}

static long empty_fn(void *arg)
{
	return (long)arg;
}

/* Ring 3 runs with interrupts "off": does a pending device interrupt come in anyway? */
static long irq_spin_fn(void *arg)
{
	(void)arg;
	spin(USER_LOOPS / 10);
	return uart_irqs;
}

static void smoke_user_irq(void)
{
	long in_ring3;
	bool got;

	uart_irqs = 0;
	tg_irq_route(COM1_IRQ, uart_irq, NULL);
	tg_outb(0x3f8 + UART_IER, UART_IER_THRI);
	in_ring3 = tg_run_user(irq_spin_fn, NULL);
	got = tg_wait_irq(100 * 1000 * 1000);
	tg_irq_unroute(COM1_IRQ);
	tg_outb(0x3f8 + UART_IER, 0);
	tg_printf("smoke: UART irq raised before ring 3: handled in ring 3 %ld time(s), "
		  "afterwards %s, total %d\n",
		  in_ring3, got ? "delivered" : "none", uart_irqs);
}

static void smoke_user(void)
{
	uint64_t khz = tg_tsc_khz(), t0, t1, kcycles, ucycles;
	long ret;

	kcycles = spin(KERNEL_LOOPS);
	t0 = tg_ns();
	ret = tg_run_user(user_fn, (void *)0x1234);
	t1 = tg_ns();
	ucycles = (uint64_t)ret;
	tg_printf("smoke: ring 3 returned %ld; tg_run_user took %lu us\n", ret, (t1 - t0) / 1000);
	t0 = tg_ns();
	for (long i = 0; i < 10; i++) {
		if (tg_run_user(empty_fn, (void *)i) != i)
			tg_panic("tg_run_user: wrong return value");
	}
	tg_printf("smoke: an empty tg_run_user costs %lu us\n", (tg_ns() - t0) / 10000);
	if (khz)
		tg_printf(
		    "smoke: dec/jnz: ring 0 %lu ps/loop (%u loops), ring 3 %lu ps/loop (%lu)\n",
		    kcycles * 1000000000 / khz / KERNEL_LOOPS, KERNEL_LOOPS,
		    ucycles * 1000000000 / khz / USER_LOOPS, USER_LOOPS);
}

static volatile uintptr_t null_ish = 16; /* hidden from the compiler's bounds checks */

static long user_fault_fn(void *arg)
{
	if (!strcmp(arg, "user_pf"))
		return *(volatile long *)0x140000000; /* above the 4 GiB identity map */
	if (!strcmp(arg, "user_null"))
		return *(volatile long *)null_ish;
	__asm__ volatile("hlt"); /* privileged */
	return 0;
}

/* smoke.fault=kernel_ud|kernel_null|user_pf|user_null|user_hlt: check that faults end the VM
 * with 99. */
static void smoke_fault(void)
{
	static char what[16];

	if (!tg_param("smoke.fault", what, sizeof(what)))
		return;
	tg_printf("smoke: faulting on purpose: %s\n", what);
	if (!strcmp(what, "kernel_ud"))
		__asm__ volatile("ud2");
	if (!strcmp(what, "kernel_null"))
		tg_printf("%ld\n", *(volatile long *)null_ish);
	tg_run_user(user_fault_fn, what);
	tg_panic("smoke: %s did not fault", what);
}

int tg_main(void)
{
	uint64_t t0 = tg_ns(), t1 = tg_ns();

	tg_printf("smoke: test guest runtime up\n");
	smoke_boot_info();
	smoke_fault();
	tg_printf("smoke: tg_ns %lu then %lu, TSC %lu kHz\n", t0, t1, tg_tsc_khz());
	smoke_alloc();
	smoke_irq();
	smoke_user();
	smoke_user_irq();
	tg_printf("smoke: done after %lu ms of kvmclock\n", tg_ns() / 1000000);
	return 0;
}
