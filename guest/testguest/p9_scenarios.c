// SPDX-License-Identifier: MIT
/*
 * The p9 group: a virtio-9p share (--share DIR) driven message by message.
 * The host (tests/guest/guest-test.sh) gives a share holding tg-host-file
 * ("vmm 9p host file\n"), a symlink "out" to ../outside and "abs" to the
 * outside directory's absolute path, beside an outside directory holding
 * "secret"; afterwards it checks tg-guest-file and that outside is as it
 * was.
 *   probe   the mount tag (tg.p9.tag=, default share0)
 *   session version, attach, walk, open and read the host's file, create
 *           and write tg-guest-file, clunk
 *   escape  '..' at the root, walks through both symlinks, open of one,
 *           names with '/': every one refused, nothing of outside reached
 *   hostile chains a device must survive: no writable part, 4 writable
 *           bytes, a size field larger than what was given, a T-message cut
 *           over seven descriptors, a read far larger than the room; then
 *           the device still answers and does not want a reset
 */
#include "outcome.h"
#include "rt.h"
#include "scenario.h"
#include "virtio_9p.h"

#define P9_MSIZE   8192
#define P9_RLERROR 7
#define HOST_FILE  "tg-host-file"
#define HOST_TEXT  "vmm 9p host file\n"
#define GUEST_FILE "tg-guest-file"
#define GUEST_TEXT "written by the test guest\n"
#define ROOT_FID   1
#define EINVAL_	   22
#define ELOOP_	   40
#define EMSGSIZE_  90

struct pctx {
	struct tg_outcome o;
	struct virtio_9p *p;
	uint8_t *req, *resp;
	uint32_t len, used; /* of the message being built; of the last answer */
	uint32_t pos;	    /* reading the answer */
};

#define fail(c, ...) tg_fail(&(c)->o, __VA_ARGS__)

/* --- Messages --- */

static void put(struct pctx *c, const void *p, uint32_t n)
{
	if (c->len + n <= P9_MSIZE)
		memcpy(c->req + c->len, p, n);
	c->len += n;
}

static void p8(struct pctx *c, uint8_t v)
{
	put(c, &v, 1);
}

static void p16(struct pctx *c, uint16_t v)
{
	put(c, &v, 2);
}

static void p32(struct pctx *c, uint32_t v)
{
	put(c, &v, 4);
}

static void p64(struct pctx *c, uint64_t v)
{
	put(c, &v, 8);
}

static void pstr(struct pctx *c, const char *s)
{
	p16(c, (uint16_t)strlen(s));
	put(c, s, (uint32_t)strlen(s));
}

static void begin_msg(struct pctx *c, uint8_t type)
{
	c->len = 0;
	p32(c, 0);
	p8(c, type);
	p16(c, 0x77);
}

static void seal(struct pctx *c)
{
	memcpy(c->req, &c->len, 4);
}

static uint64_t get(struct pctx *c, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n && c->pos + i < c->used; i++)
		v |= (uint64_t)c->resp[c->pos + i] << (8 * i);
	c->pos += n;
	return v;
}

static uint32_t get32le(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Send; the R type (0 when the answer is no message at all). */
static uint8_t call(struct pctx *c)
{
	int err;

	seal(c);
	err = virtio_9p_call(c->p, c->req, c->len, c->resp, P9_MSIZE, &c->used);
	if (err) {
		fail(c, "request type %u: %s", c->req[4], virtio_strerror(err));
		return 0;
	}
	c->pos = 7;
	if (c->used < 7 || get32le(c->resp) != c->used)
		return 0;
	return c->resp[4];
}

/* The errno an Rlerror carries, 0 for any other answer. */
static int lerror(struct pctx *c, uint8_t type)
{
	return type == P9_RLERROR ? (int)get(c, 4) : 0;
}

static bool expect(struct pctx *c, uint8_t got, uint8_t want, const char *what)
{
	if (got == want)
		return true;
	return fail(c, "%s: R type %u (errno %d), expected %u", what, got,
		    got == P9_RLERROR ? (int)get(c, 4) : 0, want);
}

static bool expect_errno(struct pctx *c, uint8_t got, int err, const char *what)
{
	int e = lerror(c, got);

	return e == err ||
	       fail(c, "%s: answered type %u errno %d, expected errno %d", what, got, e, err);
}

static uint8_t walk(struct pctx *c, uint32_t fid, uint32_t newfid, unsigned int n,
		    const char *const *names)
{
	begin_msg(c, 110);
	p32(c, fid);
	p32(c, newfid);
	p16(c, (uint16_t)n);
	for (unsigned int i = 0; i < n; i++)
		pstr(c, names[i]);
	return call(c);
}

static uint8_t lopen(struct pctx *c, uint32_t fid, uint32_t flags)
{
	begin_msg(c, 12);
	p32(c, fid);
	p32(c, flags);
	return call(c);
}

/* Tversion and Tattach of ROOT_FID: every scenario's start. */
static bool start(struct pctx *c, char *msg, size_t len)
{
	memset(c, 0, sizeof(*c));
	tg_outcome_init(&c->o, msg, len);
	c->p = virtio_9p_get(0);
	if (!c->p)
		return tg_skip(&c->o, "no virtio-9p device (run with --share)");
	c->req = tg_alloc(P9_MSIZE, 64);
	c->resp = tg_alloc(P9_MSIZE, 64);
	begin_msg(c, 100);
	p32(c, P9_MSIZE);
	pstr(c, "9P2000.L");
	if (!expect(c, call(c), 101, "Tversion"))
		return false;
	begin_msg(c, 104);
	p32(c, ROOT_FID);
	p32(c, ~0u);
	pstr(c, "tg");
	pstr(c, "");
	p32(c, 0);
	return expect(c, call(c), 105, "Tattach");
}

/* --- Scenarios --- */

static enum tg_result sc_probe(char *msg, size_t len)
{
	struct virtio_9p *p = virtio_9p_get(0);
	char want[VIRTIO_9P_MAX_TAG + 1] = "share0";

	if (!p) {
		tg_snprintf(msg, len, "no virtio-9p device (run with --share)");
		return TG_SKIP;
	}
	tg_param("tg.p9.tag", want, sizeof(want));
	if (strcmp(p->tag, want)) {
		tg_snprintf(msg, len, "tag '%s', expected '%s'", p->tag, want);
		return TG_FAIL;
	}
	tg_snprintf(msg, len, "tag %s", p->tag);
	return TG_PASS;
}

static bool read_host_file(struct pctx *c)
{
	const char *name = HOST_FILE;
	uint32_t n;

	if (!expect(c, walk(c, ROOT_FID, 2, 1, &name), 111, "Twalk " HOST_FILE) ||
	    !expect(c, lopen(c, 2, 0), 13, "Tlopen"))
		return false;
	begin_msg(c, 116);
	p32(c, 2);
	p64(c, 0);
	p32(c, 4096);
	if (!expect(c, call(c), 117, "Tread"))
		return false;
	n = (uint32_t)get(c, 4);
	if (n != strlen(HOST_TEXT) || memcmp(c->resp + 11, HOST_TEXT, n))
		return fail(c, "read %u bytes, not the host's text", n);
	begin_msg(c, 120);
	p32(c, 2);
	return expect(c, call(c), 121, "Tclunk");
}

static bool write_guest_file(struct pctx *c)
{
	begin_msg(c, 110);
	p32(c, ROOT_FID);
	p32(c, 3);
	p16(c, 0);
	if (!expect(c, call(c), 111, "Twalk (clone)"))
		return false;
	begin_msg(c, 14);
	p32(c, 3);
	pstr(c, GUEST_FILE);
	p32(c, 1); /* O_WRONLY */
	p32(c, 0644);
	p32(c, 0);
	if (!expect(c, call(c), 15, "Tlcreate"))
		return false;
	begin_msg(c, 118);
	p32(c, 3);
	p64(c, 0);
	p32(c, (uint32_t)strlen(GUEST_TEXT));
	put(c, GUEST_TEXT, (uint32_t)strlen(GUEST_TEXT));
	if (!expect(c, call(c), 119, "Twrite"))
		return false;
	if (get(c, 4) != strlen(GUEST_TEXT))
		return fail(c, "short write");
	begin_msg(c, 120);
	p32(c, 3);
	return expect(c, call(c), 121, "Tclunk");
}

static enum tg_result sc_session(char *msg, size_t len)
{
	struct pctx c;

	if (start(&c, msg, len) && read_host_file(&c) && write_guest_file(&c))
		tg_snprintf(msg, len, "read %s, wrote %s", HOST_FILE, GUEST_FILE);
	return tg_outcome_result(&c.o);
}

static enum tg_result sc_escape(char *msg, size_t len)
{
	const char *up[] = {"..", "..", "outside"};
	const char *via_rel[] = {"out", "secret"};
	const char *via_abs[] = {"abs", "secret"};
	const char *slash = "../outside";
	const char *link = "out";
	struct pctx c;

	if (!start(&c, msg, len))
		return tg_outcome_result(&c.o);
	/* .. at the root stays there: two qids, then "outside" is not found. */
	if (expect(&c, walk(&c, ROOT_FID, 4, 3, up), 111, "Twalk ../../outside") && get(&c, 2) != 2)
		fail(&c, "../../outside walked all three names");
	if (!c.o.failed && expect(&c, walk(&c, ROOT_FID, 4, 2, via_rel), 111, "Twalk out/secret") &&
	    get(&c, 2) != 1)
		fail(&c, "walked through the relative symlink");
	if (!c.o.failed && expect(&c, walk(&c, ROOT_FID, 4, 2, via_abs), 111, "Twalk abs/secret") &&
	    get(&c, 2) != 1)
		fail(&c, "walked through the absolute symlink");
	if (!c.o.failed)
		expect_errno(&c, walk(&c, ROOT_FID, 4, 1, &slash), EINVAL_, "a name with '/'");
	if (!c.o.failed && expect(&c, walk(&c, ROOT_FID, 5, 1, &link), 111, "Twalk out"))
		expect_errno(&c, lopen(&c, 5, 0), ELOOP_, "Tlopen of the symlink");
	if (!c.o.failed)
		tg_snprintf(msg, len, "'..' at the root, two symlinks and a '/' name refused");
	return tg_outcome_result(&c.o);
}

/* A chain laid out as @sg; the used length. */
static bool raw(struct pctx *c, const struct virtio_sg *sg, unsigned int out, unsigned int in,
		const char *what)
{
	int err;

	seal(c);
	err = virtio_9p_call_sg(c->p, sg, out, in, &c->used);
	c->pos = 7;
	return !err || fail(c, "%s: %s", what, virtio_strerror(err));
}

static bool hostile_chains(struct pctx *c)
{
	struct virtio_sg sg[8];
	uint32_t n;

	/* No writable part: nothing can be answered, used length 0. */
	begin_msg(c, 100);
	p32(c, P9_MSIZE);
	pstr(c, "9P2000.L");
	sg[0] = virtio_sg_buf(c->req, c->len);
	if (!raw(c, sg, 1, 0, "no writable part") || c->used)
		return c->o.failed || fail(c, "answered %u bytes into no buffer", c->used);
	/* Four writable bytes: too few for any answer. */
	sg[1] = virtio_sg_buf(c->resp, 4);
	if (!raw(c, sg, 1, 1, "four writable bytes") || c->used)
		return c->o.failed || fail(c, "answered %u bytes into 4", c->used);
	/* A size field larger than the message given. */
	begin_msg(c, 110);
	p32(c, ROOT_FID);
	seal(c);
	c->req[0] = 0xff;
	c->req[1] = 0x7f;
	sg[0] = virtio_sg_buf(c->req, c->len);
	sg[1] = virtio_sg_buf(c->resp, P9_MSIZE);
	if (!virtio_9p_call_sg(c->p, sg, 1, 1, &c->used) && c->used >= 11 && c->resp[4] == 7) {
		c->pos = 7;
		if (get(c, 4) != EMSGSIZE_)
			return fail(c, "an oversized message: errno %d", c->resp[7]);
	} else {
		return fail(c, "an oversized message was not refused with an Rlerror");
	}
	/* A Tread cut over seven descriptors, asking far more than the 64-byte room. */
	{
		const char *name = HOST_FILE;

		if (!expect(c, walk(c, ROOT_FID, 6, 1, &name), 111, "Twalk") ||
		    !expect(c, lopen(c, 6, 0), 13, "Tlopen"))
			return false;
	}
	begin_msg(c, 116);
	p32(c, 6);
	p64(c, 0);
	p32(c, 1 << 20);
	seal(c);
	n = 0;
	for (unsigned int i = 0; i < 6; i++, n += 3)
		sg[i] = virtio_sg_buf(c->req + n, 3);
	sg[6] = virtio_sg_buf(c->req + n, c->len - n);
	sg[7] = virtio_sg_buf(c->resp, 64);
	if (virtio_9p_call_sg(c->p, sg, 7, 1, &c->used) || c->used > 64 || c->resp[4] != 117)
		return fail(c, "a split Tread: used %u type %u", c->used, c->resp[4]);
	c->pos = 7;
	n = (uint32_t)get(c, 4);
	if (n > 64 - 11 || n + 11 != c->used)
		return fail(c, "Rread of %u bytes in a 64-byte room", n);
	return true;
}

static enum tg_result sc_hostile(char *msg, size_t len)
{
	struct pctx c;

	if (!start(&c, msg, len) || !hostile_chains(&c))
		return tg_outcome_result(&c.o);
	/* Still answering, and not broken. */
	begin_msg(&c, 100);
	p32(&c, P9_MSIZE);
	pstr(&c, "9P2000.L");
	if (expect(&c, call(&c), 101, "Tversion after the hostile chains") &&
	    (virtio_status(c.p->vdev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		fail(&c, "the device wants a reset");
	if (!c.o.failed)
		tg_snprintf(msg, len, "five hostile chains answered or refused, device serving");
	return tg_outcome_result(&c.o);
}

static const struct tg_scenario p9_scenarios[] = {
    {"probe", sc_probe},
    {"session", sc_session},
    {"escape", sc_escape},
    {"hostile", sc_hostile},
};

const struct tg_group tg_p9_group = {
    .name = "p9",
    .scenarios = p9_scenarios,
    .count = TG_ARRAY_SIZE(p9_scenarios),
};
