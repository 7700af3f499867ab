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
/* A queue's worker busy-waits this long for more requests before sleeping. */
#define VMM_DISK_POLL_US_DEFAULT 32
#define VMM_DISK_POLL_US_MAX	 1000
#define VMM_MAX_NICS		 4
#define VMM_MAX_HOSTFWD		 8
#define VMM_DEFAULT_MTU		 1500

/* How a disk's requests reach the host kernel. */
enum disk_io { DISK_IO_AUTO, DISK_IO_URING, DISK_IO_SYNC };

struct disk_opt {
	const char *path;
	bool ro;
	const char *serial; /* NULL: none; at most VMM_DISK_SERIAL_MAX bytes */
	enum disk_io io;
	unsigned int poll_us; /* 0: sleep as soon as the queue is empty */
};

/* Where a network card's frames go. */
enum net_kind { NET_TAP, NET_USER };

/* --net user,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT */
struct net_hostfwd {
	bool udp;
	uint32_t host_addr;  /* IPv4, host byte order; default 127.0.0.1 */
	uint16_t host_port;  /* 1..65535 */
	uint32_t guest_addr; /* IPv4, host byte order; 0: the address the guest leases */
	uint16_t guest_port; /* 1..65535 */
};

struct net_opt {
	enum net_kind kind;
	bool has_mac;
	uint8_t mac[6];	    /* when has_mac; otherwise derived from the card's index */
	uint16_t mtu;	    /* 68..65535, VMM_DEFAULT_MTU unless given */
	const char *ifname; /* tap: NULL lets the kernel name it (tap0, tap1...) */
	bool restrict_net;  /* user: the guest reaches nothing but forwarded ports */
	struct net_hostfwd hostfwd[VMM_MAX_HOSTFWD]; /* user only */
	unsigned int nr_hostfwd;
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
	struct net_opt nets[VMM_MAX_NICS];
	unsigned int nnets;
	char net_buf[VMM_MAX_NICS][4096];
};

int parse_size(const char *s, uint64_t *out);
int cli_parse(int argc, char *const argv[], struct vmm_config *cfg);
void cli_usage(const char *prog);

#endif
