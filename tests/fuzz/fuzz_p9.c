// SPDX-License-Identifier: MIT
/*
 * The 9P2000.L server on fuzzer-made messages, over a real temporary
 * directory with symlinks that point out of it (absolute and relative) and
 * a neighbour directory holding one file. Each input is a session: the
 * harness agrees the version and attaches fid 1 to the root, then every
 * message the input holds (len[2] then that many bytes, given to the server
 * as they are, the size field included) is answered.
 *
 * Invariants: an answer fits the buffer and the msize agreed at the time, its size field
 * is its length and its tag the request's; and nothing outside the share
 * changed: the neighbour keeps exactly its one file, with its content.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio/p9.h"
#include "tests/fuzz/fuzz_util.h"

#define MSIZE	    8192
#define RESET_EVERY 256 /* inputs between rebuilding the share (they create files) */
#define SECRET	    "host secret\n"
#define SECRET_LEN  (sizeof(SECRET) - 1)

static char top[64], share[96], outside[96], secret[128];
static uint8_t resp[MSIZE];
static unsigned int runs;

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(data, f) < 0 || fclose(f))
		abort();
}

static void make_share(void)
{
	char cmd[160], p[160];

	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s/dir", share, share);
	if (system(cmd))
		abort();
	snprintf(p, sizeof(p), "%s/file", share);
	write_file(p, "inside\n");
	snprintf(p, sizeof(p), "%s/abs", share);
	if (symlink(outside, p))
		abort();
	snprintf(p, sizeof(p), "%s/rel", share);
	if (symlink("../outside", p))
		abort();
	snprintf(p, sizeof(p), "%s/dir/up", share);
	if (symlink("../../outside/secret", p))
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	snprintf(top, sizeof(top), "/tmp/vmm-fuzz-p9-XXXXXX");
	if (!mkdtemp(top))
		abort();
	snprintf(share, sizeof(share), "%s/share", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	snprintf(secret, sizeof(secret), "%s/secret", outside);
	if (mkdir(outside, 0755))
		abort();
	write_file(secret, SECRET);
	make_share();
	return 0;
}

/* The neighbour: one entry (besides . and ..), the secret as written. */
static void check_outside(void)
{
	char buf[64];
	unsigned int entries = 0;
	struct dirent *d;
	DIR *dir = opendir(outside);
	FILE *f;
	size_t n;

	FZ_CHECK(dir != NULL);
	while ((d = readdir(dir)))
		entries += strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
	closedir(dir);
	FZ_CHECK(entries == 1);
	f = fopen(secret, "r");
	FZ_CHECK(f != NULL);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	FZ_CHECK(n == SECRET_LEN && !memcmp(buf, SECRET, SECRET_LEN));
}

static void answer(struct p9_server *s, const uint8_t *msg, size_t len)
{
	size_t n = p9_handle(s, msg, len, resp, sizeof(resp));

	if (!n) {
		FZ_CHECK(len < P9_HDR);
		return;
	}
	FZ_CHECK(n >= P9_HDR && n <= sizeof(resp) && (!s->msize || n <= s->msize));
	FZ_CHECK((resp[0] | resp[1] << 8 | resp[2] << 16 | (uint32_t)resp[3] << 24) == n);
	FZ_CHECK(resp[5] == msg[5] && resp[6] == msg[6]);
}

/* Tversion (msize MSIZE) and Tattach of fid 1, as a client begins. */
static void start_session(struct p9_server *s)
{
	static const uint8_t version[] = {21,		0,	    0,	 0,   100, 0xff, 0xff,
					  MSIZE & 0xff, MSIZE >> 8, 0,	 0,   8,   0,	 '9',
					  'P',		'2',	    '0', '0', '0', '.',	 'L'};
	static const uint8_t attach[] = {23,   0,    0,	   0, 104, 1,	0, 1, 0, 0, 0, 0xff,
					 0xff, 0xff, 0xff, 1, 0,   'u', 0, 0, 0, 0, 0};

	answer(s, version, sizeof(version));
	answer(s, attach, sizeof(attach));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = {data, size};
	struct p9_server s;
	uint8_t msg[MSIZE + 16];

	if (++runs % RESET_EVERY == 0)
		make_share();
	if (p9_server_init(&s, share, data && size && (data[0] & 0x80)) < 0)
		abort();
	start_session(&s);
	while (f.left) {
		size_t len = fz_u16(&f) % sizeof(msg);

		len = fz_bytes(&f, msg, len);
		answer(&s, msg, len);
	}
	p9_server_destroy(&s);
	check_outside();
	return 0;
}
