// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "devices/legacy/uart.h"
#include "core/util.h"

/* Register offsets and bits, as in the 16550A data sheet. */
#define RBR_THR 0
#define IER	1
#define IIR_FCR 2
#define LCR	3
#define MCR	4
#define LSR	5
#define MSR	6
#define SCR	7

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IIR_NONE	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_FIFO	0xc0
#define FCR_FIFO_ENABLE 0x01
#define FCR_CLEAR_RX	0x02
#define LCR_DLAB	0x80
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

void uart_init(struct uart *u, const struct irq_line *irq, int out_fd, int space_efd)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	u->irq = *irq;
	u->out_fd = out_fd;
	u->space_efd = space_efd;
	u->mcr = MCR_OUT2;
	u->thri_pending = true; /* the transmitter starts empty */
}

static uint8_t uart_iir(const struct uart *u)
{
	uint8_t fifo = (u->fcr & FCR_FIFO_ENABLE) ? IIR_FIFO : 0;

	if ((u->ier & IER_RDI) && u->rx_count)
		return IIR_RDI | fifo;
	if ((u->ier & IER_THRI) && u->thri_pending)
		return IIR_THRI | fifo;
	return IIR_NONE | fifo;
}

/* The ISA line follows the interrupt condition; the PIC sees each rising edge. */
static void uart_update_irq(struct uart *u)
{
	int level = !(uart_iir(u) & IIR_NONE);

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_line_set(&u->irq, level);
	}
}

static void rx_push(struct uart *u, uint8_t c)
{
	if (u->rx_count < UART_RX_SIZE) {
		u->rx[(u->rx_head + u->rx_count) % UART_RX_SIZE] = c;
		u->rx_count++;
	}
}

/* Wake the console loop, which stops reading input while the buffer is full. */
static void rx_signal_space(struct uart *u)
{
	uint64_t one = 1;

	if (u->space_efd >= 0 && write(u->space_efd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow in practice; nothing to recover. */
	}
}

static uint8_t rx_pop(struct uart *u)
{
	uint8_t c;

	if (!u->rx_count)
		return 0;
	c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_RX_SIZE;
	if (u->rx_count-- == UART_RX_SIZE)
		rx_signal_space(u);
	return c;
}

static void uart_transmit(struct uart *u, uint8_t c)
{
	if (u->mcr & MCR_LOOP) {
		rx_push(u, c);
	} else if (u->out_fd >= 0 && write(u->out_fd, &c, 1) < 0) {
		/* A closed console must not stop the guest; the byte is dropped. */
	}
	u->thri_pending = true;
}

static uint8_t uart_msr(const struct uart *u)
{
	uint8_t msr = 0;

	if (!(u->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	if (u->mcr & MCR_RTS)
		msr |= MSR_CTS;
	if (u->mcr & MCR_DTR)
		msr |= MSR_DSR;
	if (u->mcr & MCR_OUT1)
		msr |= MSR_RI;
	if (u->mcr & MCR_OUT2)
		msr |= MSR_DCD;
	return msr;
}

static uint8_t uart_read_reg(struct uart *u, uint64_t reg)
{
	uint8_t iir;

	switch (reg) {
	case RBR_THR: return (u->lcr & LCR_DLAB) ? u->dll : rx_pop(u);
	case IER: return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case IIR_FCR:
		iir = uart_iir(u);
		/* Reading IIR acknowledges a transmitter-empty interrupt. */
		if ((iir & 0x0f) == IIR_THRI)
			u->thri_pending = false;
		return iir;
	case LCR: return u->lcr;
	case MCR: return u->mcr;
	case LSR: return LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0);
	case MSR: return uart_msr(u);
	default: return u->scr;
	}
}

static void uart_write_reg(struct uart *u, uint64_t reg, uint8_t val)
{
	switch (reg) {
	case RBR_THR:
		if (u->lcr & LCR_DLAB)
			u->dll = val;
		else
			uart_transmit(u, val);
		break;
	case IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = val;
			break;
		}
		/* Enabling the THR interrupt with an empty THR raises it at once. */
		if ((val & IER_THRI) && !(u->ier & IER_THRI))
			u->thri_pending = true;
		u->ier = val & 0x0f;
		break;
	case IIR_FCR:
		u->fcr = val & 0xc9;
		if ((val & FCR_CLEAR_RX) && u->rx_count) {
			if (u->rx_count == UART_RX_SIZE)
				rx_signal_space(u);
			u->rx_count = 0;
		}
		break;
	case LCR: u->lcr = val; break;
	case MCR:
		if (u->rts_flow && !(u->mcr & MCR_RTS) && (val & MCR_RTS))
			rx_signal_space(u); /* the guest takes input again */
		u->mcr = val & 0x1f;
		break;
	case SCR: u->scr = val; break;
	default: /* LSR and MSR are read-only */ break;
	}
}

static void uart_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct uart *u = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&u->lock);
	data[0] = uart_read_reg(u, offset);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static void uart_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct uart *u = opaque;

	(void)len;
	pthread_mutex_lock(&u->lock);
	uart_write_reg(u, offset, data[0]);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static void uart_describe(void *opaque, uint64_t offset, char *buf, size_t len)
{
	static const char *const regs[UART_NR_REGS] = {"RBR/THR", "IER", "IIR/FCR", "LCR",
						       "MCR",	  "LSR", "MSR",	    "SCR"};

	(void)opaque;
	snprintf(buf, len, "COM1 %s", offset < UART_NR_REGS ? regs[offset] : "?");
}

const struct io_dev_ops uart_ops = {
    .read = uart_read,
    .write = uart_write,
    .name = "COM1",
    .describe = uart_describe,
};

/* Room for host input; none while flow control holds it back. Under the lock. */
static size_t rx_space_locked(const struct uart *u)
{
	if (u->rts_flow && !(u->mcr & (MCR_RTS | MCR_LOOP)))
		return 0;
	return UART_RX_SIZE - u->rx_count;
}

size_t uart_rx_space(struct uart *u)
{
	size_t space;

	pthread_mutex_lock(&u->lock);
	space = rx_space_locked(u);
	pthread_mutex_unlock(&u->lock);
	return space;
}

void uart_set_rts_flow(struct uart *u, bool on)
{
	pthread_mutex_lock(&u->lock);
	u->rts_flow = on;
	pthread_mutex_unlock(&u->lock);
}

/* Queue host input for the guest; returns how many bytes fitted. */
size_t uart_receive(struct uart *u, const uint8_t *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = MIN(len, rx_space_locked(u));
	for (size_t i = 0; i < n; i++)
		rx_push(u, buf[i]);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}
