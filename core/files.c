// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/files.h"

static bool type_allowed(mode_t mode, bool allow_blk)
{
	return S_ISREG(mode) || (allow_blk && S_ISBLK(mode));
}

int open_file_checked(const char *path, int flags, bool allow_blk, struct stat *st)
{
	struct stat opened;
	int fd;

	if (stat(path, st) < 0)
		return -1;
	if (!type_allowed(st->st_mode, allow_blk))
		return -2;
	/* Swapped for a FIFO since the stat: O_NONBLOCK keeps open() from waiting. */
	fd = open(path, flags | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &opened) < 0 || !type_allowed(opened.st_mode, allow_blk)) {
		*st = opened;
		close(fd);
		return -2;
	}
	/* io_uring honours O_NONBLOCK on files: it would answer EAGAIN. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		close(fd);
		return -1;
	}
	*st = opened;
	return fd;
}
