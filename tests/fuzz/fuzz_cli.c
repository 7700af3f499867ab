// SPDX-License-Identifier: MIT
/*
 * The command-line parser, the devices' sub-option parsers with it, on
 * fuzzer-made argument vectors (the input cut at NUL bytes). Invariant: it
 * succeeds, or fails with a message; it never reads or writes past what it
 * was given (ASan).
 */
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "tests/fuzz/fuzz.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vmm_config cfg;
	char *copy = malloc(size + 1), *argv[MAX_ARGS + 1];
	int argc = 1;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[0] = "vmm";
	for (char *p = copy; p < copy + size && argc < MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	if (cli_parse(argc, argv, &cfg) < 0)
		FUZZ_CHECK(last_error()[0] != '\0');
	else
		FUZZ_CHECK(cfg.ndisks <= VMM_MAX_DISKS && cfg.nnets <= VMM_MAX_NICS &&
			   cfg.ndevices == cfg.ndisks + cfg.nnets);
	free(copy);
	return 0;
}
