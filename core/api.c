// SPDX-License-Identifier: MIT
/* --api-sock (api.h): the socket, its lines, and the request syntax. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/api.h"
#include "core/error.h"
#include "core/json.h"
#include "core/util.h"

/* ---- the request: one flat JSON object ---- */

struct cursor {
	const char *p;
};

static void skip_space(struct cursor *c)
{
	while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')
		c->p++;
}

/* A JSON string into @out (truncated to @size - 1; escapes decoded, \u as '?'). */
static int parse_string(struct cursor *c, char *out, size_t size)
{
	size_t n = 0;

	if (*c->p != '"')
		return set_error("expected a string");
	for (c->p++; *c->p != '"'; c->p++) {
		char ch = *c->p;

		if (!ch || (unsigned char)ch < 0x20)
			return set_error("unterminated string");
		if (ch == '\\') {
			static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
			const char *e = *++c->p ? strchr(esc_in, *c->p) : NULL;

			if (*c->p == 'u') {
				for (int i = 0; i < 4; i++)
					if (!strchr("0123456789abcdefABCDEF", *++c->p) || !*c->p)
						return set_error("bad \\u escape");
				ch = '?';
			} else if (!e) {
				return set_error("bad escape in a string");
			} else {
				ch = esc_out[e - esc_in];
			}
		}
		if (n + 1 < size)
			out[n++] = ch;
	}
	c->p++;
	out[n] = 0;
	return 0;
}

/* An integer within int's range; a fraction or exponent is refused. */
static int parse_int(struct cursor *c, int *out)
{
	long long v = 0;
	bool neg = *c->p == '-';

	if (neg)
		c->p++;
	if (*c->p < '0' || *c->p > '9')
		return set_error("expected a value");
	while (*c->p >= '0' && *c->p <= '9') {
		v = v * 10 + (*c->p++ - '0');
		if (v > (1LL << 31))
			return set_error("number out of range");
	}
	if (*c->p == '.' || *c->p == 'e' || *c->p == 'E')
		return set_error("only integers are taken");
	v = neg ? -v : v;
	if (v > INT32_MAX || v < INT32_MIN)
		return set_error("number out of range");
	*out = (int)v;
	return 0;
}

/* Any value, kept if it is one we know: "cmd" a string, "status" an integer. */
static int parse_member(struct cursor *c, struct api_request *req)
{
	char key[32], ignored[API_LINE_MAX];
	int num = 0;

	if (parse_string(c, key, sizeof(key)) < 0)
		return -1;
	skip_space(c);
	if (*c->p++ != ':')
		return set_error("expected ':' after a key");
	skip_space(c);
	if (*c->p == '{' || *c->p == '[')
		return set_error("\"%s\": nested values are not taken", key);
	if (*c->p == '"') {
		if (!strcmp(key, "cmd"))
			return parse_string(c, req->cmd, sizeof(req->cmd));
		if (!strcmp(key, "status"))
			return set_error("\"status\" must be an integer");
		return parse_string(c, ignored, sizeof(ignored));
	}
	for (const char *word = "true\0false\0null\0"; *word; word += strlen(word) + 1) {
		if (!strncmp(c->p, word, strlen(word))) {
			c->p += strlen(word);
			return strcmp(key, "cmd") && strcmp(key, "status")
				   ? 0
				   : set_error("\"%s\": wrong type", key);
		}
	}
	if (parse_int(c, &num) < 0)
		return -1;
	if (!strcmp(key, "cmd"))
		return set_error("\"cmd\" must be a string");
	if (!strcmp(key, "status")) {
		req->has_status = true;
		req->status = num;
	}
	return 0;
}

int api_parse_request(const char *line, struct api_request *req)
{
	struct cursor c = {line};

	*req = (struct api_request){0};
	skip_space(&c);
	if (*c.p++ != '{')
		return set_error("a request is one JSON object");
	skip_space(&c);
	while (*c.p != '}') {
		if (parse_member(&c, req) < 0)
			return -1;
		skip_space(&c);
		if (*c.p == ',') {
			c.p++;
			skip_space(&c);
			if (*c.p == '}')
				return set_error("trailing ','");
		} else if (*c.p != '}') {
			return set_error("expected ',' or '}'");
		}
	}
	c.p++;
	skip_space(&c);
	if (*c.p)
		return set_error("text after the object");
	if (!req->cmd[0])
		return set_error("no \"cmd\"");
	return 0;
}

/* ---- the socket ---- */

/* Is a live process listening on @addr? Then the path is someone's, not stale. */
static bool socket_answers(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return true; /* cannot tell: do not take it */
	live =
	    connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0 || errno != ECONNREFUSED;
	close(fd);
	return live;
}

static int claim_path(const char *path, const struct sockaddr_un *addr)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : set_error("--api-sock %s: %s", path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return set_error("--api-sock %s: exists and is not a socket", path);
	if (st.st_uid != geteuid())
		return set_error("--api-sock %s: a socket of another user", path);
	if (socket_answers(addr))
		return set_error("--api-sock %s: another process listens on it", path);
	if (unlink(path) < 0)
		return set_error("--api-sock %s: %s", path, strerror(errno));
	return 0;
}

int api_open(struct api_server *s, const char *path, const struct api_ops *ops)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	mode_t old_mask;
	int err;

	*s = (struct api_server){.listen_fd = -1, .client_fd = -1, .ops = *ops};
	if (strlen(path) >= sizeof(addr.sun_path) || strlen(path) >= sizeof(s->path))
		return set_error("--api-sock %s: path longer than %zu bytes", path,
				 sizeof(addr.sun_path) - 1);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (claim_path(path, &addr) < 0)
		return -1;
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->listen_fd < 0)
		return set_error("--api-sock: socket: %s", strerror(errno));
	old_mask = umask(0177); /* created 0600: no window with a wider mode */
	err = bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_mask);
	if (err < 0 || listen(s->listen_fd, 8) < 0) {
		err = errno;
		close(s->listen_fd);
		s->listen_fd = -1;
		return set_error("--api-sock %s: %s", path, strerror(err));
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	return 0;
}

unsigned int api_poll_fds(const struct api_server *s, struct pollfd *p)
{
	if (s->listen_fd < 0)
		return 0;
	/* One client at a time: the next waits in the backlog until this one leaves. */
	if (s->client_fd >= 0) {
		p[0] = (struct pollfd){.fd = s->client_fd, .events = POLLIN};
		return 1;
	}
	p[0] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
	return 1;
}

static void drop_client(struct api_server *s)
{
	close(s->client_fd);
	s->client_fd = -1;
	s->len = 0;
	s->discarding = false;
}

/* Send all of @buf without blocking the main loop; false drops the client. */
static bool send_reply(struct api_server *s, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(s->client_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static void reply_error(struct api_server *s, const char *why)
{
	char buf[512];
	size_t n = 0;

	n += (size_t)snprintf(buf, sizeof(buf), "{\"ok\":false,\"error\":\"");
	n += json_escape(buf + n, sizeof(buf) - n - 4, why);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\"}\n");
	if (!send_reply(s, buf, n))
		drop_client(s);
}

static void answer(struct api_server *s, const char *line)
{
	struct api_request req;
	char *body = NULL;
	size_t len = 0;
	FILE *out;
	int r;

	if (api_parse_request(line, &req) < 0) {
		reply_error(s, last_error());
		return;
	}
	out = open_memstream(&body, &len);
	if (!out) {
		reply_error(s, "out of memory");
		return;
	}
	fputs("{\"ok\":true", out);
	r = s->ops.command(s->ops.opaque, &req, out);
	fputs("}\n", out);
	fclose(out);
	if (r < 0)
		reply_error(s, last_error());
	else if (!send_reply(s, body, len))
		drop_client(s);
	free(body);
}

/* Lines out of what arrived; an over-long one is answered once, then skipped. */
static void take_lines(struct api_server *s)
{
	char *nl;

	while (s->client_fd >= 0 && (nl = memchr(s->line, '\n', s->len))) {
		size_t used = (size_t)(nl - s->line) + 1;

		*nl = 0;
		if (!s->discarding)
			answer(s, s->line);
		s->discarding = false;
		if (s->client_fd < 0)
			return;
		memmove(s->line, s->line + used, s->len - used);
		s->len -= used;
	}
	if (s->client_fd >= 0 && s->len == API_LINE_MAX) {
		if (!s->discarding)
			reply_error(s, "request longer than 4096 bytes");
		s->discarding = true;
		s->len = 0;
	}
}

static void read_client(struct api_server *s)
{
	ssize_t n = recv(s->client_fd, s->line + s->len, API_LINE_MAX - s->len, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop_client(s);
		return;
	}
	s->len += (size_t)n;
	take_lines(s);
}

void api_serve(struct api_server *s, const struct pollfd *p, unsigned int n)
{
	if (!n || !p[0].revents)
		return;
	if (p[0].fd == s->listen_fd) {
		s->client_fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		return;
	}
	if (p[0].revents & (POLLERR | POLLNVAL))
		drop_client(s);
	else
		read_client(s);
}

void api_close(struct api_server *s)
{
	if (s->client_fd >= 0)
		drop_client(s);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->path);
	}
	s->listen_fd = -1;
}
