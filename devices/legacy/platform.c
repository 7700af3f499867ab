// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libfdt.h>

#include "devices/legacy/platform.h"
#include "core/fdt.h"
#include "core/layout.h"

/*
 * Registers that read as zero: the i8042's status (so "reboot=k" finds its
 * input buffer empty), port 0x80 and the power-off register.
 */
static void read_zero(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	memset(data, 0, len);
}

static void i8042_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	const struct vm_events *ev = opaque;

	(void)len;
	if (offset == I8042_COMMAND_PORT - I8042_DATA_PORT && data[0] == I8042_CMD_RESET)
		ev->reset(ev->opaque);
}

const struct io_dev_ops i8042_ops = {.read = read_zero, .write = i8042_write, .name = "i8042"};

static void debug_port_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	const struct vm_events *ev = opaque;

	(void)len;
	if (offset == 0)
		ev->test_exit(ev->opaque, data[0]);
	else
		ev->boot_marker(ev->opaque);
}

const struct io_dev_ops debug_port_ops = {.write = debug_port_write, .name = "vmm-ports"};

/* Port 0x80 is Linux's I/O delay: writes are the whole point, nothing happens. */
const struct io_dev_ops post_port_ops = {.read = read_zero, .name = "POST"};

static uint8_t to_bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* The RTC registers Linux reads at boot for the wall clock, in BCD, 24-hour mode. */
static uint8_t cmos_rtc(int index, uint8_t ram)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	switch (index) {
	case 0x00: return to_bcd(tm.tm_sec);
	case 0x02: return to_bcd(tm.tm_min);
	case 0x04: return to_bcd(tm.tm_hour);
	case 0x06: return to_bcd(tm.tm_wday + 1);
	case 0x07: return to_bcd(tm.tm_mday);
	case 0x08: return to_bcd(tm.tm_mon + 1);
	case 0x09: return to_bcd(tm.tm_year % 100);
	case 0x32: return to_bcd(19 + tm.tm_year / 100);
	case 0x0a: return 0x26; /* no update in progress, 32.768 kHz base */
	case 0x0b: return 0x02; /* 24-hour, BCD */
	case 0x0c: return 0x00; /* no interrupt flags */
	case 0x0d: return 0x80; /* battery good */
	default: return ram;
	}
}

static void cmos_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct cmos *c = opaque;

	memset(data, 0, len);
	data[0] = offset ? cmos_rtc(c->index, c->ram[c->index]) : c->index;
}

static void cmos_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct cmos *c = opaque;

	(void)len;
	if (offset == 0)
		c->index = data[0] & 0x7f; /* bit 7 masks NMIs: nothing to mask here */
	else
		c->ram[c->index] = data[0];
}

const struct io_dev_ops cmos_ops = {.read = cmos_read, .write = cmos_write, .name = "CMOS"};

static void power_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	const struct vm_events *ev = opaque;
	uint32_t val;

	if (offset != POWER_REG_OFF || len != sizeof(val))
		return;
	memcpy(&val, data, sizeof(val));
	if (val == 1)
		ev->poweroff(ev->opaque);
}

const struct io_dev_ops power_ops = {.read = read_zero, .write = power_write, .name = "syscon"};

int platform_devices_register(struct io_bus *pio, struct io_bus *mmio, const struct vm_events *ev,
			      struct cmos *cmos)
{
	void *evp = (void *)ev;

	memset(cmos, 0, sizeof(*cmos));
	if (io_bus_register(pio, I8042_DATA_PORT, 5, &i8042_ops, evp) < 0 ||
	    io_bus_register(pio, CMOS_PORT, 2, &cmos_ops, cmos) < 0 ||
	    io_bus_register(pio, POST_PORT, 1, &post_port_ops, NULL) < 0 ||
	    io_bus_register(pio, VMM_PORT_TEST_EXIT, 2, &debug_port_ops, evp) < 0 ||
	    io_bus_register(mmio, POWER_MMIO_ADDR, POWER_MMIO_LEN, &power_ops, evp) < 0)
		return -1;
	return 0;
}

/* Linux's syscon-poweroff driver writes 1 to our register on "poweroff". */
int platform_fdt_node(void *fdt, void *opaque, struct fdt_ctx *ctx)
{
	uint32_t syscon = fdt_new_phandle(ctx);
	char name[32];
	int err;

	(void)opaque;
	snprintf(name, sizeof(name), "syscon@%llx", (unsigned long long)POWER_MMIO_ADDR);
	err = fdt_begin_node(fdt, name);
	err = err ?: fdt_property_string(fdt, "compatible", "syscon");
	err = err ?: fdt_reg(fdt, POWER_MMIO_ADDR, POWER_MMIO_LEN);
	err = err ?: fdt_property_u32(fdt, "reg-io-width", 4);
	err = err ?: fdt_property_u32(fdt, "phandle", syscon);
	err = err ?: fdt_end_node(fdt);
	err = err ?: fdt_begin_node(fdt, "poweroff");
	err = err ?: fdt_property_string(fdt, "compatible", "syscon-poweroff");
	err = err ?: fdt_property_u32(fdt, "regmap", syscon);
	err = err ?: fdt_property_u32(fdt, "offset", POWER_REG_OFF);
	err = err ?: fdt_property_u32(fdt, "value", 1);
	return err ?: fdt_end_node(fdt);
}
