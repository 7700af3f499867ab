// SPDX-License-Identifier: MIT
/*
 * Run mode (run.h): --exec CMD becomes ordinary devices and an initramfs,
 * so that the machine built afterwards is the usual one. The host's root
 * (or --root DIR) is a read-only share tagged vmm-root; the current
 * directory and every --rwdir are read-write shares mounted in the guest
 * at their host paths; the initramfs (newc, built here in memory) holds
 * the init carried inside ./vmm (guest/run-init.c) and /vmm-run, its
 * orders: the command, the directory, the environment, the shares.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "machine/run.h"

#define ORDERS_MAX (256 * 1024)
#define CPIO_ALIGN 4

extern const uint8_t run_init_start[], run_init_end[];

/* The user's environment essentials, passed on when set. */
static const char *const passed_env[] = {"PATH", "HOME", "TERM", "USER", "LANG"};

struct buf {
	uint8_t *p;
	size_t len, cap;
	bool full;
};

static void buf_put(struct buf *b, const void *data, size_t len)
{
	if (b->full || b->cap - b->len < len) {
		b->full = true;
		return;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void buf_pad(struct buf *b)
{
	static const uint8_t zeros[CPIO_ALIGN];

	buf_put(b, zeros, (CPIO_ALIGN - b->len % CPIO_ALIGN) % CPIO_ALIGN);
}

/* One newc entry: the 110-byte header, the name, the data, each padded to 4. */
static void cpio_entry(struct buf *b, const char *name, uint32_t mode, uint32_t rdev_major,
		       uint32_t rdev_minor, const void *data, size_t size)
{
	static uint32_t ino = 1;
	char hdr[128];

	snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ino++, mode, 0, 0, 1, 0, (uint32_t)size, 0, 0, rdev_major, rdev_minor,
		 (uint32_t)strlen(name) + 1, 0);
	buf_put(b, hdr, 110);
	buf_put(b, name, strlen(name) + 1);
	buf_pad(b);
	buf_put(b, data, size);
	buf_pad(b);
}

static void order(struct buf *b, const char *key, const char *value)
{
	buf_put(b, key, strlen(key));
	buf_put(b, value, strlen(value) + 1);
}

static int add_share(struct vmm_config *cfg, const char *path, const char *tag, bool ro)
{
	if (cfg->nshares >= VMM_MAX_SHARES ||
	    cfg->ndevices >= sizeof(cfg->devices) / sizeof(cfg->devices[0]))
		return set_error("--exec: too many shares (at most %d)", VMM_MAX_SHARES);
	cfg->shares[cfg->nshares] = (struct p9_opt){.path = path, .tag = tag, .ro = ro};
	cfg->devices[cfg->ndevices++] =
	    (struct vmm_device){.kind = VMM_DEVICE_SHARE, .index = cfg->nshares++};
	return 0;
}

/* The orders for the guest's init (guest/run-init.c reads them). */
static int write_orders(const struct vmm_config *cfg, struct run_mode *run,
			char (*rw)[PATH_MAX + 16], unsigned int nrw, struct buf *b)
{
	order(b, "cmd=", cfg->exec);
	order(b, "cwd=", run->cwd);
	for (unsigned int i = 0; i < sizeof(passed_env) / sizeof(passed_env[0]); i++) {
		const char *v = getenv(passed_env[i]);
		char env[4200];

		if (!v || snprintf(env, sizeof(env), "%s=%s", passed_env[i], v) >= (int)sizeof(env))
			continue;
		order(b, "env=", env);
	}
	for (unsigned int i = 0; i < nrw; i++)
		order(b, "rw=", rw[i]);
	if (!isatty(STDOUT_FILENO))
		order(b, "raw=", "1");
	run->piped_input = !isatty(STDIN_FILENO);
	if (run->piped_input)
		order(b, "echo=", "0");
	return b->full ? set_error("--exec: the command and its environment are too long") : 0;
}

static int build_initramfs(struct run_mode *run, const struct buf *orders)
{
	size_t init_size = (size_t)(run_init_end - run_init_start);
	struct buf b = {.cap = init_size + orders->len + 4096};

	b.p = malloc(b.cap);
	if (!b.p)
		return set_error("--exec: out of memory");
	cpio_entry(&b, "dev", 040755, 0, 0, NULL, 0);
	cpio_entry(&b, "dev/console", 020600, 5, 1, NULL, 0); /* init's first fds */
	cpio_entry(&b, "proc", 040555, 0, 0, NULL, 0);
	cpio_entry(&b, "newroot", 040755, 0, 0, NULL, 0);
	cpio_entry(&b, "init", 0100755, 0, 0, run_init_start, init_size);
	cpio_entry(&b, "vmm-run", 0100644, 0, 0, orders->p, orders->len);
	cpio_entry(&b, "TRAILER!!!", 0, 0, 0, NULL, 0);
	if (b.full) {
		free(b.p);
		return set_error("--exec: initramfs larger than expected");
	}
	run->initrd = b.p;
	run->initrd_size = b.len;
	return 0;
}

/* The read-write shares: the current directory (unless it is /) and each --rwdir. */
static int add_rw_shares(struct vmm_config *cfg, struct run_mode *run, char (*rw)[PATH_MAX + 16],
			 unsigned int *nrw)
{
	static char tags[VMM_MAX_SHARES][24], paths[VMM_MAX_SHARES][PATH_MAX];
	const char *dirs[1 + VMM_MAX_RWDIRS];
	unsigned int n = 0;

	if (strcmp(run->cwd, "/"))
		dirs[n++] = run->cwd;
	for (unsigned int i = 0; i < cfg->nrwdirs; i++)
		dirs[n++] = cfg->rwdirs[i];
	for (unsigned int i = 0; i < n; i++) {
		if (!realpath(dirs[i], paths[i]))
			return set_error("--rwdir %s: %s", dirs[i], strerror(errno));
		snprintf(tags[i], sizeof(tags[i]), "vmm-rw%u", i);
		snprintf(rw[i], PATH_MAX + 16, "%s:%s", tags[i], paths[i]);
		if (add_share(cfg, paths[i], tags[i], false) < 0)
			return -1;
	}
	*nrw = n;
	return 0;
}

int run_mode_prepare(struct vmm_config *cfg, struct run_mode *run)
{
	static char rw[1 + VMM_MAX_RWDIRS][PATH_MAX + 16];
	static uint8_t orders_mem[ORDERS_MAX];
	struct buf orders = {.p = orders_mem, .cap = sizeof(orders_mem)};
	unsigned int nrw = 0;

	*run = (struct run_mode){0};
	if (!cfg->exec)
		return 0;
	if (cfg->initrd)
		return set_error("--exec builds its own initramfs: drop --initrd");
	if (!getcwd(run->cwd, sizeof(run->cwd)))
		return set_error("--exec: cannot tell the current directory: %s", strerror(errno));
	if (add_share(cfg, cfg->root ? cfg->root : "/", RUN_ROOT_TAG, true) < 0 ||
	    add_rw_shares(cfg, run, rw, &nrw) < 0 || write_orders(cfg, run, rw, nrw, &orders) < 0 ||
	    build_initramfs(run, &orders) < 0)
		return -1;
	run->cmdline = cfg->verbose ? "" : "quiet loglevel=1";
	return 0;
}

void run_mode_release(struct run_mode *run)
{
	free(run->initrd);
	run->initrd = NULL;
}
