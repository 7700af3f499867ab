// SPDX-License-Identifier: MIT
/*
 * The command-line parser on fuzzer-chosen argv: the input split on NUL
 * bytes, "vmm" first. Invariants on success: counts within their arrays,
 * every device in command-line order names an entry that exists, and each
 * disk's path points into the config's own buffer for it.
 */
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "tests/fuzz/fuzz_util.h"

#define MAX_ARGS 64

static bool inside(const void *p, const void *buf, size_t size)
{
	return !p ||
	       ((const char *)p >= (const char *)buf && (const char *)p < (const char *)buf + size);
}

/* How many devices of @kind the config holds. */
static unsigned int count_of(const struct vmm_config *cfg, enum vmm_device_kind kind)
{
	switch (kind) {
	case VMM_DEVICE_DISK: return cfg->ndisks;
	case VMM_DEVICE_NET: return cfg->nnets;
	case VMM_DEVICE_SHARE: return cfg->nshares;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vmm_config cfg;
	char *argv[MAX_ARGS + 2], *copy = malloc(size + 1);
	int argc = 0;

	memcpy(copy, data, size);
	copy[size] = 0;
	argv[argc++] = "vmm";
	for (size_t i = 0; i < size && argc < MAX_ARGS + 1;) {
		argv[argc++] = copy + i;
		i += strlen(copy + i) + 1;
	}
	argv[argc] = NULL;
	if (cli_parse(argc, argv, &cfg) == 0) {
		FZ_CHECK(cfg.ndisks <= VMM_MAX_DISKS && cfg.nnets <= VMM_MAX_NICS &&
			 cfg.nshares <= VMM_MAX_SHARES && cfg.nrwdirs <= VMM_MAX_RWDIRS);
		FZ_CHECK(cfg.ndevices == cfg.ndisks + cfg.nnets + cfg.nshares);
		for (unsigned int i = 0; i < cfg.ndevices; i++)
			FZ_CHECK(cfg.devices[i].index < count_of(&cfg, cfg.devices[i].kind));
		for (unsigned int i = 0; i < cfg.ndisks; i++)
			FZ_CHECK(
			    inside(cfg.disks[i].path, cfg.disk_buf[i], sizeof(cfg.disk_buf[i])));
		for (unsigned int i = 0; i < cfg.nshares; i++)
			FZ_CHECK(
			    inside(cfg.shares[i].path, cfg.share_buf[i], sizeof(cfg.share_buf[i])));
	}
	free(copy);
	return 0;
}
