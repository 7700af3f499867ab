/* SPDX-License-Identifier: MIT */
/*
 * --api-sock PATH: a Unix stream socket for steering a running VM, one JSON
 * object a line each way (README lists the commands and replies). Clients
 * are served in turn by the main thread's loop, one at a time; others wait
 * in the listen backlog. A request is at most API_LINE_MAX bytes; anything
 * malformed gets {"ok":false,"error":...} and the connection stays open. A
 * client that does not read its replies is dropped rather than let it
 * stall the loop.
 *
 * This file knows sockets and the request syntax; what a command does is
 * the composition root's (struct api_ops).
 */
#ifndef VMM_API_H
#define VMM_API_H

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>

#define API_LINE_MAX 4096

struct api_request {
	char cmd[32];
	bool has_status;
	int status; /* "quit": the VMM's exit status, 0..255 */
};

struct api_ops {
	/*
	 * Answer @req: write the reply's members after "ok":true (",\"x\":1")
	 * to @out and return 0, or return -1 with set_error() for an error reply.
	 */
	int (*command)(void *opaque, const struct api_request *req, FILE *out);
	void *opaque;
};

struct api_server {
	int listen_fd, client_fd;
	char path[108];
	char line[API_LINE_MAX + 1];
	size_t len;
	bool discarding; /* the current line is too long: drop it to its newline */
	struct api_ops ops;
};

/*
 * Listen on @path (mode 0600). A stale socket left by an earlier VMM is
 * replaced; a path that exists as anything else, or a socket some process
 * still answers on, is refused. -1 with set_error().
 */
int api_open(struct api_server *s, const char *path, const struct api_ops *ops);
/* The fds to poll: fills @p (2 slots), returns how many it used. */
unsigned int api_poll_fds(const struct api_server *s, struct pollfd *p);
/* After poll(): accept, read and answer what is there. */
void api_serve(struct api_server *s, const struct pollfd *p, unsigned int n);
/* Close, and remove the socket file. */
void api_close(struct api_server *s);
/* Parse one request line (tests and fuzzing use it directly). -1 with set_error(). */
int api_parse_request(const char *line, struct api_request *req);

#endif
