// SPDX-License-Identifier: MIT
/*
 * The 9P2000.L server on a temporary directory: the test is the client,
 * building T-messages byte by byte and reading the R-messages back. Every
 * operation a Linux mount needs, and every way out of the share the server
 * must refuse: '..' at the root, symlinks (absolute and relative) that
 * point out, names with '/', a directory swapped for a symlink after the
 * walk, device nodes, writes to a read-only share, malformed messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "devices/virtio/p9.h"
#include "tests/unit/suites.h"

#define ROOT_FID 1
#define MSIZE	 65536

static char top[64], share[96], outside[96];
static struct p9_server srv;
static uint8_t req[MSIZE + 64], resp[MSIZE];
static size_t req_len, resp_len, resp_pos;

/* --- A client, byte by byte --- */

static void put(const void *p, size_t n)
{
	ck_assert_uint_le(req_len + n, sizeof(req));
	memcpy(req + req_len, p, n);
	req_len += n;
}

static void p8(uint8_t v)
{
	put(&v, 1);
}

static void p16(uint16_t v)
{
	put(&v, 2);
}

static void p32(uint32_t v)
{
	put(&v, 4);
}

static void p64(uint64_t v)
{
	put(&v, 8);
}

static void pstr(const char *s)
{
	p16((uint16_t)strlen(s));
	put(s, strlen(s));
}

static void begin(uint8_t type)
{
	req_len = 0;
	p32(0); /* size, filled in by send() */
	p8(type);
	p16(0x1234);
}

/* Send the message built; returns the R type (7: Rlerror). */
static uint8_t send(void)
{
	uint32_t size = (uint32_t)req_len;

	memcpy(req, &size, 4);
	resp_len = p9_handle(&srv, req, req_len, resp, sizeof(resp));
	ck_assert_uint_ge(resp_len, 7);
	ck_assert_uint_eq(resp[0] | resp[1] << 8 | resp[2] << 16 | (uint32_t)resp[3] << 24,
			  resp_len);
	ck_assert_uint_eq(resp[5] | resp[6] << 8, 0x1234);
	resp_pos = 7;
	return resp[4];
}

static uint64_t get(unsigned int n)
{
	uint64_t v = 0;

	ck_assert_uint_le(n, 8);
	ck_assert_uint_le(resp_pos + n, resp_len);
	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)resp[resp_pos + i] << (8 * i);
	resp_pos += n;
	return v;
}

static void skip(size_t n)
{
	ck_assert_uint_le(resp_pos + n, resp_len);
	resp_pos += n;
}

/* The errno of an Rlerror, or 0 for any other answer. */
static int err_of(uint8_t type)
{
	return type == 7 ? (int)get(4) : 0;
}

#define ck_assert_p9_ok(type, want)                                                                \
	do {                                                                                       \
		uint8_t t_ = (type);                                                               \
		ck_assert_msg(t_ == (want), "R type %u (errno %d), wanted %u", t_,                 \
			      t_ == 7 ? (int)get(4) : 0, (want));                                  \
	} while (0)
#define ck_assert_p9_err(type, e) ck_assert_int_eq(err_of(type), (e))

static uint8_t version(uint32_t msize, const char *v)
{
	begin(100);
	p32(msize);
	pstr(v);
	return send();
}

/* Twalk @fid to @newfid through @n names; the R type. */
static uint8_t walk(uint32_t fid, uint32_t newfid, unsigned int n, const char *const *names)
{
	begin(110);
	p32(fid);
	p32(newfid);
	p16((uint16_t)n);
	for (unsigned int i = 0; i < n; i++)
		pstr(names[i]);
	return send();
}

static uint8_t walk1(uint32_t newfid, const char *name)
{
	return walk(ROOT_FID, newfid, 1, &name);
}

static uint8_t lopen(uint32_t fid, uint32_t flags)
{
	begin(12);
	p32(fid);
	p32(flags);
	return send();
}

static uint8_t lcreate(uint32_t fid, const char *name, uint32_t flags, uint32_t mode)
{
	begin(14);
	p32(fid);
	pstr(name);
	p32(flags);
	p32(mode);
	p32(0);
	return send();
}

static uint8_t clunk(uint32_t fid)
{
	begin(120);
	p32(fid);
	return send();
}

static uint8_t read_at(uint32_t fid, uint64_t off, uint32_t count)
{
	begin(116);
	p32(fid);
	p64(off);
	p32(count);
	return send();
}

static uint8_t write_at(uint32_t fid, uint64_t off, const char *data)
{
	begin(118);
	p32(fid);
	p64(off);
	p32((uint32_t)strlen(data));
	put(data, strlen(data));
	return send();
}

static uint8_t qid_type_of_walk(void)
{
	ck_assert_uint_ge(get(2), 1);
	return (uint8_t)get(1);
}

/* --- The share and its neighbour --- */

static void host_write(const char *dir, const char *name, const char *data)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(data, f);
	fclose(f);
}

static char *host_read(const char *dir, const char *name)
{
	static char buf[256];
	char path[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

static void at(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void setup_share(bool ro)
{
	char p[256];

	snprintf(top, sizeof(top), "/tmp/vmm-p9-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(share, sizeof(share), "%s/share", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	ck_assert_int_eq(mkdir(share, 0755), 0);
	ck_assert_int_eq(mkdir(outside, 0755), 0);
	host_write(outside, "secret", "host secret\n");
	host_write(share, "hello", "hello from the host\n");
	at(p, sizeof(p), share, "dir");
	ck_assert_int_eq(mkdir(p, 0755), 0);
	/* Ways out a guest might try: absolute and relative symlinks. */
	at(p, sizeof(p), share, "abs");
	ck_assert_int_eq(symlink(outside, p), 0);
	at(p, sizeof(p), share, "rel");
	ck_assert_int_eq(symlink("../outside", p), 0);
	at(p, sizeof(p), share, "secret-link");
	ck_assert_int_eq(symlink("../outside/secret", p), 0);
	ck_assert_int_eq(p9_server_init(&srv, share, ro), 0);
	ck_assert_p9_ok(version(MSIZE, "9P2000.L"), 101);
	begin(104);
	p32(ROOT_FID);
	p32(~0u);
	pstr("user");
	pstr("");
	p32(0);
	ck_assert_p9_ok(send(), 105);
}

static void setup(void)
{
	setup_share(false);
}

static void setup_ro(void)
{
	setup_share(true);
}

static void teardown(void)
{
	char cmd[128];

	p9_server_destroy(&srv);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	ck_assert_int_eq(system(cmd), 0);
}

/* --- Operations --- */

START_TEST(version_negotiates)
{
	ck_assert_p9_ok(version(1 << 30, "9P2000.L"), 101);
	ck_assert_uint_eq(get(4), P9_MAX_MSIZE);
	ck_assert_p9_ok(version(8192, "9P2000"), 101);
	ck_assert_uint_eq(get(4), 8192);
	ck_assert_uint_eq(get(2), 7); /* "unknown" */
	ck_assert_p9_err(version(100, "9P2000.L"), EINVAL);
}
END_TEST

START_TEST(read_host_file)
{
	ck_assert_p9_ok(walk1(2, "hello"), 111);
	ck_assert_uint_eq(qid_type_of_walk(), 0);
	ck_assert_p9_ok(lopen(2, O_RDONLY), 13);
	ck_assert_p9_ok(read_at(2, 0, 4096), 117);
	ck_assert_uint_eq(get(4), 20);
	ck_assert_int_eq(memcmp(resp + resp_pos, "hello from the host\n", 20), 0);
	ck_assert_p9_ok(read_at(2, 6, 4), 117);
	ck_assert_uint_eq(get(4), 4);
	ck_assert_int_eq(memcmp(resp + resp_pos, "from", 4), 0);
	ck_assert_p9_ok(clunk(2), 121);
	ck_assert_p9_err(clunk(2), EBADF);
}
END_TEST

START_TEST(create_and_write)
{
	ck_assert_p9_ok(walk(ROOT_FID, 2, 0, NULL), 111);
	ck_assert_p9_ok(lcreate(2, "new", O_WRONLY, 0640), 15);
	ck_assert_p9_ok(write_at(2, 0, "from the guest\n"), 119);
	ck_assert_uint_eq(get(4), 15);
	ck_assert_str_eq(host_read(share, "new"), "from the guest\n");
	ck_assert_p9_err(lcreate(ROOT_FID, "hello", O_WRONLY, 0640), EEXIST);
}
END_TEST

START_TEST(getattr_reports_stat)
{
	struct stat st;
	char p[256];

	at(p, sizeof(p), share, "hello");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_p9_ok(walk1(2, "hello"), 111);
	begin(24);
	p32(2);
	p64(0x7ff);
	ck_assert_p9_ok(send(), 25);
	ck_assert_uint_eq(get(8), 0x7ff);
	skip(1 + 4);
	ck_assert_uint_eq(get(8), st.st_ino);
	ck_assert_uint_eq(get(4), st.st_mode);
	skip(4 + 4 + 8 + 8);	       /* uid gid nlink rdev */
	ck_assert_uint_eq(get(8), 20); /* size */
}
END_TEST

START_TEST(directories_and_names)
{
	const char *path[] = {"dir", "sub"};
	char p[256];
	struct stat st;

	ck_assert_p9_ok(walk1(2, "dir"), 111);
	ck_assert_uint_eq(qid_type_of_walk(), 0x80);
	begin(72); /* Tmkdir */
	p32(2);
	pstr("sub");
	p32(0750);
	p32(0);
	ck_assert_p9_ok(send(), 73);
	at(p, sizeof(p), share, "dir/sub");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_p9_ok(walk(ROOT_FID, 3, 2, path), 111);
	/* Trenameat dir/sub -> root/moved, then Tunlinkat it */
	begin(74);
	p32(2);
	pstr("sub");
	p32(ROOT_FID);
	pstr("moved");
	ck_assert_p9_ok(send(), 75);
	at(p, sizeof(p), share, "moved");
	ck_assert_int_eq(stat(p, &st), 0);
	begin(76);
	p32(ROOT_FID);
	pstr("moved");
	p32(0x200);
	ck_assert_p9_ok(send(), 77);
	ck_assert_int_eq(stat(p, &st), -1);
}
END_TEST

START_TEST(readdir_lists_entries)
{
	bool seen_hello = false, seen_dir = false;
	uint32_t count;
	size_t end;

	ck_assert_p9_ok(walk(ROOT_FID, 2, 0, NULL), 111);
	ck_assert_p9_ok(lopen(2, O_RDONLY | O_DIRECTORY), 13);
	begin(40);
	p32(2);
	p64(0);
	p32(8192);
	ck_assert_p9_ok(send(), 41);
	count = (uint32_t)get(4);
	end = resp_pos + count;
	ck_assert_uint_eq(end, resp_len);
	while (resp_pos < end) {
		uint16_t len;

		skip(13 + 8 + 1); /* qid offset type */
		len = (uint16_t)get(2);
		seen_hello |= len == 5 && !memcmp(resp + resp_pos, "hello", 5);
		seen_dir |= len == 3 && !memcmp(resp + resp_pos, "dir", 3);
		resp_pos += len;
	}
	ck_assert(seen_hello && seen_dir);
}
END_TEST

START_TEST(symlink_readlink_link)
{
	struct stat a, b;
	char p[256], q[256];

	begin(16); /* Tsymlink */
	p32(ROOT_FID);
	pstr("ln");
	pstr("/anywhere/at/all");
	p32(0);
	ck_assert_p9_ok(send(), 17);
	ck_assert_p9_ok(walk1(2, "ln"), 111);
	ck_assert_uint_eq(qid_type_of_walk(), 0x02);
	begin(22);
	p32(2);
	ck_assert_p9_ok(send(), 23);
	ck_assert_uint_eq(get(2), 16);
	ck_assert_int_eq(memcmp(resp + resp_pos, "/anywhere/at/all", 16), 0);
	ck_assert_p9_ok(walk1(3, "hello"), 111);
	begin(70); /* Tlink: dir fid, file fid, name */
	p32(ROOT_FID);
	p32(3);
	pstr("hard");
	ck_assert_p9_ok(send(), 71);
	at(p, sizeof(p), share, "hello");
	at(q, sizeof(q), share, "hard");
	ck_assert_int_eq(stat(p, &a), 0);
	ck_assert_int_eq(stat(q, &b), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
}
END_TEST

START_TEST(setattr_statfs_fsync_locks)
{
	struct stat st;
	char p[256];

	ck_assert_p9_ok(walk1(2, "hello"), 111);
	begin(26); /* Tsetattr: mode and size */
	p32(2);
	p32(0x001 | 0x008);
	p32(0600);
	p32(0);
	p32(0);
	p64(5);
	for (int i = 0; i < 4; i++)
		p64(0);
	ck_assert_p9_ok(send(), 27);
	at(p, sizeof(p), share, "hello");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(st.st_size, 5);
	begin(8);
	p32(2);
	ck_assert_p9_ok(send(), 9);
	ck_assert_p9_ok(lopen(2, O_RDWR), 13);
	begin(50);
	p32(2);
	p32(1);
	ck_assert_p9_ok(send(), 51);
	begin(52); /* Tlock */
	p32(2);
	p8(1);
	p32(0);
	p64(0);
	p64(0);
	p32(1);
	pstr("guest");
	ck_assert_p9_ok(send(), 53);
	ck_assert_uint_eq(get(1), 0);
	begin(30); /* Txattrwalk */
	p32(2);
	p32(9);
	pstr("user.x");
	ck_assert_p9_err(send(), EOPNOTSUPP);
	begin(108);
	p16(7);
	ck_assert_p9_ok(send(), 109);
}
END_TEST

/* --- Ways out --- */

START_TEST(dotdot_at_root_stays)
{
	const char *up[] = {"..", "..", "outside"};
	const char *dotdot = "..";

	ck_assert_p9_ok(walk(ROOT_FID, 2, 1, &dotdot), 111);
	begin(24);
	p32(2);
	p64(0x7ff);
	ck_assert_p9_ok(send(), 25);
	skip(8 + 1 + 4); /* valid, qid type and version */
	{
		struct stat st;

		ck_assert_int_eq(stat(share, &st), 0);
		ck_assert_uint_eq(get(8), st.st_ino);
	}
	/* ../../outside: the share's root has no "outside" */
	ck_assert_p9_ok(walk(ROOT_FID, 3, 3, up), 111);
	ck_assert_uint_eq(get(2), 2);
}
END_TEST

START_TEST(symlinks_never_lead_out)
{
	const char *via_abs[] = {"abs", "secret"};
	const char *via_rel[] = {"rel", "secret"};

	/* The link itself can be walked to (the guest reads it), never through. */
	ck_assert_p9_ok(walk(ROOT_FID, 2, 2, via_abs), 111);
	ck_assert_uint_eq(get(2), 1);
	ck_assert_p9_ok(walk(ROOT_FID, 2, 2, via_rel), 111);
	ck_assert_uint_eq(get(2), 1);
	ck_assert_p9_ok(walk1(2, "secret-link"), 111);
	ck_assert_p9_err(lopen(2, O_RDONLY), ELOOP);
	/* Nor created over: O_EXCL refuses the existing link. */
	ck_assert_p9_err(lcreate(ROOT_FID, "secret-link", O_WRONLY | O_TRUNC, 0644), EEXIST);
	ck_assert_str_eq(host_read(outside, "secret"), "host secret\n");
}
END_TEST

START_TEST(names_with_slash_refused)
{
	const char *name = "dir/../../outside";
	const char *bad[] = {"../outside", "/etc", "", "."};

	ck_assert_p9_err(walk(ROOT_FID, 2, 1, &name), EINVAL);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_p9_err(walk(ROOT_FID, 2, 1, &bad[i]), EINVAL);
	ck_assert_p9_err(lcreate(ROOT_FID, "../outside/x", O_WRONLY, 0644), EINVAL);
	begin(74);
	p32(ROOT_FID);
	pstr("hello");
	p32(ROOT_FID);
	pstr("../outside/hello");
	ck_assert_p9_err(send(), EINVAL);
	ck_assert_ptr_null(host_read(outside, "hello"));
}
END_TEST

/* A walked directory swapped for a symlink to the outside before the open. */
START_TEST(swap_after_walk_refused)
{
	const char *path[] = {"dir", "f"};
	char p[256], q[256];

	host_write(share, "dir/f", "inside\n");
	host_write(outside, "f", "outside\n");
	ck_assert_p9_ok(walk(ROOT_FID, 2, 2, path), 111);
	at(p, sizeof(p), share, "dir");
	at(q, sizeof(q), share, "dir-old");
	ck_assert_int_eq(rename(p, q), 0);
	ck_assert_int_eq(symlink(outside, p), 0);
	ck_assert_p9_err(lopen(2, O_RDONLY), ELOOP);
}
END_TEST

START_TEST(no_device_nodes)
{
	begin(18); /* Tmknod, a character device */
	p32(ROOT_FID);
	pstr("null");
	p32(S_IFCHR | 0666);
	p32(1);
	p32(3);
	p32(0);
	ck_assert_p9_err(send(), EPERM);
	begin(18);
	p32(ROOT_FID);
	pstr("fifo");
	p32(S_IFIFO | 0600);
	p32(0);
	p32(0);
	p32(0);
	ck_assert_p9_ok(send(), 19);
}
END_TEST

START_TEST(read_only_refuses_writes)
{
	ck_assert_p9_err(lcreate(ROOT_FID, "new", O_WRONLY, 0644), EROFS);
	ck_assert_p9_ok(walk1(2, "hello"), 111);
	ck_assert_p9_err(lopen(2, O_RDWR), EROFS);
	ck_assert_p9_err(lopen(2, O_RDONLY | O_TRUNC), EROFS);
	ck_assert_p9_ok(lopen(2, O_RDONLY), 13);
	begin(72);
	p32(ROOT_FID);
	pstr("d");
	p32(0755);
	p32(0);
	ck_assert_p9_err(send(), EROFS);
	begin(76);
	p32(ROOT_FID);
	pstr("hello");
	p32(0);
	ck_assert_p9_err(send(), EROFS);
	ck_assert_str_eq(host_read(share, "hello"), "hello from the host\n");
}
END_TEST

/* --- Malformed messages --- */

START_TEST(malformed_messages)
{
	uint32_t size;

	/* A size larger than what came. */
	begin(110);
	p32(ROOT_FID);
	size = 1000;
	memcpy(req, &size, 4);
	resp_len = p9_handle(&srv, req, req_len, resp, sizeof(resp));
	ck_assert_uint_eq(resp[4], 7);
	/* A string running past the end. */
	begin(110);
	p32(ROOT_FID);
	p32(2);
	p16(1);
	p16(200);
	put("ab", 2);
	ck_assert_p9_err(send(), EINVAL);
	/* A NUL inside a name. */
	begin(110);
	p32(ROOT_FID);
	p32(2);
	p16(1);
	p16(3);
	put("a\0b", 3);
	ck_assert_p9_err(send(), EINVAL);
	/* Too many names, an unknown type, a fid that does not exist. */
	{
		const char *names[17];

		for (int i = 0; i < 17; i++)
			names[i] = "dir";
		ck_assert_p9_err(walk(ROOT_FID, 2, 17, names), EINVAL);
	}
	begin(200);
	ck_assert_p9_err(send(), EOPNOTSUPP);
	ck_assert_p9_err(lopen(99, O_RDONLY), EBADF);
	/* Too short for a header: no answer at all. */
	ck_assert_uint_eq(p9_handle(&srv, req, 3, resp, sizeof(resp)), 0);
}
END_TEST

START_TEST(fids_are_bounded)
{
	uint32_t fid = 2;

	for (; fid < 2 + P9_MAX_FIDS - 1; fid++)
		ck_assert_p9_ok(walk(ROOT_FID, fid, 0, NULL), 111);
	ck_assert_p9_err(walk(ROOT_FID, fid, 0, NULL), EMFILE);
	ck_assert_p9_err(walk(ROOT_FID, 2, 0, NULL), EBADF); /* in use */
	ck_assert_p9_ok(clunk(2), 121);
	ck_assert_p9_ok(walk(ROOT_FID, fid, 0, NULL), 111);
}
END_TEST

Suite *p9_suite(void)
{
	Suite *s = suite_create("p9");
	TCase *ops = tcase_create("operations");
	TCase *out = tcase_create("escapes");
	TCase *ro = tcase_create("read-only");

	tcase_add_checked_fixture(ops, setup, teardown);
	tcase_add_test(ops, version_negotiates);
	tcase_add_test(ops, read_host_file);
	tcase_add_test(ops, create_and_write);
	tcase_add_test(ops, getattr_reports_stat);
	tcase_add_test(ops, directories_and_names);
	tcase_add_test(ops, readdir_lists_entries);
	tcase_add_test(ops, symlink_readlink_link);
	tcase_add_test(ops, setattr_statfs_fsync_locks);
	tcase_add_test(ops, malformed_messages);
	tcase_add_test(ops, fids_are_bounded);
	suite_add_tcase(s, ops);

	tcase_add_checked_fixture(out, setup, teardown);
	tcase_add_test(out, dotdot_at_root_stays);
	tcase_add_test(out, symlinks_never_lead_out);
	tcase_add_test(out, names_with_slash_refused);
	tcase_add_test(out, swap_after_walk_refused);
	tcase_add_test(out, no_device_nodes);
	suite_add_tcase(s, out);

	tcase_add_checked_fixture(ro, setup_ro, teardown);
	tcase_add_test(ro, read_only_refuses_writes);
	suite_add_tcase(s, ro);
	return s;
}
