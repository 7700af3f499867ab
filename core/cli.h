/* SPDX-License-Identifier: MIT */
/*
 * The command line of ./vmm, parsed into what the rest of the VMM needs.
 * The option table is here; each device parses its own sub-options
 * (blk_parse_opt, net_parse_opt) with the helpers of core/options.h.
 */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/blk.h"
#include "devices/virtio/net.h"
#include "devices/virtio/virtio_9p.h"

#define VMM_VERSION	"0.1.0"
#define VMM_MAX_DISKS	8
#define VMM_MAX_NICS	4
#define VMM_MAX_SHARES	8
#define VMM_MAX_RWDIRS	4
#define VMM_MAX_TIMEOUT (7 * 24 * 3600) /* --timeout: a week */
#define VMM_DEFAULT_MEM (256ULL << 20)

/* One --disk or --net, in command-line order: which list, which entry of it. */
enum vmm_device_kind { VMM_DEVICE_DISK, VMM_DEVICE_NET, VMM_DEVICE_SHARE };

struct vmm_device {
	enum vmm_device_kind kind;
	unsigned int index;
};

struct vmm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	const char *dump_dtb;
	uint64_t mem;
	bool mem_overcommit; /* map --mem even beyond the host's RAM and swap */
	unsigned int cpus;
	bool mptable;
	bool no_eventfd; /* virtio notifies and interrupts through VM exits */
	bool no_seccomp; /* no seccomp filters (no new privileges and no core dumps still) */
	bool help;
	bool version;
	const char *exec; /* --exec CMD: run mode (machine/run.c) */
	const char *root; /* --root DIR: the guest's root in run mode, "/" if NULL */
	const char *rwdirs[VMM_MAX_RWDIRS];
	unsigned int nrwdirs;
	bool verbose;		  /* run mode: kernel messages on the console */
	unsigned int timeout;	  /* --timeout SECONDS: end the VM with 124; 0: never */
	bool stats;		  /* --stats: the table on stderr at exit */
	const char *stats_json;	  /* --stats-json FILE */
	const char *trace;	  /* --trace FILE */
	const char *api_sock;	  /* --api-sock PATH */
	unsigned int trace_limit; /* --trace-limit N events; 0: TRACE_LIMIT_DEFAULT */
	struct blk_opt disks[VMM_MAX_DISKS];
	unsigned int ndisks;
	char disk_buf[VMM_MAX_DISKS][4096]; /* what disks[] point into */
	struct net_opt nets[VMM_MAX_NICS];
	unsigned int nnets;
	char net_buf[VMM_MAX_NICS][4096];
	struct p9_opt shares[VMM_MAX_SHARES];
	unsigned int nshares;
	char share_buf[VMM_MAX_SHARES][4096];
	struct vmm_device devices[VMM_MAX_DISKS + VMM_MAX_NICS + VMM_MAX_SHARES];
	unsigned int ndevices;
};

int cli_parse(int argc, char *const argv[], struct vmm_config *cfg);
void cli_usage(const char *prog);

#endif
