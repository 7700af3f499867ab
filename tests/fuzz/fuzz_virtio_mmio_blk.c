// SPDX-License-Identifier: MIT
/*
 * virtio-blk behind the virtio-mmio register file, driven as a guest
 * drives it: arbitrary register reads and writes (any offset, size and
 * value), the usual bring-up sequence with fuzzer-chosen features and queue
 * sizes, chains posted on the rings, and notifies through QueueNotify (no
 * eventfd hooks: the host has set_irq only). The worker threads serve the
 * queues meanwhile; every input ends with a reset, which stops them, and the
 * image is zeroed again, so that inputs do not see each other.
 *
 * The harness keeps its own copy of RAM as the driver wrote it. Invariants,
 * checked once the workers have stopped: the device wrote only the used
 * rings and writable buffers; used ids within the queue and lengths within
 * the chain; and before the reset, once notified, every queue is answered
 * (the used index caught up with the available one) or the device set
 * DEVICE_NEEDS_RESET, within a generous deadline.
 */
#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "devices/mmio/virtio_mmio.h"
#include "devices/virtio/blk.h"
#include "tests/fuzz/fuzz_util.h"

#define RAM_SIZE    0x10000
#define BUF_AREA    0x8000
#define IMG_SIZE    (64 * 512)
#define BASE	    0xd0000000ULL
#define GSI	    16
#define NR_QUEUES   2
#define DEADLINE_NS (2000ULL * 1000 * 1000)
#define QUIESCE_NS  (50ULL * 1000 * 1000) /* after a notify, before the driver goes on */

static uint8_t ram[RAM_SIZE], shadow[RAM_SIZE], prev[RAM_SIZE], allow[RAM_SIZE];
static struct guest_mem mem;
static struct virtio_blk *blk;
static struct virtio_mmio mmio;
static struct io_bus bus = {.name = "mmio"};
static int img_fd = -1;
static struct fz_ring rings[NR_QUEUES];

/* Every ring layout the device has served during this input: its writes may go there. */
#define MAX_LAYOUTS 16
struct layout {
	uint64_t desc, used;
	uint16_t size;
};
static struct layout layouts[MAX_LAYOUTS];
static unsigned int nr_layouts;

static void note_layouts(void)
{
	struct virtio_dev *vdev = virtio_blk_dev(blk);

	for (unsigned int q = 0; q < NR_QUEUES; q++) {
		const struct virtqueue *vq = &vdev->vqs[q];
		struct layout l = {vq->desc_gpa, vq->used_gpa, vq->size};
		unsigned int i;

		if (!vq->ready)
			continue;
		for (i = 0; i < nr_layouts; i++)
			if (!memcmp(&layouts[i], &l, sizeof(l)))
				break;
		if (i == nr_layouts && nr_layouts < MAX_LAYOUTS)
			layouts[nr_layouts++] = l;
		/* What the tables offer now: the device may write there until they change. */
		fz_allow_queue(allow, shadow, RAM_SIZE, l.desc, l.used, l.size);
		fz_allow_queue(allow, ram, RAM_SIZE, l.desc, l.used, l.size);
	}
}

static void set_irq(void *opaque, uint32_t gsi, int level)
{
	(void)opaque, (void)level;
	FZ_CHECK(gsi == GSI);
}

static const struct virtio_mmio_host host = {.set_irq = set_irq};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[64];
	struct blk_opt opt = {.path = path, .io = DISK_IO_AUTO, .serial = "fuzz", .poll_us = 0};

	(void)argc, (void)argv;
	img_fd = fz_temp_image(IMG_SIZE, path, sizeof(path));
	fz_mem_init(&mem, ram, RAM_SIZE);
	blk = virtio_blk_create(&opt, 0, NR_QUEUES, &mem);
	if (!blk || virtio_mmio_attach(&mmio, virtio_blk_dev(blk), BASE, GSI, &host, &bus) < 0) {
		fprintf(stderr, "virtio-blk on virtio-mmio: %s\n", last_error());
		abort();
	}
	return 0;
}

static void reg_write(uint64_t off, uint32_t val)
{
	io_bus_access(&bus, BASE + off, (uint8_t *)&val, 4, true);
}

static uint32_t reg_read(uint64_t off)
{
	uint32_t val = 0;

	io_bus_access(&bus, BASE + off, (uint8_t *)&val, 4, false);
	return val;
}

/* What the driver wrote into its copy goes to RAM: only the bytes it changed. */
static void publish(void)
{
	for (uint64_t i = 0; i < RAM_SIZE; i += 64) {
		if (memcmp(shadow + i, prev + i, 64))
			for (uint64_t j = i; j < i + 64; j++)
				if (shadow[j] != prev[j])
					__atomic_store_n(&ram[j], shadow[j], __ATOMIC_RELEASE);
	}
	memcpy(prev, shadow, RAM_SIZE);
}

static void setup_queue(struct fz *f, unsigned int q)
{
	uint64_t base = 0x4000ULL * q;
	uint16_t size = (uint16_t)(1U << (fz_u8(f) % 9));
	bool live = virtio_get_status(virtio_blk_dev(blk)) & VIRTIO_CONFIG_S_DRIVER_OK;

	/*
	 * Once the device runs, it ignores the layout registers and keeps its
	 * rings: the driver's model of them must stay too, or zeroing them
	 * here would wipe a used index the device published and the device
	 * would look as if it never answered.
	 */
	if (!live) {
		fz_ring_init(&rings[q], shadow, RAM_SIZE, base, base + 0x1000, base + 0x2000, size);
		publish();
		/* New rings are zeroed in RAM too, whatever an earlier session left. */
		memcpy(ram + base, shadow + base, 0x3000);
	}
	reg_write(VIRTIO_MMIO_QUEUE_SEL, q);
	reg_write(VIRTIO_MMIO_QUEUE_NUM, size);
	reg_write(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)rings[q].desc);
	reg_write(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	reg_write(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)rings[q].avail);
	reg_write(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	reg_write(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)rings[q].used);
	reg_write(VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	reg_write(VIRTIO_MMIO_QUEUE_READY, 1);
}

/* The bring-up of VIRTIO 1.2 3.1.1, with the features the input accepts. */
static void bring_up(struct fz *f)
{
	uint32_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	reg_write(VIRTIO_MMIO_STATUS, 0);
	reg_write(VIRTIO_MMIO_STATUS, st);
	for (uint32_t sel = 0; sel < 2; sel++) {
		reg_write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel);
		reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
		reg_write(VIRTIO_MMIO_DRIVER_FEATURES,
			  reg_read(VIRTIO_MMIO_DEVICE_FEATURES) & (fz_u32(f) | (sel ? 1 : 0)));
	}
	st |= VIRTIO_CONFIG_S_FEATURES_OK;
	reg_write(VIRTIO_MMIO_STATUS, st);
	for (unsigned int q = 0; q < NR_QUEUES; q++)
		setup_queue(f, q);
	reg_write(VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_DRIVER_OK);
}

static void wait_answered(bool must, unsigned int only);

/* A register access anywhere in the window, of any size. */
static void raw_access(struct fz *f, bool write)
{
	uint64_t off = fz_u16(f) % (VIRTIO_MMIO_SIZE + 8);
	uint8_t data[8];
	uint32_t len = 1 + fz_u8(f) % 8;

	fz_bytes(f, data, sizeof(data));
	io_bus_access(&bus, BASE + off, data, len, write);
	if (write && off <= VIRTIO_MMIO_QUEUE_NOTIFY && off + len > VIRTIO_MMIO_QUEUE_NOTIFY)
		wait_answered(false, data[VIRTIO_MMIO_QUEUE_NOTIFY - off]);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint16_t ram_u16(uint64_t gpa)
{
	return __atomic_load_n((uint16_t *)(ram + gpa), __ATOMIC_ACQUIRE);
}

/*
 * Every ready queue of a live device answers what it was given, or the
 * device gives up, within the deadline: checked at the end (@must), and
 * waited for after every notify, so that the driver never rewrites a
 * descriptor while a worker reads it (a torn descriptor names bytes no
 * driver offered: a false alarm of the write check, found by a long run).
 */
static void wait_answered(bool must, unsigned int only)
{
	struct virtio_dev *vdev = virtio_blk_dev(blk);
	uint64_t end = now_ns() + (must ? DEADLINE_NS : QUIESCE_NS);

	if (!(virtio_get_status(vdev) & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	for (unsigned int q = 0; q < NR_QUEUES; q++) {
		if (!must && q != only)
			continue;
		/* The rings the device took at DRIVER_OK: later layout writes were ignored. */
		const struct virtqueue *vq = &vdev->vqs[q];

		if (!vq->ready)
			continue;
		if (must)
			reg_write(VIRTIO_MMIO_QUEUE_NOTIFY, q);
		while (ram_u16(vq->used_gpa + 2) != ram_u16(vq->avail_gpa + 2) &&
		       !virtio_is_broken(vdev)) {
			if (now_ns() >= end && !must)
				return;
			if (now_ns() >= end)
				fprintf(stderr,
					"queue %u: avail %u used %u (device: last_avail %u used %u "
					"size %u broken %d) status 0x%x\n",
					q, ram_u16(vq->avail_gpa + 2), ram_u16(vq->used_gpa + 2),
					vq->last_avail, vq->used_idx, vq->size, vq->broken,
					virtio_get_status(vdev));
			FZ_CHECK(now_ns() < end);
			usleep(10);
		}
	}
}

static void check_writes(void)
{
	for (unsigned int i = 0; i < nr_layouts; i++) {
		struct layout *l = &layouts[i];
		struct fz_ring r = {.ram = ram,
				    .ram_size = RAM_SIZE,
				    .desc = l->desc,
				    .used = l->used,
				    .size = l->size};

		fz_allow_queue(allow, shadow, RAM_SIZE, l->desc, l->used, l->size);
		fz_allow_queue(allow, ram, RAM_SIZE, l->desc, l->used, l->size);
		/* Used ids and lengths: only one layout, or an earlier one's may mislead. */
		if (nr_layouts == 1)
			fz_ring_check_used(&r, shadow);
	}
	/* A layout seen first at the end may hide one the table missed: be safe. */
	if (nr_layouts == MAX_LAYOUTS)
		return;
	fz_check_writes(shadow, ram, allow, RAM_SIZE);
}

static void step(struct fz *f)
{
	uint8_t op = fz_u8(f) % 10;
	unsigned int q = fz_u8(f) % NR_QUEUES;

	switch (op) {
	case 0: bring_up(f); break;
	case 1:
	case 2:
	case 3:
		fz_ring_post(f, &rings[q], BUF_AREA, RAM_SIZE - BUF_AREA);
		publish();
		break;
	case 4: {
		uint32_t which = fz_u8(f) & 0x80 ? fz_u32(f) : q;

		reg_write(VIRTIO_MMIO_QUEUE_NOTIFY, which);
		wait_answered(false, which);
		break;
	}
	case 5: raw_access(f, true); break;
	case 6: raw_access(f, false); break;
	case 7: reg_write(VIRTIO_MMIO_INTERRUPT_ACK, reg_read(VIRTIO_MMIO_INTERRUPT_STATUS)); break;
	case 8: {
		uint16_t idx = fz_u16(f);

		fz_poke(shadow, RAM_SIZE, rings[q].avail + 2, &idx, 2);
		publish();
		break;
	}
	case 9: setup_queue(f, q); break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = {data, size};

	memset(ram, 0, RAM_SIZE);
	memset(shadow, 0, RAM_SIZE);
	memset(prev, 0, RAM_SIZE);
	memset(rings, 0, sizeof(rings));
	for (unsigned int q = 0; q < NR_QUEUES; q++)
		fz_ring_init(&rings[q], shadow, RAM_SIZE, 0x4000ULL * q, 0x4000ULL * q + 0x1000,
			     0x4000ULL * q + 0x2000, 1);
	nr_layouts = 0;
	memset(allow, 0, RAM_SIZE);
	while (f.left) {
		step(&f);
		note_layouts();
	}
	wait_answered(true, 0);
	/* The end of every input: the workers stop, the image is as it was. */
	reg_write(VIRTIO_MMIO_STATUS, 0);
	check_writes();
	if (ftruncate(img_fd, 0) < 0 || ftruncate(img_fd, IMG_SIZE) < 0)
		abort();
	return 0;
}
