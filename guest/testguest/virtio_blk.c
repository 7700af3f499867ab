// SPDX-License-Identifier: MIT
/*
 * virtio-blk, driver side: validate and probe, requests as chains of
 * header, data and status, completion by polling or interrupt, and
 * synchronous helpers for the common requests.
 */
#include "virtio_blk.h"
#include "rt.h"

static const unsigned int blk_features[] = {
    VIRTIO_BLK_F_SIZE_MAX, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_RO,
    VIRTIO_BLK_F_FLUSH,	   VIRTIO_BLK_F_MQ,	 VIRTIO_BLK_F_DISCARD,	VIRTIO_BLK_F_WRITE_ZEROES,
};

static const struct virtio_feature_name blk_feature_names[] = {
    {VIRTIO_BLK_F_SIZE_MAX, "size_max"},
    {VIRTIO_BLK_F_SEG_MAX, "seg_max"},
    {VIRTIO_BLK_F_GEOMETRY, "geometry"},
    {VIRTIO_BLK_F_RO, "ro"},
    {VIRTIO_BLK_F_BLK_SIZE, "blk_size"},
    {VIRTIO_BLK_F_FLUSH, "flush"},
    {VIRTIO_BLK_F_TOPOLOGY, "topology"},
    {VIRTIO_BLK_F_CONFIG_WCE, "config_wce"},
    {VIRTIO_BLK_F_MQ, "mq"},
    {VIRTIO_BLK_F_DISCARD, "discard"},
    {VIRTIO_BLK_F_WRITE_ZEROES, "write_zeroes"},
    {0, NULL},
};

static const struct virtio_device_id blk_ids[] = {
    {VIRTIO_ID_BLOCK, VIRTIO_DEV_ANY_ID},
    {0, 0},
};

/* Validate: config fields that make no sense lose their feature. */

static bool is_pow2(uint32_t x)
{
	return x && !(x & (x - 1));
}

static void drop_feature(struct virtio_device *vdev, unsigned int bit, const char *why,
			 uint32_t value)
{
	tg_printf("virtio: %s: virtio_blk: %s %u: not using feature %u\n", vdev->name, why, value,
		  bit);
	__virtio_clear_bit(vdev, bit);
}

static void check_u32_field(struct virtio_device *vdev, unsigned int bit, unsigned int offset,
			    const char *name)
{
	uint32_t v;

	if (!virtio_has_feature(vdev, bit))
		return;
	v = virtio_cread32(vdev, offset);
	if (!v)
		drop_feature(vdev, bit, name, v);
}

static int blk_validate(struct virtio_device *vdev)
{
	if (virtio_has_feature(vdev, VIRTIO_BLK_F_BLK_SIZE)) {
		uint32_t bs = virtio_cread32(vdev, VIRTIO_BLK_CFG_BLK_SIZE);

		if (!is_pow2(bs) || bs < VIRTIO_BLK_SECTOR_SIZE || bs > 65536)
			drop_feature(vdev, VIRTIO_BLK_F_BLK_SIZE, "blk_size", bs);
	}
	if (virtio_has_feature(vdev, VIRTIO_BLK_F_MQ) &&
	    !virtio_cread16(vdev, VIRTIO_BLK_CFG_NUM_QUEUES))
		drop_feature(vdev, VIRTIO_BLK_F_MQ, "num_queues", 0);
	check_u32_field(vdev, VIRTIO_BLK_F_SIZE_MAX, VIRTIO_BLK_CFG_SIZE_MAX, "size_max");
	check_u32_field(vdev, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_CFG_SEG_MAX, "seg_max");
	check_u32_field(vdev, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS,
			"max_discard_sectors");
	check_u32_field(vdev, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_CFG_MAX_DISCARD_SEG,
			"max_discard_seg");
	check_u32_field(vdev, VIRTIO_BLK_F_WRITE_ZEROES, VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS,
			"max_write_zeroes_sectors");
	check_u32_field(vdev, VIRTIO_BLK_F_WRITE_ZEROES, VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG,
			"max_write_zeroes_seg");
	return 0;
}

/* Probe. */

static uint32_t cread32_if(struct virtio_device *vdev, unsigned int bit, unsigned int offset)
{
	return virtio_has_feature(vdev, bit) ? virtio_cread32(vdev, offset) : 0;
}

static void read_config(struct virtio_blk *blk)
{
	struct virtio_device *vdev = blk->vdev;

	blk->capacity = virtio_cread64(vdev, VIRTIO_BLK_CFG_CAPACITY);
	blk->size_max = cread32_if(vdev, VIRTIO_BLK_F_SIZE_MAX, VIRTIO_BLK_CFG_SIZE_MAX);
	blk->seg_max = cread32_if(vdev, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_CFG_SEG_MAX);
	blk->blk_size = cread32_if(vdev, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_CFG_BLK_SIZE);
	blk->num_queues = virtio_has_feature(vdev, VIRTIO_BLK_F_MQ)
			      ? virtio_cread16(vdev, VIRTIO_BLK_CFG_NUM_QUEUES)
			      : 1;
	blk->max_discard_sectors =
	    cread32_if(vdev, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS);
	blk->max_discard_seg =
	    cread32_if(vdev, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_CFG_MAX_DISCARD_SEG);
	blk->discard_sector_alignment =
	    cread32_if(vdev, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_CFG_DISCARD_ALIGNMENT);
	blk->max_write_zeroes_sectors =
	    cread32_if(vdev, VIRTIO_BLK_F_WRITE_ZEROES, VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS);
	blk->max_write_zeroes_seg =
	    cread32_if(vdev, VIRTIO_BLK_F_WRITE_ZEROES, VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG);
	blk->write_zeroes_may_unmap = virtio_has_feature(vdev, VIRTIO_BLK_F_WRITE_ZEROES) &&
				      virtio_cread8(vdev, VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP);
	blk->ro = virtio_has_feature(vdev, VIRTIO_BLK_F_RO);
}

static unsigned int queues_wanted(const struct virtio_blk *blk)
{
	unsigned int n = blk->num_queues, max = blk->vdev->opts.max_queues;

	if (max && max < n)
		n = max;
	return n < VIRTIO_BLK_MAX_QUEUES ? n : VIRTIO_BLK_MAX_QUEUES;
}

static int blk_probe(struct virtio_device *vdev)
{
	struct virtio_blk *blk = tg_alloc(sizeof(*blk), 64);
	unsigned int largest = 0;

	memset(blk, 0, sizeof(*blk));
	blk->vdev = vdev;
	blk->timeout_ns = VIRTIO_BLK_TIMEOUT_NS;
	vdev->priv = blk;
	read_config(blk);
	blk->nr_queues = queues_wanted(blk);
	for (unsigned int q = 0; q < blk->nr_queues; q++) {
		char name[8];

		tg_snprintf(name, sizeof(name), "req%u", q);
		blk->vqs[q] = virtio_find_vq(vdev, q, NULL, name);
		if (!blk->vqs[q])
			return vdev->probe_err;
		largest = TG_MAX(largest, blk->vqs[q]->vring.num);
	}
	/* A chain is at most a queue's size, header and status included. */
	blk->sg_cap = largest;
	blk->sg = tg_alloc(largest * sizeof(*blk->sg), 16);
	return 0;
}

/* After the reset: requests still posted will never complete. */
static void blk_remove(struct virtio_device *vdev)
{
	struct virtio_blk *blk = vdev->priv;
	struct virtio_blk_req *req;

	for (unsigned int q = 0; q < blk->nr_queues; q++) {
		while ((req = virtqueue_detach_unused_buf(blk->vqs[q]))) {
			req->completed = true;
			req->result = -VIRTIO_ENODEV;
		}
	}
	blk->dead = true;
}

struct virtio_driver virtio_blk_driver = {
    .name = "virtio_blk",
    .id_table = blk_ids,
    .feature_table = blk_features,
    .feature_table_size = TG_ARRAY_SIZE(blk_features),
    .feature_names = blk_feature_names,
    .validate = blk_validate,
    .probe = blk_probe,
    .remove = blk_remove,
};

void virtio_blk_register(void)
{
	virtio_register_driver(&virtio_blk_driver);
}

struct virtio_blk *virtio_blk_of(struct virtio_device *vdev)
{
	return vdev && vdev->driver == &virtio_blk_driver ? vdev->priv : NULL;
}

struct virtio_blk *virtio_blk_get(unsigned int n)
{
	struct virtio_device *vdev;

	for (unsigned int i = 0; (vdev = virtio_find_device(VIRTIO_ID_BLOCK, i)); i++)
		if (virtio_blk_of(vdev) && n-- == 0)
			return vdev->priv;
	return NULL;
}

/* Requests. */

static bool type_data_out(uint32_t type)
{
	return type == VIRTIO_BLK_T_OUT || type == VIRTIO_BLK_T_DISCARD ||
	       type == VIRTIO_BLK_T_WRITE_ZEROES;
}

void virtio_blk_req_init_sg(struct virtio_blk_req *req, uint32_t type, uint64_t sector,
			    const struct virtio_sg *sg, unsigned int nr)
{
	memset(req, 0, sizeof(*req));
	req->hdr.type = type;
	req->hdr.sector = sector;
	req->data = sg;
	req->nr_data = nr;
	req->data_out = type_data_out(type);
	req->mode = VQ_AUTO;
	req->head = -1;
}

void virtio_blk_req_init(struct virtio_blk_req *req, uint32_t type, uint64_t sector, void *buf,
			 uint32_t len)
{
	virtio_blk_req_init_sg(req, type, sector, NULL, 0);
	if (len) {
		req->one = virtio_sg_buf(buf, len);
		req->data = &req->one;
		req->nr_data = 1;
	}
}

/* The driver must not exceed what the device announced (5.2.6.1). */
static int check_limits(const struct virtio_blk *blk, const struct virtio_blk_req *req)
{
	if (req->no_limits)
		return 0;
	if (blk->seg_max && req->nr_data > blk->seg_max)
		return -VIRTIO_E2BIG;
	for (unsigned int i = 0; blk->size_max && i < req->nr_data; i++)
		if (req->data[i].len > blk->size_max)
			return -VIRTIO_E2BIG;
	return 0;
}

int virtio_blk_queue(struct virtio_blk *blk, unsigned int q, struct virtio_blk_req *req)
{
	unsigned int n = 0, data_out = req->data_out ? req->nr_data : 0;
	int err, head;

	if (blk->dead)
		return -VIRTIO_EBROKEN;
	if (q >= blk->nr_queues || req->nr_data + 2 > blk->sg_cap)
		return -VIRTIO_EINVAL;
	err = check_limits(blk, req);
	if (err)
		return err;
	blk->sg[n++] = virtio_sg_buf(&req->hdr, sizeof(req->hdr));
	for (unsigned int i = 0; i < req->nr_data; i++)
		blk->sg[n++] = req->data[i];
	blk->sg[n++] = virtio_sg_buf(&req->status, sizeof(req->status));
	req->status = 0xff;
	req->completed = false;
	req->result = 0;
	req->used_len = 0;
	req->queue = q;
	head = virtqueue_add(blk->vqs[q], blk->sg, 1 + data_out, n - 1 - data_out, req, req->mode);
	if (head < 0)
		return head;
	req->head = head;
	blk->stats.submitted++;
	return 0;
}

bool virtio_blk_kick(struct virtio_blk *blk, unsigned int q)
{
	return q < blk->nr_queues && virtqueue_kick(blk->vqs[q]);
}

int virtio_blk_submit(struct virtio_blk *blk, unsigned int q, struct virtio_blk_req *req)
{
	int err = virtio_blk_queue(blk, q, req);

	if (!err && !virtio_blk_kick(blk, q))
		err = -VIRTIO_EBROKEN;
	return err;
}

/* What the device answered: a status it wrote, one the spec knows. */
static int request_result(struct virtio_blk *blk, struct virtio_blk_req *req)
{
	struct virtqueue *vq = blk->vqs[req->queue];

	if (req->used_len < 1) {
		blk->stats.bad_status++;
		virtqueue_report(vq, "request at head %d: used len 0, the status was not written",
				 req->head);
		return -VIRTIO_EBROKEN;
	}
	if (req->status > VIRTIO_BLK_S_UNSUPP) {
		blk->stats.bad_status++;
		virtqueue_report(vq, "request at head %d: status %u", req->head, req->status);
		return -VIRTIO_EBROKEN;
	}
	return req->status;
}

static uint64_t data_len(const struct virtio_blk_req *req)
{
	uint64_t len = 0;

	for (unsigned int i = 0; i < req->nr_data; i++)
		len += req->data[i].len;
	return len;
}

static void complete(struct virtio_blk *blk, struct virtio_blk_req *req, uint32_t len)
{
	req->used_len = len;
	req->result = request_result(blk, req);
	/* A read that succeeded filled all its buffers, then the status byte. */
	if (req->result == VIRTIO_BLK_S_OK && req->hdr.type == VIRTIO_BLK_T_IN && !req->data_out &&
	    len != data_len(req) + 1)
		blk->stats.short_len++;
	if (req->result > 0)
		blk->stats.errors++;
	blk->stats.completed++;
	req->completed = true;
	if (req->done)
		req->done(req);
}

unsigned int virtio_blk_poll(struct virtio_blk *blk, unsigned int q)
{
	struct virtio_blk_req *req;
	unsigned int n = 0;
	uint32_t len;

	if (q >= blk->nr_queues)
		return 0;
	while ((req = virtqueue_get_buf(blk->vqs[q], &len))) {
		complete(blk, req, len);
		n++;
	}
	return n;
}

/*
 * A deadline when the runtime has a clock; without one each wait gets the
 * whole timeout, which bounds the total as long as completions keep coming.
 */
static uint64_t time_left(uint64_t start, uint64_t timeout_ns)
{
	uint64_t now = tg_ns(), spent = start ? now - start : 0;

	return spent >= timeout_ns ? 0 : timeout_ns - spent;
}

int virtio_blk_wait(struct virtio_blk *blk, struct virtio_blk_req *req, uint64_t timeout_ns)
{
	uint64_t start = tg_ns();

	for (;;) {
		uint64_t left;
		int err;

		virtio_blk_poll(blk, req->queue);
		if (req->completed)
			return req->result;
		left = time_left(start, timeout_ns);
		if (!left)
			return -VIRTIO_ETIMEDOUT;
		err = virtio_wait_used(blk->vqs[req->queue], left);
		if (err)
			return err;
	}
}

int virtio_blk_wait_any(struct virtio_blk *blk, unsigned int q, uint64_t timeout_ns)
{
	unsigned int n;
	int err;

	if (q >= blk->nr_queues)
		return -VIRTIO_EINVAL;
	n = virtio_blk_poll(blk, q);
	if (n)
		return (int)n;
	err = virtio_wait_used(blk->vqs[q], timeout_ns);
	if (err)
		return err;
	n = virtio_blk_poll(blk, q);
	return n ? (int)n : -VIRTIO_EBROKEN;
}

/* The device kept a request too long: make it let go of everything. */
static void give_up(struct virtio_blk *blk, unsigned int q)
{
	virtqueue_report(blk->vqs[q], "no completion in %llu ns: resetting the device",
			 (unsigned long long)blk->timeout_ns);
	blk->vdev->config->reset(blk->vdev);
	for (unsigned int i = 0; i < blk->nr_queues; i++)
		blk->vqs[i]->broken = true;
	blk->dead = true;
}

int virtio_blk_do(struct virtio_blk *blk, unsigned int q, struct virtio_blk_req *req)
{
	int err = virtio_blk_submit(blk, q, req);

	if (err)
		return err;
	err = virtio_blk_wait(blk, req, blk->timeout_ns);
	if (err == -VIRTIO_ETIMEDOUT)
		give_up(blk, q);
	return err;
}

int virtio_blk_read(struct virtio_blk *blk, uint64_t sector, void *buf, uint32_t len)
{
	struct virtio_blk_req req;

	virtio_blk_req_init(&req, VIRTIO_BLK_T_IN, sector, buf, len);
	return virtio_blk_do(blk, 0, &req);
}

int virtio_blk_write(struct virtio_blk *blk, uint64_t sector, const void *buf, uint32_t len)
{
	struct virtio_blk_req req;

	virtio_blk_req_init(&req, VIRTIO_BLK_T_OUT, sector, (void *)buf, len);
	return virtio_blk_do(blk, 0, &req);
}

int virtio_blk_flush(struct virtio_blk *blk)
{
	struct virtio_blk_req req;

	if (!virtio_has_feature(blk->vdev, VIRTIO_BLK_F_FLUSH))
		return -VIRTIO_EINVAL;
	virtio_blk_req_init(&req, VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
	return virtio_blk_do(blk, 0, &req);
}

int virtio_blk_get_id(struct virtio_blk *blk, char id[VIRTIO_BLK_ID_BYTES + 1])
{
	struct virtio_blk_req req;
	int err;

	memset(id, 0, VIRTIO_BLK_ID_BYTES + 1);
	virtio_blk_req_init(&req, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES);
	err = virtio_blk_do(blk, 0, &req);
	id[VIRTIO_BLK_ID_BYTES] = '\0';
	return err;
}

static int ranges(struct virtio_blk *blk, uint32_t type, uint64_t sector, uint32_t nr_sectors,
		  uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes seg = {
	    .sector = sector, .num_sectors = nr_sectors, .flags = flags};
	struct virtio_blk_req req;

	virtio_blk_req_init(&req, type, 0, &seg, sizeof(seg));
	return virtio_blk_do(blk, 0, &req);
}

int virtio_blk_discard(struct virtio_blk *blk, uint64_t sector, uint32_t nr_sectors)
{
	if (!virtio_has_feature(blk->vdev, VIRTIO_BLK_F_DISCARD))
		return -VIRTIO_EINVAL;
	return ranges(blk, VIRTIO_BLK_T_DISCARD, sector, nr_sectors, 0);
}

int virtio_blk_write_zeroes(struct virtio_blk *blk, uint64_t sector, uint32_t nr_sectors,
			    bool unmap)
{
	if (!virtio_has_feature(blk->vdev, VIRTIO_BLK_F_WRITE_ZEROES))
		return -VIRTIO_EINVAL;
	return ranges(blk, VIRTIO_BLK_T_WRITE_ZEROES, sector, nr_sectors,
		      unmap ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0);
}
