// SPDX-License-Identifier: MIT
/*
 * The split virtqueue on fuzzer-made rings: the first bytes choose the size,
 * features and ring places; the rest is guest RAM (descriptors, indirect
 * tables, indices) and a script of device operations. Invariants: every
 * buffer of a popped chain lies in guest RAM, the chain fits the queue,
 * readable before writable with lengths that add up; a broken queue stays
 * broken; the used index moves by exactly what the device published.
 */
#include <string.h>

#include "devices/virtio/virtqueue.h"
#include "tests/fuzz/fuzz.h"

static struct vq_chain chain;

static void check_chain(const struct guest_mem *mem, const struct vq_chain *c, uint16_t size)
{
	uint64_t out = 0, in = 0;

	FUZZ_CHECK(c->nr_out + c->nr_in <= VQ_MAX_SIZE && c->nr_out + c->nr_in <= size);
	FUZZ_CHECK(c->head < size);
	for (unsigned int i = 0; i < c->nr_out + c->nr_in; i++) {
		FUZZ_CHECK(c->iov[i].iov_len > 0);
		FUZZ_CHECK(fuzz_in_ram(mem, c->iov[i].iov_base, c->iov[i].iov_len));
		*(i < c->nr_out ? &out : &in) += c->iov[i].iov_len;
	}
	FUZZ_CHECK(out == c->out_len && in == c->in_len);
}

static void run_ops(struct virtqueue *vq, const struct guest_mem *mem, struct fuzz_in *in)
{
	uint16_t published = 0, popped = 0;

	for (unsigned int op = 0; op < 64 && in->left; op++) {
		uint8_t what = fuzz_u8(in);
		int r;

		switch (what % 6) {
		case 0:
		case 1:
			r = vq_pop(vq, &chain);
			FUZZ_CHECK(r >= -1 && r <= 1);
			if (r == 1) {
				check_chain(mem, &chain, vq->size);
				popped++;
				vq_push(vq, chain.head, (uint32_t)chain.in_len);
				published++;
			}
			if (r < 0)
				FUZZ_CHECK(vq->broken && vq_pop(vq, &chain) == -1);
			break;
		case 2: vq_set_notify(vq, what & 8); break;
		case 3: (void)vq_should_interrupt(vq); break;
		case 4: (void)vq_has_avail(vq); break;
		case 5:
			if (vq_pop(vq, &chain) == 1)
				vq_unpop(vq, 1);
			break;
		}
	}
	FUZZ_CHECK(vq->used_idx == published);
	(void)popped;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem *mem = fuzz_mem();
	struct fuzz_in in = {data, size};
	struct virtqueue vq;
	uint8_t *ram = mem->region[0].hva;
	uint8_t flags;

	vq_reset(&vq, VQ_MAX_SIZE);
	vq.size = (uint16_t)(1u << (fuzz_u8(&in) % 10)); /* up to 512: past the maximum too */
	flags = fuzz_u8(&in);
	vq.desc_gpa = (uint64_t)fuzz_u16(&in) << 4;
	vq.avail_gpa = (uint64_t)fuzz_u16(&in) << 1;
	vq.used_gpa = (uint64_t)fuzz_u16(&in) << 2;
	if (flags & 0x80)
		vq.used_gpa = vq.avail_gpa + (flags & 0x7e); /* near the available ring: overlaps */
	memset(ram, 0, FUZZ_RAM);
	memcpy(ram, in.p, in.left < FUZZ_RAM ? in.left : FUZZ_RAM);
	if (vq_enable(&vq, mem, flags & 1, flags & 2) < 0)
		return 0;
	run_ops(&vq, mem, &in);
	return 0;
}
