/* SPDX-License-Identifier: MIT */
/*
 * The test guest's virtio-blk driver (VIRTIO 1.2 section 5.2).
 *
 * A request is a chain: a 16-byte header the device reads, the data
 * buffers (read by the device for writes, discards and write-zeroes,
 * written by it for reads and GET_ID), and a status byte it writes. The
 * caller owns struct virtio_blk_req and its buffers until the request
 * completes.
 *
 * Completion is polled (spinning on the used ring) unless the device was
 * probed with opts.use_irq or switched with virtio_use_irq(vdev, true):
 * then waits sleep until the device's interrupt. Either way the caller
 * collects completions with virtio_blk_poll() or waits for one request
 * with virtio_blk_wait(); nothing completes behind its back.
 *
 * Everything the device returns is checked: config fields (at validate,
 * clearing a feature whose field makes no sense), the status byte (one of
 * OK, IOERR, UNSUPP, and actually written: the used length must cover it)
 * and the used entries (virtio_ring.h).
 */
#ifndef TESTGUEST_VIRTIO_BLK_H
#define TESTGUEST_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio.h"

/* Feature bits. There is none for GET_ID: every device takes that request. */
#define VIRTIO_BLK_F_SIZE_MAX	  1
#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_GEOMETRY	  4
#define VIRTIO_BLK_F_RO		  5
#define VIRTIO_BLK_F_BLK_SIZE	  6
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_TOPOLOGY	  10
#define VIRTIO_BLK_F_CONFIG_WCE	  11
#define VIRTIO_BLK_F_MQ		  12
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Config space offsets. */
#define VIRTIO_BLK_CFG_CAPACITY			0  /* u64, in 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX			8  /* u32 */
#define VIRTIO_BLK_CFG_SEG_MAX			12 /* u32 */
#define VIRTIO_BLK_CFG_BLK_SIZE			20 /* u32 */
#define VIRTIO_BLK_CFG_NUM_QUEUES		34 /* u16 */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS	36 /* u32 */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG		40 /* u32 */
#define VIRTIO_BLK_CFG_DISCARD_ALIGNMENT	44 /* u32 */
#define VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS 48 /* u32 */
#define VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG	52 /* u32 */
#define VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP	56 /* u8 */

/* Request types and status values. */
#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK		  0
#define VIRTIO_BLK_S_IOERR	  1
#define VIRTIO_BLK_S_UNSUPP	  2

#define VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP 1

#define VIRTIO_BLK_ID_BYTES    20
#define VIRTIO_BLK_SECTOR_SIZE 512
#define VIRTIO_BLK_MAX_QUEUES  32
#define VIRTIO_BLK_TIMEOUT_NS  (10ULL * 1000 * 1000 * 1000)

struct virtio_blk_outhdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* The data of a discard or write-zeroes request: one or more of these. */
struct virtio_blk_discard_write_zeroes {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

struct virtio_blk_req {
	/* Set by virtio_blk_req_init(); change them afterwards for odd requests. */
	struct virtio_blk_outhdr hdr;
	const struct virtio_sg *data; /* the data buffers; may be NULL when nr_data is 0 */
	unsigned int nr_data;
	bool data_out;	       /* the device reads the data (it writes it otherwise) */
	enum vq_add_mode mode; /* VQ_AUTO unless set */
	bool no_limits;	       /* hostile: skip the driver's seg_max and size_max checks */
	void (*done)(struct virtio_blk_req *req); /* on completion, if set */
	void *priv;

	/* The driver's. */
	struct virtio_sg one; /* the data buffer of virtio_blk_req_init() */
	uint8_t status;	      /* written by the device; 0xff until it does */
	bool completed;
	int result;	   /* once completed: the status (>= 0) or -VIRTIO_E* */
	uint32_t used_len; /* what the device said it wrote, status byte included */
	unsigned int queue;
	int head;
};

struct virtio_blk_stats {
	uint64_t submitted, completed;
	uint64_t errors;     /* completed with IOERR or UNSUPP */
	uint64_t bad_status; /* status byte not written, or not a status */
	uint64_t short_len;  /* a read whose used length does not cover data and status */
};

struct virtio_blk {
	struct virtio_device *vdev;
	/* Config, as read and checked at probe (0 where the feature is off). */
	uint64_t capacity; /* 512-byte sectors */
	uint32_t size_max, seg_max, blk_size;
	uint16_t num_queues; /* the device's */
	uint32_t max_discard_sectors, max_discard_seg, discard_sector_alignment;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
	bool write_zeroes_may_unmap;
	bool ro;

	unsigned int nr_queues; /* set up: the device's, or fewer (opts.max_queues) */
	struct virtqueue *vqs[VIRTIO_BLK_MAX_QUEUES];
	struct virtio_sg *sg; /* one chain's buffers, being built */
	unsigned int sg_cap;
	uint64_t timeout_ns; /* of the synchronous helpers (VIRTIO_BLK_TIMEOUT_NS) */
	bool dead;	     /* reset after a timeout: reprobe to use it again */
	struct virtio_blk_stats stats;
};

extern struct virtio_driver virtio_blk_driver;

/* Put the driver on the bus (once): matching devices are probed now or when found. */
void virtio_blk_register(void);
/*
 * The @n-th virtio-blk device bound to this driver, or NULL. Every probe
 * makes a new struct virtio_blk: look it up again after a reprobe.
 */
struct virtio_blk *virtio_blk_get(unsigned int n);
/* @vdev's, if bound to this driver, or NULL. */
struct virtio_blk *virtio_blk_of(struct virtio_device *vdev);

/*
 * A request of @type at @sector with one data buffer (@buf may be NULL with
 * @len 0); direction from the type (unknown types: device-writable data).
 */
void virtio_blk_req_init(struct virtio_blk_req *req, uint32_t type, uint64_t sector, void *buf,
			 uint32_t len);
/* The same with the data in @nr buffers of @sg (which must outlive the request). */
void virtio_blk_req_init_sg(struct virtio_blk_req *req, uint32_t type, uint64_t sector,
			    const struct virtio_sg *sg, unsigned int nr);

/*
 * Post @req on queue @q: virtio_blk_queue() without notifying (for
 * batches; then virtio_blk_kick()), virtio_blk_submit() with. 0, or
 * -VIRTIO_ENOSPC (queue full: poll and retry), -VIRTIO_E2BIG (more buffers
 * than seg_max or one larger than size_max), -VIRTIO_EINVAL, -VIRTIO_EBROKEN.
 */
int virtio_blk_queue(struct virtio_blk *blk, unsigned int q, struct virtio_blk_req *req);
int virtio_blk_submit(struct virtio_blk *blk, unsigned int q, struct virtio_blk_req *req);
bool virtio_blk_kick(struct virtio_blk *blk, unsigned int q);
/* Complete every request the device returned on queue @q; returns how many. */
unsigned int virtio_blk_poll(struct virtio_blk *blk, unsigned int q);
/*
 * Until @req completes: its result, or -VIRTIO_ETIMEDOUT (@req is then
 * still the device's: reset the device before reusing its memory) or
 * -VIRTIO_EBROKEN.
 */
int virtio_blk_wait(struct virtio_blk *blk, struct virtio_blk_req *req, uint64_t timeout_ns);
/* Until at least one more request on @q completes; how many did, or -VIRTIO_E*. */
int virtio_blk_wait_any(struct virtio_blk *blk, unsigned int q, uint64_t timeout_ns);

/*
 * Synchronous helpers on queue 0: the status (VIRTIO_BLK_S_*, >= 0) or
 * -VIRTIO_E*. A timeout resets the device (its buffers may be on the
 * caller's stack) and marks @blk dead. Features the request needs must have
 * been negotiated (-VIRTIO_EINVAL otherwise): build the request by hand to
 * send one anyway.
 */
int virtio_blk_do(struct virtio_blk *blk, unsigned int q, struct virtio_blk_req *req);
int virtio_blk_read(struct virtio_blk *blk, uint64_t sector, void *buf, uint32_t len);
int virtio_blk_write(struct virtio_blk *blk, uint64_t sector, const void *buf, uint32_t len);
int virtio_blk_flush(struct virtio_blk *blk);
/* The device's ID, NUL-terminated (it need not be). */
int virtio_blk_get_id(struct virtio_blk *blk, char id[VIRTIO_BLK_ID_BYTES + 1]);
int virtio_blk_discard(struct virtio_blk *blk, uint64_t sector, uint32_t nr_sectors);
int virtio_blk_write_zeroes(struct virtio_blk *blk, uint64_t sector, uint32_t nr_sectors,
			    bool unmap);

#endif
