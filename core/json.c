// SPDX-License-Identifier: MIT
/* JSON string escaping (json.h). */
#include <string.h>

#include "core/json.h"

size_t json_escape_char(unsigned char c, char out[JSON_ESCAPE_MAX])
{
	static const char hex[] = "0123456789abcdef";

	if (c == '"' || c == '\\') {
		out[0] = '\\';
		out[1] = (char)c;
		return 2;
	}
	if (c >= 0x20 && c < 0x7f) {
		out[0] = (char)c;
		return 1;
	}
	/* Control bytes and non-ASCII: the reader sees the byte's value. */
	memcpy(out, "\\u00", 4);
	out[4] = hex[c >> 4];
	out[5] = hex[c & 15];
	return 6;
}

size_t json_escape(char *dst, size_t cap, const char *s)
{
	size_t n = 0;

	if (cap == 0)
		return 0;
	for (; *s; s++) {
		char one[JSON_ESCAPE_MAX];
		size_t len = json_escape_char((unsigned char)*s, one);

		if (len >= cap - n)
			break;
		memcpy(dst + n, one, len);
		n += len;
	}
	dst[n] = 0;
	return n;
}

void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		char one[JSON_ESCAPE_MAX];

		fwrite(one, 1, json_escape_char((unsigned char)*s, one), f);
	}
	fputc('"', f);
}
