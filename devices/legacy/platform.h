/* SPDX-License-Identifier: MIT */
/*
 * The small PC devices a Linux guest touches besides the UART: the i8042
 * (only its reset line), the CMOS RTC, the port 0x80 delay, our test-exit
 * and boot-marker ports, and a syscon register block for power-off.
 * Each reports what the guest asked of the machine through vm_events, and
 * the VMM decides what that means for the process.
 */
#ifndef DEVICES_LEGACY_PLATFORM_H
#define DEVICES_LEGACY_PLATFORM_H

#include <stdint.h>

#include "devices/mmio/bus.h"
#include "guest/vmm-guest-abi.h"

#define I8042_CMD_RESET 0xfe

/* Syscon registers: a 32-bit write of 1 requests the action. */
#define POWER_REG_OFF  0x0
#define POWER_MMIO_LEN 0x1000

struct vm_events {
	void *opaque;
	void (*poweroff)(void *opaque);
	void (*reset)(void *opaque);
	void (*test_exit)(void *opaque, uint8_t status);
	void (*boot_marker)(void *opaque);
};

struct cmos {
	uint8_t index;
	uint8_t ram[128];
};

extern const struct io_dev_ops i8042_ops;
extern const struct io_dev_ops debug_port_ops;
extern const struct io_dev_ops cmos_ops;
extern const struct io_dev_ops post_port_ops;
extern const struct io_dev_ops power_ops;

struct fdt_ctx;

int platform_devices_register(struct io_bus *pio, struct io_bus *mmio, const struct vm_events *ev,
			      struct cmos *cmos);
/* fdt_node_fn: the syscon register block and the syscon-poweroff node that uses it. */
int platform_fdt_node(void *fdt, void *opaque, struct fdt_ctx *ctx);

#endif
