// SPDX-License-Identifier: MIT
/*
 * The control socket's request parser (core/api.c) on any line, and the
 * line framing behind it: whatever arrives, a request parses or is refused
 * with a message, never reads past its NUL, and what it keeps is bounded:
 * a NUL-terminated command of at most 31 bytes, a status only with
 * has_status.
 */
#include <stdlib.h>
#include <string.h>

#include "core/api.h"
#include "core/error.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_request req;
	char *line = malloc(size + 1); /* exactly sized: ASan sees any overread */

	memcpy(line, data, size);
	line[size] = 0;
	if (api_parse_request(line, &req) == 0) {
		FZ_CHECK(memchr(req.cmd, 0, sizeof(req.cmd)) != NULL && req.cmd[0]);
		FZ_CHECK(req.has_status || req.status == 0);
	} else {
		FZ_CHECK(last_error()[0] != 0);
	}
	free(line);
	return 0;
}
