// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "core/console.h"

static struct termios saved_termios;
static int raw_fd = -1;

void console_raw_leave(void)
{
	if (raw_fd >= 0) {
		tcsetattr(raw_fd, TCSAFLUSH, &saved_termios);
		raw_fd = -1;
	}
}

/* Raw mode passes Ctrl-C and friends to the guest, as on a serial line. */
void console_raw_enter(int fd)
{
	struct termios t;

	if (!isatty(fd) || tcgetattr(fd, &saved_termios) < 0)
		return;
	t = saved_termios;
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSAFLUSH, &t) < 0)
		return;
	raw_fd = fd;
	atexit(console_raw_leave);
}

bool console_is_raw(void)
{
	return raw_fd >= 0;
}

/*
 * Copy @in to @out for the guest, interpreting the escape: Ctrl-A x quits,
 * Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A and anything else is dropped.
 */
enum console_action console_filter(struct console_escape *esc, const uint8_t *in, size_t len,
				   uint8_t *out, size_t *out_len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = in[i];

		if (!esc->pending && c == CONSOLE_ESCAPE) {
			esc->pending = true;
			continue;
		}
		if (esc->pending) {
			esc->pending = false;
			if (c == 'x' || c == 'X') {
				*out_len = n;
				return CONSOLE_QUIT;
			}
			if (c != CONSOLE_ESCAPE)
				continue;
		}
		out[n++] = c;
	}
	*out_len = n;
	return CONSOLE_NONE;
}
