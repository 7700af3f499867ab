/* SPDX-License-Identifier: MIT */
/*
 * The guest physical address map and the I/O ports. Low memory holds the
 * boot structures the VMM writes before the first instruction runs; the 1 GiB
 * below 4 GiB is a hole for devices (IO-APIC, LAPIC, KVM's TSS and our MMIO
 * devices); RAM that does not fit below the hole continues at 4 GiB.
 * A leaf: the devices and the VM read their places from here.
 */
#ifndef VMM_LAYOUT_H
#define VMM_LAYOUT_H

#define BOOT_GDT_ADDR	     0x500ULL
#define BOOT_PARAMS_ADDR     0x7000ULL
#define BOOT_STACK_TOP	     0x8ff0ULL
#define BOOT_PML4_ADDR	     0x9000ULL
#define BOOT_PDPT_ADDR	     0xa000ULL
#define BOOT_PD_ADDR	     0xb000ULL /* four page directories: 4 GiB of 2 MiB pages */
#define BOOT_CMDLINE_ADDR    0x20000ULL
#define BOOT_CMDLINE_MAX     0x1000ULL
#define BOOT_SETUP_DATA_ADDR 0x30000ULL
#define BOOT_SETUP_DATA_END  0x9f000ULL
#define MPTABLE_ADDR	     0x9fc00ULL /* the last KiB below 640 KiB, as on a PC */
#define LOW_RAM_END	     0x9fc00ULL /* e820: RAM below, reserved up to 1 MiB */
#define HIGH_RAM_START	     0x100000ULL
#define BZIMAGE_LOAD_ADDR    0x100000ULL

#define MMIO_HOLE_START	 0xc0000000ULL
#define MMIO_HOLE_END	 0x100000000ULL
#define POWER_MMIO_ADDR	 0xc0000000ULL /* syscon power-off/reboot registers */
#define VIRTIO_MMIO_BASE 0xd0000000ULL /* one device per page from here */
/*
 * virtio-mmio interrupts use IO-APIC pins 16-23: under a device tree Linux
 * keeps pins 0-15 on the 8259, and the MP table maps every pin 1:1.
 */
#define VIRTIO_GSI_BASE	      16
#define VIRTIO_MAX_DEVICES    8
#define IOAPIC_ADDR	      0xfec00000ULL
#define LAPIC_ADDR	      0xfee00000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define KVM_TSS_ADDR	      0xfffbd000ULL

/* PC ports besides the UART's (devices/legacy/uart.h) and our own (guest/vmm-guest-abi.h). */
#define I8042_DATA_PORT	   0x60
#define I8042_COMMAND_PORT 0x64
#define CMOS_PORT	   0x70
#define POST_PORT	   0x80 /* Linux's I/O delay: KVM swallows it (vm.c) */

#endif
