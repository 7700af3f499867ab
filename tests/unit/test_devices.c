// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/console.h"
#include "core/layout.h"
#include "core/util.h"
#include "devices/legacy/platform.h"
#include "devices/legacy/uart.h"
#include "devices/mmio/bus.h"
#include "tests/unit/suites.h"

/* ---- io_bus ---- */

struct recorder {
	unsigned int reads, writes;
	uint64_t offset;
	uint32_t len;
	uint8_t data[8];
	uint8_t fill; /* what reads return */
};

static void rec_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct recorder *r = opaque;

	r->reads++;
	r->offset = offset;
	r->len = len;
	memset(data, r->fill, len);
}

static void rec_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct recorder *r = opaque;

	r->writes++;
	r->offset = offset;
	r->len = len;
	memcpy(r->data, data, MIN(len, sizeof(r->data)));
}

static const struct io_dev_ops rec_ops = {.read = rec_read, .write = rec_write};

static struct io_bus bus;
static struct recorder rec;

static void bus_setup(void)
{
	bus = (struct io_bus){.name = "testbus"};
	rec = (struct recorder){.fill = 0x5a};
	ck_assert_int_eq(io_bus_register(&bus, 0x100, 0x10, &rec_ops, &rec), 0);
}

static void bus_teardown(void)
{
	io_bus_free(&bus);
}

START_TEST(bus_dispatch_with_offset)
{
	uint8_t w[2] = {0x12, 0x34}, r[4] = {0};

	ck_assert(io_bus_access(&bus, 0x105, w, 2, true));
	ck_assert_uint_eq(rec.writes, 1);
	ck_assert_uint_eq(rec.offset, 5);
	ck_assert_uint_eq(rec.len, 2);
	ck_assert_mem_eq(rec.data, w, 2);
	ck_assert(io_bus_access(&bus, 0x10c, r, 4, false));
	ck_assert_uint_eq(rec.reads, 1);
	ck_assert_uint_eq(rec.offset, 0xc);
	ck_assert_mem_eq(r, "\x5a\x5a\x5a\x5a", 4);
	ck_assert(io_bus_access(&bus, 0x100, r, 1, false));
	ck_assert_uint_eq(rec.offset, 0);
}
END_TEST

START_TEST(bus_overlap_refused)
{
	struct recorder other = {0};

	ck_assert_fails_with(io_bus_register(&bus, 0x10f, 2, &rec_ops, &other), "overlaps");
	ck_assert_error("testbus");
	ck_assert_fails_with(io_bus_register(&bus, 0xf0, 0x11, &rec_ops, &other), "overlaps");
	ck_assert_fails_with(io_bus_register(&bus, 0x104, 4, &rec_ops, &other), "overlaps");
	ck_assert_fails_with(io_bus_register(&bus, 0, 0x1000, &rec_ops, &other), "overlaps");
	ck_assert_fails_with(io_bus_register(&bus, 0x100, 0x10, &rec_ops, &other), "overlaps");
	ck_assert_uint_eq(bus.nr, 1);
	/* Neighbours on both sides are fine. */
	ck_assert_int_eq(io_bus_register(&bus, 0xf0, 0x10, &rec_ops, &other), 0);
	ck_assert_int_eq(io_bus_register(&bus, 0x110, 0x10, &rec_ops, &other), 0);
	ck_assert_uint_eq(bus.nr, 3);
	/* Now a range that overlaps only the one after its insertion point. */
	ck_assert_fails_with(io_bus_register(&bus, 0x108, 0x20, &rec_ops, &other), "overlaps");
}
END_TEST

START_TEST(bus_bad_range_refused)
{
	ck_assert_fails_with(io_bus_register(&bus, 0x200, 0, &rec_ops, &rec), "bad device range");
	ck_assert_error("testbus");
	ck_assert_fails_with(io_bus_register(&bus, UINT64_MAX, 2, &rec_ops, &rec),
			     "bad device range");
	ck_assert_uint_eq(bus.nr, 1);
}
END_TEST

START_TEST(bus_unmapped)
{
	uint8_t r[4] = {0}, w = 1;

	ck_assert(!io_bus_access(&bus, 0x110, r, 4, false));
	ck_assert_mem_eq(r, "\xff\xff\xff\xff", 4);
	ck_assert(!io_bus_access(&bus, 0xff, &w, 1, true));
	ck_assert(!io_bus_access(&bus, 0, r, 1, false));
	ck_assert_uint_eq(rec.reads + rec.writes, 0);
}
END_TEST

/* An access that starts inside a device but runs past its end reaches no one. */
START_TEST(bus_straddling_end)
{
	uint8_t r[4] = {0}, w[4] = {1, 2, 3, 4};

	ck_assert(!io_bus_access(&bus, 0x10e, r, 4, false));
	ck_assert_mem_eq(r, "\xff\xff\xff\xff", 4);
	ck_assert(!io_bus_access(&bus, 0x10d, w, 4, true));
	ck_assert_uint_eq(rec.reads + rec.writes, 0);
	ck_assert(io_bus_access(&bus, 0x10c, w, 4, true));
}
END_TEST

START_TEST(bus_device_without_read)
{
	static const struct io_dev_ops write_only = {.write = rec_write};
	uint8_t r[2] = {0};

	ck_assert_int_eq(io_bus_register(&bus, 0x200, 2, &write_only, &rec), 0);
	ck_assert(io_bus_access(&bus, 0x200, r, 2, false));
	ck_assert_mem_eq(r, "\xff\xff", 2);
}
END_TEST

#define MANY 100

/* Ranges registered out of order end up sorted, and each address finds its own. */
START_TEST(bus_many_ranges)
{
	static struct recorder recs[MANY];
	struct io_bus many = {.name = "many"};
	uint8_t b;

	for (unsigned int n = 0; n < MANY; n++) {
		unsigned int i = (n * 37) % MANY;

		recs[i] = (struct recorder){.fill = (uint8_t)i};
		ck_assert_int_eq(
		    io_bus_register(&many, 0x1000 + i * 0x100, 0x10, &rec_ops, &recs[i]), 0);
	}
	ck_assert_uint_eq(many.nr, MANY);
	for (unsigned int i = 1; i < MANY; i++)
		ck_assert_uint_lt(many.ranges[i - 1].base, many.ranges[i].base);
	for (unsigned int i = 0; i < MANY; i++) {
		uint64_t base = 0x1000 + i * 0x100;

		ck_assert(io_bus_access(&many, base + 3, &b, 1, false));
		ck_assert_uint_eq(b, i);
		ck_assert_uint_eq(recs[i].reads, 1);
		ck_assert_uint_eq(recs[i].offset, 3);
		ck_assert(io_bus_access(&many, base + 0xf, &b, 1, false));
		ck_assert(!io_bus_access(&many, base + 0x10, &b, 1, false));
		ck_assert(!io_bus_access(&many, base - 1, &b, 1, false));
	}
	io_bus_free(&many);
	ck_assert_ptr_null(many.ranges);
	ck_assert_uint_eq(many.nr, 0);
}
END_TEST

/* ---- 16550A UART ---- */

#define RBR 0
#define THR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

struct irq_log {
	int level;
	unsigned int raises, lowers;
	uint32_t gsi;
};

static void log_irq(void *opaque, uint32_t gsi, int level)
{
	struct irq_log *l = opaque;

	l->gsi = gsi;
	l->level = level;
	if (level)
		l->raises++;
	else
		l->lowers++;
}

static struct uart uart;
static struct irq_log irq;
static int out_pipe[2];

static void uart_setup(void)
{
	struct irq_line line = {log_irq, &irq, UART_COM1_IRQ};

	memset(&irq, 0, sizeof(irq));
	ck_assert_int_eq(pipe2(out_pipe, O_NONBLOCK), 0);
	uart_init(&uart, &line, out_pipe[1], -1);
}

static void uart_teardown(void)
{
	close(out_pipe[0]);
	close(out_pipe[1]);
	pthread_mutex_destroy(&uart.lock);
}

static uint8_t in(uint64_t reg)
{
	uint8_t b = 0xee;

	uart_ops.read(&uart, reg, &b, 1);
	return b;
}

static void out(uint64_t reg, uint8_t val)
{
	uart_ops.write(&uart, reg, &val, 1);
}

/* What the UART sent to the host so far (nothing is "" ). */
static const char *sent(void)
{
	static char buf[64];
	ssize_t n = read(out_pipe[0], buf, sizeof(buf) - 1);

	if (n < 0) {
		ck_assert_int_eq(errno, EAGAIN);
		n = 0;
	}
	buf[n] = '\0';
	return buf;
}

START_TEST(uart_transmits)
{
	out(THR, 'h');
	out(THR, 'i');
	ck_assert_str_eq(sent(), "hi");
	ck_assert_uint_eq(in(LSR)&0x60, 0x60); /* THRE and TEMT: always ready */
	ck_assert_uint_eq(irq.raises, 0);
}
END_TEST

/* Through the port bus, as a vCPU's OUT to 0x3f8 arrives. */
START_TEST(uart_on_port_bus)
{
	struct io_bus pio = {.name = "pio"};
	uint8_t c = '!';

	ck_assert_int_eq(io_bus_register(&pio, UART_COM1_BASE, UART_NR_REGS, &uart_ops, &uart), 0);
	ck_assert(io_bus_access(&pio, 0x3f8, &c, 1, true));
	ck_assert_str_eq(sent(), "!");
	c = 0x42;
	ck_assert(io_bus_access(&pio, 0x3ff, &c, 1, true));
	ck_assert_uint_eq(in(SCR), 0x42);
	io_bus_free(&pio);
}
END_TEST

START_TEST(uart_scratch)
{
	out(SCR, 0x55);
	ck_assert_uint_eq(in(SCR), 0x55);
	out(SCR, 0xaa);
	ck_assert_uint_eq(in(SCR), 0xaa);
	ck_assert_str_eq(sent(), "");
}
END_TEST

/* Linux's 8250 probe: MCR = LOOP | OUT2 | RTS must read back as DCD | CTS. */
START_TEST(uart_loopback_modem_status)
{
	out(MCR, 0x1a);
	ck_assert_uint_eq(in(MSR)&0xf0, 0x90);
	out(MCR, 0x1f);
	ck_assert_uint_eq(in(MSR)&0xf0, 0xf0);
	out(MCR, 0x10);
	ck_assert_uint_eq(in(MSR)&0xf0, 0x00);
	out(MCR, 0x0b); /* out of loopback: a cable with everyone present */
	ck_assert_uint_eq(in(MSR)&0xb0, 0xb0);
}
END_TEST

START_TEST(uart_loopback_data)
{
	out(MCR, 0x1a);
	ck_assert_uint_eq(in(LSR)&0x01, 0);
	out(THR, 'Z');
	ck_assert_uint_eq(in(LSR)&0x01, 0x01);
	ck_assert_uint_eq(in(RBR), 'Z');
	ck_assert_uint_eq(in(LSR)&0x01, 0);
	ck_assert_str_eq(sent(), "");
}
END_TEST

START_TEST(uart_fifo_bits)
{
	ck_assert_uint_eq(in(IIR)&0xc0, 0);
	out(FCR, 0x01);
	ck_assert_uint_eq(in(IIR)&0xc0, 0xc0);
	ck_assert_uint_eq(in(IIR)&0x0f, 0x01); /* and still no interrupt pending */
	out(FCR, 0x00);
	ck_assert_uint_eq(in(IIR)&0xc0, 0);
}
END_TEST

START_TEST(uart_thri)
{
	ck_assert_uint_eq(in(IIR)&0x0f, 0x01);
	out(IER, 0x02);
	ck_assert_int_eq(irq.level, 1);
	ck_assert_uint_eq(irq.raises, 1);
	ck_assert_uint_eq(irq.gsi, UART_COM1_IRQ);
	ck_assert_uint_eq(in(IIR)&0x0f, 0x02);
	ck_assert_int_eq(irq.level, 0);
	ck_assert_uint_eq(in(IIR)&0x0f, 0x01); /* the read acknowledged it */
	/* Sending a byte empties the THR again: a new interrupt. */
	out(THR, 'x');
	ck_assert_int_eq(irq.level, 1);
	ck_assert_uint_eq(irq.raises, 2);
	out(IER, 0x00);
	ck_assert_int_eq(irq.level, 0);
}
END_TEST

START_TEST(uart_receive_interrupt)
{
	ck_assert_uint_eq(uart_receive(&uart, (const uint8_t *)"abc", 3), 3);
	ck_assert_uint_eq(in(LSR)&0x01, 0x01);
	ck_assert_uint_eq(irq.raises, 0); /* not enabled yet */
	out(IER, 0x01);
	ck_assert_int_eq(irq.level, 1);
	ck_assert_uint_eq(in(IIR)&0x0f, 0x04);
	ck_assert_uint_eq(in(RBR), 'a');
	ck_assert_uint_eq(in(RBR), 'b');
	ck_assert_int_eq(irq.level, 1);
	ck_assert_uint_eq(in(RBR), 'c');
	ck_assert_int_eq(irq.level, 0);
	ck_assert_uint_eq(in(LSR)&0x01, 0);
	ck_assert_uint_eq(in(IIR)&0x0f, 0x01);
	ck_assert_uint_eq(irq.raises, 1);
}
END_TEST

START_TEST(uart_receive_raises_line)
{
	out(IER, 0x01);
	ck_assert_int_eq(irq.level, 0);
	ck_assert_uint_eq(uart_receive(&uart, (const uint8_t *)"q", 1), 1);
	ck_assert_int_eq(irq.level, 1);
	ck_assert_uint_eq(in(RBR), 'q');
	ck_assert_int_eq(irq.level, 0);
}
END_TEST

/* With DLAB set, offsets 0 and 1 are the divisor, not THR and IER. */
START_TEST(uart_divisor_latch)
{
	out(LCR, 0x83);
	out(DLL, 0x0c);
	out(DLM, 0x01);
	ck_assert_uint_eq(in(DLL), 0x0c);
	ck_assert_uint_eq(in(DLM), 0x01);
	ck_assert_str_eq(sent(), "");
	ck_assert_uint_eq(irq.raises, 0);
	out(LCR, 0x03);
	ck_assert_uint_eq(in(LCR), 0x03);
	ck_assert_uint_eq(in(IER), 0x00);
	out(THR, 'k');
	ck_assert_str_eq(sent(), "k");
	out(LCR, 0x83);
	ck_assert_uint_eq(in(DLL), 0x0c);
}
END_TEST

START_TEST(uart_receive_buffer_full)
{
	static uint8_t data[UART_RX_SIZE + 5];

	for (unsigned int i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	ck_assert_uint_eq(uart_rx_space(&uart), UART_RX_SIZE);
	ck_assert_uint_eq(uart_receive(&uart, data, sizeof(data)), UART_RX_SIZE);
	ck_assert_uint_eq(uart_rx_space(&uart), 0);
	ck_assert_uint_eq(uart_receive(&uart, data, 1), 0);
	ck_assert_uint_eq(in(RBR), 0);
	ck_assert_uint_eq(uart_rx_space(&uart), 1);
	ck_assert_uint_eq(uart_receive(&uart, (const uint8_t *)"\xaa\xbb", 2), 1);
	for (unsigned int i = 1; i < UART_RX_SIZE; i++)
		ck_assert_uint_eq(in(RBR), (uint8_t)i);
	ck_assert_uint_eq(in(RBR), 0xaa);
	ck_assert_uint_eq(in(LSR)&0x01, 0);
}
END_TEST

static uint64_t efd_count(int efd)
{
	uint64_t n = 0;

	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

/* The console waits on space_efd when the buffer is full; draining must wake it. */
START_TEST(uart_space_signalled_on_drain)
{
	static uint8_t data[UART_RX_SIZE];
	int efd = eventfd(0, EFD_NONBLOCK);

	ck_assert_int_ge(efd, 0);
	uart.space_efd = efd;
	ck_assert_uint_eq(uart_receive(&uart, data, sizeof(data)), UART_RX_SIZE);
	ck_assert_uint_eq(efd_count(efd), 0);
	in(RBR);
	ck_assert_uint_ne(efd_count(efd), 0);
	close(efd);
}
END_TEST

/* The guest's driver clears the FIFO when it opens the port: that drains it too. */
START_TEST(uart_space_signalled_on_fifo_clear)
{
	static uint8_t data[UART_RX_SIZE];
	int efd = eventfd(0, EFD_NONBLOCK);

	ck_assert_int_ge(efd, 0);
	uart.space_efd = efd;
	ck_assert_uint_eq(uart_receive(&uart, data, sizeof(data)), UART_RX_SIZE);
	out(FCR, 0x03); /* enable and clear the receive FIFO */
	ck_assert_uint_eq(uart_rx_space(&uart), UART_RX_SIZE);
	ck_assert_uint_eq(in(LSR)&0x01, 0);
	ck_assert_msg(efd_count(efd) != 0, "clearing a full receive FIFO did not signal space_efd");
	close(efd);
}
END_TEST

/* Flow control off (the default): RTS does not matter, as for a guest that never sets it. */
START_TEST(uart_rts_ignored_without_flow)
{
	out(MCR, 0x08); /* OUT2 only: RTS low */
	ck_assert_uint_eq(uart_rx_space(&uart), UART_RX_SIZE);
	ck_assert_uint_eq(uart_receive(&uart, (const uint8_t *)"a", 1), 1);
	ck_assert_uint_eq(in(RBR), 'a');
}
END_TEST

/* With flow control, RTS low holds host input back and raising it signals space. */
START_TEST(uart_rts_flow_holds_input)
{
	int efd = eventfd(0, EFD_NONBLOCK);

	ck_assert_int_ge(efd, 0);
	uart.space_efd = efd;
	uart_set_rts_flow(&uart, true);
	out(MCR, 0x0b); /* DTR, RTS, OUT2: the port open */
	ck_assert_uint_eq(uart_receive(&uart, (const uint8_t *)"ab", 2), 2);
	efd_count(efd);
	out(MCR, 0x09); /* the tty throttles: RTS low */
	ck_assert_uint_eq(uart_rx_space(&uart), 0);
	ck_assert_uint_eq(uart_receive(&uart, (const uint8_t *)"c", 1), 0);
	ck_assert_uint_eq(in(RBR), 'a'); /* what was in the FIFO is still delivered */
	ck_assert_uint_eq(efd_count(efd), 0);
	out(MCR, 0x0b); /* unthrottled */
	ck_assert_msg(efd_count(efd) != 0, "raising RTS did not signal space_efd");
	ck_assert_uint_eq(uart_rx_space(&uart), UART_RX_SIZE - 1);
	ck_assert_uint_eq(uart_receive(&uart, (const uint8_t *)"c", 1), 1);
	ck_assert_uint_eq(in(RBR), 'b');
	ck_assert_uint_eq(in(RBR), 'c');
	close(efd);
}
END_TEST

/* ---- console escape ---- */

static enum console_action filter(struct console_escape *esc, const char *s, size_t len, char *o,
				  size_t *olen)
{
	return console_filter(esc, (const uint8_t *)s, len, (uint8_t *)o, olen);
}

START_TEST(console_plain_bytes)
{
	struct console_escape esc = {0};
	char o[16];
	size_t n = 99;

	ck_assert_int_eq(filter(&esc, "ls -l\r", 6, o, &n), CONSOLE_NONE);
	ck_assert_uint_eq(n, 6);
	ck_assert_mem_eq(o, "ls -l\r", 6);
	ck_assert_int_eq(filter(&esc, "", 0, o, &n), CONSOLE_NONE);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(console_quit)
{
	struct console_escape esc = {0};
	char o[16];
	size_t n = 99;

	ck_assert_int_eq(filter(&esc, "ab\x01xcd", 6, o, &n), CONSOLE_QUIT);
	ck_assert_uint_eq(n, 2);
	ck_assert_mem_eq(o, "ab", 2);
	esc = (struct console_escape){0};
	ck_assert_int_eq(filter(&esc, "\x01X", 2, o, &n), CONSOLE_QUIT);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(console_escaped_escape)
{
	struct console_escape esc = {0};
	char o[16];
	size_t n = 99;

	ck_assert_int_eq(filter(&esc, "a\x01\x01z", 4, o, &n), CONSOLE_NONE);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(o, "a\x01z", 3);
	ck_assert(!esc.pending);
}
END_TEST

START_TEST(console_escape_other_dropped)
{
	struct console_escape esc = {0};
	char o[16];
	size_t n = 99;

	ck_assert_int_eq(filter(&esc, "a\x01qb", 4, o, &n), CONSOLE_NONE);
	ck_assert_uint_eq(n, 2);
	ck_assert_mem_eq(o, "ab", 2);
	/* 'x' without the escape is just a letter. */
	ck_assert_int_eq(filter(&esc, "x", 1, o, &n), CONSOLE_NONE);
	ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(console_escape_split)
{
	struct console_escape esc = {0};
	char o[16];
	size_t n = 99;

	ck_assert_int_eq(filter(&esc, "a\x01", 2, o, &n), CONSOLE_NONE);
	ck_assert_uint_eq(n, 1);
	ck_assert(esc.pending);
	ck_assert_int_eq(filter(&esc, "x", 1, o, &n), CONSOLE_QUIT);
	ck_assert_uint_eq(n, 0);

	esc = (struct console_escape){0};
	ck_assert_int_eq(filter(&esc, "\x01", 1, o, &n), CONSOLE_NONE);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(filter(&esc, "\x01y", 2, o, &n), CONSOLE_NONE);
	ck_assert_uint_eq(n, 2);
	ck_assert_mem_eq(o, "\x01y", 2);
}
END_TEST

/* ---- platform devices ---- */

struct event_log {
	unsigned int poweroffs, resets, test_exits, markers;
	int status;
};

static struct event_log evlog;

static void ev_poweroff(void *opaque)
{
	((struct event_log *)opaque)->poweroffs++;
}

static void ev_reset(void *opaque)
{
	((struct event_log *)opaque)->resets++;
}

static void ev_test_exit(void *opaque, uint8_t status)
{
	((struct event_log *)opaque)->test_exits++;
	((struct event_log *)opaque)->status = status;
}

static void ev_marker(void *opaque)
{
	((struct event_log *)opaque)->markers++;
}

static const struct vm_events events = {&evlog, ev_poweroff, ev_reset, ev_test_exit, ev_marker};
static struct io_bus pio, mmio;
static struct cmos cmos;

static void platform_setup(void)
{
	memset(&evlog, 0, sizeof(evlog));
	evlog.status = -1;
	pio = (struct io_bus){.name = "pio"};
	mmio = (struct io_bus){.name = "mmio"};
	ck_assert_msg(platform_devices_register(&pio, &mmio, &events, &cmos) == 0, "%s",
		      last_error());
}

static void platform_teardown(void)
{
	io_bus_free(&pio);
	io_bus_free(&mmio);
}

static void outb(uint16_t port, uint8_t val)
{
	ck_assert_msg(io_bus_access(&pio, port, &val, 1, true), "port 0x%x is not claimed", port);
}

static uint8_t inb(uint16_t port)
{
	uint8_t val = 0xee;

	ck_assert_msg(io_bus_access(&pio, port, &val, 1, false), "port 0x%x is not claimed", port);
	return val;
}

static unsigned int event_count(void)
{
	return evlog.poweroffs + evlog.resets + evlog.test_exits + evlog.markers;
}

START_TEST(i8042_reset)
{
	outb(0x64, 0xfe);
	ck_assert_uint_eq(evlog.resets, 1);
	ck_assert_uint_eq(event_count(), 1);
}
END_TEST

START_TEST(i8042_other_writes)
{
	outb(0x64, 0xd1);
	outb(0x64, 0xff);
	outb(0x60, 0xfe); /* the reset command on the data port is just data */
	ck_assert_uint_eq(event_count(), 0);
	ck_assert_uint_eq(inb(0x64) & 0x02, 0); /* input buffer empty */
}
END_TEST

START_TEST(test_exit_port)
{
	outb(0x501, 3);
	ck_assert_uint_eq(evlog.test_exits, 1);
	ck_assert_int_eq(evlog.status, 3);
	outb(0x501, 0);
	ck_assert_uint_eq(evlog.test_exits, 2);
	ck_assert_int_eq(evlog.status, 0);
	ck_assert_uint_eq(evlog.markers + evlog.resets + evlog.poweroffs, 0);
}
END_TEST

START_TEST(boot_marker_port)
{
	outb(0x502, 1);
	ck_assert_uint_eq(evlog.markers, 1);
	ck_assert_uint_eq(event_count(), 1);
}
END_TEST

static bool mmio_write32(uint64_t addr, uint32_t val)
{
	uint8_t b[4] = {val, val >> 8, val >> 16, val >> 24};

	return io_bus_access(&mmio, addr, b, 4, true);
}

START_TEST(power_off_register)
{
	ck_assert(mmio_write32(POWER_MMIO_ADDR, 1));
	ck_assert_uint_eq(evlog.poweroffs, 1);
	ck_assert_uint_eq(event_count(), 1);
}
END_TEST

START_TEST(power_off_needs_32bit_one)
{
	uint8_t one = 1;

	ck_assert(mmio_write32(POWER_MMIO_ADDR, 0));
	ck_assert(mmio_write32(POWER_MMIO_ADDR, 2));
	ck_assert(mmio_write32(POWER_MMIO_ADDR + 4, 1));
	ck_assert(io_bus_access(&mmio, POWER_MMIO_ADDR, &one, 1, true));
	ck_assert_uint_eq(evlog.poweroffs, 0);
	/* 0x101 is not 1, even if its low byte is. */
	ck_assert(mmio_write32(POWER_MMIO_ADDR, 0x101));
	ck_assert_msg(evlog.poweroffs == 0, "a 32-bit write of 0x101 powered off");
}
END_TEST

static uint8_t cmos_read(uint8_t index)
{
	outb(0x70, index);
	return inb(0x71);
}

START_TEST(cmos_status_b)
{
	ck_assert_uint_eq(cmos_read(0x0b), 0x02);	 /* 24-hour, BCD */
	ck_assert_uint_eq(cmos_read(0x0a) & 0x80, 0);	 /* no update in progress */
	ck_assert_uint_eq(cmos_read(0x0d) & 0x80, 0x80); /* battery good */
}
END_TEST

static bool is_bcd(uint8_t v, uint8_t max)
{
	return (v >> 4) < 10 && (v & 0xf) < 10 && v <= max;
}

START_TEST(cmos_clock_is_bcd)
{
	uint8_t sec = cmos_read(0x00), min = cmos_read(0x02), hour = cmos_read(0x04);
	uint8_t mday = cmos_read(0x07), mon = cmos_read(0x08);

	ck_assert_msg(is_bcd(sec, 0x59), "seconds 0x%02x", sec);
	ck_assert_msg(is_bcd(min, 0x59), "minutes 0x%02x", min);
	ck_assert_msg(is_bcd(hour, 0x23), "hours 0x%02x", hour);
	ck_assert_msg(is_bcd(mday, 0x31) && mday >= 1, "day 0x%02x", mday);
	ck_assert_msg(is_bcd(mon, 0x12) && mon >= 1, "month 0x%02x", mon);
	ck_assert_uint_ge(cmos_read(0x32), 0x20); /* the 21st century or later */
	ck_assert(is_bcd(cmos_read(0x32), 0x99));
}
END_TEST

START_TEST(cmos_ram)
{
	outb(0x70, 0x40);
	outb(0x71, 0x5a);
	outb(0x70, 0x41);
	outb(0x71, 0xa5);
	ck_assert_uint_eq(cmos_read(0x40), 0x5a);
	ck_assert_uint_eq(cmos_read(0x41), 0xa5);
	ck_assert_uint_eq(cmos_read(0x42), 0x00);
	/* Bit 7 of the index masks NMIs; it does not select another byte. */
	ck_assert_uint_eq(cmos_read(0x80 | 0x40), 0x5a);
}
END_TEST

START_TEST(post_port_ignored)
{
	outb(0x80, 0x12);
	ck_assert_uint_eq(event_count(), 0);
}
END_TEST

START_TEST(platform_ports_are_claimed_once)
{
	struct cmos other;

	ck_assert_fails_with(platform_devices_register(&pio, &mmio, &events, &other), "overlaps");
}
END_TEST

Suite *devices_suite(void)
{
	Suite *s = suite_create("devices");
	TCase *b = tcase_create("io_bus");
	TCase *u = tcase_create("uart");
	TCase *c = tcase_create("console");
	TCase *p = tcase_create("platform");

	tcase_add_checked_fixture(b, bus_setup, bus_teardown);
	tcase_add_test(b, bus_dispatch_with_offset);
	tcase_add_test(b, bus_overlap_refused);
	tcase_add_test(b, bus_bad_range_refused);
	tcase_add_test(b, bus_unmapped);
	tcase_add_test(b, bus_straddling_end);
	tcase_add_test(b, bus_device_without_read);
	tcase_add_test(b, bus_many_ranges);
	suite_add_tcase(s, b);

	tcase_add_checked_fixture(u, uart_setup, uart_teardown);
	tcase_add_test(u, uart_transmits);
	tcase_add_test(u, uart_on_port_bus);
	tcase_add_test(u, uart_scratch);
	tcase_add_test(u, uart_loopback_modem_status);
	tcase_add_test(u, uart_loopback_data);
	tcase_add_test(u, uart_fifo_bits);
	tcase_add_test(u, uart_thri);
	tcase_add_test(u, uart_receive_interrupt);
	tcase_add_test(u, uart_receive_raises_line);
	tcase_add_test(u, uart_divisor_latch);
	tcase_add_test(u, uart_receive_buffer_full);
	tcase_add_test(u, uart_space_signalled_on_drain);
	tcase_add_test(u, uart_space_signalled_on_fifo_clear);
	tcase_add_test(u, uart_rts_ignored_without_flow);
	tcase_add_test(u, uart_rts_flow_holds_input);
	suite_add_tcase(s, u);

	tcase_add_test(c, console_plain_bytes);
	tcase_add_test(c, console_quit);
	tcase_add_test(c, console_escaped_escape);
	tcase_add_test(c, console_escape_other_dropped);
	tcase_add_test(c, console_escape_split);
	suite_add_tcase(s, c);

	tcase_add_checked_fixture(p, platform_setup, platform_teardown);
	tcase_add_test(p, i8042_reset);
	tcase_add_test(p, i8042_other_writes);
	tcase_add_test(p, test_exit_port);
	tcase_add_test(p, boot_marker_port);
	tcase_add_test(p, power_off_register);
	tcase_add_test(p, power_off_needs_32bit_one);
	tcase_add_test(p, cmos_status_b);
	tcase_add_test(p, cmos_clock_is_bcd);
	tcase_add_test(p, cmos_ram);
	tcase_add_test(p, post_port_ignored);
	tcase_add_test(p, platform_ports_are_claimed_once);
	suite_add_tcase(s, p);
	return s;
}
