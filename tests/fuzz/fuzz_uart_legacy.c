// SPDX-License-Identifier: MIT
/*
 * The 16550 UART and the legacy PC devices through the port and MMIO
 * buses, as a guest reaches them: any port or address, any access size
 * (1..8, odd ones too), any value, and host-side receives between them.
 *
 * Invariants: a read fills no byte beyond those asked for; the UART's
 * receive count stays within its buffer and agrees with uart_rx_space();
 * its interrupt line is a level, 0 or 1; with RTS flow control on (a bit of
 * the input), no host byte is taken while the guest holds RTS low.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/legacy/platform.h"
#include "devices/legacy/uart.h"
#include "tests/fuzz/fuzz_util.h"

/* The modem control bits the flow control reads (the 16550A data sheet's). */
#define MCR_RTS	 0x02
#define MCR_LOOP 0x10

static struct io_bus pio = {.name = "pio"}, mmio = {.name = "mmio"};
static struct uart uart;
static struct cmos cmos;

static void ev_nop(void *opaque)
{
	(void)opaque;
}

static void ev_exit(void *opaque, uint8_t status)
{
	(void)opaque, (void)status;
}

static const struct vm_events events = {NULL, ev_nop, ev_nop, ev_exit, ev_nop};

static void set_level(void *opaque, uint32_t gsi, int level)
{
	(void)opaque, (void)gsi;
	FZ_CHECK(level == 0 || level == 1);
}

static const struct irq_line line = {set_level, NULL, UART_COM1_IRQ};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int out = open("/dev/null", O_WRONLY | O_CLOEXEC);

	(void)argc, (void)argv;
	if (out < 0 || platform_devices_register(&pio, &mmio, &events, &cmos) < 0 ||
	    io_bus_register(&pio, UART_COM1_BASE, UART_NR_REGS, &uart_ops, &uart) < 0)
		abort();
	uart_init(&uart, &line, out, -1);
	return 0;
}

/* One access: ports 0..0x3ff, or MMIO round the power-off block. */
static void bus_access(struct fz *f, uint8_t op)
{
	uint8_t data[16];
	bool mm = op & 0x10;
	uint64_t addr = mm ? 0xfe000000ULL + (fz_u16(f) & 0x1fff) - 0x1000 : fz_u16(f) % 0x400;
	uint32_t len = 1 + fz_u8(f) % 8;

	memset(data, 0xcc, sizeof(data));
	if (op & 1) {
		fz_bytes(f, data, len);
		io_bus_access(mm ? &mmio : &pio, addr, data, len, true);
		return;
	}
	io_bus_access(mm ? &mmio : &pio, addr, data, len, false);
	for (uint32_t i = len; i < sizeof(data); i++)
		FZ_CHECK(data[i] == 0xcc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = {data, size};
	uint8_t buf[64];

	/* Every input starts from the state after boot. */
	memset(&cmos, 0, sizeof(cmos));
	uart_init(&uart, &line, uart.out_fd, -1);
	uart_set_rts_flow(&uart, size && data[0] & 1); /* run mode's piped input */
	while (f.left) {
		uint8_t op = fz_u8(&f);
		bool held = uart.rts_flow && !(uart.mcr & (MCR_RTS | MCR_LOOP));

		if ((op & 0xe0) == 0xe0) {
			size_t n = fz_bytes(&f, buf, 1 + fz_u8(&f) % sizeof(buf)), took;

			took = uart_receive(&uart, buf, n);
			FZ_CHECK(took <= n && (!held || took == 0));
		} else {
			bus_access(&f, op);
		}
		held = uart.rts_flow && !(uart.mcr & (MCR_RTS | MCR_LOOP));
		FZ_CHECK(uart.rx_count <= UART_RX_SIZE && uart.rx_head < UART_RX_SIZE);
		FZ_CHECK(uart_rx_space(&uart) == (held ? 0 : UART_RX_SIZE - uart.rx_count));
	}
	return 0;
}
