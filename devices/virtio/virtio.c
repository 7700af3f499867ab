// SPDX-License-Identifier: MIT
/*
 * The virtio core, device side. Everything here runs under vdev->lock on a
 * vCPU thread, except virtio_queue_interrupt(), virtio_config_changed() and
 * virtio_needs_reset(), which device workers call and which therefore touch
 * only the atomics and the transport's interrupt.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/trace.h"
#include "core/util.h"
#include "devices/virtio/virtio.h"

/* The status bits a driver may set; NEEDS_RESET is the device's own. */
#define DRIVER_STATUS_BITS                                                                         \
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |      \
	 VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FAILED)

static bool status_has(struct virtio_dev *vdev, uint32_t bits)
{
	return (atomic_load(&vdev->status) & bits) == bits;
}

/* Raise the transport's interrupt; a device not yet on a transport has none. */
static void raise_interrupt(struct virtio_dev *vdev, uint32_t isr_bits)
{
	atomic_fetch_or(&vdev->isr, isr_bits);
	if (vdev->transport.interrupt)
		vdev->transport.interrupt(vdev->transport.opaque);
}

static void close_notify_fds(struct virtio_dev *vdev)
{
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (vdev->notify_fd[i] >= 0)
			close(vdev->notify_fd[i]);
		vdev->notify_fd[i] = -1;
	}
}

static int open_notify_fds(struct virtio_dev *vdev)
{
	for (unsigned int i = 0; i < vdev->nr_queues; i++) {
		vdev->notify_fd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (vdev->notify_fd[i] < 0) {
			int err = errno;

			close_notify_fds(vdev);
			return set_error("%s: cannot create a queue eventfd: %s", vdev->name,
					 strerror(err));
		}
	}
	return 0;
}

int virtio_dev_init(struct virtio_dev *vdev, const char *name, uint32_t device_id,
		    uint64_t features, unsigned int nr_queues, void *config, uint32_t config_len,
		    const struct guest_mem *mem, const struct virtio_dev_ops *ops, void *priv)
{
	if (nr_queues == 0 || nr_queues > VIRTIO_MAX_QUEUES)
		return set_error("%s: %u virtqueues (1 to %d)", name, nr_queues, VIRTIO_MAX_QUEUES);
	memset(vdev, 0, sizeof(*vdev));
	vdev->name = name;
	vdev->log.name = name;
	vdev->device_id = device_id;
	vdev->host_features = features | VIRTIO_CORE_FEATURES;
	atomic_init(&vdev->status, 0);
	atomic_init(&vdev->isr, 0);
	atomic_init(&vdev->config_generation, 0);
	vdev->config = config;
	vdev->config_len = config ? config_len : 0;
	vdev->nr_queues = nr_queues;
	vdev->mem = mem;
	vdev->ops = ops;
	vdev->priv = priv;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vdev->notify_fd[i] = -1;
	for (unsigned int i = 0; i < nr_queues; i++) {
		vdev->vqs[i].owner = name;
		vdev->vqs[i].index = (uint16_t)i;
		vq_reset(&vdev->vqs[i], VQ_MAX_SIZE);
	}
	if (open_notify_fds(vdev) < 0)
		return -1;
	pthread_mutex_init(&vdev->lock, NULL);
	return 0;
}

/* Stop the device model's workers; from here on nothing touches the rings. */
static void deactivate(struct virtio_dev *vdev)
{
	if (!vdev->active)
		return;
	if (vdev->ops->deactivate)
		vdev->ops->deactivate(vdev);
	vdev->active = false;
}

/* Call once, when no vCPU can reach the device any more. */
void virtio_dev_exit(struct virtio_dev *vdev)
{
	pthread_mutex_lock(&vdev->lock);
	deactivate(vdev);
	pthread_mutex_unlock(&vdev->lock);
	close_notify_fds(vdev);
	pthread_mutex_destroy(&vdev->lock);
	log_limit_report(&vdev->log);
}

bool virtio_has_feature(const struct virtio_dev *vdev, unsigned int bit)
{
	return bit < 64 && (vdev->features & (1ULL << bit));
}

void virtio_queue_interrupt(struct virtio_dev *vdev, unsigned int q)
{
	if (q >= vdev->nr_queues || !vq_should_interrupt(&vdev->vqs[q]))
		return;
	if (stats_enabled)
		STAT_ADD(vdev->vqs[q].stats.interrupts, 1);
	if (trace_enabled)
		trace_record(TRACE_IRQ, vdev->name, 0, q, monotonic_ns(), 0);
	raise_interrupt(vdev, VIRTIO_ISR_USED);
}

void virtio_queue_take_notify(struct virtio_dev *vdev, unsigned int q)
{
	eventfd_t count = 0;

	if (q >= vdev->nr_queues || eventfd_read(vdev->notify_fd[q], &count) < 0 || !count)
		return;
	vdev->vqs[q].stats.round_notified = true;
	if (stats_enabled)
		STAT_ADD(vdev->vqs[q].stats.notify_eventfd, count);
	if (trace_enabled)
		trace_record(TRACE_NOTIFY, vdev->name, count, q, monotonic_ns(), 0);
}

void virtio_config_changed(struct virtio_dev *vdev)
{
	atomic_fetch_add(&vdev->config_generation, 1);
	if (status_has(vdev, VIRTIO_CONFIG_S_DRIVER_OK))
		raise_interrupt(vdev, VIRTIO_ISR_CONFIG);
}

/*
 * The first caller after a reset logs and interrupts; later ones (another
 * worker finding another broken ring) add nothing the driver does not know.
 */
void virtio_needs_reset(struct virtio_dev *vdev, const char *why)
{
	uint32_t old = atomic_fetch_or(&vdev->status, VIRTIO_CONFIG_S_NEEDS_RESET);

	if (old & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	STAT_ADD_SHARED(vdev->needs_reset_count, 1);
	vmm_log_limited(&vdev->log, "%s: device needs reset: %s", vdev->name, why);
	if (old & VIRTIO_CONFIG_S_DRIVER_OK)
		raise_interrupt(vdev, VIRTIO_ISR_CONFIG);
}

uint32_t virtio_get_status(struct virtio_dev *vdev)
{
	return atomic_load(&vdev->status);
}

/* Swallow notifies the driver sent before the reset: they name rings that are gone. */
static void drain_eventfd(int fd)
{
	uint64_t count;

	if (fd >= 0 && read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		vmm_log("reading a queue eventfd: %s", strerror(errno));
}

/* Status 0: back to the state the device had when it was created. */
static void reset(struct virtio_dev *vdev)
{
	deactivate(vdev);
	for (unsigned int i = 0; i < vdev->nr_queues; i++) {
		vq_reset(&vdev->vqs[i], VQ_MAX_SIZE);
		drain_eventfd(vdev->notify_fd[i]);
	}
	vdev->driver_features = 0;
	vdev->features = 0;
	atomic_store(&vdev->isr, 0);
	/*
	 * config_generation keeps counting: it only has to differ whenever the
	 * config space changed, and a driver may hold a value from before.
	 */
	atomic_store(&vdev->status, 0);
}

/* VIRTIO 1.2 3.1.1: the driver accepted only bits we offered, VERSION_1 among them. */
static bool features_acceptable(const struct virtio_dev *vdev, uint32_t status)
{
	const uint32_t need = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	return (status & need) == need && !(vdev->driver_features & ~vdev->host_features) &&
	       (vdev->driver_features & (1ULL << VIRTIO_F_VERSION_1));
}

static void activate(struct virtio_dev *vdev)
{
	if (vdev->ops->activate && vdev->ops->activate(vdev) < 0) {
		virtio_needs_reset(vdev, "the device could not start");
		return;
	}
	vdev->active = true;
}

/*
 * Of the bits the driver adds, drop FEATURES_OK and DRIVER_OK when their
 * conditions do not hold: reading Status back then shows them missing,
 * which is how the driver learns of the refusal.
 */
static uint32_t accepted_bits(struct virtio_dev *vdev, uint32_t old, uint32_t added)
{
	uint32_t now = old | added;

	if ((added & VIRTIO_CONFIG_S_FEATURES_OK) && !features_acceptable(vdev, now)) {
		added &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		now &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	}
	if ((added & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    (!(now & VIRTIO_CONFIG_S_FEATURES_OK) || status_has(vdev, VIRTIO_CONFIG_S_NEEDS_RESET)))
		added &= ~VIRTIO_CONFIG_S_DRIVER_OK;
	return added;
}

void virtio_set_status(struct virtio_dev *vdev, uint32_t status)
{
	uint32_t old = atomic_load(&vdev->status) & DRIVER_STATUS_BITS;
	uint32_t wanted = status & DRIVER_STATUS_BITS;
	uint32_t added;

	if (status == 0) {
		reset(vdev);
		return;
	}
	/* Only a reset clears status bits; a write that would clear one is ignored. */
	if (old & ~wanted)
		return;
	added = accepted_bits(vdev, old, wanted & ~old);
	if (added & VIRTIO_CONFIG_S_FEATURES_OK)
		vdev->features = vdev->driver_features;
	/* OR, not store: a worker may be setting NEEDS_RESET at the same time. */
	atomic_fetch_or(&vdev->status, added);
	if (added & VIRTIO_CONFIG_S_DRIVER_OK)
		activate(vdev);
}

uint32_t virtio_get_device_features(struct virtio_dev *vdev, uint32_t sel)
{
	return sel <= 1 ? (uint32_t)(vdev->host_features >> (32 * sel)) : 0;
}

/* Feature words are written between DRIVER and FEATURES_OK, and nowhere else. */
void virtio_set_driver_features(struct virtio_dev *vdev, uint32_t sel, uint32_t value)
{
	uint32_t status = atomic_load(&vdev->status);
	uint64_t mask;

	if (sel > 1 || !(status & VIRTIO_CONFIG_S_DRIVER) || (status & VIRTIO_CONFIG_S_FEATURES_OK))
		return;
	mask = 0xffffffffULL << (32 * sel);
	vdev->driver_features = (vdev->driver_features & ~mask) | ((uint64_t)value << (32 * sel));
}

static struct virtqueue *queue(struct virtio_dev *vdev, uint32_t q)
{
	return q < vdev->nr_queues ? &vdev->vqs[q] : NULL;
}

/* Queue @q exists and its layout may still change: not ready, device not live. */
static struct virtqueue *configurable_queue(struct virtio_dev *vdev, uint32_t q)
{
	struct virtqueue *vq = queue(vdev, q);

	if (!vq || vq->ready || status_has(vdev, VIRTIO_CONFIG_S_DRIVER_OK))
		return NULL;
	return vq;
}

uint32_t virtio_queue_num_max(struct virtio_dev *vdev, uint32_t q)
{
	return queue(vdev, q) ? VQ_MAX_SIZE : 0;
}

/*
 * A size that does not fit the 16-bit field is stored as 0, never
 * truncated into a valid one; vq_enable() refuses it like any bad size.
 */
void virtio_queue_set_num(struct virtio_dev *vdev, uint32_t q, uint32_t num)
{
	struct virtqueue *vq = configurable_queue(vdev, q);

	if (vq)
		vq->size = num <= UINT16_MAX ? (uint16_t)num : 0;
}

uint32_t virtio_queue_get_num(struct virtio_dev *vdev, uint32_t q)
{
	struct virtqueue *vq = queue(vdev, q);

	return vq ? vq->size : 0;
}

static uint64_t *queue_area(struct virtqueue *vq, enum virtio_queue_area area)
{
	switch (area) {
	case VQ_AREA_DESC: return &vq->desc_gpa;
	case VQ_AREA_DRIVER: return &vq->avail_gpa;
	case VQ_AREA_DEVICE: return &vq->used_gpa;
	}
	return NULL;
}

void virtio_queue_set_addr(struct virtio_dev *vdev, uint32_t q, enum virtio_queue_area area,
			   bool high, uint32_t value)
{
	struct virtqueue *vq = configurable_queue(vdev, q);
	uint64_t *gpa = vq ? queue_area(vq, area) : NULL;
	unsigned int shift = high ? 32 : 0;

	if (gpa)
		*gpa = (*gpa & ~(0xffffffffULL << shift)) | ((uint64_t)value << shift);
}

uint32_t virtio_queue_get_addr(struct virtio_dev *vdev, uint32_t q, enum virtio_queue_area area,
			       bool high)
{
	struct virtqueue *vq = queue(vdev, q);
	uint64_t *gpa = vq ? queue_area(vq, area) : NULL;

	return gpa ? (uint32_t)(*gpa >> (high ? 32 : 0)) : 0;
}

static void enable_queue(struct virtio_dev *vdev, uint32_t q, struct virtqueue *vq)
{
	char why[192];

	if (!status_has(vdev, VIRTIO_CONFIG_S_FEATURES_OK))
		return;
	/* On success vq_enable() marks the queue ready itself. */
	if (vq_enable(vq, vdev->mem, virtio_has_feature(vdev, VIRTIO_RING_F_EVENT_IDX),
		      virtio_has_feature(vdev, VIRTIO_RING_F_INDIRECT_DESC)) == 0)
		return;
	/* vq_enable() said what was wrong through set_error(). */
	snprintf(why, sizeof(why), "queue %u: %s", q, last_error());
	virtio_needs_reset(vdev, why);
}

/*
 * QueueReady 1 maps the rings, 0 forgets the queue; both only before
 * DRIVER_OK (without VIRTIO_F_RING_RESET a live queue cannot be taken back).
 */
void virtio_queue_set_ready(struct virtio_dev *vdev, uint32_t q, bool ready)
{
	struct virtqueue *vq = queue(vdev, q);

	if (!vq || status_has(vdev, VIRTIO_CONFIG_S_DRIVER_OK) || vq->ready == ready)
		return;
	if (ready)
		enable_queue(vdev, q, vq);
	else
		vq_reset(vq, VQ_MAX_SIZE);
}

bool virtio_queue_get_ready(struct virtio_dev *vdev, uint32_t q)
{
	struct virtqueue *vq = queue(vdev, q);

	return vq && vq->ready;
}

void virtio_queue_notify(struct virtio_dev *vdev, uint32_t q)
{
	uint64_t one = 1;

	if (q < vdev->nr_queues && stats_enabled)
		STAT_ADD_SHARED(vdev->vqs[q].stats.notify_exit, 1);
	if (q < vdev->nr_queues && trace_enabled)
		trace_record(TRACE_NOTIFY_EXIT, vdev->name, 1, q, monotonic_ns(), 0);
	/* Fails only when the counter is about to overflow: the worker is awake anyway. */
	if (q < vdev->nr_queues && write(vdev->notify_fd[q], &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		vmm_log("%s: queue %u notify: %s", vdev->name, q, strerror(errno));
}

uint32_t virtio_get_isr(struct virtio_dev *vdev)
{
	return atomic_load(&vdev->isr);
}

void virtio_ack_isr(struct virtio_dev *vdev, uint32_t bits)
{
	atomic_fetch_and(&vdev->isr, ~bits);
}

uint32_t virtio_get_config_generation(struct virtio_dev *vdev)
{
	return atomic_load(&vdev->config_generation);
}

/* [offset, offset + len) is non-empty and inside config space; cannot overflow. */
static bool config_holds(const struct virtio_dev *vdev, uint32_t offset, uint32_t len)
{
	return len && offset <= vdev->config_len && len <= vdev->config_len - offset;
}

void virtio_config_read(struct virtio_dev *vdev, uint32_t offset, void *data, uint32_t len)
{
	if (config_holds(vdev, offset, len))
		memcpy(data, (const uint8_t *)vdev->config + offset, len);
	else
		memset(data, 0, len);
}

void virtio_config_write(struct virtio_dev *vdev, uint32_t offset, const void *data, uint32_t len)
{
	if (config_holds(vdev, offset, len) && vdev->ops->config_write)
		vdev->ops->config_write(vdev, offset, data, len);
}
