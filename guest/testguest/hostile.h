/* SPDX-License-Identifier: MIT */
/*
 * The hostile group's private header: the context every scenario works in
 * and the helpers they share (hostile.c), for the scenario files split by
 * area (hostile_blk.c, hostile_regs.c, hostile_queue.c, hostile_net.c).
 * What the group checks, and why, is described in hostile.c.
 */
#ifndef TESTGUEST_HOSTILE_H
#define TESTGUEST_HOSTILE_H

#include "frames.h"
#include "outcome.h"
#include "rt.h"
#include "scenario.h"
#include "virtio.h"
#include "virtio_blk.h"
#include "virtio_mmio.h"
#include "virtio_net.h"

#define MS			 1000000ULL
#define EVENT_TIMEOUT		 (2000 * MS) /* the device's reaction to one bad thing */
#define QUIET_NS		 (50 * MS)   /* "nothing happens": far above a request's latency */
#define RT_BYTES		 1024u	     /* round trip size: two sectors */
#define SCRATCH_SECTORS		 16u	     /* at the end of the disk, ours */
#define SMALL_QUEUE		 8u
#define VMM_QUEUE_NUM_MAX	 256u /* the VMM's QueueNumMax, also its cap on a chain */
#define VMM_BLK_SEG_MAX		 254u
#define VMM_NET_CONFIG_LEN	 12u /* up to and including mtu */
#define VMM_BLK_RANGE_SECTORS	 (1u << 21)
#define STATUS_LIVE		 0x0f
#define STATUS_NEEDS_RESET	 VIRTIO_STATUS_DEVICE_NEEDS_RESET
#define FAR_ADDRESS		 (1ULL << 46) /* 64 TiB: beyond any RAM the VMM gives a guest */
#define WRAPPING_ADDRESS	 0xffffffffffffff00ULL
#define IOAPIC_ADDRESS		 0xfec00000ULL
#define LAPIC_ADDRESS		 0xfee00000ULL
#define VIRTIO_MMIO_GUEST_PAGE	 0x028 /* legacy registers: not there in version 2 */
#define VIRTIO_MMIO_QUEUE_ALIGN	 0x03c
#define VIRTIO_MMIO_QUEUE_PFN	 0x040
#define VIRTIO_MMIO_SHM_SEL	 0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW	 0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH 0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW 0x0b8
#define VIRTIO_MMIO_SHM_BASE_HI	 0x0bc
#define CANARY			 0xa5 /* in the device-writable buffers of a chain to be refused */

/* Queue layout (hostile_queue.c): the rings of one queue, as its registers say. */
struct layout {
	uint32_t num;
	uint64_t desc, avail, used;
};

struct hctx {
	struct tg_outcome o; /* o.step: the variant being tried, for the message */
	const struct hdev *dev;
	struct virtio_device *vdev;
	struct virtio_mmio_device *m;
	struct virtio_probe_opts opts; /* what recovery probes with */
	struct virtio_blk *blk;
	struct virtio_net *net;
	/* blk */
	uint64_t capacity, scratch;
	struct virtio_blk_outhdr *hdr;
	uint8_t *status;
	uint8_t *wbuf; /* a pattern no round trip writes */
	uint8_t *rbuf; /* for device-writable buffers */
	uint8_t *last; /* what the last round trip left at scratch */
	bool have_last;
	uint32_t seed;
	/* net */
	uint8_t guest_ip[4], peer_ip[4];
	uint8_t *frame;
	uint8_t stray_ip[4]; /* net_tx_bad_chains: the bad chain's sender */
	uint8_t *txbuf;	     /* and its frame */
	/* the raw chain post_chain() posted last: X_USED waits for it, then frees it */
	uint16_t ids[16];
	unsigned int nids;
	/* the result of the last request, for X_REQ */
	int res;
	uint32_t res_len;
	uint8_t *aux; /* buffers of the odd requests, allocated on first use */
	void *priv;   /* what a scenario's own steps share */
	/* queue layout: a device set up by hand */
	struct virtqueue *vq; /* the ring made by hand */
	struct layout lay_manual, lay_other;
};

/* Results. */

#define fail(c, ...) tg_fail(&(c)->o, __VA_ARGS__)
#define skip(c, ...) tg_skip(&(c)->o, __VA_ARGS__)

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* Registers. */

static inline uint32_t reg(struct hctx *c, unsigned int off)
{
	return virtio_mmio_read(c->m, off);
}

static inline void wreg(struct hctx *c, unsigned int off, uint32_t val)
{
	virtio_mmio_write(c->m, off, val);
}

static inline uint32_t dev_status(struct hctx *c)
{
	return reg(c, VIRTIO_MMIO_STATUS);
}

bool dev_reset(struct hctx *c);
bool expect_status(struct hctx *c, uint32_t want, const char *after);

/* Setting up and recovering. */

bool device_up(struct hctx *c);
bool reset_and_reprobe(struct hctx *c);
bool same_words(const void *a, const void *b, size_t len);
bool blk_round_trip(struct hctx *c);
void hostile_quiet(void);

/* Raw chains. */

struct seg {
	uint64_t addr;
	uint32_t len;
	uint16_t flags; /* WRITE, INDIRECT; NEXT is added between segments */
};

static inline struct seg seg_of(const void *p, uint32_t len, uint16_t flags)
{
	return (struct seg){(uintptr_t)p, len, flags};
}

void set_hdr(struct hctx *c, uint32_t type, uint64_t sector);
bool lay_chain(struct hctx *c, struct virtqueue *vq, const struct seg *s, unsigned int n,
	       uint16_t *ids);
bool post_chain(struct hctx *c, struct virtqueue *vq, const struct seg *s, unsigned int n);
struct vring_desc *make_table(const struct seg *s, unsigned int n, unsigned int room);
bool post_indirect(struct hctx *c, struct virtqueue *vq, uint64_t t, uint32_t len,
		   uint16_t extra_flags);

/*
 * A scenario as a table of steps. A step does one thing (@act: post a
 * chain, write registers, set up a ring, send a request), may then notify
 * its queue (@kick), and checks what must follow (@expect, X_* bits, checked
 * in the order listed). hostile_run() begins (probe, round trip), runs the
 * steps in order until one fails, ends as the scenario says (@end) and
 * notes a PASS (@note).
 *
 * @name is the step's failure prefix (o.step); NULL keeps the one before's,
 * for a step that goes on with what the one before began. An action may be
 * a check of its own (it returns false after fail() like any other); one
 * that needs state from an earlier step keeps it in struct hctx. A step
 * that returns false without fail() or skip() fails the scenario.
 *
 * A new case is a line in a table when an action for it exists, e.g. in
 * hostile_queue_bad_rings():
 *
 *	RING("used ring 2 bytes after the available ring", PART_USED,
 *	     .from = PART_AVAIL, .offset = 4 + 2 * SMALL_QUEUE + 2),
 *
 * and a new scenario a table, a struct hscenario and a line in the group's
 * table in hostile.c (its name and function, declared below).
 */
struct hstep;
typedef bool hact_fn(struct hctx *c, const struct hstep *s);

/* The queue a step acts on: notified when @kick, watched by X_NOT_USED and X_USED. */
enum hqueue { Q_BLK, Q_TX, Q_RX };

/* The checks, in the order they are made: the device's reaction first, recovery last. */
enum {
	X_CONFIG_IRQ = 1 << 0,	      /* a config interrupt taken, and NEEDS_RESET with it */
	X_NEEDS_RESET = 1 << 1,	      /* DEVICE_NEEDS_RESET and a config interrupt (polled) */
	X_NEEDS_RESET_QUIET = 1 << 2, /* DEVICE_NEEDS_RESET, no config interrupt (no DRIVER_OK) */
	X_QUEUE_REFUSED = 1 << 3,     /* QueueReady reads 0; DRIVER_OK is refused */
	X_NOT_USED = 1 << 4,	      /* the queue's used index did not move */
	X_HEAD_NOT_USED = 1 << 5,     /* no used entry is the chain's (others may come) */
	X_CANARY = 1 << 6,	      /* the chain's device-writable buffers keep the canary */
	X_USED = 1 << 7,	      /* the chain comes back, used length @used_len (freed) */
	X_STATUS_BYTE = 1 << 8,	      /* its status byte reads @want */
	X_REQ = 1 << 9,		      /* the request gets status @want (used length 1 if bad) */
	X_QUEUES_QUIET = 1 << 10,     /* no queue of the disk serves anything for QUIET_NS */
	X_READS = 1 << 11,	      /* register @r reads @want (in the bits of @r.mask) */
	X_KEPT = 1 << 12,	      /* register @r reads what it read before the action */
	X_LAYOUT = 1 << 13,	      /* queue @lay.q: layout @lay.layout, QueueReady @lay.ready */
	X_STATUS = 1 << 14,	      /* Status reads @status */
	X_HEALTHY = 1 << 15,	      /* Status reads @status, and no config interrupt */
	X_RESET = 1 << 16,	      /* then a reset: Status reads 0 */
	X_RECOVER = 1 << 17,	      /* then reset, probe again and round trip */
};

/* A chain no correct driver posts: refused whole, with NEEDS_RESET, and then recovered from. */
#define X_REFUSED (X_NEEDS_RESET | X_NOT_USED | X_CANARY | X_RECOVER)
/* A ring the device cannot map at QueueReady, before DRIVER_OK; then a reset. */
#define X_RING_REFUSED (X_NEEDS_RESET_QUIET | X_QUEUE_REFUSED | X_RESET)

/* Arguments of the chain actions (hostile_blk.c), as each says. */
struct hchain {
	uint64_t addr; /* the bad buffer's (or table's) address */
	uint32_t len;  /* its length, or a number the action takes */
	bool read;     /* a read (the bad buffer device-writable), or a variant the action names */
};

/* A request (hostile_blk.c): its sector counted from 0, back from the capacity, or into scratch. */
enum hat { AT_SECTOR, AT_END, AT_SCRATCH };
enum hbuf { BUF_READ, BUF_WRITE, BUF_TAIL, BUF_ID, BUF_RANGE }; /* rbuf, wbuf, ...: req_buf() */
enum hdir { DIR_OF_TYPE, DIR_TO_DEVICE, DIR_FROM_DEVICE };	/* the data's, or the type's */

struct hreq {
	uint32_t type;
	enum hat at;
	uint64_t sector;
	enum hbuf buf;
	uint32_t len;
	enum hdir dir;
	struct { /* BUF_RANGE: the segment of a DISCARD or WRITE_ZEROES */
		enum hat at;
		uint64_t sector;
		uint32_t num_sectors, flags;
	} range;
};

/*
 * A register access: @off from the device's base; @width 0 for a register
 * access as drivers make it, 8, 16 or 32 for one of that width as it is
 * (narrow, unaligned, or in config space).
 */
struct hreg {
	unsigned int off;
	unsigned int width;
	uint32_t mask; /* X_READS: the bits compared; 0: all */
};

/* L_LIVE: the driver's queue 0; L_MANUAL: the ring made by hand; L_OTHER: another, 4 long. */
enum hlayout { L_LIVE, L_MANUAL, L_OTHER, L_RESET, L_NONE }; /* L_RESET: after a reset */

#define QUEUE_PAST_LAST (-1) /* the first queue the disk does not have */

struct hqlayout {
	int q;
	enum hlayout layout;
	uint32_t ready;
};

/* A ring layout changed from a good one: @part at @addr, or @offset from @from's (or its own). */
enum ring_part { PART_NONE, PART_DESC, PART_AVAIL, PART_USED };

struct hring {
	enum ring_part part, from;
	uint64_t addr;
	int64_t offset;
	bool set_num; /* QueueNum = @num instead of the good one, to read back as @num_read */
	uint32_t num;
	uint32_t num_read;
};

struct hwrite {
	unsigned int off;
	uint32_t val;
	unsigned int width;
};

struct hstep {
	const char *name;
	hact_fn *act; /* NULL: nothing to do, only checks */
	enum hqueue q;
	bool kick;
	unsigned int expect;
	uint32_t want;	     /* X_STATUS_BYTE, X_REQ, X_READS */
	uint32_t used_len;   /* X_USED */
	uint32_t status;     /* X_STATUS, X_HEALTHY */
	struct hreg r;	     /* X_READS, X_KEPT */
	struct hqlayout lay; /* X_LAYOUT */
	union {		     /* the action's arguments */
		struct hchain chain;
		struct hreq req;
		struct {
			struct hwrite w[4];
			unsigned int n;
		} wr;			       /* write_regs(), in order */
		struct virtio_probe_opts opts; /* a probe's */
		struct hqlayout qs;	       /* set_up_queue()'s */
		struct hring ring;
		struct {
			bool features_ok;
			unsigned int num;
		} manual; /* start_by_hand()'s */
	};
};

/* A step named @n that does @fn (NULL: nothing), then what the rest says (.expect = ...). */
#define STEP(n, fn, ...)                                                                           \
	{                                                                                          \
		.name = (n), .act = (fn), __VA_ARGS__                                              \
	}

/* Register steps: up to 4 writes, WR(off, val) or WR_AT(off, val, width), done in order. */
#define WR(o, v)                                                                                   \
	{                                                                                          \
		.off = (o), .val = (v)                                                             \
	}
#define WR_AT(o, v, wd)                                                                            \
	{                                                                                          \
		.off = (o), .val = (v), .width = (wd)                                              \
	}
#define W(...)                                                                                     \
	{                                                                                          \
		.w = {__VA_ARGS__},                                                                \
		.n = sizeof((struct hwrite[]){__VA_ARGS__}) / sizeof(struct hwrite)                \
	}
#define WRITE(n, ...) STEP(n, write_regs, .wr = W(__VA_ARGS__))
#define WRITE_STATUS(n, st, ...)                                                                   \
	STEP(n, write_regs, .wr = W(__VA_ARGS__), .expect = X_STATUS, .status = (st))
#define WRITE_READS(n, o, v, ...)                                                                  \
	STEP(n, write_regs, .wr = W(__VA_ARGS__), .expect = X_READS, .r = {.off = (o)}, .want = (v))
#define READS(n, o, v) STEP(n, NULL, .expect = X_READS, .r = {.off = (o)}, .want = (v))
#define READS_AT(n, o, wd, v)                                                                      \
	STEP(n, NULL, .expect = X_READS, .r = {.off = (o), .width = (wd)}, .want = (v))
#define READS_BITS(n, o, m, v)                                                                     \
	STEP(n, NULL, .expect = X_READS, .r = {.off = (o), .mask = (m)}, .want = (v))

/* How a scenario ends once its steps passed. */
enum hend {
	/* Reset, probe again, round trip: the device works after all that (the default). */
	END_RECOVER,
	/* Nothing was broken: Status still 0x0f, no config interrupt, and a round trip. */
	END_HEALTHY_ROUND_TRIP,
	/* Nothing more: the steps recovered (or checked) by themselves. */
	END_NONE,
};

struct hscenario;

/* A device kind: how a scenario begins on it, recovers it and proves it usable. */
struct hdev {
	bool (*begin)(struct hctx *c, char *msg, size_t len, const struct hscenario *sc);
	bool (*recover)(struct hctx *c);
	bool (*round_trip)(struct hctx *c);
};

extern const struct hdev hostile_blk_dev, hostile_net_dev;

struct hscenario {
	const struct hdev *dev;	       /* NULL: the disk (hostile_blk_dev) */
	struct virtio_probe_opts opts; /* what begin and recovery probe with */
	unsigned int rx_bufs;	       /* net: receive buffers at the first probe (0: all) */
	const struct hstep *steps;
	unsigned int nsteps;
	enum hend end;
	void (*note)(struct hctx *c, const struct hscenario *sc); /* for a PASS; NULL: none */
};

#define STEPS(a) .steps = (a), .nsteps = TG_ARRAY_SIZE(a)

enum tg_result hostile_run(char *msg, size_t len, const struct hscenario *sc);
uint32_t read_reg(struct hctx *c, const struct hreg *r);
void write_reg(struct hctx *c, unsigned int off, uint32_t val, unsigned int width);
bool write_regs(struct hctx *c, const struct hstep *s);
bool round_trip(struct hctx *c, const struct hstep *s);
bool reset(struct hctx *c, const struct hstep *s);
bool expect_layout(struct hctx *c, const struct hqlayout *want);
bool expect_queue_refused(struct hctx *c);
struct virtqueue *step_vq(struct hctx *c, const struct hstep *s);
void note_variants(struct hctx *c, const struct hscenario *sc);

/* The scenarios, in the group's order (hostile.c). */

enum tg_result hostile_buffer_outside_ram(char *msg, size_t len);
enum tg_result hostile_chain_loop(char *msg, size_t len);
enum tg_result hostile_chain_oversized(char *msg, size_t len);
enum tg_result hostile_indirect_misuse(char *msg, size_t len);
enum tg_result hostile_indirect_unnegotiated(char *msg, size_t len);
enum tg_result hostile_ring_indices(char *msg, size_t len);
enum tg_result hostile_bad_buffers(char *msg, size_t len);
enum tg_result hostile_needs_reset_interrupt(char *msg, size_t len);
enum tg_result hostile_reset_in_flight(char *msg, size_t len);
enum tg_result hostile_bad_requests(char *msg, size_t len);
enum tg_result hostile_register_misuse(char *msg, size_t len);
enum tg_result hostile_queue_regs_locked(char *msg, size_t len);
enum tg_result hostile_setup_order(char *msg, size_t len);
enum tg_result hostile_queue_bad_rings(char *msg, size_t len);
enum tg_result hostile_notify_bad_queue(char *msg, size_t len);
enum tg_result hostile_isr_ack(char *msg, size_t len);
enum tg_result hostile_status_no_clear(char *msg, size_t len);
enum tg_result hostile_features_refused(char *msg, size_t len);
enum tg_result hostile_config_space(char *msg, size_t len);
enum tg_result hostile_net_rx_readable(char *msg, size_t len);
enum tg_result hostile_net_tx_bad_chains(char *msg, size_t len);
enum tg_result hostile_net_tx_loop(char *msg, size_t len);

#endif
