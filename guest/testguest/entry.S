/* SPDX-License-Identifier: MIT */
/*
 * The test guest's two ways in, both ending in tg_start() (rt.c) in 64-bit
 * mode on our own GDT, page tables and stack:
 *
 * - tg_entry64 (e_entry): this VMM, like the Linux 64-bit boot protocol.
 *   Long mode is on, RSI = &boot_params; the VMM's GDT and page tables live
 *   in low memory we do not trust to stay put, and its pages are not
 *   user-accessible, so we switch to ours at once.
 * - tg_entry_pvh (the Xen PVH ELF note, QEMU): 32-bit protected mode, paging
 *   off, EBX = &hvm_start_info, no usable GDT or stack. We turn on long mode
 *   ourselves.
 *
 * Kernel mode runs in an emulator on the development machines (see
 * ENVIRONMENT.md): this file sticks to plain instructions.
 */
#include "cpu.h"

/* PVH: QEMU reads the 32-bit entry from this note (a PT_NOTE segment, tg.ld). */
	.section .note.pvh, "a"
	.p2align 2
	.long 4			/* name size: "Xen\0" */
	.long 4			/* descriptor size: a 32-bit address */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long tg_entry_pvh

/*
 * The first instruction of either entry: a newline on COM1. make bench
 * times the start-up, on both VMMs alike, to the console's first byte; a
 * blank first line costs a reader nothing.
 */
.macro first_console_byte
	movw $0x3f8, %dx
	movb $'\n', %al
	outb %al, %dx
.endm

	.section .text.entry, "ax"
	.code32
	.globl tg_entry_pvh
tg_entry_pvh:
	first_console_byte
	cli
	cld
	movl %ebx, tg_boot_info		/* the high half stays 0 (.data) */
	movl $1, tg_boot_pvh
	lgdt tg_gdt_ptr			/* 32-bit mode reads limit and the low 4 bytes of base */
	movl %cr4, %eax
	orl $TG_CR4_PAE, %eax
	movl %eax, %cr4
	movl $tg_pml4, %eax
	movl %eax, %cr3
	movl $TG_MSR_EFER, %ecx
	rdmsr
	orl $TG_EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	andl $~TG_CR0_NW_CD, %eax	/* caches on, whatever the firmware left */
	orl $(TG_CR0_PG | TG_CR0_PE), %eax
	movl %eax, %cr0			/* long mode active, still 32-bit code... */
	ljmp $TG_KERNEL_CS, $tg_common64 /* ...until CS is our 64-bit segment */

	.code64
	.globl tg_entry64
tg_entry64:
	first_console_byte
	cli
	cld
	movq %rsi, tg_boot_info(%rip)
	lgdt tg_gdt_ptr(%rip)
	movq $tg_pml4, %rax
	movq %rax, %cr3
	pushq $TG_KERNEL_CS		/* reload CS from our GDT */
	pushq $tg_common64
	lretq

tg_common64:
	movl $TG_KERNEL_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq $tg_stack_top, %rsp
	xorl %ebp, %ebp
	/*
	 * libfdt.a is built with the stack protector: it reads its guard at
	 * %fs:0x28. Point FS at a block of our own rather than at page 0.
	 */
	movl $TG_MSR_FS_BASE, %ecx
	movl $tg_fs_block, %eax
	xorl %edx, %edx
	wrmsr
	call tg_start
1:	hlt
	jmp 1b

/*
 * Everything below is set up before the first instruction runs (no loop
 * fills it: CPL-0 instructions are expensive here).
 */
	.section .data
	.globl tg_boot_info, tg_boot_pvh, tg_gdt
	.p2align 3
tg_boot_info:
	.quad 0
tg_boot_pvh:
	.long 0

	.p2align 4
tg_gdt:
	.quad 0
	.quad 0x00af9b000000ffff	/* TG_KERNEL_CS: 64-bit code, DPL 0 */
	.quad 0x00cf93000000ffff	/* TG_KERNEL_DS: flat data, DPL 0 */
	.quad 0x00affb000000ffff	/* TG_USER_CS: 64-bit code, DPL 3 */
	.quad 0x00cff3000000ffff	/* TG_USER_DS: flat data, DPL 3 */
	.quad 0, 0			/* TG_TSS_SEL: filled in by tg_cpu_init() */
tg_gdt_end:

	.p2align 3
	.word 0				/* puts the base below on an 8-byte boundary */
tg_gdt_ptr:
	.word tg_gdt_end - tg_gdt - 1
	.quad tg_gdt

/* The stack-protector guard libfdt reads at offset 0x28: any constant works. */
	.p2align 6
tg_fs_block:
	.fill 5, 8, 0
	.quad 0x5f74675f67756172
	.fill 2, 8, 0

/*
 * Identity map of the first 4 GiB with 2 MiB pages, every level present,
 * writable and user-accessible (tg_run_user() code may touch anything),
 * except the first 2 MiB: 4 KiB pages there, so that page 0 can stay
 * unmapped and a NULL pointer faults instead of reading the old real-mode
 * vectors. 0x7 = present | writable | user; 0x80 = a 2 MiB page.
 */
	.section .data.pagetables, "aw"
	.p2align 12
tg_pml4:
	.quad tg_pdpt + 0x7
	.fill 511, 8, 0
tg_pdpt:
	.quad tg_pd + 0x0000 + 0x7
	.quad tg_pd + 0x1000 + 0x7
	.quad tg_pd + 0x2000 + 0x7
	.quad tg_pd + 0x3000 + 0x7
	.fill 508, 8, 0
tg_pd:
	.quad tg_pt0 + 0x7
	.set tg_addr, 0x200000
	.rept 2047
	.quad tg_addr + 0x87
	.set tg_addr, tg_addr + 0x200000
	.endr
tg_pt0:
	.quad 0				/* page 0: not present */
	.set tg_addr, 0x1000
	.rept 511
	.quad tg_addr + 0x7
	.set tg_addr, tg_addr + 0x1000
	.endr

	.section .bss
	.p2align 12
tg_stack:
	.skip 64 * 1024
tg_stack_top:
