// SPDX-License-Identifier: MIT
/*
 * The virtio core of the test guest: the bus (matching drivers to devices
 * by id table), the probe sequence with its feature negotiation, config
 * access with the generation check, queue setup and interrupt dispatch.
 * Built into the guest and into the host's unit tests.
 */
#include "virtio.h"
#include "rt.h"

bool virtio_verbose = true;

static struct virtio_list devices = {&devices, &devices};
static struct virtio_list drivers = {&drivers, &drivers};
static unsigned int next_index;

/* virtio_set_global_clear()'s names, resolved against each driver as it probes. */
static char global_clear[160];

static struct virtio_device *device_at(struct virtio_list *l)
{
	return virtio_container_of(l, struct virtio_device, node);
}

static struct virtio_driver *driver_at(struct virtio_list *l)
{
	return virtio_container_of(l, struct virtio_driver, node);
}

static struct virtqueue *vq_at(struct virtio_list *l)
{
	return virtio_container_of(l, struct virtqueue, list);
}

/* How often a config read is redone while the generation keeps moving. */
#define CONFIG_READ_TRIES 16

static const struct virtio_feature_name transport_names[] = {
    {VIRTIO_RING_F_INDIRECT_DESC, "indirect"},
    {VIRTIO_RING_F_EVENT_IDX, "event_idx"},
    {VIRTIO_F_VERSION_1, "version_1"},
    {VIRTIO_F_ACCESS_PLATFORM, "access_platform"},
    {VIRTIO_F_RING_PACKED, "ring_packed"},
    {VIRTIO_F_IN_ORDER, "in_order"},
    {VIRTIO_F_ORDER_PLATFORM, "order_platform"},
    {VIRTIO_F_SR_IOV, "sr_iov"},
    {VIRTIO_F_NOTIFICATION_DATA, "notification_data"},
    {VIRTIO_F_NOTIF_CONFIG_DATA, "notif_config_data"},
    {VIRTIO_F_RING_RESET, "ring_reset"},
    {0, NULL},
};

/* Feature names. */

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool name_eq(const char *tok, size_t len, const char *name)
{
	size_t i;

	for (i = 0; i < len && name[i]; i++)
		if (lower(tok[i]) != name[i])
			return false;
	return i == len && !name[i];
}

static int lookup_name(const struct virtio_feature_name *names, const char *tok, size_t len)
{
	for (; names && names->name; names++)
		if (name_eq(tok, len, names->name))
			return (int)names->bit;
	return -1;
}

/* A feature bit by number ("29") or name; -1 when unknown. */
static int lookup_feature(const char *tok, size_t len, const struct virtio_driver *drv)
{
	unsigned int bit = 0;
	size_t i;
	int b;

	for (i = 0; i < len && tok[i] >= '0' && tok[i] <= '9' && bit < 64; i++)
		bit = bit * 10 + (unsigned int)(tok[i] - '0');
	if (i == len && len)
		return bit < 64 ? (int)bit : -1;
	b = lookup_name(transport_names, tok, len);
	if (b < 0 && drv)
		b = lookup_name(drv->feature_names, tok, len);
	return b;
}

static bool is_separator(char c)
{
	return c == ',' || c == ' ' || c == '+';
}

int virtio_parse_features(const char *names, const struct virtio_driver *drv, uint64_t *bits,
			  bool ignore_unknown)
{
	uint64_t found = 0;

	while (names && *names) {
		size_t len = 0;
		int bit;

		while (is_separator(*names))
			names++;
		while (names[len] && !is_separator(names[len]))
			len++;
		if (!len)
			break;
		bit = lookup_feature(names, len, drv);
		if (bit >= 0)
			found |= VIRTIO_BIT(bit);
		else if (!ignore_unknown)
			return -VIRTIO_EINVAL;
		names += len;
	}
	*bits = found;
	return 0;
}

static const char *feature_name(unsigned int bit, const struct virtio_driver *drv)
{
	const struct virtio_feature_name *n;

	for (n = transport_names; n->name; n++)
		if (n->bit == bit)
			return n->name;
	for (n = drv ? drv->feature_names : NULL; n && n->name; n++)
		if (n->bit == bit)
			return n->name;
	return NULL;
}

void virtio_format_features(char *buf, unsigned int size, uint64_t features,
			    const struct virtio_driver *drv)
{
	unsigned int used = 0;

	if (!size)
		return;
	buf[0] = '\0';
	for (unsigned int bit = 0; bit < 64 && used + 1 < size; bit++) {
		const char *name = feature_name(bit, drv);
		int n;

		if (!(features & VIRTIO_BIT(bit)))
			continue;
		if (name)
			n = tg_snprintf(buf + used, size - used, "%s%s", used ? " " : "", name);
		else
			n = tg_snprintf(buf + used, size - used, "%sbit%u", used ? " " : "", bit);
		used += n > 0 ? (unsigned int)n : 0;
	}
	if (used >= size)
		buf[size - 1] = '\0';
}

static bool known_to_some_driver(const char *tok, size_t len)
{
	if (lookup_feature(tok, len, NULL) >= 0)
		return true;
	for (struct virtio_list *l = drivers.next; l != &drivers; l = l->next)
		if (lookup_name(driver_at(l)->feature_names, tok, len) >= 0)
			return true;
	return false;
}

int virtio_set_global_clear(const char *names)
{
	const char *p = names;

	if (!names) {
		global_clear[0] = '\0';
		return 0;
	}
	if (strlen(names) >= sizeof(global_clear))
		return -VIRTIO_EINVAL;
	while (*p) {
		size_t len = 0;

		while (is_separator(*p))
			p++;
		while (p[len] && !is_separator(p[len]))
			len++;
		if (len && !known_to_some_driver(p, len))
			return -VIRTIO_EINVAL;
		p += len;
	}
	memcpy(global_clear, names, strlen(names) + 1);
	return 0;
}

/* Status and config space. */

uint8_t virtio_status(struct virtio_device *vdev)
{
	return vdev->config->get_status(vdev);
}

void virtio_add_status(struct virtio_device *vdev, uint8_t bits)
{
	vdev->config->set_status(vdev, (uint8_t)(virtio_status(vdev) | bits));
}

static uint32_t generation(struct virtio_device *vdev)
{
	return vdev->config->generation ? vdev->config->generation(vdev) : 0;
}

int virtio_cread(struct virtio_device *vdev, unsigned int offset, void *buf, unsigned int len)
{
	for (unsigned int tries = 0; tries < CONFIG_READ_TRIES; tries++) {
		uint32_t before = generation(vdev);

		vdev->config->get(vdev, offset, buf, len);
		if (generation(vdev) == before)
			return 0;
		vdev->stats.config_retries++;
	}
	if (!vdev->stats.config_errors++)
		tg_printf("virtio: %s: config generation never settled (reading %u bytes at %u)\n",
			  vdev->name, len, offset);
	memset(buf, 0, len);
	return -VIRTIO_EBROKEN;
}

void virtio_cwrite(struct virtio_device *vdev, unsigned int offset, const void *buf,
		   unsigned int len)
{
	vdev->config->set(vdev, offset, buf, len);
}

/* Probe failures. */

static int vprobe_fail(struct virtio_device *vdev, int err, const char *fmt, va_list ap)
{
	if (!vdev->probe_error[0]) {
		tg_vsnprintf(vdev->probe_error, sizeof(vdev->probe_error), fmt, ap);
		tg_printf("virtio: %s: %s: probe failed: %s\n", vdev->name,
			  vdev->driver ? vdev->driver->name : "?", vdev->probe_error);
	}
	vdev->probe_err = err;
	return err;
}

int virtio_probe_fail(struct virtio_device *vdev, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = vprobe_fail(vdev, err, fmt, ap);
	va_end(ap);
	return err;
}

/* Queues. */

static unsigned int round_down_pow2(unsigned int n)
{
	unsigned int p = 1;

	while (p * 2 <= n && p * 2 <= VRING_MAX_NUM)
		p *= 2;
	return p;
}

struct virtqueue *virtio_find_vq(struct virtio_device *vdev, unsigned int index,
				 void (*callback)(struct virtqueue *vq), const char *name)
{
	unsigned int max = vdev->config->queue_max(vdev, index);
	struct vring_params p = {
	    .index = index,
	    .align = vdev->opts.vring_align,
	    .event_idx = virtio_has_feature(vdev, VIRTIO_RING_F_EVENT_IDX),
	    .indirect = virtio_has_feature(vdev, VIRTIO_RING_F_INDIRECT_DESC),
	    .notify = vdev->config->notify,
	    .callback = callback,
	};
	struct virtqueue *vq;
	char qname[24];
	int err;

	if (!max) {
		virtio_probe_fail(vdev, -VIRTIO_ENODEV, "queue %u does not exist", index);
		return NULL;
	}
	if (vdev->opts.queue_size && vdev->opts.queue_size < max)
		max = vdev->opts.queue_size;
	p.num = round_down_pow2(max);
	tg_snprintf(qname, sizeof(qname), "%s.%s", vdev->name, name ? name : "vq");
	p.name = qname;
	vq = vring_create_virtqueue(vdev, &p);
	if (!vq) {
		virtio_probe_fail(vdev, -VIRTIO_EINVAL, "queue %u: cannot make rings", index);
		return NULL;
	}
	err = vdev->config->setup_vq(vdev, vq);
	if (err) {
		virtio_probe_fail(vdev, err, "queue %u of size %u: %s", index, p.num,
				  virtio_strerror(err));
		return NULL;
	}
	virtio_list_add_tail(&vq->list, &vdev->vqs);
	return vq;
}

void virtio_del_vqs(struct virtio_device *vdev)
{
	while (!virtio_list_empty(&vdev->vqs)) {
		struct virtqueue *vq = vq_at(vdev->vqs.next);

		if (vdev->config->del_vq)
			vdev->config->del_vq(vdev, vq);
		virtio_list_del(&vq->list);
	}
}

/* Interrupts. */

void virtio_interrupt(void *opaque)
{
	struct virtio_device *vdev = opaque;
	uint32_t isr = vdev->config->ack_interrupt(vdev);

	vdev->stats.interrupts++;
	if (!isr) {
		vdev->stats.spurious++;
		return;
	}
	if (isr & VIRTIO_ISR_CONFIG) {
		vdev->stats.config_interrupts++;
		if (vdev->driver && vdev->driver->config_changed)
			vdev->driver->config_changed(vdev);
	}
	if (!(isr & VIRTIO_ISR_VQ))
		return;
	for (struct virtio_list *l = vdev->vqs.next; l != &vdev->vqs; l = l->next)
		vring_interrupt(vq_at(l));
}

int virtio_use_irq(struct virtio_device *vdev, bool on)
{
	if (on && !vdev->irq_routed) {
		if (!vdev->has_irq)
			return -VIRTIO_ENODEV;
		if (tg_irq_route(vdev->irq, virtio_interrupt, vdev) < 0)
			return -VIRTIO_EBROKEN;
		vdev->irq_routed = true;
	} else if (!on && vdev->irq_routed) {
		tg_irq_unroute(vdev->irq);
		vdev->irq_routed = false;
	}
	for (struct virtio_list *l = vdev->vqs.next; l != &vdev->vqs; l = l->next) {
		if (on)
			virtqueue_enable_cb(vq_at(l));
		else
			virtqueue_disable_cb(vq_at(l));
	}
	return 0;
}

/*
 * Time for waits: kvmclock when the runtime has it; without it, a nominal
 * microsecond per spin, and a sleep that comes back without an interrupt
 * counts as its whole timeout.
 */
struct wait_clock {
	uint64_t start, elapsed;
	bool real;
};

static void clock_start(struct wait_clock *c)
{
	c->start = tg_ns();
	c->real = c->start != 0;
	c->elapsed = 0;
}

static void clock_add(struct wait_clock *c, uint64_t nominal)
{
	if (c->real)
		c->elapsed = tg_ns() - c->start;
	else
		c->elapsed += nominal;
}

static void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

int virtio_wait_used(struct virtqueue *vq, uint64_t timeout_ns)
{
	bool irq = vq->vdev && vq->vdev->irq_routed;
	struct wait_clock clock;

	clock_start(&clock);
	for (;;) {
		if (vq->broken)
			return -VIRTIO_EBROKEN;
		if (virtqueue_more_used(vq))
			return 0;
		if (clock.elapsed >= timeout_ns)
			return -VIRTIO_ETIMEDOUT;
		if (irq) {
			uint64_t left = timeout_ns - clock.elapsed;

			/* Entries that came before the request's interrupt was asked for. */
			if (!virtqueue_enable_cb(vq))
				return 0;
			clock_add(&clock, tg_wait_irq(left) ? 0 : left);
		} else {
			cpu_relax();
			clock_add(&clock, 1000);
		}
	}
}

/* The bus. */

bool virtio_dev_match(const struct virtio_device *vdev, const struct virtio_driver *drv)
{
	for (const struct virtio_device_id *id = drv->id_table; id && id->device; id++) {
		if (id->device != VIRTIO_DEV_ANY_ID && id->device != vdev->id.device)
			continue;
		if (id->vendor == VIRTIO_DEV_ANY_ID || id->vendor == vdev->id.vendor)
			return true;
	}
	return false;
}

static uint64_t driver_features(const struct virtio_device *vdev, const struct virtio_driver *drv)
{
	const struct virtio_probe_opts *o = &vdev->opts;
	const unsigned int *table = o->feature_table ? o->feature_table : drv->feature_table;
	unsigned int n = o->feature_table ? o->feature_table_size : drv->feature_table_size;
	uint64_t bits = 0;

	for (unsigned int i = 0; i < n; i++)
		if (table[i] < 64)
			bits |= VIRTIO_BIT(table[i]);
	return bits;
}

static uint64_t global_clear_bits(const struct virtio_driver *drv)
{
	uint64_t bits = 0;

	virtio_parse_features(global_clear, drv, &bits, true);
	return bits;
}

/* Steps 3 to 6 of VIRTIO 1.2 section 3.1.1: read, choose, write, FEATURES_OK. */
static int negotiate(struct virtio_device *vdev, struct virtio_driver *drv)
{
	uint64_t offered = vdev->config->get_features(vdev);
	int err;

	vdev->device_features = offered;
	vdev->features = offered & driver_features(vdev, drv);
	/* Transport bits go through whatever the driver's table says: the ring decides. */
	for (unsigned int bit = VIRTIO_TRANSPORT_F_START; bit < VIRTIO_TRANSPORT_F_END; bit++)
		if (offered & VIRTIO_BIT(bit))
			__virtio_set_bit(vdev, bit);
	vdev->features &= ~(vdev->opts.clear | global_clear_bits(drv));
	if (drv->validate) {
		err = drv->validate(vdev);
		if (err)
			return virtio_probe_fail(vdev, err, "validate refused the device: %s",
						 virtio_strerror(err));
	}
	vdev->features = vring_transport_features(vdev->features) | vdev->opts.force;
	err = vdev->config->finalize_features(vdev);
	if (err)
		return virtio_probe_fail(vdev, err, "cannot write features: %s",
					 virtio_strerror(err));
	virtio_add_status(vdev, VIRTIO_STATUS_FEATURES_OK);
	if (!(virtio_status(vdev) & VIRTIO_STATUS_FEATURES_OK))
		return virtio_probe_fail(vdev, -VIRTIO_EREFUSED,
					 "the device refused FEATURES_OK (features 0x%llx)",
					 (unsigned long long)vdev->features);
	return 0;
}

static int driver_ok(struct virtio_device *vdev)
{
	uint8_t status;

	virtio_add_status(vdev, VIRTIO_STATUS_DRIVER_OK);
	status = virtio_status(vdev);
	if (!(status & VIRTIO_STATUS_DRIVER_OK) || (status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		return virtio_probe_fail(vdev, -VIRTIO_EREFUSED,
					 "the device refused DRIVER_OK (status 0x%x)", status);
	return 0;
}

static void log_probe(struct virtio_device *vdev)
{
	char names[320];

	if (!virtio_verbose)
		return;
	virtio_format_features(names, sizeof(names), vdev->features, vdev->driver);
	tg_printf("virtio: %s: %s (device %u, vendor 0x%x): %s\n", vdev->name, vdev->driver->name,
		  vdev->id.device, vdev->id.vendor, names);
}

/* After the driver's probe: the completion mode the options ask for. */
static int set_irq_mode(struct virtio_device *vdev)
{
	int err = virtio_use_irq(vdev, vdev->opts.use_irq);

	if (err)
		return virtio_probe_fail(vdev, err, "cannot route interrupt pin %u: %s", vdev->irq,
					 virtio_strerror(err));
	return 0;
}

/*
 * Undo a failed probe: FAILED for the device to see, and, once it was given
 * rings, a reset so that it lets go of them (which clears FAILED again).
 */
static void unwind(struct virtio_device *vdev, struct virtio_driver *drv, bool driver_probed)
{
	virtio_use_irq(vdev, false);
	virtio_add_status(vdev, VIRTIO_STATUS_FAILED);
	if (driver_probed || !virtio_list_empty(&vdev->vqs))
		vdev->config->reset(vdev);
	if (driver_probed && drv->remove)
		drv->remove(vdev);
	virtio_del_vqs(vdev);
	vdev->driver = NULL;
}

int virtio_dev_probe(struct virtio_device *vdev, struct virtio_driver *drv)
{
	bool driver_probed = false;
	int err;

	vdev->driver = drv;
	vdev->probe_err = 0;
	vdev->probe_error[0] = '\0';
	vdev->features = 0;
	err = vdev->config->reset(vdev);
	if (err) {
		virtio_probe_fail(vdev, err, "the status did not read 0 after reset");
		vdev->driver = NULL;
		return err;
	}
	virtio_add_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_add_status(vdev, VIRTIO_STATUS_DRIVER);
	err = negotiate(vdev, drv);
	if (!err && drv->probe) {
		err = drv->probe(vdev);
		if (err)
			virtio_probe_fail(vdev, err, "the driver's probe: %s",
					  virtio_strerror(err));
		driver_probed = !err;
	}
	err = err ?: set_irq_mode(vdev);
	err = err ?: driver_ok(vdev);
	if (err) {
		unwind(vdev, drv, driver_probed);
		return err;
	}
	log_probe(vdev);
	if (drv->scan)
		drv->scan(vdev);
	return 0;
}

void virtio_dev_remove(struct virtio_device *vdev)
{
	struct virtio_driver *drv = vdev->driver;

	if (!drv)
		return;
	virtio_use_irq(vdev, false);
	/* The device lets go of the rings before the driver forgets them. */
	vdev->config->reset(vdev);
	if (drv->remove)
		drv->remove(vdev);
	virtio_del_vqs(vdev);
	vdev->driver = NULL;
	vdev->priv = NULL;
	vdev->features = 0;
}

static struct virtio_driver *matching_driver(const struct virtio_device *vdev)
{
	for (struct virtio_list *l = drivers.next; l != &drivers; l = l->next)
		if (virtio_dev_match(vdev, driver_at(l)))
			return driver_at(l);
	return NULL;
}

int virtio_reprobe(struct virtio_device *vdev, const struct virtio_probe_opts *opts)
{
	struct virtio_driver *drv = vdev->driver ? vdev->driver : matching_driver(vdev);

	if (!drv)
		return -VIRTIO_ENODEV;
	if (opts)
		vdev->opts = *opts;
	virtio_dev_remove(vdev);
	return virtio_dev_probe(vdev, drv);
}

void virtio_remove_all(void)
{
	for (struct virtio_list *l = devices.next; l != &devices; l = l->next)
		virtio_dev_remove(device_at(l));
}

void virtio_register_driver(struct virtio_driver *drv)
{
	virtio_list_add_tail(&drv->node, &drivers);
	for (struct virtio_list *l = devices.next; l != &devices; l = l->next) {
		struct virtio_device *vdev = device_at(l);

		if (!vdev->driver && virtio_dev_match(vdev, drv))
			virtio_dev_probe(vdev, drv);
	}
}

void virtio_unregister_driver(struct virtio_driver *drv)
{
	if (!drv->node.next)
		return; /* never registered */
	for (struct virtio_list *l = devices.next; l != &devices; l = l->next)
		if (device_at(l)->driver == drv)
			virtio_dev_remove(device_at(l));
	virtio_list_del(&drv->node);
}

int virtio_register_device(struct virtio_device *vdev)
{
	struct virtio_driver *drv;

	vdev->index = next_index++;
	tg_snprintf(vdev->name, sizeof(vdev->name), "virtio%u", vdev->index);
	vdev->driver = NULL;
	virtio_list_init(&vdev->vqs);
	virtio_list_add_tail(&vdev->node, &devices);
	drv = matching_driver(vdev);
	return drv ? virtio_dev_probe(vdev, drv) : 0;
}

void virtio_unregister_device(struct virtio_device *vdev)
{
	if (!vdev->node.next)
		return; /* never registered */
	virtio_dev_remove(vdev);
	virtio_list_del(&vdev->node);
}

struct virtio_device *virtio_find_device(uint32_t device_id, unsigned int n)
{
	for (struct virtio_list *l = devices.next; l != &devices; l = l->next)
		if (device_at(l)->id.device == device_id && n-- == 0)
			return device_at(l);
	return NULL;
}

struct virtio_device *virtio_next_device(struct virtio_device *prev)
{
	struct virtio_list *next = prev ? prev->node.next : devices.next;

	return next == &devices ? NULL : device_at(next);
}
