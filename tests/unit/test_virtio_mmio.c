// SPDX-License-Identifier: MIT
/*
 * The virtio core and the virtio-mmio transport, driven register by register
 * through the MMIO bus as a guest driver would, with a dummy device model on
 * synthetic guest memory.
 */
#include <errno.h>
#include <unistd.h>

#include <libfdt.h>
#include <linux/virtio_mmio.h>

#include "core/fdt.h"
#include "core/memory.h"
#include "core/util.h"
#include "devices/mmio/virtio_mmio.h"
#include "tests/unit/suites.h"

#define BASE	    0xd0000000ULL
#define GSI	    16
#define DUMMY_ID    42
#define NR_QUEUES   2
#define QSIZE	    16
#define DUMMY_FEATS (BIT(0) | BIT(5)) /* device-specific bits the dummy offers */
#define ST_ACK	    VIRTIO_CONFIG_S_ACKNOWLEDGE
#define ST_DRV	    VIRTIO_CONFIG_S_DRIVER
#define ST_FOK	    VIRTIO_CONFIG_S_FEATURES_OK
#define ST_DOK	    VIRTIO_CONFIG_S_DRIVER_OK
#define ST_NR	    VIRTIO_CONFIG_S_NEEDS_RESET
#define ST_FAILED   VIRTIO_CONFIG_S_FAILED
#define ST_LIVE	    (ST_ACK | ST_DRV | ST_FOK | ST_DOK)
#define POISON	    0xa5

/* Queue q's rings: descriptor table, available ring, used ring, 4 KiB apart. */
#define DESC_GPA(q)  (0x100000ULL + (q)*0x10000ULL)
#define AVAIL_GPA(q) (DESC_GPA(q) + 0x1000)
#define USED_GPA(q)  (DESC_GPA(q) + 0x2000)
#define BUF_GPA	     0x200000ULL

/* The dummy device model: counts what the core asks of it. */
struct dummy {
	unsigned int activated, deactivated;
	bool fail_activate;
	unsigned int unlocked_calls; /* ops called without vdev->lock held */
	unsigned int config_writes;
	uint32_t cw_offset, cw_len;
	uint8_t cw_data[8];
	uint8_t config[6];
};

/* The VM side: edges seen on set_irq, and what the fast-path hooks were asked. */
struct fake_host {
	int level;
	unsigned int edges;
	int irqfd_result;
	unsigned int irqfds;
	int irqfd_fd;
	uint32_t irqfd_gsi;
	int ioeventfd_fail_q; /* -1: none fails */
	unsigned int ioeventfds;
	struct {
		uint64_t addr, datamatch;
		uint32_t len;
		int fd;
	} ioev[VIRTIO_MAX_QUEUES];
};

static struct guest_mem mem;
static struct dummy dummy;
static struct virtio_dev vdev;
static struct virtio_mmio mmio;
static struct io_bus bus;
static struct fake_host fh;
static struct virtio_mmio_host host;
static bool dev_exited;

/* Register accesses, and so the ops they lead to, run under vdev->lock. */
static void check_locked(struct virtio_dev *d)
{
	if (pthread_mutex_trylock(&d->lock) == 0) {
		((struct dummy *)d->priv)->unlocked_calls++;
		pthread_mutex_unlock(&d->lock);
	}
}

static int dummy_activate(struct virtio_dev *d)
{
	struct dummy *dm = d->priv;

	check_locked(d);
	dm->activated++;
	return dm->fail_activate ? -1 : 0;
}

static void dummy_deactivate(struct virtio_dev *d)
{
	check_locked(d);
	((struct dummy *)d->priv)->deactivated++;
}

static void dummy_config_write(struct virtio_dev *d, uint32_t offset, const void *data,
			       uint32_t len)
{
	struct dummy *dm = d->priv;

	check_locked(d);
	dm->config_writes++;
	dm->cw_offset = offset;
	dm->cw_len = len;
	memcpy(dm->cw_data, data, MIN(len, sizeof(dm->cw_data)));
}

static const struct virtio_dev_ops dummy_ops = {
    .activate = dummy_activate,
    .deactivate = dummy_deactivate,
    .config_write = dummy_config_write,
};

static void fake_set_irq(void *opaque, uint32_t gsi, int level)
{
	struct fake_host *h = opaque;

	ck_assert_uint_eq(gsi, GSI);
	if (h->level && !level)
		h->edges++;
	h->level = level;
}

static int fake_irqfd(void *opaque, uint32_t gsi, int fd)
{
	struct fake_host *h = opaque;

	h->irqfds++;
	h->irqfd_gsi = gsi;
	h->irqfd_fd = fd;
	return h->irqfd_result < 0 ? set_error("KVM_IRQFD: test says no") : 0;
}

static int fake_ioeventfd(void *opaque, uint64_t addr, uint32_t len, uint64_t datamatch, int fd)
{
	struct fake_host *h = opaque;
	unsigned int i = h->ioeventfds++;

	ck_assert_uint_lt(i, VIRTIO_MAX_QUEUES);
	h->ioev[i].addr = addr;
	h->ioev[i].len = len;
	h->ioev[i].datamatch = datamatch;
	h->ioev[i].fd = fd;
	return (int)datamatch == h->ioeventfd_fail_q ? set_error("KVM_IOEVENTFD: test says no") : 0;
}

static void attach(void)
{
	bus = (struct io_bus){.name = "mmio"};
	ck_assert_int_eq(virtio_mmio_attach(&mmio, &vdev, BASE, GSI, &host, &bus), 0);
}

static void detach(void)
{
	virtio_mmio_detach(&mmio);
	io_bus_free(&bus);
}

/* Dummy device on 16 MiB of guest RAM, attached with only the slow paths. */
static void setup(void)
{
	ck_assert_int_eq(guest_mem_alloc(&mem, 16 << 20), 0);
	dummy = (struct dummy){.config = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66}};
	ck_assert_int_eq(virtio_dev_init(&vdev, "dummy0", DUMMY_ID, DUMMY_FEATS, NR_QUEUES,
					 dummy.config, sizeof(dummy.config), &mem, &dummy_ops,
					 &dummy),
			 0);
	dev_exited = false;
	fh = (struct fake_host){.ioeventfd_fail_q = -1};
	host = (struct virtio_mmio_host){.opaque = &fh, .set_irq = fake_set_irq};
	attach();
}

static void teardown(void)
{
	ck_assert_uint_eq(dummy.unlocked_calls, 0);
	detach();
	if (!dev_exited)
		virtio_dev_exit(&vdev);
	guest_mem_free(&mem);
}

/* ---- register accesses, as a vCPU exit delivers them ---- */

static void rd_n(uint64_t off, void *data, uint32_t len)
{
	memset(data, POISON, len);
	ck_assert(io_bus_access(&bus, BASE + off, data, len, false));
}

static void wr_n(uint64_t off, const void *data, uint32_t len)
{
	ck_assert(io_bus_access(&bus, BASE + off, (void *)data, len, true));
}

static uint32_t rd(uint64_t off)
{
	uint8_t b[4];

	rd_n(off, b, 4);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void wr(uint64_t off, uint32_t val)
{
	uint8_t b[4] = {val, val >> 8, val >> 16, val >> 24};

	wr_n(off, b, 4);
}

static uint64_t rd64(uint64_t lo_off)
{
	return rd(lo_off) | (uint64_t)rd(lo_off + 4) << 32;
}

static void wr64(uint64_t lo_off, uint64_t val)
{
	wr(lo_off, (uint32_t)val);
	wr(lo_off + 4, (uint32_t)(val >> 32));
}

/* ---- the driver's steps (VIRTIO 1.2 3.1.1), as Linux takes them ---- */

static void write_driver_features(uint64_t features)
{
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
}

/* Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns Status read back. */
static uint32_t negotiate(uint64_t features)
{
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, ST_ACK);
	wr(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
	write_driver_features(features);
	wr(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK);
	return rd(VIRTIO_MMIO_STATUS);
}

static void write_queue_layout(uint32_t q, uint32_t num, uint64_t desc)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, q);
	wr(VIRTIO_MMIO_QUEUE_NUM, num);
	wr64(VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
	wr64(VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL_GPA(q));
	wr64(VIRTIO_MMIO_QUEUE_USED_LOW, USED_GPA(q));
}

static void setup_queue(uint32_t q)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, q);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), VQ_MAX_SIZE);
	write_queue_layout(q, QSIZE, DESC_GPA(q));
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
}

/* Everything offered, every queue set up, DRIVER_OK: the device is live. */
static void probe_with(uint64_t features)
{
	ck_assert_uint_eq(negotiate(features), ST_ACK | ST_DRV | ST_FOK);
	for (uint32_t q = 0; q < NR_QUEUES; q++)
		setup_queue(q);
	wr(VIRTIO_MMIO_STATUS, ST_LIVE);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_LIVE);
}

static void probe(void)
{
	probe_with(vdev.host_features);
}

/* The eventfd's count, or 0 when nothing was signalled. */
static uint64_t eventfd_count(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) < 0) {
		ck_assert_int_eq(errno, EAGAIN);
		return 0;
	}
	return n;
}

/* ---- identity and features ---- */

START_TEST(identity_registers)
{
	ck_assert_uint_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_VERSION), 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_ID), DUMMY_ID);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 0);
}
END_TEST

START_TEST(device_feature_words)
{
	const uint64_t offered = DUMMY_FEATS | VIRTIO_CORE_FEATURES;

	ck_assert_uint_eq(vdev.host_features, offered);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)offered);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), offered >> 32);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES) & 1, 1); /* VERSION_1 */
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffff);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
}
END_TEST

START_TEST(linux_probe_activates)
{
	const uint64_t want = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(5);

	probe_with(want);
	ck_assert_uint_eq(vdev.features, want);
	ck_assert(virtio_has_feature(&vdev, VIRTIO_RING_F_EVENT_IDX));
	ck_assert(!virtio_has_feature(&vdev, VIRTIO_RING_F_INDIRECT_DESC));
	ck_assert(!virtio_has_feature(&vdev, 64));
	ck_assert(vdev.vqs[0].event_idx && !vdev.vqs[0].indirect);
	ck_assert_uint_eq(dummy.activated, 1);
	ck_assert(vdev.active);
	for (uint32_t q = 0; q < NR_QUEUES; q++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, q);
		ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM), QSIZE);
		ck_assert_uint_eq(rd64(VIRTIO_MMIO_QUEUE_DESC_LOW), DESC_GPA(q));
		ck_assert_uint_eq(rd64(VIRTIO_MMIO_QUEUE_AVAIL_LOW), AVAIL_GPA(q));
		ck_assert_uint_eq(rd64(VIRTIO_MMIO_QUEUE_USED_LOW), USED_GPA(q));
		ck_assert(vdev.vqs[q].ready && vdev.vqs[q].size == QSIZE);
	}
}
END_TEST

START_TEST(unoffered_feature_refused)
{
	ck_assert_uint_eq(negotiate(vdev.host_features | BIT(3)), ST_ACK | ST_DRV);
	ck_assert_uint_eq(vdev.features, 0);
	ck_assert_uint_eq(negotiate(vdev.host_features | BIT(33)), ST_ACK | ST_DRV);
	/* What Linux does next: give up. FAILED is taken at any time. */
	wr(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FAILED);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FAILED);
}
END_TEST

START_TEST(no_version_1_refused)
{
	ck_assert_uint_eq(negotiate(DUMMY_FEATS), ST_ACK | ST_DRV);
	ck_assert_uint_eq(negotiate(0), ST_ACK | ST_DRV);
	ck_assert_uint_eq(negotiate(BIT(VIRTIO_F_VERSION_1)), ST_ACK | ST_DRV | ST_FOK);
}
END_TEST

START_TEST(feature_writes_only_between_driver_and_features_ok)
{
	wr(VIRTIO_MMIO_STATUS, ST_ACK);
	write_driver_features(BIT(VIRTIO_F_VERSION_1));
	ck_assert_uint_eq(vdev.driver_features, 0);
	ck_assert_uint_eq(negotiate(BIT(VIRTIO_F_VERSION_1) | BIT(0)), ST_ACK | ST_DRV | ST_FOK);
	write_driver_features(BIT(VIRTIO_F_VERSION_1) | BIT(5));
	ck_assert_uint_eq(vdev.driver_features, BIT(VIRTIO_F_VERSION_1) | BIT(0));
	ck_assert_uint_eq(vdev.features, BIT(VIRTIO_F_VERSION_1) | BIT(0));
}
END_TEST

START_TEST(feature_select_beyond_1_ignored)
{
	wr(VIRTIO_MMIO_STATUS, ST_ACK);
	wr(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
	write_driver_features(BIT(VIRTIO_F_VERSION_1));
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	ck_assert_uint_eq(vdev.driver_features, BIT(VIRTIO_F_VERSION_1));
}
END_TEST

/* ---- the status state machine ---- */

START_TEST(status_bits_only_added)
{
	negotiate(vdev.host_features);
	wr(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK);
	wr(VIRTIO_MMIO_STATUS, ST_ACK | ST_FOK | ST_DOK); /* drops DRIVER: all ignored */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK);
	ck_assert_uint_eq(dummy.activated, 0);
}
END_TEST

START_TEST(needs_reset_is_the_devices_bit)
{
	wr(VIRTIO_MMIO_STATUS, ST_ACK | ST_NR);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_ACK);
	virtio_needs_reset(&vdev, "test");
	/* Linux writes back what it read plus a bit: NEEDS_RESET stays, and is not the driver's. */
	wr(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_NR);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_NR);
	wr(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_NR);
	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
}
END_TEST

START_TEST(driver_ok_needs_features_ok)
{
	wr(VIRTIO_MMIO_STATUS, ST_ACK);
	wr(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
	wr(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_DOK);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
	ck_assert_uint_eq(dummy.activated, 0);
	ck_assert(!vdev.active);
}
END_TEST

START_TEST(features_ok_needs_acknowledge_and_driver)
{
	wr(VIRTIO_MMIO_STATUS, ST_DRV);
	write_driver_features(BIT(VIRTIO_F_VERSION_1));
	wr(VIRTIO_MMIO_STATUS, ST_DRV | ST_FOK);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_DRV);
}
END_TEST

START_TEST(failed_activation_sets_needs_reset)
{
	dummy.fail_activate = true;
	negotiate(vdev.host_features);
	setup_queue(0);
	wr(VIRTIO_MMIO_STATUS, ST_LIVE);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_LIVE | ST_NR);
	ck_assert_uint_eq(dummy.activated, 1);
	ck_assert(!vdev.active);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_CONFIG);
	ck_assert_uint_eq(fh.edges, 1);
	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(dummy.deactivated, 0); /* never active: nothing to stop */
}
END_TEST

START_TEST(reset_restores_initial_state)
{
	probe();
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	virtio_config_changed(&vdev);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(dummy.deactivated, 1);
	ck_assert(!vdev.active);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_uint_eq(vdev.driver_features, 0);
	ck_assert_uint_eq(vdev.features, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)vdev.host_features);
	ck_assert_uint_eq(mmio.queue_sel, 0);
	for (uint32_t q = 0; q < NR_QUEUES; q++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, q);
		ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
		ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM), VQ_MAX_SIZE);
		ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), VQ_MAX_SIZE);
		ck_assert_uint_eq(rd64(VIRTIO_MMIO_QUEUE_DESC_LOW), 0);
		ck_assert_uint_eq(rd64(VIRTIO_MMIO_QUEUE_AVAIL_LOW), 0);
		ck_assert_uint_eq(rd64(VIRTIO_MMIO_QUEUE_USED_LOW), 0);
		ck_assert_uint_eq(eventfd_count(vdev.notify_fd[q]), 0);
	}
	probe();
	ck_assert_uint_eq(dummy.activated, 2);
}
END_TEST

START_TEST(reset_before_activation_calls_no_deactivate)
{
	negotiate(vdev.host_features);
	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(dummy.deactivated, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
}
END_TEST

/* ---- queue setup ---- */

START_TEST(queue_layout_fixed_while_ready)
{
	negotiate(vdev.host_features);
	setup_queue(0);
	write_queue_layout(0, 8, 0x5000);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM), QSIZE);
	ck_assert_uint_eq(rd64(VIRTIO_MMIO_QUEUE_DESC_LOW), DESC_GPA(0));
	ck_assert_uint_eq(vdev.vqs[0].size, QSIZE);
}
END_TEST

START_TEST(queue_layout_fixed_after_driver_ok)
{
	negotiate(vdev.host_features);
	setup_queue(0);
	wr(VIRTIO_MMIO_STATUS, ST_LIVE);
	/* Queue 1 was never set up; it cannot be now. */
	write_queue_layout(1, 8, DESC_GPA(1));
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM), VQ_MAX_SIZE);
	ck_assert_uint_eq(rd64(VIRTIO_MMIO_QUEUE_DESC_LOW), 0);
	ck_assert_uint_eq(rd64(VIRTIO_MMIO_QUEUE_USED_LOW), 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	/* No VIRTIO_F_RING_RESET: a live queue cannot be taken back. */
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	ck_assert(vdev.vqs[0].ready);
}
END_TEST

START_TEST(queue_ready_before_features_ok_refused)
{
	wr(VIRTIO_MMIO_STATUS, ST_ACK);
	wr(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
	write_queue_layout(0, QSIZE, DESC_GPA(0));
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
	/* The layout written so far stays for a later QueueReady. */
	ck_assert_uint_eq(rd64(VIRTIO_MMIO_QUEUE_DESC_LOW), DESC_GPA(0));
}
END_TEST

static void assert_bad_ring_needs_reset(uint32_t num, uint64_t desc)
{
	negotiate(vdev.host_features);
	write_queue_layout(0, num, desc);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK | ST_NR);
	/* Before DRIVER_OK the driver is told by Status alone, not by an interrupt. */
	ck_assert_uint_eq(fh.edges, 0);
	wr(VIRTIO_MMIO_STATUS, ST_LIVE | ST_NR);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK | ST_NR);
	ck_assert_uint_eq(dummy.activated, 0);
}

START_TEST(queue_ready_with_bad_ring_needs_reset)
{
	assert_bad_ring_needs_reset(QSIZE, 16 << 20);		/* outside RAM */
	assert_bad_ring_needs_reset(QSIZE, DESC_GPA(0) + 8);	/* misaligned */
	assert_bad_ring_needs_reset(QSIZE, 0xfffffffffffffff0); /* wraps */
	assert_bad_ring_needs_reset(3, DESC_GPA(0));		/* not a power of two */
	assert_bad_ring_needs_reset(0, DESC_GPA(0));
	assert_bad_ring_needs_reset(VQ_MAX_SIZE * 2, DESC_GPA(0));
}
END_TEST

START_TEST(queue_num_beyond_16_bits_not_truncated)
{
	negotiate(vdev.host_features);
	wr(VIRTIO_MMIO_QUEUE_NUM, 0x10000 + QSIZE);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM), 0);
}
END_TEST

START_TEST(queue_ready_other_values_ignored)
{
	negotiate(vdev.host_features);
	write_queue_layout(0, QSIZE, DESC_GPA(0));
	wr(VIRTIO_MMIO_QUEUE_READY, 2);
	wr(VIRTIO_MMIO_QUEUE_READY, 0xffffffff);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	wr(VIRTIO_MMIO_QUEUE_READY, 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
}
END_TEST

START_TEST(queue_ready_0_forgets_queue)
{
	negotiate(vdev.host_features);
	setup_queue(1);
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(rd64(VIRTIO_MMIO_QUEUE_DESC_LOW), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM), VQ_MAX_SIZE);
	setup_queue(1); /* and it can be set up again */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK);
}
END_TEST

START_TEST(queue_sel_out_of_range)
{
	const uint32_t sels[] = {NR_QUEUES, VIRTIO_MAX_QUEUES, 0xffffffff};

	negotiate(vdev.host_features);
	for (unsigned int i = 0; i < ARRAY_SIZE(sels); i++) {
		write_queue_layout(sels[i], QSIZE, DESC_GPA(0));
		ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
		ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM), 0);
		ck_assert_uint_eq(rd64(VIRTIO_MMIO_QUEUE_DESC_LOW), 0);
		ck_assert_uint_eq(rd64(VIRTIO_MMIO_QUEUE_AVAIL_LOW), 0);
		ck_assert_uint_eq(rd64(VIRTIO_MMIO_QUEUE_USED_LOW), 0);
		wr(VIRTIO_MMIO_QUEUE_READY, 1);
		ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	}
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK);
	for (uint32_t q = 0; q < NR_QUEUES; q++)
		ck_assert_uint_eq(vdev.vqs[q].desc_gpa, 0);
}
END_TEST

/* ---- notifies and interrupts ---- */

START_TEST(queue_notify_reaches_eventfd)
{
	probe();
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	ck_assert_uint_eq(eventfd_count(vdev.notify_fd[1]), 2);
	ck_assert_uint_eq(eventfd_count(vdev.notify_fd[0]), 0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_uint_eq(eventfd_count(vdev.notify_fd[0]), 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, NR_QUEUES);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	wr_n(VIRTIO_MMIO_QUEUE_NOTIFY, "\0", 2); /* wrong width */
	for (uint32_t q = 0; q < NR_QUEUES; q++)
		ck_assert_uint_eq(eventfd_count(vdev.notify_fd[q]), 0);
}
END_TEST

/* One readable buffer in queue @q's ring, popped and returned as the device would. */
static void complete_one_request(uint32_t q)
{
	static struct vq_chain chain;
	struct virtqueue *vq = &vdev.vqs[q];
	struct vring_desc d = {.addr = BUF_GPA, .len = 64};
	struct vring_avail *avail = gpa_to_hva(&mem, AVAIL_GPA(q), 6 + 2 * QSIZE);

	ck_assert_int_eq(guest_mem_write(&mem, DESC_GPA(q), &d, sizeof(d)), 0);
	avail->ring[avail->idx % QSIZE] = 0;
	avail->idx++;
	ck_assert_int_eq(vq_pop(vq, &chain), 1);
	vq_push(vq, chain.head, 0);
}

START_TEST(used_buffer_interrupt)
{
	struct vring_avail *avail = gpa_to_hva(&mem, AVAIL_GPA(0), 6 + 2 * QSIZE);

	probe_with(BIT(VIRTIO_F_VERSION_1));
	complete_one_request(0);
	virtio_queue_interrupt(&vdev, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_USED);
	ck_assert_uint_eq(fh.edges, 1);
	ck_assert_int_eq(fh.level, 0); /* an edge: the line is not left high */
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_USED);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* The driver asked not to be interrupted. */
	avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	complete_one_request(0);
	virtio_queue_interrupt(&vdev, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_uint_eq(fh.edges, 1);
	virtio_queue_interrupt(&vdev, VIRTIO_MAX_QUEUES); /* no such queue: nothing */
	ck_assert_uint_eq(fh.edges, 1);
}
END_TEST

START_TEST(interrupt_ack_clears_only_acked_bits)
{
	probe_with(BIT(VIRTIO_F_VERSION_1));
	complete_one_request(1);
	virtio_queue_interrupt(&vdev, 1);
	virtio_config_changed(&vdev);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_USED | VIRTIO_ISR_CONFIG);
	wr(VIRTIO_MMIO_INTERRUPT_STATUS, 0); /* read-only */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_USED | VIRTIO_ISR_CONFIG);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_CONFIG);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_USED);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_ACK), 0); /* write-only */
	wr(VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_uint_eq(fh.edges, 2);
}
END_TEST

START_TEST(needs_reset_interrupts_once_when_live)
{
	probe();
	virtio_needs_reset(&vdev, "test: broken ring");
	virtio_needs_reset(&vdev, "test: another broken ring");
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_LIVE | ST_NR);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_CONFIG);
	ck_assert_uint_eq(fh.edges, 1);
	wr(VIRTIO_MMIO_STATUS, ST_LIVE | ST_NR | ST_FAILED);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_LIVE | ST_NR | ST_FAILED);
	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	ck_assert_uint_eq(dummy.deactivated, 1);
}
END_TEST

/* ---- config space ---- */

START_TEST(config_generation_and_interrupt)
{
	virtio_config_changed(&vdev);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 1);
	ck_assert_uint_eq(fh.edges, 0); /* no driver yet: no interrupt */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	probe();
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 1);
	virtio_config_changed(&vdev);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_CONFIG);
	ck_assert_uint_eq(fh.edges, 1);
	wr(VIRTIO_MMIO_CONFIG_GENERATION, 0); /* read-only */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 2);
}
END_TEST

START_TEST(config_reads_in_range)
{
	uint8_t b1;
	uint16_t b2;

	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG), 0x44332211);
	rd_n(VIRTIO_MMIO_CONFIG + 5, &b1, 1);
	ck_assert_uint_eq(b1, 0x66);
	rd_n(VIRTIO_MMIO_CONFIG + 3, &b2, 2); /* config space has no alignment rule */
	ck_assert_uint_eq(b2, 0x5544);
	dummy.config[0] = 0x99; /* the device model's buffer is read live */
	rd_n(VIRTIO_MMIO_CONFIG, &b1, 1);
	ck_assert_uint_eq(b1, 0x99);
}
END_TEST

START_TEST(config_reads_out_of_range_are_zero)
{
	uint8_t b8[8], zero[8] = {0};

	rd_n(VIRTIO_MMIO_CONFIG, b8, 8); /* 6 bytes exist: the whole access reads 0 */
	ck_assert_mem_eq(b8, zero, 8);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG + 4), 0);
	rd_n(VIRTIO_MMIO_CONFIG + 6, b8, 1);
	ck_assert_uint_eq(b8[0], 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_SIZE - 4), 0);
	memset(b8, POISON, 4);
	virtio_config_read(&vdev, 0xfffffffe, b8, 4); /* offset + len wraps */
	ck_assert_mem_eq(b8, zero, 4);
	/* Past the window: the bus never sends it, the transport still refuses it. */
	memset(b8, POISON, 4);
	virtio_mmio_ops.read(&mmio, VIRTIO_MMIO_CONFIG + (1ULL << 32), b8, 4);
	ck_assert_mem_eq(b8, zero, 4);
}
END_TEST

START_TEST(config_writes)
{
	static const struct virtio_dev_ops no_config_write = {.activate = dummy_activate,
							      .deactivate = dummy_deactivate};

	wr_n(VIRTIO_MMIO_CONFIG + 2, "\xab\xcd", 2);
	ck_assert_uint_eq(dummy.config_writes, 1);
	ck_assert_uint_eq(dummy.cw_offset, 2);
	ck_assert_uint_eq(dummy.cw_len, 2);
	ck_assert_mem_eq(dummy.cw_data, "\xab\xcd", 2);
	wr(VIRTIO_MMIO_CONFIG + 4, 0x12345678); /* runs past the end: dropped */
	wr_n(VIRTIO_MMIO_CONFIG + 0xff, "x", 1);
	virtio_config_write(&vdev, 0xffffffff, "xy", 2);
	ck_assert_uint_eq(dummy.config_writes, 1);
	vdev.ops = &no_config_write; /* a read-only config space */
	wr_n(VIRTIO_MMIO_CONFIG, "x", 1);
	ck_assert_uint_eq(dummy.config_writes, 1);
	ck_assert_uint_eq(dummy.config[0], 0x11);
	vdev.ops = &dummy_ops;
}
END_TEST

/* ---- accesses a driver must not make ---- */

START_TEST(wrong_width_register_accesses_ignored)
{
	uint8_t b[8], zero[8] = {0};

	rd_n(VIRTIO_MMIO_MAGIC_VALUE, b, 2);
	ck_assert_mem_eq(b, zero, 2);
	rd_n(VIRTIO_MMIO_MAGIC_VALUE, b, 8);
	ck_assert_mem_eq(b, zero, 8);
	rd_n(VIRTIO_MMIO_MAGIC_VALUE + 1, b, 4);
	ck_assert_mem_eq(b, zero, 4);
	rd_n(VIRTIO_MMIO_CONFIG_GENERATION + 2, b, 4); /* straddles into config space */
	ck_assert_mem_eq(b, zero, 4);
	wr_n(VIRTIO_MMIO_STATUS, "\x01", 1);
	wr_n(VIRTIO_MMIO_STATUS, "\x01\x00", 2);
	wr_n(VIRTIO_MMIO_STATUS, "\x01\0\0\0\0\0\0\0", 8);
	wr_n(VIRTIO_MMIO_STATUS + 2, "\x01\0\0\0", 4);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	wr_n(VIRTIO_MMIO_QUEUE_DESC_LOW + 1, "\x10\0\0\0", 4);
	ck_assert_uint_eq(vdev.vqs[0].desc_gpa, 0);
	wr(VIRTIO_MMIO_STATUS, ST_ACK); /* the right width still works */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_ACK);
}
END_TEST

START_TEST(write_only_registers_read_zero)
{
	const uint64_t regs[] = {
	    VIRTIO_MMIO_DEVICE_FEATURES_SEL,
	    VIRTIO_MMIO_DRIVER_FEATURES,
	    VIRTIO_MMIO_DRIVER_FEATURES_SEL,
	    VIRTIO_MMIO_QUEUE_SEL,
	    VIRTIO_MMIO_QUEUE_NOTIFY,
	    VIRTIO_MMIO_INTERRUPT_ACK,
	    VIRTIO_MMIO_SHM_SEL,
	};

	wr(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
	for (unsigned int i = 0; i < ARRAY_SIZE(regs); i++) {
		wr(regs[i], 1);
		ck_assert_msg(rd(regs[i]) == 0, "register 0x%llx reads non-zero",
			      (unsigned long long)regs[i]);
	}
}
END_TEST

START_TEST(read_only_registers_keep_their_value)
{
	const uint64_t regs[] = {VIRTIO_MMIO_MAGIC_VALUE,     VIRTIO_MMIO_VERSION,
				 VIRTIO_MMIO_DEVICE_ID,	      VIRTIO_MMIO_VENDOR_ID,
				 VIRTIO_MMIO_DEVICE_FEATURES, VIRTIO_MMIO_QUEUE_NUM_MAX};

	for (unsigned int i = 0; i < ARRAY_SIZE(regs); i++) {
		uint32_t before = rd(regs[i]);

		wr(regs[i], ~before);
		ck_assert_uint_eq(rd(regs[i]), before);
	}
	ck_assert_uint_eq(vdev.device_id, DUMMY_ID);
}
END_TEST

START_TEST(legacy_and_unknown_registers_inert)
{
	const uint64_t regs[] = {VIRTIO_MMIO_GUEST_PAGE_SIZE,
				 VIRTIO_MMIO_QUEUE_ALIGN,
				 VIRTIO_MMIO_QUEUE_PFN,
				 0x018,
				 0x088,
				 0x0c0 /* QueueReset: VIRTIO_F_RING_RESET not offered */,
				 0x0f8};

	negotiate(vdev.host_features);
	for (unsigned int i = 0; i < ARRAY_SIZE(regs); i++) {
		wr(regs[i], 0x1000);
		ck_assert_uint_eq(rd(regs[i]), 0);
	}
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK);
	ck_assert_uint_eq(vdev.vqs[0].desc_gpa, 0);
	ck_assert(!vdev.vqs[0].ready);
}
END_TEST

START_TEST(no_shared_memory_regions)
{
	for (uint32_t id = 0; id < 3; id++) {
		wr(VIRTIO_MMIO_SHM_SEL, id);
		/* VIRTIO 1.2 4.2.2: a region that does not exist has length and base -1. */
		ck_assert_uint_eq(rd64(VIRTIO_MMIO_SHM_LEN_LOW), UINT64_MAX);
		ck_assert_uint_eq(rd64(VIRTIO_MMIO_SHM_BASE_LOW), UINT64_MAX);
	}
}
END_TEST

/* ---- attach, fast paths, detach ---- */

START_TEST(window_on_the_bus)
{
	uint8_t b[4];
	struct virtio_mmio other;

	ck_assert(!io_bus_access(&bus, BASE + VIRTIO_MMIO_SIZE, b, 4, false));
	ck_assert(!io_bus_access(&bus, BASE - 4, b, 4, false));
	ck_assert(io_bus_access(&bus, BASE + VIRTIO_MMIO_SIZE - 4, b, 4, false));
	ck_assert_fails_with(virtio_mmio_attach(&other, &vdev, BASE + 0x100, GSI, &host, &bus),
			     "overlaps");
	ck_assert_ptr_eq(vdev.transport.opaque, &mmio);
	ck_assert_int_eq(mmio.irq_fd, -1);
	ck_assert(!mmio.notify_in_kernel);
}
END_TEST

static void reattach_with(int (*irqfd)(void *, uint32_t, int),
			  int (*ioeventfd)(void *, uint64_t, uint32_t, uint64_t, int))
{
	detach();
	host.irqfd = irqfd;
	host.ioeventfd = ioeventfd;
	attach();
}

START_TEST(irqfd_carries_interrupts)
{
	reattach_with(fake_irqfd, NULL);
	ck_assert_uint_eq(fh.irqfds, 1);
	ck_assert_uint_eq(fh.irqfd_gsi, GSI);
	ck_assert_int_eq(fh.irqfd_fd, mmio.irq_fd);
	probe();
	virtio_config_changed(&vdev);
	ck_assert_uint_eq(eventfd_count(mmio.irq_fd), 1);
	ck_assert_uint_eq(fh.edges, 0);
}
END_TEST

START_TEST(irqfd_failure_falls_back_to_set_irq)
{
	fh.irqfd_result = -1;
	reattach_with(fake_irqfd, NULL);
	ck_assert_uint_eq(fh.irqfds, 1);
	ck_assert_int_eq(mmio.irq_fd, -1);
	probe();
	virtio_config_changed(&vdev);
	ck_assert_uint_eq(fh.edges, 1);
}
END_TEST

/* Pulses from several workers at once, seen from the line's side. */
static atomic_int pulse_level;
static atomic_uint pulse_edges, pulse_overlaps;

static void counting_set_irq(void *opaque, uint32_t gsi, int level)
{
	(void)opaque;
	(void)gsi;
	if (level && atomic_exchange(&pulse_level, 1))
		atomic_fetch_add(&pulse_overlaps, 1); /* raised while high: no edge */
	else if (level)
		atomic_fetch_add(&pulse_edges, 1);
	else
		atomic_store(&pulse_level, 0);
}

#define PULSE_THREADS 4
#define PULSES	      20000

static void *pulse_many(void *arg)
{
	for (int i = 0; i < PULSES; i++)
		virtio_config_changed(arg);
	return NULL;
}

/* Without irqfd every interrupt from every worker is an edge of its own. */
START_TEST(concurrent_interrupts_each_an_edge)
{
	pthread_t threads[PULSE_THREADS];
	unsigned int overlaps, edges;

	atomic_store(&pulse_level, 0);
	atomic_store(&pulse_edges, 0);
	atomic_store(&pulse_overlaps, 0);
	host.set_irq = counting_set_irq;
	reattach_with(NULL, NULL);
	probe();
	for (int i = 0; i < PULSE_THREADS; i++)
		ck_assert_int_eq(pthread_create(&threads[i], NULL, pulse_many, &vdev), 0);
	for (int i = 0; i < PULSE_THREADS; i++)
		pthread_join(threads[i], NULL);
	overlaps = atomic_load(&pulse_overlaps);
	edges = atomic_load(&pulse_edges);
	ck_assert_uint_eq(overlaps, 0);
	ck_assert_uint_eq(edges, PULSE_THREADS * PULSES);
}
END_TEST

START_TEST(ioeventfd_per_queue)
{
	reattach_with(NULL, fake_ioeventfd);
	ck_assert(mmio.notify_in_kernel);
	ck_assert_uint_eq(fh.ioeventfds, NR_QUEUES);
	for (unsigned int q = 0; q < NR_QUEUES; q++) {
		ck_assert_uint_eq(fh.ioev[q].addr, BASE + VIRTIO_MMIO_QUEUE_NOTIFY);
		ck_assert_uint_eq(fh.ioev[q].len, 4);
		ck_assert_uint_eq(fh.ioev[q].datamatch, q);
		ck_assert_int_eq(fh.ioev[q].fd, vdev.notify_fd[q]);
	}
}
END_TEST

START_TEST(ioeventfd_failure_keeps_exit_path)
{
	fh.ioeventfd_fail_q = 0;
	reattach_with(NULL, fake_ioeventfd);
	ck_assert(!mmio.notify_in_kernel);
	ck_assert_uint_eq(fh.ioeventfds, NR_QUEUES); /* the other queues still bound */
	probe();
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_uint_eq(eventfd_count(vdev.notify_fd[0]), 1);
}
END_TEST

START_TEST(detach_resets_the_device)
{
	probe();
	virtio_mmio_detach(&mmio);
	ck_assert_uint_eq(dummy.deactivated, 1);
	ck_assert_uint_eq(virtio_get_status(&vdev), 0);
	ck_assert_ptr_null(vdev.transport.interrupt);
	virtio_config_changed(&vdev); /* no transport: nothing to raise */
	ck_assert_uint_eq(fh.edges, 0);
	virtio_dev_exit(&vdev);
	dev_exited = true;
	ck_assert_uint_eq(dummy.deactivated, 1);
	ck_assert_int_eq(vdev.notify_fd[0], -1);
}
END_TEST

/* A device on no transport, driven through the core's calls alone. */
START_TEST(exit_deactivates_live_device)
{
	struct dummy dm = {0};
	static struct virtio_dev d;

	ck_assert_int_eq(
	    virtio_dev_init(&d, "dummy1", DUMMY_ID, 0, 1, NULL, 0, &mem, &dummy_ops, &dm), 0);
	pthread_mutex_lock(&d.lock); /* as a transport calls the core */
	virtio_set_status(&d, ST_ACK | ST_DRV);
	virtio_set_driver_features(&d, 1, 1);
	virtio_set_status(&d, ST_LIVE);
	pthread_mutex_unlock(&d.lock);
	ck_assert_uint_eq(virtio_get_status(&d), ST_LIVE);
	ck_assert_uint_eq(dm.activated, 1);
	virtio_dev_exit(&d);
	ck_assert_uint_eq(dm.deactivated, 1);
	ck_assert_uint_eq(dm.unlocked_calls, 0);
	ck_assert(!d.active);
	ck_assert_int_eq(d.notify_fd[0], -1);
}
END_TEST

START_TEST(init_refuses_queue_counts)
{
	struct virtio_dev d;

	ck_assert_fails_with(virtio_dev_init(&d, "bad", 1, 0, 0, NULL, 0, &mem, &dummy_ops, NULL),
			     "virtqueues");
	ck_assert_fails_with(virtio_dev_init(&d, "bad", 1, 0, VIRTIO_MAX_QUEUES + 1, NULL, 0, &mem,
					     &dummy_ops, NULL),
			     "virtqueues");
}
END_TEST

/* ---- how the guest finds the device ---- */

START_TEST(fdt_node_properties)
{
	static _Alignas(8) char blob[FDT_MAX_SIZE];
	struct virtio_mmio second = {.base = BASE + VIRTIO_MMIO_STRIDE, .gsi = GSI + 1};
	struct fdt_desc desc = {.ncpus = 1};
	const fdt32_t *p;
	int off, len;

	ck_assert_int_eq(fdt_add_device(&desc, virtio_mmio_fdt_node, &mmio), 0);
	ck_assert_int_eq(fdt_add_device(&desc, virtio_mmio_fdt_node, &second), 0);
	ck_assert_int_gt(fdt_build(&desc, blob, sizeof(blob)), 0);
	off = fdt_path_offset(blob, "/virtio@d0000000");
	ck_assert_int_ge(off, 0);
	ck_assert_str_eq(fdt_getprop(blob, off, "compatible", NULL), "virtio,mmio");
	p = fdt_getprop(blob, off, "reg", &len);
	ck_assert_int_eq(len, 16);
	ck_assert_uint_eq(fdt32_to_cpu(p[0]), 0);
	ck_assert_uint_eq(fdt32_to_cpu(p[1]), BASE);
	ck_assert_uint_eq(fdt32_to_cpu(p[2]), 0);
	ck_assert_uint_eq(fdt32_to_cpu(p[3]), VIRTIO_MMIO_SIZE);
	p = fdt_getprop(blob, off, "interrupts", &len);
	ck_assert_int_eq(len, 8);
	ck_assert_uint_eq(fdt32_to_cpu(p[0]), GSI);
	ck_assert_uint_eq(fdt32_to_cpu(p[1]), FDT_IRQ_EDGE_RISING);
	p = fdt_getprop(blob, off, "interrupt-parent", &len);
	ck_assert_int_eq(len, 4);
	ck_assert_uint_eq(
	    fdt32_to_cpu(*p),
	    fdt_get_phandle(blob, fdt_node_offset_by_compatible(blob, -1, "intel,ce4100-ioapic")));
	off = fdt_path_offset(blob, "/virtio@d0001000");
	ck_assert_int_ge(off, 0);
	p = fdt_getprop(blob, off, "interrupts", &len);
	ck_assert_uint_eq(fdt32_to_cpu(p[0]), GSI + 1);
}
END_TEST

START_TEST(cmdline_string)
{
	static const char want[] = "virtio_mmio.device=0x200@0xd0000000:16";
	char buf[64];

	memset(buf, POISON, sizeof(buf));
	ck_assert_int_eq(virtio_mmio_cmdline(&mmio, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(virtio_mmio_cmdline(&mmio, buf, sizeof(want)), 0);
	ck_assert_str_eq(buf, want);
	ck_assert_fails_with(virtio_mmio_cmdline(&mmio, buf, sizeof(want) - 1), "does not fit");
	ck_assert_fails_with(virtio_mmio_cmdline(&mmio, NULL, 0), "does not fit");
}
END_TEST

static TCase *tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	return tc;
}

Suite *virtio_mmio_suite(void)
{
	Suite *s = suite_create("virtio_mmio");
	TCase *id = tcase("identity"), *st = tcase("status"), *q = tcase("queues");
	TCase *irq = tcase("interrupts"), *cfg = tcase("config"), *bad = tcase("bad_access");
	TCase *att = tcase("attach"), *disc = tcase("discovery");

	tcase_add_test(id, identity_registers);
	tcase_add_test(id, device_feature_words);
	tcase_add_test(id, linux_probe_activates);
	tcase_add_test(id, unoffered_feature_refused);
	tcase_add_test(id, no_version_1_refused);
	tcase_add_test(id, feature_writes_only_between_driver_and_features_ok);
	tcase_add_test(id, feature_select_beyond_1_ignored);
	tcase_add_test(st, status_bits_only_added);
	tcase_add_test(st, needs_reset_is_the_devices_bit);
	tcase_add_test(st, driver_ok_needs_features_ok);
	tcase_add_test(st, features_ok_needs_acknowledge_and_driver);
	tcase_add_test(st, failed_activation_sets_needs_reset);
	tcase_add_test(st, reset_restores_initial_state);
	tcase_add_test(st, reset_before_activation_calls_no_deactivate);
	tcase_add_test(q, queue_layout_fixed_while_ready);
	tcase_add_test(q, queue_layout_fixed_after_driver_ok);
	tcase_add_test(q, queue_ready_before_features_ok_refused);
	tcase_add_test(q, queue_ready_with_bad_ring_needs_reset);
	tcase_add_test(q, queue_num_beyond_16_bits_not_truncated);
	tcase_add_test(q, queue_ready_other_values_ignored);
	tcase_add_test(q, queue_ready_0_forgets_queue);
	tcase_add_test(q, queue_sel_out_of_range);
	tcase_add_test(irq, queue_notify_reaches_eventfd);
	tcase_add_test(irq, used_buffer_interrupt);
	tcase_add_test(irq, interrupt_ack_clears_only_acked_bits);
	tcase_add_test(irq, needs_reset_interrupts_once_when_live);
	tcase_add_test(irq, concurrent_interrupts_each_an_edge);
	tcase_add_test(cfg, config_generation_and_interrupt);
	tcase_add_test(cfg, config_reads_in_range);
	tcase_add_test(cfg, config_reads_out_of_range_are_zero);
	tcase_add_test(cfg, config_writes);
	tcase_add_test(bad, wrong_width_register_accesses_ignored);
	tcase_add_test(bad, write_only_registers_read_zero);
	tcase_add_test(bad, read_only_registers_keep_their_value);
	tcase_add_test(bad, legacy_and_unknown_registers_inert);
	tcase_add_test(bad, no_shared_memory_regions);
	tcase_add_test(att, window_on_the_bus);
	tcase_add_test(att, irqfd_carries_interrupts);
	tcase_add_test(att, irqfd_failure_falls_back_to_set_irq);
	tcase_add_test(att, ioeventfd_per_queue);
	tcase_add_test(att, ioeventfd_failure_keeps_exit_path);
	tcase_add_test(att, detach_resets_the_device);
	tcase_add_test(att, exit_deactivates_live_device);
	tcase_add_test(att, init_refuses_queue_counts);
	tcase_add_test(disc, fdt_node_properties);
	tcase_add_test(disc, cmdline_string);
	suite_add_tcase(s, id);
	suite_add_tcase(s, st);
	suite_add_tcase(s, q);
	suite_add_tcase(s, irq);
	suite_add_tcase(s, cfg);
	suite_add_tcase(s, bad);
	suite_add_tcase(s, att);
	suite_add_tcase(s, disc);
	return s;
}
