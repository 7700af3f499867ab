// SPDX-License-Identifier: MIT
/*
 * The 9P2000.L server (p9.h): message decoding and encoding, the fid
 * table, and the host-directory operations, each done on file descriptors
 * that a confined lookup produced. Message layout: size[4] type[1] tag[2]
 * body, little-endian, strings as len[2] bytes (the 9P2000.L spec, Linux's
 * include/net/9p/9p.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/error.h"
#include "devices/virtio/p9.h"

enum {
	P9_TLERROR = 6,
	P9_TSTATFS = 8,
	P9_TLOPEN = 12,
	P9_TLCREATE = 14,
	P9_TSYMLINK = 16,
	P9_TMKNOD = 18,
	P9_TRENAME = 20,
	P9_TREADLINK = 22,
	P9_TGETATTR = 24,
	P9_TSETATTR = 26,
	P9_TXATTRWALK = 30,
	P9_TXATTRCREATE = 32,
	P9_TREADDIR = 40,
	P9_TFSYNC = 50,
	P9_TLOCK = 52,
	P9_TGETLOCK = 54,
	P9_TLINK = 70,
	P9_TMKDIR = 72,
	P9_TRENAMEAT = 74,
	P9_TUNLINKAT = 76,
	P9_TVERSION = 100,
	P9_TAUTH = 102,
	P9_TATTACH = 104,
	P9_TFLUSH = 108,
	P9_TWALK = 110,
	P9_TREAD = 116,
	P9_TWRITE = 118,
	P9_TCLUNK = 120,
	P9_TREMOVE = 122,
};

#define P9_RLERROR   7
#define P9_NOFID     0xffffffffu
#define P9_QTDIR     0x80
#define P9_QTSYMLINK 0x02
#define P9_QID_SIZE  13
/* Rgetattr's valid mask: everything but btime, gen and data_version. */
#define P9_GETATTR_BASIC 0x7ffULL
/* Tsetattr's valid bits. */
#define P9_SETATTR_MODE	     0x001
#define P9_SETATTR_UID	     0x002
#define P9_SETATTR_GID	     0x004
#define P9_SETATTR_SIZE	     0x008
#define P9_SETATTR_ATIME     0x010
#define P9_SETATTR_MTIME     0x020
#define P9_SETATTR_ATIME_SET 0x080
#define P9_SETATTR_MTIME_SET 0x100
#define P9_LOCK_SUCCESS	     0
#define P9_LOCK_TYPE_UNLCK   2
/* Linux's AT_REMOVEDIR, as Tunlinkat carries it. */
#define P9_AT_REMOVEDIR 0x200
/* Open flags a guest may pass on: the rest (O_CREAT, O_NOCTTY, O_PATH...) are dropped. */
#define P9_OPEN_FLAGS (O_ACCMODE | O_APPEND | O_TRUNC | O_DIRECTORY | O_NONBLOCK | O_SYNC | O_DSYNC)
/* Resolution of every lookup from the root: never out of it, never through a symlink. */
#define P9_RESOLVE (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS)

struct p9_fid {
	uint32_t id;
	bool used;
	int fd;	     /* O_PATH, the file itself (a symlink stays a symlink) */
	int open_fd; /* after Tlopen or Tlcreate, else -1 */
	char *path;  /* below the root, "" for the root: for '..' and reopening */
};

/* --- Decoding and encoding --- */

struct p9_in {
	const uint8_t *p;
	size_t left;
	bool bad;
};

struct p9_out {
	uint8_t *p;
	size_t cap, len;
	bool full;
};

static uint64_t get_le(struct p9_in *in, unsigned int n)
{
	uint64_t v = 0;

	if (in->left < n) {
		in->bad = true;
		in->left = 0;
		return 0;
	}
	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)in->p[i] << (8 * i);
	in->p += n;
	in->left -= n;
	return v;
}

static uint8_t get8(struct p9_in *in)
{
	return (uint8_t)get_le(in, 1);
}

static uint16_t get16(struct p9_in *in)
{
	return (uint16_t)get_le(in, 2);
}

static uint32_t get32(struct p9_in *in)
{
	return (uint32_t)get_le(in, 4);
}

static uint64_t get64(struct p9_in *in)
{
	return get_le(in, 8);
}

/* A string into @buf (NUL-terminated): refused when longer than @cap - 1 or holding a NUL. */
static void get_str(struct p9_in *in, char *buf, size_t cap)
{
	uint16_t len = get16(in);

	if (in->bad || len >= cap || len > in->left || memchr(in->p, 0, len)) {
		in->bad = true;
		buf[0] = 0;
		return;
	}
	memcpy(buf, in->p, len);
	buf[len] = 0;
	in->p += len;
	in->left -= len;
}

static void put_le(struct p9_out *out, uint64_t v, unsigned int n)
{
	if (out->cap - out->len < n) {
		out->full = true;
		return;
	}
	for (unsigned int i = 0; i < n; i++)
		out->p[out->len + i] = (uint8_t)(v >> (8 * i));
	out->len += n;
}

static void put8(struct p9_out *out, uint8_t v)
{
	put_le(out, v, 1);
}

static void put16(struct p9_out *out, uint16_t v)
{
	put_le(out, v, 2);
}

static void put32(struct p9_out *out, uint32_t v)
{
	put_le(out, v, 4);
}

static void put64(struct p9_out *out, uint64_t v)
{
	put_le(out, v, 8);
}

static void put_str(struct p9_out *out, const char *s)
{
	size_t len = strlen(s);

	if (len > UINT16_MAX || out->cap - out->len < 2 + len) {
		out->full = true;
		return;
	}
	put16(out, (uint16_t)len);
	memcpy(out->p + out->len, s, len);
	out->len += len;
}

static void put_qid(struct p9_out *out, const struct stat *st)
{
	uint8_t type = S_ISDIR(st->st_mode) ? P9_QTDIR : S_ISLNK(st->st_mode) ? P9_QTSYMLINK : 0;

	put8(out, type);
	put32(out, 0); /* version: the client does not cache by it */
	put64(out, st->st_ino);
}

/* --- Fids --- */

static struct p9_fid *fid_find(struct p9_server *s, uint32_t id)
{
	for (unsigned int i = 0; i < s->nr_fids; i++) {
		if (s->fids[i].used && s->fids[i].id == id)
			return &s->fids[i];
	}
	return NULL;
}

static void fid_release(struct p9_fid *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->open_fd >= 0)
		close(f->open_fd);
	free(f->path);
	*f = (struct p9_fid){.fd = -1, .open_fd = -1};
}

/* A new fid @id for @fd and @path (both taken over, freed on failure); -errno. */
static int fid_add(struct p9_server *s, uint32_t id, int fd, char *path)
{
	struct p9_fid *f = NULL;

	if (id == P9_NOFID || fid_find(s, id)) {
		close(fd);
		free(path);
		return -EBADF;
	}
	for (unsigned int i = 0; i < s->nr_fids && !f; i++) {
		if (!s->fids[i].used)
			f = &s->fids[i];
	}
	if (!f) {
		close(fd);
		free(path);
		return -EMFILE;
	}
	*f = (struct p9_fid){.id = id, .used = true, .fd = fd, .open_fd = -1, .path = path};
	return 0;
}

static void fids_clear(struct p9_server *s)
{
	for (unsigned int i = 0; i < s->nr_fids; i++) {
		if (s->fids[i].used)
			fid_release(&s->fids[i]);
	}
}

/* --- Confined lookups --- */

/* One name of a directory: not empty, not '.' or '..', no '/' (NULs were refused on decoding). */
static bool name_ok(const char *name)
{
	return name[0] && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/');
}

static int open_beneath(int dirfd, const char *path, uint64_t flags, uint64_t mode)
{
	struct open_how how = {
	    .flags = flags | O_NOFOLLOW | O_CLOEXEC, .mode = mode, .resolve = P9_RESOLVE};
	long fd;

	/* openat2 wants a non-empty path: the root itself is "." from the root. */
	fd = syscall(SYS_openat2, dirfd, path[0] ? path : ".", &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/* @path with @name appended (or its last name taken off, for '..'); NULL when too long. */
static char *path_step(const char *path, const char *name)
{
	size_t len = strlen(path), size = len + 1 + strlen(name) + 1;
	char *out;

	if (!strcmp(name, "..")) {
		const char *slash = strrchr(path, '/');

		return strndup(path, slash ? (size_t)(slash - path) : 0);
	}
	if (size > P9_MAX_PATH + 1)
		return NULL;
	out = malloc(size);
	if (!out)
		return NULL;
	memcpy(out, path, len);
	if (len)
		out[len++] = '/';
	memcpy(out + len, name, strlen(name) + 1);
	return out;
}

/* The directory holding @f and @f's last name: for calls that take a name. */
static int open_parent(struct p9_server *s, const struct p9_fid *f, const char **base)
{
	const char *slash = strrchr(f->path, '/');
	char *dir;
	int fd;

	if (!f->path[0])
		return -EINVAL; /* the root has no parent inside the share */
	*base = slash ? slash + 1 : f->path;
	dir = strndup(f->path, slash ? (size_t)(slash - f->path) : 0);
	if (!dir)
		return -ENOMEM;
	fd = open_beneath(s->root_fd, dir, O_PATH | O_DIRECTORY, 0);
	free(dir);
	return fd;
}

static int stat_fd(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* --- Requests --- */

struct p9_req {
	struct p9_server *s;
	struct p9_in in;
	struct p9_out out;
};

/* Every name a request carries: decoded here, refused if it is no single name. */
static int get_name(struct p9_req *r, char *name)
{
	get_str(&r->in, name, P9_MAX_NAME + 1);
	if (r->in.bad)
		return -EINVAL;
	return name_ok(name) ? 0 : -EINVAL;
}

static struct p9_fid *get_fid(struct p9_req *r)
{
	uint32_t id = get32(&r->in);

	return r->in.bad ? NULL : fid_find(r->s, id);
}

static int refuse_if_ro(struct p9_req *r)
{
	return r->s->read_only ? -EROFS : 0;
}

static int do_version(struct p9_req *r)
{
	uint32_t msize = get32(&r->in);
	char version[32];

	get_str(&r->in, version, sizeof(version));
	if (r->in.bad || msize < P9_MIN_MSIZE)
		return -EINVAL;
	fids_clear(r->s); /* a new session: every fid of the old one is gone */
	r->s->msize = msize < P9_MAX_MSIZE ? msize : P9_MAX_MSIZE;
	put32(&r->out, r->s->msize);
	put_str(&r->out, strcmp(version, "9P2000.L") ? "unknown" : "9P2000.L");
	return 0;
}

static int do_attach(struct p9_req *r)
{
	uint32_t fid = get32(&r->in);
	char uname[256], aname[256];
	struct stat st;
	int fd, err;

	get32(&r->in); /* afid: no authentication */
	get_str(&r->in, uname, sizeof(uname));
	get_str(&r->in, aname, sizeof(aname));
	get32(&r->in); /* n_uname */
	if (r->in.bad)
		return -EINVAL;
	fd = open_beneath(r->s->root_fd, "", O_PATH | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	err = stat_fd(fd, &st);
	err = err ?: fid_add(r->s, fid, fd, strdup(""));
	if (err)
		return err;
	put_qid(&r->out, &st);
	return 0;
}

/* Twalk: from @from through @n names; newfid only when all were walked. */
static int do_walk(struct p9_req *r)
{
	struct p9_fid *from = get_fid(r);
	uint32_t newfid = get32(&r->in);
	uint16_t n = get16(&r->in);
	char *path, name[P9_MAX_NAME + 1];
	size_t count_at;
	int fd = -1, err = 0;
	uint16_t done = 0;

	if (r->in.bad || !from)
		return r->in.bad ? -EINVAL : -EBADF;
	if (n > P9_MAX_WALK)
		return -EINVAL;
	if (newfid != from->id && fid_find(r->s, newfid))
		return -EBADF;
	path = strdup(from->path);
	if (!path)
		return -ENOMEM;
	count_at = r->out.len;
	put16(&r->out, 0);
	for (; done < n; done++) {
		struct stat st;
		char *next;

		get_str(&r->in, name, sizeof(name));
		if (r->in.bad || (!name_ok(name) && strcmp(name, ".."))) {
			err = -EINVAL;
			break;
		}
		next = path_step(path, name);
		if (!next) {
			err = -ENAMETOOLONG;
			break;
		}
		free(path);
		path = next;
		if (fd >= 0)
			close(fd);
		fd = open_beneath(r->s->root_fd, path, O_PATH, 0);
		err = fd < 0 ? fd : stat_fd(fd, &st);
		if (err)
			break;
		put_qid(&r->out, &st);
	}
	if (done < n) {
		if (fd >= 0)
			close(fd);
		free(path);
		if (!done)
			return err; /* the first name failed: an error, not an empty walk */
		r->out.p[count_at] = (uint8_t)done;
		r->out.p[count_at + 1] = (uint8_t)(done >> 8);
		return 0;
	}
	if (fd < 0)
		fd = open_beneath(r->s->root_fd, path, O_PATH, 0);
	if (fd < 0) {
		free(path);
		return fd;
	}
	r->out.p[count_at] = (uint8_t)done;
	r->out.p[count_at + 1] = (uint8_t)(done >> 8);
	if (newfid == from->id) { /* walking a fid onto itself moves it */
		close(from->fd);
		free(from->path);
		from->fd = fd;
		from->path = path;
		return 0;
	}
	return fid_add(r->s, newfid, fd, path);
}

static int do_clunk(struct p9_req *r)
{
	struct p9_fid *f = get_fid(r);

	if (!f)
		return -EBADF;
	fid_release(f);
	return 0;
}

static int do_getattr(struct p9_req *r)
{
	struct p9_fid *f = get_fid(r);
	struct stat st;
	int err;

	get64(&r->in); /* request_mask: the basic set is always sent */
	if (!f)
		return -EBADF;
	err = stat_fd(f->fd, &st);
	if (err)
		return err;
	put64(&r->out, P9_GETATTR_BASIC);
	put_qid(&r->out, &st);
	put32(&r->out, st.st_mode);
	put32(&r->out, st.st_uid);
	put32(&r->out, st.st_gid);
	put64(&r->out, st.st_nlink);
	put64(&r->out, st.st_rdev);
	put64(&r->out, (uint64_t)st.st_size);
	put64(&r->out, (uint64_t)st.st_blksize);
	put64(&r->out, (uint64_t)st.st_blocks);
	put64(&r->out, (uint64_t)st.st_atim.tv_sec);
	put64(&r->out, (uint64_t)st.st_atim.tv_nsec);
	put64(&r->out, (uint64_t)st.st_mtim.tv_sec);
	put64(&r->out, (uint64_t)st.st_mtim.tv_nsec);
	put64(&r->out, (uint64_t)st.st_ctim.tv_sec);
	put64(&r->out, (uint64_t)st.st_ctim.tv_nsec);
	for (int i = 0; i < 4; i++)
		put64(&r->out, 0); /* btime sec and nsec, gen, data_version: not valid */
	return 0;
}

/* The guest's open flags, made safe: no creation here, never through a symlink. */
static int open_flags(struct p9_req *r, uint32_t flags)
{
	bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);

	if (writes && r->s->read_only)
		return -EROFS;
	return (int)(flags & P9_OPEN_FLAGS);
}

static uint32_t iounit(const struct p9_server *s)
{
	return s->msize - P9_HDR - 4 - 8 - 4; /* what one Tread or Twrite can carry */
}

static int do_lopen(struct p9_req *r)
{
	struct p9_fid *f = get_fid(r);
	uint32_t flags = get32(&r->in);
	struct stat st;
	int fl, fd, err;

	if (r->in.bad || !f)
		return r->in.bad ? -EINVAL : -EBADF;
	if (f->open_fd >= 0)
		return -EBUSY;
	fl = open_flags(r, flags);
	if (fl < 0)
		return fl;
	fd = open_beneath(r->s->root_fd, f->path, (uint64_t)fl, 0);
	if (fd < 0)
		return fd;
	err = stat_fd(fd, &st);
	if (err) {
		close(fd);
		return err;
	}
	f->open_fd = fd;
	put_qid(&r->out, &st);
	put32(&r->out, iounit(r->s));
	return 0;
}

/* Regular files, directories, FIFOs and sockets: never device nodes on the host. */
static int do_lcreate(struct p9_req *r)
{
	struct p9_fid *f = get_fid(r);
	char name[P9_MAX_NAME + 1], *path;
	uint32_t flags, mode;
	struct stat st;
	int err = get_name(r, name), fl, fd;

	flags = get32(&r->in);
	mode = get32(&r->in);
	get32(&r->in); /* gid: files belong to the VMM's user */
	if (r->in.bad || !f)
		return r->in.bad ? -EINVAL : -EBADF;
	err = err ?: refuse_if_ro(r);
	if (err)
		return err;
	if (f->open_fd >= 0)
		return -EBUSY;
	fl = open_flags(r, flags);
	if (fl < 0)
		return fl;
	path = path_step(f->path, name);
	if (!path)
		return -ENAMETOOLONG;
	/* From the directory's own fd, one checked name: O_EXCL, so no symlink is followed. */
	fd = open_beneath(f->fd, name, (uint64_t)fl | O_CREAT | O_EXCL, mode & 07777);
	err = fd < 0 ? fd : stat_fd(fd, &st);
	if (err) {
		if (fd >= 0)
			close(fd);
		free(path);
		return err;
	}
	/* The fid now stands for the new file: an O_PATH fd on what was just opened. */
	close(f->fd);
	f->fd = open_beneath(r->s->root_fd, path, O_PATH, 0);
	if (f->fd < 0)
		f->fd = dup(fd); /* renamed meanwhile: the open file is the same inode */
	free(f->path);
	f->path = path;
	f->open_fd = fd;
	put_qid(&r->out, &st);
	put32(&r->out, iounit(r->s));
	return 0;
}

static int do_read(struct p9_req *r)
{
	struct p9_fid *f = get_fid(r);
	uint64_t off = get64(&r->in);
	uint32_t count = get32(&r->in);
	size_t room;
	ssize_t n;

	if (r->in.bad || !f)
		return r->in.bad ? -EINVAL : -EBADF;
	if (f->open_fd < 0)
		return -EBADF;
	room = r->out.cap - r->out.len - 4;
	if (count > room)
		count = (uint32_t)room;
	if (off > INT64_MAX)
		return -EINVAL;
	n = pread(f->open_fd, r->out.p + r->out.len + 4, count, (off_t)off);
	if (n < 0)
		return -errno;
	put32(&r->out, (uint32_t)n);
	r->out.len += (size_t)n;
	return 0;
}

static int do_write(struct p9_req *r)
{
	struct p9_fid *f = get_fid(r);
	uint64_t off = get64(&r->in);
	uint32_t count = get32(&r->in);
	ssize_t n;

	if (r->in.bad || !f || count > r->in.left)
		return !f && !r->in.bad ? -EBADF : -EINVAL;
	if (f->open_fd < 0)
		return -EBADF;
	if (off > INT64_MAX)
		return -EINVAL;
	n = pwrite(f->open_fd, r->in.p, count, (off_t)off);
	if (n < 0)
		return -errno;
	put32(&r->out, (uint32_t)n);
	return 0;
}

/* Rreaddir: entries qid[13] offset[8] type[1] name[s] while they fit in @count. */
static int do_readdir(struct p9_req *r)
{
	struct p9_fid *f = get_fid(r);
	uint64_t off = get64(&r->in);
	uint32_t count = get32(&r->in);
	size_t count_at, start, limit;
	bool left_out = false;
	char buf[8192];

	if (r->in.bad || !f)
		return r->in.bad ? -EINVAL : -EBADF;
	if (f->open_fd < 0)
		return -EBADF;
	if (off > INT64_MAX || lseek(f->open_fd, (off_t)off, SEEK_SET) < 0)
		return off > INT64_MAX ? -EINVAL : -errno;
	count_at = r->out.len;
	put32(&r->out, 0);
	start = r->out.len;
	limit = r->out.cap - start < count ? r->out.cap - start : count;
	for (;;) {
		long n = syscall(SYS_getdents64, f->open_fd, buf, sizeof(buf));

		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		for (long pos = 0; pos < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + pos);
			size_t need = P9_QID_SIZE + 8 + 1 + 2 + strlen(d->d_name);
			struct stat st = {.st_ino = d->d_ino,
					  .st_mode = d->d_type == DT_DIR   ? S_IFDIR
						     : d->d_type == DT_LNK ? S_IFLNK
									   : S_IFREG};

			if (r->out.len - start + need > limit) {
				left_out = true;
				goto done;
			}
			put_qid(&r->out, &st);
			put64(&r->out, (uint64_t)d->d_off);
			put8(&r->out, d->d_type);
			put_str(&r->out, d->d_name);
			pos += d->d_reclen;
		}
	}
done:
	/* No entry at all reads as the directory's end: one that does not fit is an error. */
	if (r->out.len == start && left_out)
		return -EINVAL;
	put_le(&(struct p9_out){r->out.p + count_at, 4, 0, false}, r->out.len - start, 4);
	return 0;
}

/* The qid of what a request just made as @name in directory @dirfd: its answer. */
static int put_qid_of(struct p9_req *r, int dirfd, const char *name)
{
	struct stat st;
	int fd = open_beneath(dirfd, name, O_PATH, 0), err;

	err = fd < 0 ? fd : stat_fd(fd, &st);
	if (fd >= 0)
		close(fd);
	if (err)
		return err;
	put_qid(&r->out, &st);
	return 0;
}

static int do_mkdir(struct p9_req *r)
{
	struct p9_fid *f = get_fid(r);
	char name[P9_MAX_NAME + 1];
	int err = get_name(r, name);
	uint32_t mode = get32(&r->in);

	get32(&r->in); /* gid */
	if (r->in.bad || !f)
		return r->in.bad ? -EINVAL : -EBADF;
	err = err ?: refuse_if_ro(r);
	if (err)
		return err;
	if (mkdirat(f->fd, name, mode & 07777) < 0)
		return -errno;
	return put_qid_of(r, f->fd, name);
}

static int do_symlink(struct p9_req *r)
{
	struct p9_fid *f = get_fid(r);
	char name[P9_MAX_NAME + 1], target[P9_MAX_PATH + 1];
	int err = get_name(r, name);

	get_str(&r->in, target, sizeof(target));
	get32(&r->in); /* gid */
	if (r->in.bad || !f || !target[0])
		return !f && !r->in.bad ? -EBADF : -EINVAL;
	err = err ?: refuse_if_ro(r);
	if (err)
		return err;
	/* The target is only text: no lookup of ours ever follows a symlink. */
	if (symlinkat(target, f->fd, name) < 0)
		return -errno;
	return put_qid_of(r, f->fd, name);
}

/* FIFOs and sockets only: a device node on the host would reach the host's devices. */
static int do_mknod(struct p9_req *r)
{
	struct p9_fid *f = get_fid(r);
	char name[P9_MAX_NAME + 1];
	int err = get_name(r, name);
	uint32_t mode = get32(&r->in);

	get32(&r->in); /* major */
	get32(&r->in); /* minor */
	get32(&r->in); /* gid */
	if (r->in.bad || !f)
		return r->in.bad ? -EINVAL : -EBADF;
	err = err ?: refuse_if_ro(r);
	if (err)
		return err;
	if (!S_ISFIFO(mode) && !S_ISSOCK(mode))
		return -EPERM;
	if (mknodat(f->fd, name, mode & (S_IFMT | 07777), 0) < 0)
		return -errno;
	return put_qid_of(r, f->fd, name);
}

static int do_readlink(struct p9_req *r)
{
	struct p9_fid *f = get_fid(r);
	char target[P9_MAX_PATH + 1];
	ssize_t n;

	if (!f)
		return -EBADF;
	n = readlinkat(f->fd, "", target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = 0;
	put_str(&r->out, target);
	return 0;
}

static int do_unlinkat(struct p9_req *r)
{
	struct p9_fid *f = get_fid(r);
	char name[P9_MAX_NAME + 1];
	int err = get_name(r, name);
	uint32_t flags = get32(&r->in);

	if (r->in.bad || !f)
		return r->in.bad ? -EINVAL : -EBADF;
	err = err ?: refuse_if_ro(r);
	if (err)
		return err;
	if (unlinkat(f->fd, name, flags & P9_AT_REMOVEDIR ? AT_REMOVEDIR : 0) < 0)
		return -errno;
	return 0;
}

static int do_renameat(struct p9_req *r)
{
	struct p9_fid *from = get_fid(r);
	char old[P9_MAX_NAME + 1], new[P9_MAX_NAME + 1];
	int err = get_name(r, old);
	struct p9_fid *to = get_fid(r);

	err = err ?: get_name(r, new);
	if (r->in.bad || !from || !to)
		return r->in.bad ? -EINVAL : -EBADF;
	err = err ?: refuse_if_ro(r);
	if (err)
		return err;
	return renameat(from->fd, old, to->fd, new) < 0 ? -errno : 0;
}

/* Trename (the older form): the fid's file into @dfid under a new name. */
static int do_rename(struct p9_req *r)
{
	struct p9_fid *f = get_fid(r);
	struct p9_fid *to = get_fid(r);
	char name[P9_MAX_NAME + 1];
	int err = get_name(r, name), dir;
	const char *base;

	if (r->in.bad || !f || !to)
		return r->in.bad ? -EINVAL : -EBADF;
	err = err ?: refuse_if_ro(r);
	if (err)
		return err;
	dir = open_parent(r->s, f, &base);
	if (dir < 0)
		return dir;
	err = renameat(dir, base, to->fd, name) < 0 ? -errno : 0;
	close(dir);
	return err;
}

/* A hard link names the fid's inode again: from its own directory, one name each side. */
static int do_link(struct p9_req *r)
{
	struct p9_fid *dir = get_fid(r);
	struct p9_fid *f = get_fid(r);
	char name[P9_MAX_NAME + 1];
	int err = get_name(r, name), parent;
	const char *base;

	if (r->in.bad || !dir || !f)
		return r->in.bad ? -EINVAL : -EBADF;
	err = err ?: refuse_if_ro(r);
	if (err)
		return err;
	parent = open_parent(r->s, f, &base);
	if (parent < 0)
		return parent;
	err = linkat(parent, base, dir->fd, name, 0) < 0 ? -errno : 0;
	close(parent);
	return err;
}

static int do_remove(struct p9_req *r)
{
	struct p9_fid *f = get_fid(r);
	const char *base;
	struct stat st;
	int dir, err;

	if (!f)
		return -EBADF;
	err = refuse_if_ro(r);
	err = err ?: stat_fd(f->fd, &st);
	if (!err) {
		dir = open_parent(r->s, f, &base);
		err = dir < 0 ? dir : 0;
		if (dir >= 0 && unlinkat(dir, base, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
			err = -errno;
		if (dir >= 0)
			close(dir);
	}
	fid_release(f); /* Tremove clunks the fid whatever the outcome */
	return err;
}

/* chmod on the file itself: O_PATH fds take no fchmod, and fchmodat would follow a symlink. */
static int set_mode(struct p9_server *s, struct p9_fid *f, uint32_t mode)
{
	struct stat st;
	int fd, err = stat_fd(f->fd, &st);

	if (err)
		return err;
	if (S_ISLNK(st.st_mode))
		return -EOPNOTSUPP;
	fd = f->open_fd >= 0 ? dup(f->open_fd) : open_beneath(s->root_fd, f->path, O_RDONLY, 0);
	if (fd < 0 && !S_ISDIR(st.st_mode))
		fd = open_beneath(s->root_fd, f->path, O_WRONLY, 0);
	if (fd < 0)
		return fd;
	err = fchmod(fd, mode & 07777) < 0 ? -errno : 0;
	close(fd);
	return err;
}

static int set_size(struct p9_server *s, struct p9_fid *f, uint64_t size)
{
	int fd, err;

	if (size > INT64_MAX)
		return -EINVAL;
	fd = open_beneath(s->root_fd, f->path, O_WRONLY, 0);
	if (fd < 0)
		return fd;
	err = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	close(fd);
	return err;
}

static struct timespec set_time(uint32_t valid, uint32_t bit, uint32_t set_bit, uint64_t sec,
				uint64_t nsec)
{
	if (!(valid & bit))
		return (struct timespec){.tv_nsec = UTIME_OMIT};
	if (!(valid & set_bit))
		return (struct timespec){.tv_nsec = UTIME_NOW};
	return (struct timespec){.tv_sec = (time_t)sec, .tv_nsec = (long)(nsec % 1000000000)};
}

static int do_setattr(struct p9_req *r)
{
	struct p9_fid *f = get_fid(r);
	uint32_t valid = get32(&r->in), mode = get32(&r->in);
	uint32_t uid = get32(&r->in), gid = get32(&r->in);
	uint64_t size = get64(&r->in), v[4];
	struct timespec times[2];
	int err;

	for (int i = 0; i < 4; i++)
		v[i] = get64(&r->in);
	if (r->in.bad || !f)
		return r->in.bad ? -EINVAL : -EBADF;
	err = refuse_if_ro(r);
	if (!err && (valid & P9_SETATTR_MODE))
		err = set_mode(r->s, f, mode);
	if (!err && (valid & (P9_SETATTR_UID | P9_SETATTR_GID)) &&
	    fchownat(f->fd, "", valid & P9_SETATTR_UID ? uid : (uid_t)-1,
		     valid & P9_SETATTR_GID ? gid : (gid_t)-1,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		err = -errno;
	if (!err && (valid & P9_SETATTR_SIZE))
		err = set_size(r->s, f, size);
	times[0] = set_time(valid, P9_SETATTR_ATIME, P9_SETATTR_ATIME_SET, v[0], v[1]);
	times[1] = set_time(valid, P9_SETATTR_MTIME, P9_SETATTR_MTIME_SET, v[2], v[3]);
	if (!err && (valid & (P9_SETATTR_ATIME | P9_SETATTR_MTIME)) &&
	    utimensat(f->fd, "", times, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		err = -errno;
	return err;
}

static int do_statfs(struct p9_req *r)
{
	struct p9_fid *f = get_fid(r);
	struct statfs st;

	if (!f)
		return -EBADF;
	if (fstatfs(f->fd, &st) < 0)
		return -errno;
	put32(&r->out, (uint32_t)st.f_type);
	put32(&r->out, (uint32_t)st.f_bsize);
	put64(&r->out, st.f_blocks);
	put64(&r->out, st.f_bfree);
	put64(&r->out, st.f_bavail);
	put64(&r->out, st.f_files);
	put64(&r->out, st.f_ffree);
	put64(&r->out, 0); /* fsid */
	put32(&r->out, (uint32_t)st.f_namelen);
	return 0;
}

static int do_fsync(struct p9_req *r)
{
	struct p9_fid *f = get_fid(r);
	uint32_t datasync = get32(&r->in);

	if (r->in.bad || !f)
		return r->in.bad ? -EINVAL : -EBADF;
	if (f->open_fd < 0)
		return -EBADF;
	return (datasync ? fdatasync(f->open_fd) : fsync(f->open_fd)) < 0 ? -errno : 0;
}

/*
 * Tlock and Tgetlock: POSIX locks are the guest's own business (one guest
 * per share), so every lock is granted and none is ever held against it.
 */
static int do_lock(struct p9_req *r)
{
	if (!get_fid(r))
		return -EBADF;
	put8(&r->out, P9_LOCK_SUCCESS);
	return 0;
}

static int do_getlock(struct p9_req *r)
{
	struct p9_fid *f = get_fid(r);
	uint64_t start, length;
	uint32_t proc_id;
	char client[256];

	get8(&r->in); /* type */
	start = get64(&r->in);
	length = get64(&r->in);
	proc_id = get32(&r->in);
	get_str(&r->in, client, sizeof(client));
	if (r->in.bad || !f)
		return r->in.bad ? -EINVAL : -EBADF;
	put8(&r->out, P9_LOCK_TYPE_UNLCK);
	put64(&r->out, start);
	put64(&r->out, length);
	put32(&r->out, proc_id);
	put_str(&r->out, client);
	return 0;
}

/* Requests are answered one by one, in order: by a Tflush the old one is done already. */
static int do_flush(struct p9_req *r)
{
	get16(&r->in);
	return r->in.bad ? -EINVAL : 0;
}

static int dispatch(struct p9_req *r, uint8_t type)
{
	if (type != P9_TVERSION && !r->s->msize)
		return -EPROTO; /* nothing before the version is agreed */
	switch (type) {
	case P9_TVERSION: return do_version(r);
	case P9_TATTACH: return do_attach(r);
	case P9_TWALK: return do_walk(r);
	case P9_TCLUNK: return do_clunk(r);
	case P9_TGETATTR: return do_getattr(r);
	case P9_TSETATTR: return do_setattr(r);
	case P9_TLOPEN: return do_lopen(r);
	case P9_TLCREATE: return do_lcreate(r);
	case P9_TREAD: return do_read(r);
	case P9_TWRITE: return do_write(r);
	case P9_TREADDIR: return do_readdir(r);
	case P9_TMKDIR: return do_mkdir(r);
	case P9_TSYMLINK: return do_symlink(r);
	case P9_TMKNOD: return do_mknod(r);
	case P9_TREADLINK: return do_readlink(r);
	case P9_TUNLINKAT: return do_unlinkat(r);
	case P9_TRENAMEAT: return do_renameat(r);
	case P9_TRENAME: return do_rename(r);
	case P9_TLINK: return do_link(r);
	case P9_TREMOVE: return do_remove(r);
	case P9_TSTATFS: return do_statfs(r);
	case P9_TFSYNC: return do_fsync(r);
	case P9_TLOCK: return do_lock(r);
	case P9_TGETLOCK: return do_getlock(r);
	case P9_TFLUSH: return do_flush(r);
	case P9_TXATTRWALK:
	case P9_TXATTRCREATE: return -EOPNOTSUPP; /* no extended attributes through the share */
	case P9_TAUTH: return -EOPNOTSUPP;	  /* no authentication: Tattach with NOFID */
	default: return -EOPNOTSUPP;
	}
}

static void finish(struct p9_out *out, uint8_t type, uint16_t tag)
{
	struct p9_out hdr = {out->p, P9_HDR, 0, false};

	put32(&hdr, (uint32_t)out->len);
	put8(&hdr, type);
	put16(&hdr, tag);
}

size_t p9_handle(struct p9_server *s, const uint8_t *req, size_t req_len, uint8_t *resp,
		 size_t resp_cap)
{
	struct p9_in hdr = {req, req_len, false};
	uint32_t size = get32(&hdr);
	uint8_t type = get8(&hdr);
	uint16_t tag = get16(&hdr);
	size_t cap = resp_cap;
	struct p9_req r;
	int err;

	if (hdr.bad || resp_cap < P9_HDR + 4)
		return 0;
	if (s->msize && cap > s->msize)
		cap = s->msize;
	r = (struct p9_req){s,
			    {req + P9_HDR, size >= P9_HDR ? size - P9_HDR : 0, false},
			    {resp, cap, P9_HDR, false}};
	/* The message is what its size says, and never more than was given or agreed. */
	err = size < P9_HDR || size > req_len || (s->msize && size > s->msize) ? -EMSGSIZE
									       : dispatch(&r, type);
	if (!err && r.out.full)
		err = -ENOBUFS;
	if (err) {
		r.out.len = P9_HDR;
		put32(&r.out, (uint32_t)-err);
		finish(&r.out, P9_RLERROR, tag);
		return r.out.len;
	}
	finish(&r.out, type + 1, tag);
	return r.out.len;
}

int p9_server_init(struct p9_server *s, const char *dir, bool read_only)
{
	*s = (struct p9_server){.root_fd = -1, .read_only = read_only};
	s->root_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0)
		return set_error("--share %s: %s", dir, strerror(errno));
	s->fids = calloc(P9_MAX_FIDS, sizeof(*s->fids));
	if (!s->fids) {
		close(s->root_fd);
		return set_error("--share %s: out of memory", dir);
	}
	s->nr_fids = P9_MAX_FIDS;
	for (unsigned int i = 0; i < s->nr_fids; i++)
		s->fids[i] = (struct p9_fid){.fd = -1, .open_fd = -1};
	return 0;
}

void p9_server_reset(struct p9_server *s)
{
	fids_clear(s);
	s->msize = 0;
}

void p9_server_destroy(struct p9_server *s)
{
	if (s->fids)
		fids_clear(s);
	free(s->fids);
	if (s->root_fd >= 0)
		close(s->root_fd);
	*s = (struct p9_server){.root_fd = -1};
}
