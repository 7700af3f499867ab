/* SPDX-License-Identifier: MIT */
/*
 * Opening the files the user names (kernel, initrd, disk images) without
 * trusting what they are: a FIFO would make open() wait for a writer for
 * ever, and opening a character device may have effects of its own. A leaf.
 */
#ifndef VMM_FILES_H
#define VMM_FILES_H

#include <stdbool.h>
#include <sys/stat.h>

/*
 * Open @path with @flags (O_CLOEXEC added) only if it is a regular file or,
 * with @allow_blk, a block device: the type is looked at before opening and
 * again on what was opened, which never waits (O_NONBLOCK while opening,
 * cleared afterwards). Returns the fd; -1 with errno when it cannot be
 * opened; -2 when it is of another type, *@st then saying which.
 */
int open_file_checked(const char *path, int flags, bool allow_blk, struct stat *st);

#endif
