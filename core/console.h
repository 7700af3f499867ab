/* SPDX-License-Identifier: MIT */
/*
 * The VMM's terminal: raw mode while the guest runs (restored on every way
 * out), and host input fed to the guest's UART with a Ctrl-A escape.
 */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_ESCAPE 0x01 /* Ctrl-A */

enum console_action { CONSOLE_NONE, CONSOLE_QUIT };

struct console_escape {
	bool pending;
};

void console_raw_enter(int fd);
void console_raw_leave(void);
bool console_is_raw(void);
enum console_action console_filter(struct console_escape *esc, const uint8_t *in, size_t len,
				   uint8_t *out, size_t *out_len);

#endif
