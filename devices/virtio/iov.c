// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <string.h>

#include "core/util.h"
#include "devices/virtio/iov.h"

/* Walk @len bytes from @off on, copying each piece to (@to_iov) or from the list. */
static size_t iov_copy(const struct iovec *iov, unsigned int cnt, size_t off, uint8_t *buf,
		       size_t len, bool to_iov)
{
	size_t done = 0;

	for (unsigned int i = 0; i < cnt && done < len; i++) {
		size_t n;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = MIN(len - done, iov[i].iov_len - off);
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + off, buf + done, n);
		else
			memcpy(buf + done, (uint8_t *)iov[i].iov_base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int cnt, size_t off, void *buf, size_t len)
{
	return iov_copy(iov, cnt, off, buf, len, false);
}

size_t iov_from_buf(const struct iovec *iov, unsigned int cnt, size_t off, const void *buf,
		    size_t len)
{
	return iov_copy(iov, cnt, off, (uint8_t *)buf, len, true);
}

void iov_advance(struct iovec **iov, unsigned int *cnt, uint64_t n)
{
	while (n && *cnt) {
		uint64_t step = MIN(n, (uint64_t)(*iov)->iov_len);

		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + step;
		(*iov)->iov_len -= step;
		n -= step;
		if ((*iov)->iov_len)
			break;
		(*iov)++;
		(*cnt)--;
	}
}
