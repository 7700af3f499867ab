// SPDX-License-Identifier: MIT
/*
 * virtio-mmio version 2, driver side: discovery from the device tree and
 * the command line, and the register sequences behind the core's
 * virtio_config_ops (VIRTIO 1.2 section 4.2.3).
 */
#include <libfdt.h>

#include "rt.h"
#include "virtio_mmio.h"

/* Status reads after a reset (or QueueReady reads after a queue stop) before giving up. */
#define RESET_POLLS 1000000
/* The runtime maps the first 4 GiB; a window above it cannot be reached. */
#define MMIO_LIMIT 0x100000000ULL
/* Config space beyond this is not believed, whatever the window's size says. */
#define CONFIG_MAX 0xf00

static struct virtio_mmio_device *found[VIRTIO_MMIO_MAX_DEVICES];
static unsigned int nr_found;

static uint32_t rd(struct virtio_device *vdev, unsigned int off)
{
	return virtio_mmio_read(to_virtio_mmio(vdev), off);
}

static void wr(struct virtio_device *vdev, unsigned int off, uint32_t val)
{
	virtio_mmio_write(to_virtio_mmio(vdev), off, val);
}

static void wr64(struct virtio_device *vdev, unsigned int off_low, uint64_t val)
{
	wr(vdev, off_low, (uint32_t)val);
	wr(vdev, off_low + 4, (uint32_t)(val >> 32));
}

static unsigned int config_size(const struct virtio_mmio_device *m)
{
	uint64_t n = m->size > VIRTIO_MMIO_CONFIG ? m->size - VIRTIO_MMIO_CONFIG : 0;

	return n > CONFIG_MAX ? CONFIG_MAX : (unsigned int)n;
}

static bool config_range_ok(struct virtio_device *vdev, unsigned int offset, unsigned int len)
{
	unsigned int size = config_size(to_virtio_mmio(vdev));

	if (offset <= size && len <= size - offset)
		return true;
	tg_printf("virtio: %s: config access of %u bytes at %u is outside its %u bytes\n",
		  vdev->name, len, offset, size);
	return false;
}

/* One access of the field's width where there is one; 64-bit fields as two words. */
static void mmio_get(struct virtio_device *vdev, unsigned int offset, void *buf, unsigned int len)
{
	uintptr_t a = to_virtio_mmio(vdev)->base + VIRTIO_MMIO_CONFIG + offset;
	uint8_t *p = buf;

	if (!config_range_ok(vdev, offset, len)) {
		memset(buf, 0, len);
		return;
	}
	if (len == 1) {
		*p = tg_read8(a);
	} else if (len == 2) {
		uint16_t v = tg_read16(a);

		memcpy(p, &v, sizeof(v));
	} else if (len == 4 || len == 8) {
		for (unsigned int i = 0; i < len; i += 4) {
			uint32_t v = tg_read32(a + i);

			memcpy(p + i, &v, sizeof(v));
		}
	} else {
		for (unsigned int i = 0; i < len; i++)
			p[i] = tg_read8(a + i);
	}
}

static void mmio_set(struct virtio_device *vdev, unsigned int offset, const void *buf,
		     unsigned int len)
{
	uintptr_t a = to_virtio_mmio(vdev)->base + VIRTIO_MMIO_CONFIG + offset;
	const uint8_t *p = buf;

	if (!config_range_ok(vdev, offset, len))
		return;
	if (len == 2) {
		uint16_t v;

		memcpy(&v, p, sizeof(v));
		tg_write16(a, v);
	} else if (len == 4 || len == 8) {
		for (unsigned int i = 0; i < len; i += 4) {
			uint32_t v;

			memcpy(&v, p + i, sizeof(v));
			tg_write32(a + i, v);
		}
	} else {
		for (unsigned int i = 0; i < len; i++)
			tg_write8(a + i, p[i]);
	}
}

static uint32_t mmio_generation(struct virtio_device *vdev)
{
	return rd(vdev, VIRTIO_MMIO_CONFIG_GENERATION);
}

static uint8_t mmio_get_status(struct virtio_device *vdev)
{
	return (uint8_t)rd(vdev, VIRTIO_MMIO_STATUS);
}

static void mmio_set_status(struct virtio_device *vdev, uint8_t status)
{
	wr(vdev, VIRTIO_MMIO_STATUS, status);
}

/* The driver must see the status read 0 before setting the device up again (4.2.3.1). */
static int mmio_reset(struct virtio_device *vdev)
{
	wr(vdev, VIRTIO_MMIO_STATUS, 0);
	for (unsigned int i = 0; i < RESET_POLLS; i++)
		if (rd(vdev, VIRTIO_MMIO_STATUS) == 0)
			return 0;
	return -VIRTIO_ETIMEDOUT;
}

static uint64_t mmio_get_features(struct virtio_device *vdev)
{
	uint64_t high;

	wr(vdev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	high = rd(vdev, VIRTIO_MMIO_DEVICE_FEATURES);
	wr(vdev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return high << 32 | rd(vdev, VIRTIO_MMIO_DEVICE_FEATURES);
}

/*
 * Written as negotiated, VERSION_1 or not: a version 2 device must refuse
 * FEATURES_OK without it, and scenarios that clear it want to see that.
 */
static int mmio_finalize_features(struct virtio_device *vdev)
{
	wr(vdev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(vdev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)vdev->features);
	wr(vdev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(vdev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(vdev->features >> 32));
	return 0;
}

/* A queue that is live before we set it up is the device's mistake: not used. */
static unsigned int mmio_queue_max(struct virtio_device *vdev, unsigned int index)
{
	wr(vdev, VIRTIO_MMIO_QUEUE_SEL, index);
	if (rd(vdev, VIRTIO_MMIO_QUEUE_READY)) {
		tg_printf("virtio: %s: queue %u is ready before being set up\n", vdev->name, index);
		return 0;
	}
	return rd(vdev, VIRTIO_MMIO_QUEUE_NUM_MAX);
}

static int mmio_setup_vq(struct virtio_device *vdev, struct virtqueue *vq)
{
	wr(vdev, VIRTIO_MMIO_QUEUE_SEL, vq->index);
	wr(vdev, VIRTIO_MMIO_QUEUE_NUM, vq->vring.num);
	wr64(vdev, VIRTIO_MMIO_QUEUE_DESC_LOW, (uintptr_t)vq->vring.desc);
	wr64(vdev, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uintptr_t)vq->vring.avail);
	wr64(vdev, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uintptr_t)vq->vring.used);
	wr(vdev, VIRTIO_MMIO_QUEUE_READY, 1);
	return rd(vdev, VIRTIO_MMIO_QUEUE_READY) == 1 ? 0 : -VIRTIO_EREFUSED;
}

static void mmio_del_vq(struct virtio_device *vdev, struct virtqueue *vq)
{
	wr(vdev, VIRTIO_MMIO_QUEUE_SEL, vq->index);
	wr(vdev, VIRTIO_MMIO_QUEUE_READY, 0);
	for (unsigned int i = 0; i < RESET_POLLS; i++)
		if (!rd(vdev, VIRTIO_MMIO_QUEUE_READY))
			return;
	tg_printf("virtio: %s: queue %u stays ready\n", vdev->name, vq->index);
}

static bool mmio_notify(struct virtqueue *vq)
{
	wr(vq->vdev, VIRTIO_MMIO_QUEUE_NOTIFY, vq->index);
	return true;
}

static uint32_t mmio_ack_interrupt(struct virtio_device *vdev)
{
	uint32_t isr = rd(vdev, VIRTIO_MMIO_INTERRUPT_STATUS);

	if (isr)
		wr(vdev, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	return isr;
}

static const struct virtio_config_ops mmio_ops = {
    .get = mmio_get,
    .set = mmio_set,
    .generation = mmio_generation,
    .get_status = mmio_get_status,
    .set_status = mmio_set_status,
    .reset = mmio_reset,
    .get_features = mmio_get_features,
    .finalize_features = mmio_finalize_features,
    .queue_max = mmio_queue_max,
    .setup_vq = mmio_setup_vq,
    .del_vq = mmio_del_vq,
    .notify = mmio_notify,
    .ack_interrupt = mmio_ack_interrupt,
};

struct virtio_mmio_device *virtio_mmio_find(uint64_t base)
{
	for (unsigned int i = 0; i < nr_found; i++)
		if (found[i]->base == base)
			return found[i];
	return NULL;
}

static bool window_ok(uint64_t base, uint64_t size)
{
	if (!base || base % 4 || size < VIRTIO_MMIO_CONFIG || size > MMIO_LIMIT ||
	    base > MMIO_LIMIT - size) {
		tg_printf("virtio-mmio: window 0x%llx+0x%llx is not usable\n",
			  (unsigned long long)base, (unsigned long long)size);
		return false;
	}
	return true;
}

/* Magic and version right? A placeholder (DeviceID 0) is skipped quietly. */
static bool device_present(uint64_t base)
{
	uint32_t magic = tg_read32(base + VIRTIO_MMIO_MAGIC_VALUE);
	uint32_t version = tg_read32(base + VIRTIO_MMIO_VERSION);

	if (magic != VIRTIO_MMIO_MAGIC) {
		tg_printf("virtio-mmio: no device at 0x%llx (magic 0x%x)\n",
			  (unsigned long long)base, magic);
		return false;
	}
	if (version != 2) {
		tg_printf("virtio-mmio: device at 0x%llx has version %u, not 2\n",
			  (unsigned long long)base, version);
		return false;
	}
	return tg_read32(base + VIRTIO_MMIO_DEVICE_ID) != 0;
}

struct virtio_mmio_device *virtio_mmio_add(uint64_t base, uint64_t size, bool has_irq,
					   unsigned int irq, const char *found_by)
{
	struct virtio_mmio_device *m;

	if (virtio_mmio_find(base) || !window_ok(base, size) || !device_present(base))
		return NULL;
	if (nr_found == VIRTIO_MMIO_MAX_DEVICES) {
		tg_printf("virtio-mmio: more than %u devices, 0x%llx left out\n",
			  VIRTIO_MMIO_MAX_DEVICES, (unsigned long long)base);
		return NULL;
	}
	m = tg_alloc(sizeof(*m), 64);
	memset(m, 0, sizeof(*m));
	m->base = (uintptr_t)base;
	m->size = size;
	m->version = tg_read32(base + VIRTIO_MMIO_VERSION);
	m->found_by = found_by;
	m->vdev.id.device = tg_read32(base + VIRTIO_MMIO_DEVICE_ID);
	m->vdev.id.vendor = tg_read32(base + VIRTIO_MMIO_VENDOR_ID);
	m->vdev.config = &mmio_ops;
	m->vdev.transport = m;
	m->vdev.has_irq = has_irq;
	m->vdev.irq = irq;
	found[nr_found++] = m;
	virtio_register_device(&m->vdev);
	return m;
}

/* Device tree. */

static uint64_t read_cells(const fdt32_t *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 32 | fdt32_ld(p++);
	return v;
}

/* reg = <address size> in the parent's #address-cells and #size-cells (1 or 2 each). */
static int dt_reg(const void *fdt, int node, uint64_t *base, uint64_t *size)
{
	int parent = fdt_parent_offset(fdt, node), ac, sc, len;
	const fdt32_t *reg;

	if (parent < 0)
		return -1;
	ac = fdt_address_cells(fdt, parent);
	sc = fdt_size_cells(fdt, parent);
	if (ac < 1 || ac > 2 || sc < 0 || sc > 2)
		return -1;
	reg = fdt_getprop(fdt, node, "reg", &len);
	if (!reg || len < (ac + sc) * (int)sizeof(fdt32_t))
		return -1;
	*base = read_cells(reg, ac);
	*size = sc ? read_cells(reg + ac, sc) : VIRTIO_MMIO_MIN_SIZE;
	return 0;
}

/* interrupts = <pin type>: the IO-APIC pin is the first cell. */
static bool dt_irq(const void *fdt, int node, unsigned int *irq)
{
	const fdt32_t *p;
	int len;

	p = fdt_getprop(fdt, node, "interrupts", &len);
	if (!p || len < (int)sizeof(fdt32_t))
		return false;
	*irq = fdt32_ld(p);
	return true;
}

static bool dt_enabled(const void *fdt, int node)
{
	const char *status = fdt_getprop(fdt, node, "status", NULL);

	return !status || !strcmp(status, "okay") || !strcmp(status, "ok");
}

struct dt_walk {
	const void *fdt;
	unsigned int n;
	struct {
		uint64_t base, size;
		unsigned int irq;
		bool has_irq;
	} found[VIRTIO_MMIO_MAX_DEVICES];
};

/*
 * The walk itself, in ring 3 (tg_run_user): it is all libfdt code, which
 * kernel mode on the development machines runs some 3000 times slower
 * (20 ms for our small tree, most of the test guest's start-up there).
 */
static long dt_walk_user(void *arg)
{
	struct dt_walk *w = arg;
	const void *fdt = w->fdt;
	int node;

	if (fdt_check_header(fdt)) {
		tg_printf("virtio-mmio: the device tree is not valid\n");
		return 0;
	}
	for (node = fdt_node_offset_by_compatible(fdt, -1, "virtio,mmio"); node >= 0;
	     node = fdt_node_offset_by_compatible(fdt, node, "virtio,mmio")) {
		if (!dt_enabled(fdt, node))
			continue;
		if (w->n == VIRTIO_MMIO_MAX_DEVICES) {
			tg_printf("virtio-mmio: more than %u devices, %s left out\n",
				  VIRTIO_MMIO_MAX_DEVICES, fdt_get_name(fdt, node, NULL));
			continue;
		}
		if (dt_reg(fdt, node, &w->found[w->n].base, &w->found[w->n].size) < 0) {
			tg_printf("virtio-mmio: %s: bad reg\n", fdt_get_name(fdt, node, NULL));
			continue;
		}
		w->found[w->n].has_irq = dt_irq(fdt, node, &w->found[w->n].irq);
		w->n++;
	}
	return 0;
}

int virtio_mmio_discover_dt(const void *fdt)
{
	static struct dt_walk w;
	int n = 0;

	if (!fdt)
		return 0;
	memset(&w, 0, sizeof(w));
	w.fdt = fdt;
	tg_run_user(dt_walk_user, &w);
	for (unsigned int i = 0; i < w.n; i++)
		n += virtio_mmio_add(w.found[i].base, w.found[i].size, w.found[i].has_irq,
				     w.found[i].irq, "dt") != NULL;
	return n;
}

/* Command line. */

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* A number in C notation (0x hex, 0 octal, decimal); false if none or too large. */
static bool parse_number(const char **s, uint64_t *v)
{
	const char *p = *s;
	unsigned int base = 10;
	int d;

	if (*p < '0' || *p > '9')
		return false;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && digit_value(p[2]) < 16) {
		base = 16;
		p += 2;
	} else if (p[0] == '0') {
		base = 8;
	}
	for (*v = 0; (d = digit_value(*p)) < (int)base; p++) {
		if (*v > (UINT64_MAX - (uint64_t)d) / base)
			return false;
		*v = *v * base + (uint64_t)d;
	}
	*s = p;
	return true;
}

static unsigned int size_shift(char c)
{
	switch (c) {
	case 'K':
	case 'k': return 10;
	case 'M':
	case 'm': return 20;
	case 'G':
	case 'g': return 30;
	}
	return 0;
}

int virtio_mmio_parse_device(const char *val, uint64_t *base, uint64_t *size, unsigned int *irq)
{
	const char *s = val;
	uint64_t sz, b, i, id;
	unsigned int shift;

	if (!parse_number(&s, &sz))
		return -VIRTIO_EINVAL;
	shift = size_shift(*s);
	if (shift) {
		if (sz > UINT64_MAX >> shift)
			return -VIRTIO_EINVAL;
		sz <<= shift;
		s++;
	}
	if (*s++ != '@' || !parse_number(&s, &b) || *s++ != ':' || !parse_number(&s, &i))
		return -VIRTIO_EINVAL;
	/* An optional platform device id, which means nothing here. */
	if (*s == ':' && (s++, !parse_number(&s, &id)))
		return -VIRTIO_EINVAL;
	if (*s || !sz || i > 0xff)
		return -VIRTIO_EINVAL;
	*base = b;
	*size = sz;
	*irq = (unsigned int)i;
	return 0;
}

int virtio_mmio_discover_cmdline(void)
{
	char val[96];
	size_t pos = 0;
	int n = 0;

	while (tg_param_next("virtio_mmio.device", &pos, val, sizeof(val))) {
		uint64_t base, size;
		unsigned int irq;

		if (virtio_mmio_parse_device(val, &base, &size, &irq)) {
			tg_printf("virtio-mmio: bad virtio_mmio.device=%s\n", val);
			continue;
		}
		n += virtio_mmio_add(base, size, true, irq, "cmdline") != NULL;
	}
	return n;
}

int virtio_mmio_discover(void)
{
	return virtio_mmio_discover_dt(tg_dtb()) + virtio_mmio_discover_cmdline();
}

int virtio_params_from_cmdline(void)
{
	char val[160];

	if (tg_param("virtio.verbose", val, sizeof(val)))
		virtio_verbose = strcmp(val, "0") != 0;
	if (tg_param("virtio.clear", val, sizeof(val)) && virtio_set_global_clear(val)) {
		tg_printf("virtio: virtio.clear=%s names an unknown feature\n", val);
		return -VIRTIO_EINVAL;
	}
	return 0;
}
