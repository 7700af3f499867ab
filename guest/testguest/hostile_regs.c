// SPDX-License-Identifier: MIT
/*
 * Hostile scenarios, registers: read-only, write-only and legacy registers,
 * narrow and unaligned accesses, InterruptACK, Status bits cleared, features
 * not offered, config space accesses out of range.
 */
#include "hostile.h"

/* Registers. */

struct ro_reg {
	unsigned int off;
	const char *name;
};

/* Read-only registers keep their value whatever is written to them. */
static bool readonly_registers(struct hctx *c)
{
	static const struct ro_reg regs[] = {
	    {VIRTIO_MMIO_MAGIC_VALUE, "MagicValue"},
	    {VIRTIO_MMIO_VERSION, "Version"},
	    {VIRTIO_MMIO_DEVICE_ID, "DeviceID"},
	    {VIRTIO_MMIO_VENDOR_ID, "VendorID"},
	    {VIRTIO_MMIO_DEVICE_FEATURES, "DeviceFeatures"},
	    {VIRTIO_MMIO_QUEUE_NUM_MAX, "QueueNumMax"},
	    {VIRTIO_MMIO_INTERRUPT_STATUS, "InterruptStatus"},
	    {VIRTIO_MMIO_CONFIG_GENERATION, "ConfigGeneration"},
	};

	if (reg(c, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC ||
	    reg(c, VIRTIO_MMIO_VERSION) != 2 || reg(c, VIRTIO_MMIO_DEVICE_ID) != VIRTIO_ID_BLOCK ||
	    reg(c, VIRTIO_MMIO_QUEUE_NUM_MAX) != VMM_QUEUE_NUM_MAX)
		return fail(c, "identity registers 0x%x %u %u, QueueNumMax %u", reg(c, 0),
			    reg(c, VIRTIO_MMIO_VERSION), reg(c, VIRTIO_MMIO_DEVICE_ID),
			    reg(c, VIRTIO_MMIO_QUEUE_NUM_MAX));
	for (unsigned int i = 0; i < TG_ARRAY_SIZE(regs); i++) {
		uint32_t before = reg(c, regs[i].off), after;

		wreg(c, regs[i].off, ~before);
		after = reg(c, regs[i].off);
		if (after != before)
			return fail(c, "%s read 0x%x, then 0x%x after writing 0x%x", regs[i].name,
				    before, after, ~before);
	}
	return true;
}

/* Write-only registers, the legacy ones and unknown offsets read 0; no shared memory. */
static bool writeonly_registers(struct hctx *c)
{
	static const struct ro_reg zero[] = {
	    {VIRTIO_MMIO_DEVICE_FEATURES_SEL, "DeviceFeaturesSel"},
	    {VIRTIO_MMIO_DRIVER_FEATURES, "DriverFeatures"},
	    {VIRTIO_MMIO_DRIVER_FEATURES_SEL, "DriverFeaturesSel"},
	    {VIRTIO_MMIO_QUEUE_SEL, "QueueSel"},
	    {VIRTIO_MMIO_QUEUE_NOTIFY, "QueueNotify"},
	    {VIRTIO_MMIO_INTERRUPT_ACK, "InterruptACK"},
	    {VIRTIO_MMIO_GUEST_PAGE, "GuestPageSize (legacy)"},
	    {VIRTIO_MMIO_QUEUE_ALIGN, "QueueAlign (legacy)"},
	    {VIRTIO_MMIO_QUEUE_PFN, "QueuePFN (legacy)"},
	    {0x0c0, "offset 0xc0"},
	    {0x0f8, "offset 0xf8"},
	};
	uint32_t v;

	/* The selectors read 0 even while set to something else. */
	wreg(c, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	wreg(c, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	for (unsigned int i = 0; i < TG_ARRAY_SIZE(zero); i++) {
		v = reg(c, zero[i].off);
		if (v)
			return fail(c, "%s reads 0x%x, expected 0", zero[i].name, v);
	}
	/* DeviceFeaturesSel is 1 now: the high word, with VERSION_1. */
	v = reg(c, VIRTIO_MMIO_DEVICE_FEATURES);
	if (!(v & 1))
		return fail(c, "DeviceFeatures word 1 is 0x%x, without VERSION_1", v);
	wreg(c, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	v = reg(c, VIRTIO_MMIO_DEVICE_FEATURES);
	if (v)
		return fail(c, "DeviceFeatures word 2 is 0x%x, expected 0", v);
	wreg(c, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	wreg(c, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	for (unsigned int off = VIRTIO_MMIO_SHM_LEN_LOW; off <= VIRTIO_MMIO_SHM_BASE_HI; off += 4) {
		v = reg(c, off);
		if (v != 0xffffffff)
			return fail(c,
				    "shared memory register 0x%x reads 0x%x: a region that "
				    "does not exist reads ~0",
				    off, v);
	}
	wreg(c, VIRTIO_MMIO_SHM_SEL, 0);
	/* A legacy QueuePFN write must not set anything up (nor tear anything down). */
	wreg(c, VIRTIO_MMIO_QUEUE_PFN, 0x1234);
	return true;
}

/* Registers take 32-bit aligned accesses only: others are ignored and read 0. */
static bool narrow_accesses(struct hctx *c)
{
	uintptr_t b = c->m->base;
	uint32_t v;

	if (tg_read8(b + VIRTIO_MMIO_MAGIC_VALUE))
		return fail(c, "8-bit read of MagicValue gave 0x%x, expected 0",
			    tg_read8(b + VIRTIO_MMIO_MAGIC_VALUE));
	if (tg_read16(b + VIRTIO_MMIO_MAGIC_VALUE))
		return fail(c, "16-bit read of MagicValue gave 0x%x, expected 0",
			    tg_read16(b + VIRTIO_MMIO_MAGIC_VALUE));
	v = tg_read32(b + VIRTIO_MMIO_MAGIC_VALUE + 2);
	if (v)
		return fail(c, "unaligned 32-bit read at 0x002 gave 0x%x, expected 0", v);
	/* A narrow write of 0 to Status would be a reset if it counted. */
	tg_write8(b + VIRTIO_MMIO_STATUS, 0);
	if (!expect_status(c, STATUS_LIVE, "an 8-bit write of 0 to Status"))
		return false;
	tg_write16(b + VIRTIO_MMIO_STATUS, 0);
	if (!expect_status(c, STATUS_LIVE, "a 16-bit write of 0 to Status"))
		return false;
	tg_write32(b + VIRTIO_MMIO_STATUS + 1, 0);
	return expect_status(c, STATUS_LIVE, "an unaligned 32-bit write of 0 at Status + 1");
}

enum tg_result hostile_register_misuse(char *msg, size_t len)
{
	struct hctx c;

	if (blk_begin(&c, msg, len, NULL) && readonly_registers(&c) && writeonly_registers(&c) &&
	    narrow_accesses(&c) && expect_healthy(&c, STATUS_LIVE))
		blk_round_trip(&c);
	return hostile_finish(&c);
}

static bool expect_isr(struct hctx *c, uint32_t want, const char *after)
{
	uint32_t isr = reg(c, VIRTIO_MMIO_INTERRUPT_STATUS);

	return isr == want ||
	       fail(c, "interrupt status 0x%x after %s, expected 0x%x", isr, after, want);
}

/* InterruptACK clears only the bits acknowledged; bits never set stay unset. */
enum tg_result hostile_isr_ack(char *msg, size_t len)
{
	uint64_t end;
	struct hctx c;
	uint32_t isr;

	if (!blk_begin(&c, msg, len, NULL))
		return hostile_finish(&c);
	isr = reg(&c, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (isr & ~VIRTIO_ISR_VQ) {
		fail(&c, "interrupt status 0x%x before anything happened", isr);
		return hostile_finish(&c);
	}
	wreg(&c, VIRTIO_MMIO_INTERRUPT_ACK, ~(uint32_t)(VIRTIO_ISR_VQ | VIRTIO_ISR_CONFIG));
	wreg(&c, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_CONFIG);
	if (!expect_isr(&c, isr, "acknowledging bits that were not set"))
		return hostile_finish(&c);
	wreg(&c, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	if (!expect_isr(&c, 0, "acknowledging everything"))
		return hostile_finish(&c);
	wreg(&c, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	if (!expect_isr(&c, 0, "acknowledging everything with nothing set"))
		return hostile_finish(&c);

	/* A completion the driver wants to hear of sets the queue bit (polled here). */
	virtqueue_enable_cb(c.blk->vqs[0]);
	if (!blk_round_trip(&c))
		return hostile_finish(&c);
	virtqueue_disable_cb(c.blk->vqs[0]);
	end = tg_ns() + EVENT_TIMEOUT;
	while (!(reg(&c, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_ISR_VQ) && tg_ns() < end)
		cpu_relax();
	if (!expect_isr(&c, VIRTIO_ISR_VQ, "completions with interrupts wanted"))
		return hostile_finish(&c);
	wreg(&c, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_CONFIG | 0xfc);
	if (!expect_isr(&c, VIRTIO_ISR_VQ, "acknowledging the other bits"))
		return hostile_finish(&c);
	wreg(&c, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_VQ);
	if (expect_isr(&c, 0, "acknowledging the queue bit"))
		expect_healthy(&c, STATUS_LIVE);
	return hostile_finish(&c);
}

/* Status: only a reset clears bits; NEEDS_RESET is the device's; FAILED may be added. */
enum tg_result hostile_status_no_clear(char *msg, size_t len)
{
	/* 0x87 and 0x8b clear a bit while adding FAILED: ignored whole, FAILED too. */
	static const uint32_t writes[] = {0x07, 0x0b, 0x03, 0x01, 0x87, 0x8b, 0x4f, 0x40, 0x100};
	struct hctx c;
	unsigned int i;

	if (!blk_begin(&c, msg, len, NULL))
		return hostile_finish(&c);
	for (i = 0; i < TG_ARRAY_SIZE(writes); i++) {
		char what[32];

		tg_snprintf(what, sizeof(what), "writing 0x%x", writes[i]);
		wreg(&c, VIRTIO_MMIO_STATUS, writes[i]);
		if (!expect_status(&c, STATUS_LIVE, what))
			return hostile_finish(&c);
	}
	/* Still live: the writes did not deactivate it behind a status that looks fine. */
	if (!blk_round_trip(&c))
		return hostile_finish(&c);
	wreg(&c, VIRTIO_MMIO_STATUS, STATUS_LIVE | VIRTIO_STATUS_FAILED);
	if (expect_status(&c, STATUS_LIVE | VIRTIO_STATUS_FAILED, "adding FAILED"))
		blk_recover(&c);
	return hostile_finish(&c);
}

/* FEATURES_OK is refused for bits not offered, and without VERSION_1. */
enum tg_result hostile_features_refused(char *msg, size_t len)
{
	const uint64_t offered =
	    VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
	    VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
	    VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
	    VIRTIO_BIT(VIRTIO_BLK_F_MQ) | VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
	    VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	const struct {
		const char *name;
		struct virtio_probe_opts opts;
	} cases[] = {
	    {"GEOMETRY (not offered)", {.force = VIRTIO_BIT(VIRTIO_BLK_F_GEOMETRY)}},
	    {"CONFIG_WCE (not offered)", {.force = VIRTIO_BIT(VIRTIO_BLK_F_CONFIG_WCE)}},
	    {"RING_PACKED (not offered)", {.force = VIRTIO_BIT(VIRTIO_F_RING_PACKED)}},
	    {"bit 63 (not offered)", {.force = VIRTIO_BIT(63)}},
	    {"without VERSION_1", {.clear = VIRTIO_BIT(VIRTIO_F_VERSION_1)}},
	};
	struct hctx c;
	unsigned int i;

	if (!blk_begin(&c, msg, len, NULL))
		return hostile_finish(&c);
	if (c.vdev->device_features != offered) {
		fail(&c, "device features 0x%llx, README promises 0x%llx",
		     (unsigned long long)c.vdev->device_features, (unsigned long long)offered);
		return hostile_finish(&c);
	}
	for (i = 0; i < TG_ARRAY_SIZE(cases); i++) {
		int err;

		c.o.step = cases[i].name;
		err = virtio_reprobe(c.vdev, &cases[i].opts);
		if (err != -VIRTIO_EREFUSED) {
			fail(&c, "probe gave %d (%s), expected FEATURES_OK refused", err,
			     err ? c.vdev->probe_error : "accepted");
			return hostile_finish(&c);
		}
		if (dev_status(&c) & VIRTIO_STATUS_FEATURES_OK) {
			fail(&c, "status 0x%x has FEATURES_OK", dev_status(&c));
			return hostile_finish(&c);
		}
	}
	c.o.step = "recovery";
	if (blk_recover(&c))
		tg_snprintf(msg, len, "%u refusals", i);
	return hostile_finish(&c);
}

/* Config space: any width inside it; all zeros for an access not wholly inside; writes dropped. */
static uintptr_t cfg(struct hctx *c, unsigned int off)
{
	return c->m->base + VIRTIO_MMIO_CONFIG + off;
}

static bool blk_config(struct hctx *c)
{
	uint64_t cap = virtio_cread64(c->vdev, VIRTIO_BLK_CFG_CAPACITY);
	uint32_t gen = reg(c, VIRTIO_MMIO_CONFIG_GENERATION), v;

	c->o.step = "virtio-blk";
	if (cap != c->capacity)
		return fail(c, "capacity %llu, probe read %llu", (unsigned long long)cap,
			    (unsigned long long)c->capacity);
	if (tg_read8(cfg(c, VIRTIO_BLK_CFG_SEG_MAX)) != VMM_BLK_SEG_MAX ||
	    tg_read16(cfg(c, VIRTIO_BLK_CFG_SEG_MAX)) != VMM_BLK_SEG_MAX)
		return fail(c, "seg_max read 8 and 16 bits wide: %u, %u (expected %u)",
			    tg_read8(cfg(c, VIRTIO_BLK_CFG_SEG_MAX)),
			    tg_read16(cfg(c, VIRTIO_BLK_CFG_SEG_MAX)), VMM_BLK_SEG_MAX);
	v = tg_read32(cfg(c, 1));
	if (v != (uint32_t)(cap >> 8))
		return fail(c, "unaligned 32-bit read of capacity bytes 1-4: 0x%x, expected 0x%x",
			    v, (uint32_t)(cap >> 8));
	if (tg_read32(cfg(c, 0xfc)) || tg_read16(cfg(c, 0xfe)) || tg_read8(cfg(c, 0xff)))
		return fail(c, "reads at the end of the window are not 0: 0x%x 0x%x 0x%x",
			    tg_read32(cfg(c, 0xfc)), tg_read16(cfg(c, 0xfe)),
			    tg_read8(cfg(c, 0xff)));
	tg_write32(cfg(c, VIRTIO_BLK_CFG_CAPACITY), 0xffffffff);
	tg_write8(cfg(c, VIRTIO_BLK_CFG_SEG_MAX), 1);
	tg_write32(cfg(c, 0xfc), 0x12345678);
	if (virtio_cread64(c->vdev, VIRTIO_BLK_CFG_CAPACITY) != cap ||
	    tg_read8(cfg(c, VIRTIO_BLK_CFG_SEG_MAX)) != VMM_BLK_SEG_MAX || tg_read32(cfg(c, 0xfc)))
		return fail(c, "config writes were not dropped");
	if (reg(c, VIRTIO_MMIO_CONFIG_GENERATION) != gen)
		return fail(c, "config generation moved from %u to %u on dropped writes", gen,
			    reg(c, VIRTIO_MMIO_CONFIG_GENERATION));
	c->o.step = NULL;
	return true;
}

/* The net config is 12 bytes (mtu last): a read straddling its end is all zeros. */
static bool net_config(struct hctx *c, struct virtio_device *ndev)
{
	struct virtio_mmio_device *nm = to_virtio_mmio(ndev);
	uintptr_t b = nm->base + VIRTIO_MMIO_CONFIG;
	uint16_t mtu = tg_read16(b + VIRTIO_NET_CFG_MTU);
	uint8_t mac0 = tg_read8(b + VIRTIO_NET_CFG_MAC);
	uint32_t v;

	c->o.step = "virtio-net";
	if (mtu < VIRTIO_NET_MIN_MTU)
		return fail(c, "mtu %u", mtu);
	v = tg_read32(b + VIRTIO_NET_CFG_MAX_VQ_PAIRS);
	if (v != ((uint32_t)mtu << 16 | 1))
		return fail(c, "max_virtqueue_pairs and mtu read as one word: 0x%x, expected 0x%x",
			    v, (uint32_t)mtu << 16 | 1);
	v = tg_read32(b + VIRTIO_NET_CFG_MTU);
	if (v)
		return fail(c, "a 32-bit read at the mtu (past the %u bytes) gave 0x%x, expected 0",
			    VMM_NET_CONFIG_LEN, v);
	if (tg_read16(b + VMM_NET_CONFIG_LEN - 1) || tg_read8(b + VMM_NET_CONFIG_LEN))
		return fail(c, "reads past the config are not 0");
	tg_write8(b + VIRTIO_NET_CFG_MAC, (uint8_t)~mac0);
	tg_write16(b + VIRTIO_NET_CFG_MTU, 100);
	if (tg_read8(b + VIRTIO_NET_CFG_MAC) != mac0 || tg_read16(b + VIRTIO_NET_CFG_MTU) != mtu)
		return fail(c, "config writes were not dropped");
	c->o.step = NULL;
	return true;
}

enum tg_result hostile_config_space(char *msg, size_t len)
{
	struct virtio_device *ndev = virtio_find_device(VIRTIO_ID_NET, 0);
	struct hctx c;

	if (blk_begin(&c, msg, len, NULL) && blk_config(&c) && (!ndev || net_config(&c, ndev)) &&
	    expect_healthy(&c, STATUS_LIVE) && blk_round_trip(&c) && !ndev)
		tg_snprintf(msg, len, "no virtio-net device: virtio-blk only");
	return hostile_finish(&c);
}
