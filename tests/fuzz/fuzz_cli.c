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
		FZ_CHECK(cfg.ndisks <= VMM_MAX_DISKS && cfg.nnets <= VMM_MAX_NICS);
		FZ_CHECK(cfg.ndevices == cfg.ndisks + cfg.nnets);
		for (unsigned int i = 0; i < cfg.ndevices; i++)
			FZ_CHECK(cfg.devices[i].index <
				 (cfg.devices[i].kind == VMM_DEVICE_DISK ? cfg.ndisks : cfg.nnets));
		for (unsigned int i = 0; i < cfg.ndisks; i++)
			FZ_CHECK(
			    inside(cfg.disks[i].path, cfg.disk_buf[i], sizeof(cfg.disk_buf[i])));
	}
	free(copy);
	return 0;
}
