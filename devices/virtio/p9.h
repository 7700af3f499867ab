/* SPDX-License-Identifier: MIT */
/*
 * A 9P2000.L file server over one host directory, for the virtio-9p device
 * (--share): one T-message in, one R-message out, nothing else shared with
 * the transport. The guest names files only through fids walked from the
 * share's root one name at a time; every host lookup starts at the root's
 * directory fd with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), or at a
 * directory fid's own fd with a single checked name, so no '..', symlink,
 * '/' or rename race leads outside the directory. Files are created as the
 * VMM's user with the guest's mode bits (QEMU's security_model=none).
 *
 * Bounds (all guest-controlled): messages of at most P9_MAX_MSIZE bytes
 * (the guest may ask for less with Tversion), P9_MAX_FIDS fids, names of at
 * most P9_MAX_NAME bytes, paths below the root of at most P9_MAX_PATH, walks
 * of at most 16 names. A malformed or refused request gets an Rlerror.
 */
#ifndef DEVICES_VIRTIO_P9_H
#define DEVICES_VIRTIO_P9_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define P9_MAX_MSIZE (512 * 1024)
#define P9_MIN_MSIZE 4096
#define P9_MAX_FIDS  4096
#define P9_MAX_NAME  255
#define P9_MAX_PATH  4095
#define P9_MAX_WALK  16
#define P9_HDR	     7 /* size[4] type[1] tag[2] */

struct p9_fid;

struct p9_server {
	int root_fd; /* O_PATH, O_DIRECTORY: the share */
	bool read_only;
	uint32_t msize; /* negotiated by Tversion */
	struct p9_fid *fids;
	unsigned int nr_fids;
};

/* Serve @dir (opened now, O_PATH); -1 with set_error() when it is no directory. */
int p9_server_init(struct p9_server *s, const char *dir, bool read_only);
void p9_server_destroy(struct p9_server *s);
/* A new session (the device was reset): every fid gone, the version to agree again. */
void p9_server_reset(struct p9_server *s);

/*
 * Answer the T-message in @req (@req_len bytes as the guest gave them) into
 * @resp (@resp_cap bytes, at least P9_HDR + 4 for an Rlerror). Returns the
 * R-message's length; 0 when the request is too broken to answer (shorter
 * than its header, or no room even for an error): the transport then
 * returns the chain empty.
 */
size_t p9_handle(struct p9_server *s, const uint8_t *req, size_t req_len, uint8_t *resp,
		 size_t resp_cap);

#endif
