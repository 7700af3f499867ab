// SPDX-License-Identifier: MIT
/*
 * The 16550 UART and the legacy PC ports (i8042, CMOS, the debug ports, the
 * syscon power register) through their bus operations, as a guest's port
 * and MMIO accesses reach them: any offset, width and value. Invariant:
 * the interrupt line only ever goes 0 or 1, reads fill exactly the bytes
 * asked for (ASan: never more).
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/layout.h"
#include "devices/legacy/platform.h"
#include "devices/legacy/uart.h"
#include "tests/fuzz/fuzz.h"

static void set_level(void *opaque, uint32_t gsi, int level)
{
	(void)opaque, (void)gsi;
	FUZZ_CHECK(level == 0 || level == 1);
}

static void event(void *opaque)
{
	(void)opaque;
}

static void test_exit(void *opaque, uint8_t status)
{
	(void)opaque, (void)status;
}

/* The buses a guest reaches them by, built once: the devices keep their state across inputs. */
static struct io_bus pio = {.name = "port I/O"}, mmio = {.name = "MMIO"};
static struct uart uart;
static struct cmos cmos;

static void build_buses(void)
{
	static const struct vm_events ev = {NULL, event, event, test_exit, event};
	static const struct irq_line irq = {set_level, NULL, 4};
	int null_fd = open("/dev/null", O_WRONLY);

	uart_init(&uart, &irq, null_fd, -1);
	if (io_bus_register(&pio, UART_COM1_BASE, UART_NR_REGS, &uart_ops, &uart) < 0 ||
	    platform_devices_register(&pio, &mmio, &ev, &cmos) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};

	if (!pio.nr)
		build_buses();
	for (unsigned int op = 0; op < 256 && in.left; op++) {
		uint8_t c = fuzz_u8(&in), buf[8] = {0};
		uint32_t len = 1u << ((c >> 1) & 3);
		bool is_mmio = c & 0x10;
		/* Ports anywhere below 0x600 (all of ours); MMIO around the power register. */
		uint64_t addr = is_mmio ? POWER_MMIO_ADDR - 8 + (fuzz_u16(&in) & 0x101f)
					: fuzz_u16(&in) % 0x600;

		if (c & 1) {
			uint32_t v = fuzz_u32(&in);

			memcpy(buf, &v, sizeof(v));
		}
		io_bus_access(is_mmio ? &mmio : &pio, addr, buf, len, c & 1);
	}
	return 0;
}
