// SPDX-License-Identifier: MIT
/*
 * virtio-mmio version 2: register decoding. The registers below 0x100 are
 * 32-bit and naturally aligned; any other access to them is a driver bug
 * (or a hostile guest) and is ignored, reads returning 0. From 0x100 on is
 * the device's config space, at any width. Unknown offsets, the legacy
 * (version 1) registers and reads of write-only registers read as 0.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libfdt.h>
#include <linux/virtio_mmio.h>

#include "core/error.h"
#include "core/fdt.h"
#include "core/util.h"
#include "core/log.h"
#include "devices/mmio/virtio_mmio.h"

#define VIRTIO_MMIO_MAGIC	  0x74726976 /* "virt" */
#define VIRTIO_MMIO_VERSION_2	  2
#define VIRTIO_MMIO_NO_SHM_REGION 0xffffffff /* length and base of a region that does not exist */

/* The queue address registers: lo at +0 and hi at +4 of 0x80, 0x90 and 0xa0. */
static bool queue_addr_reg(uint64_t off, enum virtio_queue_area *area, bool *high)
{
	if (off < VIRTIO_MMIO_QUEUE_DESC_LOW || off > VIRTIO_MMIO_QUEUE_USED_HIGH ||
	    (off & 0xf) > 4)
		return false;
	*area = (enum virtio_queue_area)((off - VIRTIO_MMIO_QUEUE_DESC_LOW) >> 4);
	*high = off & 4;
	return true;
}

static uint32_t queue_reg_read(struct virtio_mmio *t, uint64_t off)
{
	struct virtio_dev *vdev = t->vdev;
	enum virtio_queue_area area;
	bool high;

	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return virtio_queue_num_max(vdev, t->queue_sel);
	case VIRTIO_MMIO_QUEUE_NUM: return virtio_queue_get_num(vdev, t->queue_sel);
	case VIRTIO_MMIO_QUEUE_READY: return virtio_queue_get_ready(vdev, t->queue_sel);
	}
	if (queue_addr_reg(off, &area, &high))
		return virtio_queue_get_addr(vdev, t->queue_sel, area, high);
	return 0;
}

static uint32_t reg_read(struct virtio_mmio *t, uint64_t off)
{
	struct virtio_dev *vdev = t->vdev;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return VIRTIO_MMIO_VERSION_2;
	case VIRTIO_MMIO_DEVICE_ID: return vdev->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return virtio_get_device_features(vdev, t->device_features_sel);
	case VIRTIO_MMIO_INTERRUPT_STATUS: return virtio_get_isr(vdev);
	case VIRTIO_MMIO_STATUS: return virtio_get_status(vdev);
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH: return VIRTIO_MMIO_NO_SHM_REGION;
	case VIRTIO_MMIO_CONFIG_GENERATION: return virtio_get_config_generation(vdev);
	}
	return queue_reg_read(t, off);
}

static void queue_reg_write(struct virtio_mmio *t, uint64_t off, uint32_t val)
{
	struct virtio_dev *vdev = t->vdev;
	enum virtio_queue_area area;
	bool high;

	switch (off) {
	case VIRTIO_MMIO_QUEUE_SEL: t->queue_sel = val; return;
	case VIRTIO_MMIO_QUEUE_NUM: virtio_queue_set_num(vdev, t->queue_sel, val); return;
	case VIRTIO_MMIO_QUEUE_READY:
		/* 1 and 0 mean something; any other value is nonsense, ignored. */
		if (val <= 1)
			virtio_queue_set_ready(vdev, t->queue_sel, val);
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY: virtio_queue_notify(vdev, val); return;
	}
	if (queue_addr_reg(off, &area, &high))
		virtio_queue_set_addr(vdev, t->queue_sel, area, high, val);
}

/* A reset also returns the transport's selectors to 0. */
static void status_write(struct virtio_mmio *t, uint32_t val)
{
	virtio_set_status(t->vdev, val);
	if (val == 0) {
		t->device_features_sel = 0;
		t->driver_features_sel = 0;
		t->queue_sel = 0;
	}
}

static void reg_write(struct virtio_mmio *t, uint64_t off, uint32_t val)
{
	struct virtio_dev *vdev = t->vdev;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->device_features_sel = val; return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		virtio_set_driver_features(vdev, t->driver_features_sel, val);
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->driver_features_sel = val; return;
	case VIRTIO_MMIO_INTERRUPT_ACK: virtio_ack_isr(vdev, val); return;
	case VIRTIO_MMIO_STATUS: status_write(t, val); return;
	}
	queue_reg_write(t, off, val);
}

static bool is_register_access(uint64_t off, uint32_t len)
{
	return len == sizeof(uint32_t) && off % sizeof(uint32_t) == 0;
}

static void mmio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_mmio *t = opaque;
	uint32_t val;

	memset(data, 0, len);
	if (off >= VIRTIO_MMIO_SIZE)
		return;
	pthread_mutex_lock(&t->vdev->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		virtio_config_read(t->vdev, (uint32_t)(off - VIRTIO_MMIO_CONFIG), data, len);
	} else if (is_register_access(off, len)) {
		val = htole32(reg_read(t, off));
		memcpy(data, &val, sizeof(val));
	}
	pthread_mutex_unlock(&t->vdev->lock);
}

static void mmio_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct virtio_mmio *t = opaque;
	uint32_t val;

	if (off >= VIRTIO_MMIO_SIZE)
		return;
	pthread_mutex_lock(&t->vdev->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		virtio_config_write(t->vdev, (uint32_t)(off - VIRTIO_MMIO_CONFIG), data, len);
	} else if (is_register_access(off, len)) {
		memcpy(&val, data, sizeof(val));
		reg_write(t, off, le32toh(val));
	}
	pthread_mutex_unlock(&t->vdev->lock);
}

/* The register names of the virtio spec (4.2.2), for --stats. */
static const char *register_name(uint64_t off)
{
	static const struct {
		uint16_t off;
		const char *name;
	} regs[] = {
	    {VIRTIO_MMIO_MAGIC_VALUE, "MagicValue"},
	    {VIRTIO_MMIO_VERSION, "Version"},
	    {VIRTIO_MMIO_DEVICE_ID, "DeviceID"},
	    {VIRTIO_MMIO_VENDOR_ID, "VendorID"},
	    {VIRTIO_MMIO_DEVICE_FEATURES, "DeviceFeatures"},
	    {VIRTIO_MMIO_DEVICE_FEATURES_SEL, "DeviceFeaturesSel"},
	    {VIRTIO_MMIO_DRIVER_FEATURES, "DriverFeatures"},
	    {VIRTIO_MMIO_DRIVER_FEATURES_SEL, "DriverFeaturesSel"},
	    {VIRTIO_MMIO_QUEUE_SEL, "QueueSel"},
	    {VIRTIO_MMIO_QUEUE_NUM_MAX, "QueueNumMax"},
	    {VIRTIO_MMIO_QUEUE_NUM, "QueueNum"},
	    {VIRTIO_MMIO_QUEUE_READY, "QueueReady"},
	    {VIRTIO_MMIO_QUEUE_NOTIFY, "QueueNotify"},
	    {VIRTIO_MMIO_INTERRUPT_STATUS, "InterruptStatus"},
	    {VIRTIO_MMIO_INTERRUPT_ACK, "InterruptACK"},
	    {VIRTIO_MMIO_STATUS, "Status"},
	    {VIRTIO_MMIO_QUEUE_DESC_LOW, "QueueDescLow"},
	    {VIRTIO_MMIO_QUEUE_DESC_HIGH, "QueueDescHigh"},
	    {VIRTIO_MMIO_QUEUE_AVAIL_LOW, "QueueDriverLow"},
	    {VIRTIO_MMIO_QUEUE_AVAIL_HIGH, "QueueDriverHigh"},
	    {VIRTIO_MMIO_QUEUE_USED_LOW, "QueueDeviceLow"},
	    {VIRTIO_MMIO_QUEUE_USED_HIGH, "QueueDeviceHigh"},
	    {VIRTIO_MMIO_SHM_SEL, "SHMSel"},
	    {VIRTIO_MMIO_SHM_LEN_LOW, "SHMLenLow"},
	    {VIRTIO_MMIO_SHM_LEN_HIGH, "SHMLenHigh"},
	    {VIRTIO_MMIO_SHM_BASE_LOW, "SHMBaseLow"},
	    {VIRTIO_MMIO_SHM_BASE_HIGH, "SHMBaseHigh"},
	    {VIRTIO_MMIO_CONFIG_GENERATION, "ConfigGeneration"},
	};

	if (off >= VIRTIO_MMIO_CONFIG)
		return "config";
	for (unsigned int i = 0; i < ARRAY_SIZE(regs); i++)
		if (regs[i].off == off)
			return regs[i].name;
	return NULL;
}

static void mmio_describe(void *opaque, uint64_t off, char *buf, size_t len)
{
	struct virtio_mmio *t = opaque;
	const char *reg = register_name(off);

	if (reg)
		snprintf(buf, len, "%s %s", t->vdev->name, reg);
	else
		snprintf(buf, len, "%s +0x%llx", t->vdev->name, (unsigned long long)off);
}

const struct io_dev_ops virtio_mmio_ops = {
    .read = mmio_read, .write = mmio_write, .name = "virtio-mmio", .describe = mmio_describe};

/*
 * Called from device workers: an irqfd write, or an edge through
 * KVM_IRQ_LINE. Two workers' pulses must not overlap: the second would
 * raise a line that is already high, which is no edge, and if the guest
 * had looked at the rings between the first edge and the second worker's
 * completion, that completion would wait for an interrupt that never comes.
 */
static void mmio_interrupt(void *opaque)
{
	struct virtio_mmio *t = opaque;
	uint64_t one = 1;

	if (t->irq_fd >= 0 && write(t->irq_fd, &one, sizeof(one)) == sizeof(one))
		return;
	if (t->host->set_irq) {
		pthread_mutex_lock(&t->irq_lock);
		t->host->set_irq(t->host->opaque, t->gsi, 1);
		t->host->set_irq(t->host->opaque, t->gsi, 0);
		pthread_mutex_unlock(&t->irq_lock);
	}
}

static void bind_irqfd(struct virtio_mmio *t)
{
	if (!t->host->irqfd)
		return;
	t->irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->irq_fd >= 0 && t->host->irqfd(t->host->opaque, t->gsi, t->irq_fd) == 0)
		return;
	vmm_log("%s: interrupts through the VMM: %s", t->vdev->name,
		t->irq_fd < 0 ? strerror(errno) : last_error());
	if (t->irq_fd >= 0)
		close(t->irq_fd);
	t->irq_fd = -1;
}

/*
 * Bind every queue's QueueNotify write to its eventfd. A queue whose
 * binding fails still works: its notify exits to mmio_write(), which
 * signals the same eventfd.
 */
static void bind_ioeventfds(struct virtio_mmio *t)
{
	const struct virtio_mmio_host *host = t->host;
	uint64_t addr = t->base + VIRTIO_MMIO_QUEUE_NOTIFY;
	struct virtio_dev *vdev = t->vdev;
	unsigned int bound = 0;

	if (!host->ioeventfd)
		return;
	for (unsigned int q = 0; q < vdev->nr_queues; q++)
		bound += host->ioeventfd(host->opaque, addr, sizeof(uint32_t), q,
					 vdev->notify_fd[q]) == 0;
	t->notify_in_kernel = bound == vdev->nr_queues;
	if (!t->notify_in_kernel)
		vmm_log("%s: %u of %u queue notifies go through the VMM: %s", vdev->name,
			vdev->nr_queues - bound, vdev->nr_queues, last_error());
}

int virtio_mmio_attach(struct virtio_mmio *t, struct virtio_dev *vdev, uint64_t base, uint32_t gsi,
		       const struct virtio_mmio_host *host, struct io_bus *bus)
{
	static const struct virtio_mmio_host no_host;

	if (!host)
		host = &no_host;
	*t = (struct virtio_mmio){
	    .vdev = vdev, .base = base, .gsi = gsi, .host = host, .irq_fd = -1};
	pthread_mutex_init(&t->irq_lock, NULL);
	if (io_bus_register(bus, base, VIRTIO_MMIO_SIZE, &virtio_mmio_ops, t) < 0)
		return -1;
	vdev->transport = (struct virtio_transport){.interrupt = mmio_interrupt, .opaque = t};
	bind_irqfd(t);
	bind_ioeventfds(t);
	return 0;
}

/*
 * Detaching resets the device, which stops its workers: none can then
 * raise the interrupt through an eventfd we are about to close. The bus
 * keeps the window; only call this once no vCPU runs.
 */
void virtio_mmio_detach(struct virtio_mmio *t)
{
	if (!t->vdev)
		return;
	pthread_mutex_lock(&t->vdev->lock);
	status_write(t, 0);
	t->vdev->transport = (struct virtio_transport){0};
	pthread_mutex_unlock(&t->vdev->lock);
	if (t->irq_fd >= 0)
		close(t->irq_fd);
	t->irq_fd = -1;
	t->vdev = NULL;
	pthread_mutex_destroy(&t->irq_lock);
}

int virtio_mmio_fdt_node(void *fdt, void *opaque, struct fdt_ctx *ctx)
{
	const struct virtio_mmio *t = opaque;
	fdt32_t irq[2] = {cpu_to_fdt32(t->gsi), cpu_to_fdt32(FDT_IRQ_EDGE_RISING)};
	char name[32];
	int err;

	snprintf(name, sizeof(name), "virtio@%llx", (unsigned long long)t->base);
	err = fdt_begin_node(fdt, name);
	err = err ?: fdt_property_string(fdt, "compatible", "virtio,mmio");
	err = err ?: fdt_reg(fdt, t->base, VIRTIO_MMIO_SIZE);
	err = err ?: fdt_property(fdt, "interrupts", irq, sizeof(irq));
	err = err ?: fdt_property_u32(fdt, "interrupt-parent", ctx->ioapic);
	return err ?: fdt_end_node(fdt);
}

/* Linux's virtio_mmio.device=<size>@<base>:<irq> (CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES). */
int virtio_mmio_cmdline(const struct virtio_mmio *t, char *buf, size_t size)
{
	int n = snprintf(buf, size, "virtio_mmio.device=0x%x@0x%llx:%u", VIRTIO_MMIO_SIZE,
			 (unsigned long long)t->base, t->gsi);

	if (n < 0 || (size_t)n >= size)
		return set_error("virtio-mmio device at 0x%llx: command line does not fit",
				 (unsigned long long)t->base);
	return 0;
}
