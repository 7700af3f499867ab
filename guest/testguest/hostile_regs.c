// SPDX-License-Identifier: MIT
/*
 * Hostile scenarios, registers: read-only, write-only and legacy registers,
 * narrow and unaligned accesses, InterruptACK, Status bits cleared, features
 * not offered, config space accesses out of range. All on the disk, bound
 * and live (Status 0x0f) unless a step says otherwise.
 */
#include "hostile.h"

/* Read-only registers keep their value whatever is written to them (its inverse here). */
#define KEEPS(n, o) STEP(n, write_inverse, .expect = X_KEPT, .r = {.off = (o)})

static bool write_inverse(struct hctx *c, const struct hstep *st)
{
	write_reg(c, st->r.off, ~read_reg(c, &st->r), st->r.width);
	return true;
}

enum tg_result hostile_register_misuse(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    READS("MagicValue", VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_MAGIC),
	    READS("Version", VIRTIO_MMIO_VERSION, 2),
	    READS("DeviceID", VIRTIO_MMIO_DEVICE_ID, VIRTIO_ID_BLOCK),
	    READS("QueueNumMax", VIRTIO_MMIO_QUEUE_NUM_MAX, VMM_QUEUE_NUM_MAX),
	    KEEPS("MagicValue", VIRTIO_MMIO_MAGIC_VALUE),
	    KEEPS("Version", VIRTIO_MMIO_VERSION),
	    KEEPS("DeviceID", VIRTIO_MMIO_DEVICE_ID),
	    KEEPS("VendorID", VIRTIO_MMIO_VENDOR_ID),
	    KEEPS("DeviceFeatures", VIRTIO_MMIO_DEVICE_FEATURES),
	    KEEPS("QueueNumMax", VIRTIO_MMIO_QUEUE_NUM_MAX),
	    KEEPS("InterruptStatus", VIRTIO_MMIO_INTERRUPT_STATUS),
	    KEEPS("ConfigGeneration", VIRTIO_MMIO_CONFIG_GENERATION),
	    /* Write-only registers, the legacy ones and unknown offsets read 0... */
	    WRITE("the feature selectors set to 1", WR(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1),
		  WR(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1)),
	    /* ...the selectors even while set to something else. */
	    READS("DeviceFeaturesSel", VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0),
	    READS("DriverFeatures", VIRTIO_MMIO_DRIVER_FEATURES, 0),
	    READS("DriverFeaturesSel", VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0),
	    READS("QueueSel", VIRTIO_MMIO_QUEUE_SEL, 0),
	    READS("QueueNotify", VIRTIO_MMIO_QUEUE_NOTIFY, 0),
	    READS("InterruptACK", VIRTIO_MMIO_INTERRUPT_ACK, 0),
	    READS("GuestPageSize (legacy)", VIRTIO_MMIO_GUEST_PAGE, 0),
	    READS("QueueAlign (legacy)", VIRTIO_MMIO_QUEUE_ALIGN, 0),
	    READS("QueuePFN (legacy)", VIRTIO_MMIO_QUEUE_PFN, 0),
	    READS("offset 0xc0", 0x0c0, 0),
	    READS("offset 0xf8", 0x0f8, 0),
	    /* DeviceFeaturesSel is 1 now: the high word, with VERSION_1 (bit 32). */
	    READS_BITS("DeviceFeatures word 1", VIRTIO_MMIO_DEVICE_FEATURES, 1, 1),
	    WRITE_READS("DeviceFeatures word 2", VIRTIO_MMIO_DEVICE_FEATURES, 0,
			WR(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2)),
	    WRITE("the feature selectors set to 0", WR(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0),
		  WR(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0)),
	    /* No shared memory: the registers of a region that does not exist read ~0. */
	    READS("SHMLenLow", VIRTIO_MMIO_SHM_LEN_LOW, 0xffffffff),
	    READS("SHMLenHigh", VIRTIO_MMIO_SHM_LEN_HIGH, 0xffffffff),
	    READS("SHMBaseLow", VIRTIO_MMIO_SHM_BASE_LOW, 0xffffffff),
	    READS("SHMBaseHigh", VIRTIO_MMIO_SHM_BASE_HI, 0xffffffff),
	    /* A legacy QueuePFN write must not set anything up (nor tear anything down). */
	    WRITE("SHMSel, and a legacy QueuePFN", WR(VIRTIO_MMIO_SHM_SEL, 0),
		  WR(VIRTIO_MMIO_QUEUE_PFN, 0x1234)),
	    /* Registers take 32-bit aligned accesses only: others are ignored and read 0. */
	    READS_AT("8-bit read of MagicValue", VIRTIO_MMIO_MAGIC_VALUE, 8, 0),
	    READS_AT("16-bit read of MagicValue", VIRTIO_MMIO_MAGIC_VALUE, 16, 0),
	    READS_AT("unaligned 32-bit read at 0x002", VIRTIO_MMIO_MAGIC_VALUE + 2, 32, 0),
	    /* A narrow write of 0 to Status would be a reset if it counted. */
	    WRITE_STATUS("an 8-bit write of 0 to Status", STATUS_LIVE,
			 WR_AT(VIRTIO_MMIO_STATUS, 0, 8)),
	    WRITE_STATUS("a 16-bit write of 0 to Status", STATUS_LIVE,
			 WR_AT(VIRTIO_MMIO_STATUS, 0, 16)),
	    WRITE_STATUS("an unaligned 32-bit write of 0 at Status + 1", STATUS_LIVE,
			 WR_AT(VIRTIO_MMIO_STATUS + 1, 0, 32)),
	};
	static const struct hscenario sc = {STEPS(steps), .end = END_HEALTHY_ROUND_TRIP};

	return hostile_run(msg, len, &sc);
}

/* A completion the driver wants to hear of sets the queue bit (polled for here). */
static bool round_trip_wanting_irq(struct hctx *c, const struct hstep *st)
{
	uint64_t end;

	(void)st;
	virtqueue_enable_cb(c->blk->vqs[0]);
	if (!blk_round_trip(c))
		return false;
	virtqueue_disable_cb(c->blk->vqs[0]);
	end = tg_ns() + EVENT_TIMEOUT;
	while (!(reg(c, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_ISR_VQ) && tg_ns() < end)
		cpu_relax();
	return true;
}

#define ISR  VIRTIO_MMIO_INTERRUPT_STATUS
#define IACK VIRTIO_MMIO_INTERRUPT_ACK

/* InterruptACK clears only the bits acknowledged; bits never set stay unset. */
enum tg_result hostile_isr_ack(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    READS_BITS("before anything happened", ISR, ~(uint32_t)VIRTIO_ISR_VQ, 0),
	    STEP("acknowledging bits that were not set", write_regs,
		 .wr = W(WR(IACK, ~(uint32_t)(VIRTIO_ISR_VQ | VIRTIO_ISR_CONFIG)),
			 WR(IACK, VIRTIO_ISR_CONFIG)),
		 .expect = X_KEPT, .r = {.off = ISR}),
	    WRITE_READS("acknowledging everything", ISR, 0, WR(IACK, 0xffffffff)),
	    WRITE_READS("acknowledging everything with nothing set", ISR, 0, WR(IACK, 0xffffffff)),
	    STEP("completions with interrupts wanted", round_trip_wanting_irq, .expect = X_READS,
		 .r = {.off = ISR}, .want = VIRTIO_ISR_VQ),
	    WRITE_READS("acknowledging the other bits", ISR, VIRTIO_ISR_VQ,
			WR(IACK, VIRTIO_ISR_CONFIG | 0xfc)),
	    STEP("acknowledging the queue bit", write_regs, .wr = W(WR(IACK, VIRTIO_ISR_VQ)),
		 .expect = X_READS | X_HEALTHY, .r = {.off = ISR}, .want = 0,
		 .status = STATUS_LIVE),
	};
	static const struct hscenario sc = {STEPS(steps), .end = END_NONE};

	return hostile_run(msg, len, &sc);
}

#define STATUS_WRITE_IGNORED(v) WRITE_STATUS("writing " #v, STATUS_LIVE, WR(VIRTIO_MMIO_STATUS, v))

/* Status: only a reset clears bits; NEEDS_RESET is the device's; FAILED may be added. */
enum tg_result hostile_status_no_clear(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    STATUS_WRITE_IGNORED(0x07),
	    STATUS_WRITE_IGNORED(0x0b),
	    STATUS_WRITE_IGNORED(0x03),
	    STATUS_WRITE_IGNORED(0x01),
	    /* 0x87 and 0x8b clear a bit while adding FAILED: ignored whole, FAILED too. */
	    STATUS_WRITE_IGNORED(0x87),
	    STATUS_WRITE_IGNORED(0x8b),
	    STATUS_WRITE_IGNORED(0x4f),
	    STATUS_WRITE_IGNORED(0x40),
	    STATUS_WRITE_IGNORED(0x100),
	    /* Still live: the writes did not deactivate it behind a status that looks fine. */
	    STEP("a round trip", round_trip),
	    WRITE_STATUS("adding FAILED", STATUS_LIVE | VIRTIO_STATUS_FAILED,
			 WR(VIRTIO_MMIO_STATUS, STATUS_LIVE | VIRTIO_STATUS_FAILED)),
	};
	static const struct hscenario sc = {STEPS(steps)};

	return hostile_run(msg, len, &sc);
}

/* What the README promises the disk offers: nothing else is accepted. */
static bool offers_readme_features(struct hctx *c, const struct hstep *st)
{
	const uint64_t offered =
	    VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
	    VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
	    VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
	    VIRTIO_BIT(VIRTIO_BLK_F_MQ) | VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
	    VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);

	(void)st;
	return c->vdev->device_features == offered ||
	       fail(c, "device features 0x%llx, README promises 0x%llx",
		    (unsigned long long)c->vdev->device_features, (unsigned long long)offered);
}

/* A probe with @opts: FEATURES_OK refused, and not left set. */
static bool probe_refused(struct hctx *c, const struct hstep *st)
{
	int err = virtio_reprobe(c->vdev, &st->opts);

	if (err != -VIRTIO_EREFUSED)
		return fail(c, "probe gave %d (%s), expected FEATURES_OK refused", err,
			    err ? c->vdev->probe_error : "accepted");
	if (dev_status(c) & VIRTIO_STATUS_FEATURES_OK)
		return fail(c, "status 0x%x has FEATURES_OK", dev_status(c));
	return true;
}

#define REFUSED(n, ...) STEP(n, probe_refused, .opts = {__VA_ARGS__})

/* The probes after the first step's look at the offer. */
static void note_refusals(struct hctx *c, const struct hscenario *sc)
{
	tg_snprintf(c->o.msg, c->o.len, "%u refusals", sc->nsteps - 1);
}

/* FEATURES_OK is refused for bits not offered, and without VERSION_1. */
enum tg_result hostile_features_refused(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    STEP(NULL, offers_readme_features),
	    REFUSED("GEOMETRY (not offered)", .force = VIRTIO_BIT(VIRTIO_BLK_F_GEOMETRY)),
	    REFUSED("CONFIG_WCE (not offered)", .force = VIRTIO_BIT(VIRTIO_BLK_F_CONFIG_WCE)),
	    REFUSED("RING_PACKED (not offered)", .force = VIRTIO_BIT(VIRTIO_F_RING_PACKED)),
	    REFUSED("bit 63 (not offered)", .force = VIRTIO_BIT(63)),
	    REFUSED("without VERSION_1", .clear = VIRTIO_BIT(VIRTIO_F_VERSION_1)),
	};
	static const struct hscenario sc = {STEPS(steps), .note = note_refusals};

	return hostile_run(msg, len, &sc);
}

/* Config space: any width inside it; all zeros for an access not wholly inside; writes dropped. */
static uintptr_t cfg(struct hctx *c, unsigned int off)
{
	return c->m->base + VIRTIO_MMIO_CONFIG + off;
}

static bool blk_config(struct hctx *c, const struct hstep *st)
{
	uint64_t cap = virtio_cread64(c->vdev, VIRTIO_BLK_CFG_CAPACITY);
	uint32_t gen = reg(c, VIRTIO_MMIO_CONFIG_GENERATION), v;

	(void)st;
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
	return true;
}

/* The net config is 12 bytes (mtu last): a read straddling its end is all zeros. */
static bool net_config(struct hctx *c, const struct hstep *st)
{
	struct virtio_device *ndev = virtio_find_device(VIRTIO_ID_NET, 0);
	uintptr_t b;
	uint16_t mtu;
	uint8_t mac0;
	uint32_t v;

	(void)st;
	if (!ndev)
		return true;
	b = to_virtio_mmio(ndev)->base + VIRTIO_MMIO_CONFIG;
	mtu = tg_read16(b + VIRTIO_NET_CFG_MTU);
	mac0 = tg_read8(b + VIRTIO_NET_CFG_MAC);
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
	return true;
}

static void note_config(struct hctx *c, const struct hscenario *sc)
{
	(void)sc;
	if (!virtio_find_device(VIRTIO_ID_NET, 0))
		tg_snprintf(c->o.msg, c->o.len, "no virtio-net device: virtio-blk only");
}

/*
 * Not a table of register steps: what the reads must give (the capacity, the
 * mtu, the generation) comes from the device at run time, so each device's
 * checks are one step of their own.
 */
enum tg_result hostile_config_space(char *msg, size_t len)
{
	static const struct hstep steps[] = {
	    STEP("virtio-blk", blk_config),
	    STEP("virtio-net", net_config),
	};
	static const struct hscenario sc = {
	    STEPS(steps),
	    .end = END_HEALTHY_ROUND_TRIP,
	    .note = note_config,
	};

	return hostile_run(msg, len, &sc);
}
