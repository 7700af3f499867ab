// SPDX-License-Identifier: MIT
/* The test guest's virtio-9p driver (virtio_9p.h). */
#include "rt.h"
#include "virtio_9p.h"

static const unsigned int p9_features[] = {VIRTIO_9P_MOUNT_TAG};
static const struct virtio_feature_name p9_feature_names[] = {
    {VIRTIO_9P_MOUNT_TAG, "mount_tag"},
    {0, NULL},
};
static const struct virtio_device_id p9_ids[] = {
    {VIRTIO_ID_9P, VIRTIO_DEV_ANY_ID},
    {0, 0},
};

/* Config: le16 tag_len, then the tag without a NUL; longer than we keep is refused. */
static int p9_probe(struct virtio_device *vdev)
{
	struct virtio_9p *p = tg_alloc(sizeof(*p), 64);
	uint16_t len = 0;

	memset(p, 0, sizeof(*p));
	p->vdev = vdev;
	vdev->priv = p;
	if (virtio_has_feature(vdev, VIRTIO_9P_MOUNT_TAG)) {
		len = virtio_cread16(vdev, 0);
		if (len > VIRTIO_9P_MAX_TAG)
			return virtio_probe_fail(vdev, -VIRTIO_EINVAL, "tag of %u bytes", len);
		virtio_cread(vdev, 2, p->tag, len);
	}
	p->vq = virtio_find_vq(vdev, 0, NULL, "requests");
	return p->vq ? 0 : vdev->probe_err;
}

static void p9_remove(struct virtio_device *vdev)
{
	(void)vdev;
}

static struct virtio_driver virtio_9p_driver = {
    .name = "virtio_9p",
    .id_table = p9_ids,
    .feature_table = p9_features,
    .feature_table_size = TG_ARRAY_SIZE(p9_features),
    .feature_names = p9_feature_names,
    .probe = p9_probe,
    .remove = p9_remove,
};

void virtio_9p_register(void)
{
	virtio_register_driver(&virtio_9p_driver);
}

struct virtio_9p *virtio_9p_get(unsigned int n)
{
	struct virtio_device *vdev = virtio_find_device(VIRTIO_ID_9P, n);

	return vdev && vdev->driver == &virtio_9p_driver ? vdev->priv : NULL;
}

int virtio_9p_call_sg(struct virtio_9p *p, const struct virtio_sg *sg, unsigned int out,
		      unsigned int in, uint32_t *used)
{
	static char token;
	int err = virtqueue_add(p->vq, sg, out, in, &token, VQ_AUTO);

	if (err < 0)
		return err;
	virtqueue_kick(p->vq);
	err = virtio_wait_used(p->vq, VIRTIO_9P_TIMEOUT_NS);
	if (err)
		return err;
	return virtqueue_get_buf(p->vq, used) == &token ? 0 : -VIRTIO_EBROKEN;
}

int virtio_9p_call(struct virtio_9p *p, const void *req, uint32_t len, void *resp, uint32_t cap,
		   uint32_t *used)
{
	struct virtio_sg sg[2] = {virtio_sg_buf(req, len), virtio_sg_buf(resp, cap)};

	return virtio_9p_call_sg(p, sg, 1, 1, used);
}
