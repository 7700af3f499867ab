// SPDX-License-Identifier: MIT
/*
 * netpattern: the host end of the test guest's TCP checks (netpattern.h).
 *
 *   netpattern serve [--bind ADDR] --port PORT --bytes BYTES
 *	listen on ADDR (default 0.0.0.0) port PORT, print "netpattern:
 *	listening on ADDR:PORT, pid PID" once the socket listens (a script
 *	waits for that line instead of sleeping), accept one client (printing
 *	"netpattern: client ADDR:PORT") and run the server's side of the
 *	exchange: the guest's vmmtest.tcp=. SIGTERM before a client came
 *	prints "netpattern: stopped, no client" and exits with status 3, or,
 *	if a connection was already waiting to be accepted, reports it as a
 *	client and exits with 1: a script can stop a port that must see no
 *	connection and tell for sure whether one came.
 *   netpattern client ADDR PORT BYTES
 *	connect and run the client's side: the guest's vmmtest.serve=
 *
 * Both print "netpattern: received|sent N bytes fnv1a=X in T ms (K KiB/s)"
 * for a script to compare with what the guest printed, and exit 0 if the
 * exchange completed and every received byte matched the pattern, 1 with
 * a message on stderr otherwise. Reads and writes give up after 60 s
 * without progress; accept waits until the tool is killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "netpattern.h"

#define IO_WAIT_S 60

static int fail(const char *what)
{
	fprintf(stderr, "netpattern: %s: %s\n", what, strerror(errno));
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: netpattern serve [--bind ADDR] --port PORT --bytes BYTES\n"
			"       netpattern client ADDR PORT BYTES\n");
	return 1;
}

static bool parse_port(const char *s, struct sockaddr_in *sa)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 65535)
		return false;
	sa->sin_port = htons((uint16_t)v);
	return true;
}

static void print_xfer(const char *dir, const struct np_xfer *x)
{
	long long ms = np_xfer_ms(x);

	printf("netpattern: %s %llu bytes fnv1a=%016llx in %lld ms (%llu KiB/s)\n", dir,
	       (unsigned long long)x->bytes, (unsigned long long)x->sum, ms,
	       np_kib_per_s(x->bytes, ms));
}

/* Run one side of the exchange on connected @fd and report it. */
static int exchange(int fd, bool server, uint64_t bytes)
{
	struct timeval tv = {.tv_sec = IO_WAIT_S};
	struct np_exchange ex;
	char err[160];
	bool ok;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ok = server ? np_serve(fd, bytes, &ex, err, sizeof(err))
		    : np_client(fd, bytes, &ex, err, sizeof(err));
	close(fd);
	if (!ok) {
		fprintf(stderr, "netpattern: %s\n", err);
		return 1;
	}
	print_xfer("received", &ex.in);
	print_xfer("sent", &ex.out);
	return 0;
}

static volatile sig_atomic_t stop_requested;

static void on_sigterm(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Wait for a client on @lfd until SIGTERM. SIGTERM is blocked except
 * inside ppoll(), so it cannot slip in between a check and the wait. */
static int wait_for_client(int lfd)
{
	struct sigaction sa = {.sa_handler = on_sigterm};
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	sigset_t term, old;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop_requested && ppoll(&p, 1, NULL, &old) < 0 && errno == EINTR)
		;
	/* Stopped or not, take a connection that is already there, without
	 * waiting: that tells "no client came" from "one came". */
	fcntl(lfd, F_SETFL, O_NONBLOCK);
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

static int serve(const struct sockaddr_in *sa, uint64_t bytes)
{
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), fd, one = 1;
	sigset_t none;

	if (lfd < 0)
		return fail("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		return fail(np_addr_str(sa));
	if (listen(lfd, 1) < 0)
		return fail("listen");
	printf("netpattern: listening on %s, pid %d\n", np_addr_str(sa), (int)getpid());
	fflush(stdout);
	fd = wait_for_client(lfd);
	if (fd < 0 && stop_requested) {
		printf("netpattern: stopped, no client\n");
		return 3;
	}
	if (fd < 0)
		return fail("accept");
	close(lfd);
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) == 0)
		printf("netpattern: client %s\n", np_addr_str(&peer));
	fflush(stdout);
	if (stop_requested) {
		fprintf(stderr, "netpattern: stopped before the exchange\n");
		return 1;
	}
	/* From now on SIGTERM ends the tool, also in the middle of a send. */
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	return exchange(fd, true, bytes);
}

static int client(const struct sockaddr_in *sa, uint64_t bytes)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail("socket");
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		return fail(np_addr_str(sa));
	return exchange(fd, false, bytes);
}

/* serve's options: [--bind ADDR] --port PORT --bytes BYTES */
static bool parse_serve(int argc, char **argv, struct sockaddr_in *sa, uint64_t *bytes)
{
	bool port = false, count = false;
	int i;

	for (i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--bind")) {
			if (inet_pton(AF_INET, argv[i + 1], &sa->sin_addr) != 1)
				return false;
		} else if (!strcmp(argv[i], "--port")) {
			port = parse_port(argv[i + 1], sa);
		} else if (!strcmp(argv[i], "--bytes")) {
			count = np_parse_bytes(argv[i + 1], bytes);
		} else {
			return false;
		}
	}
	return i == argc && port && count;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
	uint64_t bytes = 0;

	if (argc >= 2 && !strcmp(argv[1], "serve")) {
		if (!parse_serve(argc, argv, &sa, &bytes))
			return usage();
		return serve(&sa, bytes);
	}
	if (argc == 5 && !strcmp(argv[1], "client")) {
		if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1 || !parse_port(argv[3], &sa) ||
		    !np_parse_bytes(argv[4], &bytes))
			return usage();
		return client(&sa, bytes);
	}
	return usage();
}
