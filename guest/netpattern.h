/* SPDX-License-Identifier: MIT */
/*
 * The data the test guest and the host tool (build/guest/netpattern) send
 * each other over TCP for the network checks, and the one exchange they
 * both speak: shared, like diskpattern.h, so that both sides compute the
 * same bytes and the same checksums.
 *
 * A stream is a seeded pseudo-random byte sequence: byte i of the stream
 * with seed S is byte i % 8 (little-endian) of splitmix64(S, i / 8). The
 * two directions use different seeds, so data echoed back, or a stream cut
 * and resumed at another place, never verifies. Its checksum is 64-bit
 * FNV-1a over the bytes, printed as 16 hex digits.
 *
 * One connection carries the exchange (np_serve(), np_client()):
 *   1. the server sends BYTES of the NP_SEED_SERVER stream;
 *   2. the client reads exactly BYTES and verifies them, then sends BYTES
 *      of the NP_SEED_CLIENT stream;
 *   3. the server reads exactly BYTES and verifies them, then sends the
 *      8-byte (little-endian) FNV-1a of what it read;
 *   4. the client reads those 8 bytes, which must be the checksum of what
 *      it sent, and shuts its sending side down;
 *   5. the server reads end of file (nothing more) and closes;
 *   6. the client reads end of file (nothing after the checksum).
 * So when either side's call returns, the other has received everything,
 * and a guest may end the VM at once. Both ends take the same BYTES from
 * their command lines.
 *
 * Every read and write fails rather than waiting forever if the caller set
 * SO_RCVTIMEO/SO_SNDTIMEO on the socket.
 */
#ifndef VMM_GUEST_NETPATTERN_H
#define VMM_GUEST_NETPATTERN_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NP_SEED_SERVER 0x7365727665723031ULL /* "server01" */
#define NP_SEED_CLIENT 0x636c69656e743032ULL /* "client02" */
#define NP_FNV_INIT    0xcbf29ce484222325ULL
#define NP_FNV_PRIME   0x100000001b3ULL
/* Bytes per read or write; a multiple of 8. */
#define NP_CHUNK (64 * 1024)
/* Largest BYTES either side accepts (1 GiB). */
#define NP_MAX_BYTES (1ULL << 30)

/* One direction of an exchange, as one side saw it. Times are
 * CLOCK_MONOTONIC milliseconds: when the first byte went or came (not when
 * the receiver started waiting for it) and when the direction was done. */
struct np_xfer {
	uint64_t bytes;
	uint64_t sum;
	long long t_first, t_end;
};

/* "ADDR:PORT" of @sa, for messages; the buffer is reused by the next call. */
static inline const char *np_addr_str(const struct sockaddr_in *sa)
{
	static char buf[INET_ADDRSTRLEN + 8];
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &sa->sin_addr, a, sizeof(a));
	snprintf(buf, sizeof(buf), "%s:%u", a, ntohs(sa->sin_port));
	return buf;
}

static inline long long np_xfer_ms(const struct np_xfer *x)
{
	return x->t_end - x->t_first;
}

/* What one side of the exchange did: @in it received, @out it sent. */
struct np_exchange {
	struct np_xfer in, out;
};

static inline long long np_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Word @index of the stream @seed (splitmix64). */
static inline uint64_t np_word(uint64_t seed, uint64_t index)
{
	uint64_t z = seed + (index + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Bytes [@off, @off + @len) of the stream @seed into @buf; any alignment. */
static inline void np_fill(unsigned char *buf, uint64_t seed, uint64_t off, size_t len)
{
	uint64_t word = np_word(seed, off / 8);
	size_t i;

	for (i = 0; i < len; i++, off++) {
		if (i && off % 8 == 0)
			word = np_word(seed, off / 8);
		buf[i] = (unsigned char)(word >> (8 * (off % 8)));
	}
}

static inline uint64_t np_fnv1a(uint64_t h, const unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ buf[i]) * NP_FNV_PRIME;
	return h;
}

/* KiB per second for @bytes in @ms (at least 1 ms: a local copy may be
 * quicker than the clock's resolution). */
static inline unsigned long long np_kib_per_s(uint64_t bytes, long long ms)
{
	return (unsigned long long)(bytes * 1000 / 1024 / (uint64_t)(ms > 0 ? ms : 1));
}

/* Parse a byte count for the exchange: 1 to NP_MAX_BYTES, decimal. */
static inline bool np_parse_bytes(const char *s, uint64_t *bytes)
{
	unsigned long long v = 0;
	const char *p;

	for (p = s; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long long)(*p - '0');
		if (v > NP_MAX_BYTES)
			return false;
	}
	if (p == s || *p || v == 0)
		return false;
	*bytes = v;
	return true;
}

/* Send @bytes of the stream @seed on @fd. */
static inline bool np_send(int fd, uint64_t seed, uint64_t bytes, struct np_xfer *x, char *err,
			   size_t len)
{
	static unsigned char buf[NP_CHUNK];
	size_t n, done;
	ssize_t w;

	*x = (struct np_xfer){.sum = NP_FNV_INIT, .t_first = np_now_ms()};
	while (x->bytes < bytes) {
		n = bytes - x->bytes < NP_CHUNK ? (size_t)(bytes - x->bytes) : NP_CHUNK;
		np_fill(buf, seed, x->bytes, n);
		for (done = 0; done < n; done += (size_t)w) {
			w = send(fd, buf + done, n - done, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				w = 0;
			if (w < 0) {
				snprintf(err, len, "send after %llu of %llu bytes: %s",
					 (unsigned long long)(x->bytes + done),
					 (unsigned long long)bytes, strerror(errno));
				return false;
			}
		}
		x->sum = np_fnv1a(x->sum, buf, n);
		x->bytes += n;
	}
	x->t_end = np_now_ms();
	return true;
}

/* Compare @n received bytes at stream offset @off with the stream. */
static inline bool np_verify(const unsigned char *got, uint64_t seed, uint64_t off, size_t n,
			     char *err, size_t len)
{
	static unsigned char want[NP_CHUNK];
	size_t i;

	np_fill(want, seed, off, n);
	if (!memcmp(got, want, n))
		return true;
	for (i = 0; got[i] == want[i]; i++)
		;
	snprintf(err, len, "byte %llu is 0x%02x, the pattern has 0x%02x",
		 (unsigned long long)(off + i), got[i], want[i]);
	return false;
}

/* Receive exactly @bytes of the stream @seed on @fd and verify them. */
static inline bool np_recv(int fd, uint64_t seed, uint64_t bytes, struct np_xfer *x, char *err,
			   size_t len)
{
	static unsigned char buf[NP_CHUNK];
	ssize_t r;

	*x = (struct np_xfer){.sum = NP_FNV_INIT};
	while (x->bytes < bytes) {
		r = recv(fd, buf,
			 bytes - x->bytes < NP_CHUNK ? (size_t)(bytes - x->bytes) : NP_CHUNK, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, len, "receive after %llu of %llu bytes: %s",
				 (unsigned long long)x->bytes, (unsigned long long)bytes,
				 r ? strerror(errno) : "end of file");
			return false;
		}
		if (!x->bytes)
			x->t_first = np_now_ms();
		if (!np_verify(buf, seed, x->bytes, (size_t)r, err, len))
			return false;
		x->sum = np_fnv1a(x->sum, buf, (size_t)r);
		x->bytes += (uint64_t)r;
	}
	x->t_end = np_now_ms();
	return true;
}

/* Read exactly @len bytes into @buf. */
static inline bool np_read_exact(int fd, unsigned char *buf, size_t n, const char *what, char *err,
				 size_t len)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = recv(fd, buf + got, n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, len, "receive %s: %s", what,
				 r ? strerror(errno) : "end of file");
			return false;
		}
		got += (size_t)r;
	}
	return true;
}

/* The peer's next event must be end of file: it sends nothing more. */
static inline bool np_expect_eof(int fd, const char *after, char *err, size_t len)
{
	unsigned char c;
	ssize_t r;

	do
		r = recv(fd, &c, 1, 0);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return true;
	snprintf(err, len, "after %s: %s", after,
		 r > 0 ? "more data, not end of file" : strerror(errno));
	return false;
}

/* The server's side of the exchange on connected socket @fd. */
static inline bool np_serve(int fd, uint64_t bytes, struct np_exchange *ex, char *err, size_t len)
{
	unsigned char ack[8];
	int i;

	if (!np_send(fd, NP_SEED_SERVER, bytes, &ex->out, err, len) ||
	    !np_recv(fd, NP_SEED_CLIENT, bytes, &ex->in, err, len))
		return false;
	/* The client sends only once it has all of ours: its first byte marks
	 * the end of our direction better than our last send() did. */
	ex->out.t_end = ex->in.t_first;
	for (i = 0; i < 8; i++)
		ack[i] = (unsigned char)(ex->in.sum >> (8 * i));
	if (send(fd, ack, sizeof(ack), MSG_NOSIGNAL) != (ssize_t)sizeof(ack)) {
		snprintf(err, len, "send the checksum: %s", strerror(errno));
		return false;
	}
	/* The client shuts down once it has read the checksum: after this our
	 * close loses nothing, even if the VM ends right away. */
	return np_expect_eof(fd, "the client's data", err, len);
}

/* The client's side of the exchange on connected socket @fd. */
static inline bool np_client(int fd, uint64_t bytes, struct np_exchange *ex, char *err, size_t len)
{
	unsigned char ack[8];
	uint64_t acked = 0;
	int i;

	if (!np_recv(fd, NP_SEED_SERVER, bytes, &ex->in, err, len) ||
	    !np_send(fd, NP_SEED_CLIENT, bytes, &ex->out, err, len) ||
	    !np_read_exact(fd, ack, sizeof(ack), "the server's checksum", err, len))
		return false;
	/* Our direction ends when the server confirms it has everything. */
	ex->out.t_end = np_now_ms();
	for (i = 0; i < 8; i++)
		acked |= (uint64_t)ack[i] << (8 * i);
	if (acked != ex->out.sum) {
		snprintf(err, len, "the server received checksum %016llx, we sent %016llx",
			 (unsigned long long)acked, (unsigned long long)ex->out.sum);
		return false;
	}
	if (shutdown(fd, SHUT_WR) < 0) {
		snprintf(err, len, "shutdown: %s", strerror(errno));
		return false;
	}
	/* The server closes once it has seen our end of file. */
	return np_expect_eof(fd, "the server's checksum", err, len);
}

#endif
