/* SPDX-License-Identifier: MIT */
/*
 * A 16550A UART: transmit goes straight to a host file descriptor, receive
 * comes from uart_receive(). Enough of the register file for Linux's 8250
 * driver to probe it (scratch, loopback, FIFO) and run it by interrupt.
 */
#ifndef DEVICES_LEGACY_UART_H
#define DEVICES_LEGACY_UART_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/irq.h"
#include "devices/mmio/bus.h"

#define UART_COM1_BASE 0x3f8
#define UART_COM1_IRQ  4
#define UART_NR_REGS   8
#define UART_RX_SIZE   1024

struct uart {
	pthread_mutex_t lock;
	struct irq_line irq;
	int out_fd;
	int space_efd; /* signalled when the receive buffer drains, -1 for none */
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thri_pending;
	int irq_level;
	uint8_t rx[UART_RX_SIZE];
	size_t rx_head, rx_count;
	bool rts_flow; /* host input waits while the guest holds RTS low */
};

extern const struct io_dev_ops uart_ops;

void uart_init(struct uart *u, const struct irq_line *irq, int out_fd, int space_efd);
size_t uart_receive(struct uart *u, const uint8_t *buf, size_t len);
size_t uart_rx_space(struct uart *u);
/*
 * Hardware flow control of host input: with @on, the guest's RTS (a tty with
 * CRTSCTS drops it when its buffers fill) stops uart_receive(), and raising
 * it signals space. Off by default: a guest that never sets RTS still reads.
 */
void uart_set_rts_flow(struct uart *u, bool on);

#endif
