/* SPDX-License-Identifier: MIT */
/*
 * One stub per vector, TG_ISR_STUB_SIZE bytes apart so that intr.c computes
 * each address instead of needing a table. Each stub makes the stack look
 * the same (a dummy 0 where the CPU pushes no error code, then the vector)
 * and joins tg_isr_common, which saves every register as a struct tg_frame
 * for tg_isr_dispatch().
 */
#include "cpu.h"

	.text
	.p2align 4
	.globl tg_isr_stubs
tg_isr_stubs:
	.set tg_vec, 0
	.rept 256
	/* Moving .org backwards fails the build: a stub outgrew its slot. */
	.org tg_isr_stubs + tg_vec * TG_ISR_STUB_SIZE, 0xcc
	/* The exceptions that push an error code: #DF #TS #NP #SS #GP #PF #AC #CP #VC #SX. */
	.if (tg_vec == 8) || ((tg_vec >= 10) && (tg_vec <= 14)) || (tg_vec == 17) || \
	    (tg_vec == 21) || (tg_vec == 29) || (tg_vec == 30)
	.else
	pushq $0
	.endif
	pushq $tg_vec
	jmp tg_isr_common
	.set tg_vec, tg_vec + 1
	.endr
	.org tg_isr_stubs + 256 * TG_ISR_STUB_SIZE, 0xcc

/*
 * The CPU aligned RSP to 16 before its 5-word frame; with the error code,
 * the vector and the 15 registers below, RSP is 16-byte aligned again at
 * the call, as the ABI wants.
 */
tg_isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	cld
	call tg_isr_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp			/* the vector and the error code */
	iretq
