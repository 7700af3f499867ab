// SPDX-License-Identifier: MIT
/*
 * diskpattern: the host side of the test guest's vmmtest.pattern= check.
 *
 *   diskpattern expect OUT SECTORS [discarded] [zeroed]
 *	write OUT, a sparse image of SECTORS 512-byte sectors holding exactly
 *	what the guest leaves on a new, zeroed disk of that size (after
 *	vmmtest.discard= too with "discarded", after vmmtest.zeroes= with
 *	"zeroed"), for `cmp OUT disk.img`
 *   diskpattern hole IMAGE
 *	succeed if the discarded range of IMAGE holds no data blocks
 *	(SEEK_DATA), i.e. the VMM punched a hole for the guest's discard
 *
 * Built for the host by guest/guest.mk; the bytes come from diskpattern.h,
 * which the guest's init uses too. Exit status 0 on success, 1 with a
 * message on stderr otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diskpattern.h"

static unsigned char buf[DP_MAX_IO];

/* Report "diskpattern: " + @fmt with @arg and the current errno's text. */
static int fail(const char *fmt, const char *arg)
{
	const char *why = strerror(errno);

	fprintf(stderr, "diskpattern: ");
	fprintf(stderr, fmt, arg, why);
	fputc('\n', stderr);
	return 1;
}

static int parse_sectors(const char *s, uint64_t *bytes)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > (UINT64_MAX / DP_SECTOR) ||
	    v * DP_SECTOR < DP_MIN_BYTES) {
		fprintf(stderr, "diskpattern: bad sector count '%s' (at least %llu)\n", s,
			DP_MIN_BYTES / DP_SECTOR);
		return -1;
	}
	*bytes = v * DP_SECTOR;
	return 0;
}

static int expect(const char *out, uint64_t bytes, unsigned int done)
{
	struct dp_extent e[DP_MAX_EXTENTS];
	unsigned int i, n = dp_extents(bytes, e);
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return fail("%s: %s", out);
	if (ftruncate(fd, (off_t)bytes) < 0)
		return fail("%s: ftruncate: %s", out);
	for (i = 0; i < n; i++) {
		dp_expect(buf, e[i].off, e[i].len, done);
		if (pwrite(fd, buf, e[i].len, (off_t)e[i].off) != (ssize_t)e[i].len)
			return fail("%s: write: %s", out);
	}
	if (close(fd) < 0)
		return fail("%s: close: %s", out);
	return 0;
}

static int hole(const char *image)
{
	int fd = open(image, O_RDONLY);
	off_t data;

	if (fd < 0)
		return fail("%s: %s", image);
	data = lseek(fd, DP_DISCARD_OFF, SEEK_DATA);
	if (data < 0 && errno != ENXIO)
		return fail("%s: SEEK_DATA: %s", image);
	close(fd);
	if (data >= 0 && (uint64_t)data < DP_DISCARD_OFF + DP_DISCARD_LEN) {
		fprintf(stderr,
			"diskpattern: %s: data at offset %jd, inside the discarded range "
			"[%llu, %llu)\n",
			image, (intmax_t)data, DP_DISCARD_OFF, DP_DISCARD_OFF + DP_DISCARD_LEN);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int done = 0;
	uint64_t bytes;
	int i;

	if (argc >= 4 && !strcmp(argv[1], "expect")) {
		for (i = 4; i < argc; i++) {
			if (!strcmp(argv[i], "discarded"))
				done |= DP_DISCARDED;
			else if (!strcmp(argv[i], "zeroed"))
				done |= DP_ZEROED;
			else
				goto usage;
		}
		if (parse_sectors(argv[3], &bytes) < 0)
			return 1;
		return expect(argv[2], bytes, done);
	}
	if (argc == 3 && !strcmp(argv[1], "hole"))
		return hole(argv[2]);
usage:
	fprintf(stderr, "usage: diskpattern expect OUT SECTORS [discarded] [zeroed]\n"
			"       diskpattern hole IMAGE\n");
	return 1;
}
