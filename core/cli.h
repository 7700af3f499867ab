/* SPDX-License-Identifier: MIT */
/* The command line of ./vmm, parsed into what the rest of the VMM needs. */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stdbool.h>
#include <stdint.h>

#define VMM_VERSION	"0.1.0"
#define VMM_MAX_CPUS	32
#define VMM_MAX_DISKS	8
#define VMM_DEFAULT_MEM (256ULL << 20)

#define VMM_DISK_SERIAL_MAX 20 /* VIRTIO_BLK_ID_BYTES */

/* How a disk's requests reach the host kernel. */
enum disk_io { DISK_IO_AUTO, DISK_IO_URING, DISK_IO_SYNC };

struct disk_opt {
	const char *path;
	bool ro;
	const char *serial; /* NULL: none; at most VMM_DISK_SERIAL_MAX bytes */
	enum disk_io io;
};

struct vmm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	const char *dump_dtb;
	uint64_t mem;
	unsigned int cpus;
	bool mptable;
	bool no_eventfd; /* virtio notifies and interrupts through VM exits */
	bool help;
	bool version;
	struct disk_opt disks[VMM_MAX_DISKS];
	unsigned int ndisks;
	char disk_buf[VMM_MAX_DISKS][4096];
};

int parse_size(const char *s, uint64_t *out);
int cli_parse(int argc, char *const argv[], struct vmm_config *cfg);
void cli_usage(const char *prog);

#endif
