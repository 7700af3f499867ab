// SPDX-License-Identifier: MIT
/*
 * tg_run_user(): a call into ring 3 and back. Kernel mode runs in an
 * emulator on the development machines while ring 3 runs natively, so this
 * is how the test guest gets work done at full speed.
 *
 * Way in: save the callee-saved registers on the kernel stack, point the
 * TSS's RSP0 just below them and IRETQ to a ring-3 trampoline that calls
 * fn(arg) on the user stack. Way out: the trampoline executes UD2 at
 * tg_user_exit. A gate with DPL 3 ("int $n") would be the usual road, but
 * this machine's KVM answers "int $n" from ring 3 with #UD, while it delivers
 * exceptions faithfully; so the #UD at that one address, from ring 3, is the
 * return (tg_isr_dispatch() checks both), everywhere. tg_user_resume()
 * then drops the exception frame (it sits below the saved registers) and
 * returns fn's result from tg_user_enter().
 *
 * Ring 3 runs with IF = 0 (interrupts wait for the return to ring 0). It
 * may use every I/O port through the TSS's permission bitmap (intr.c; this
 * KVM ignores IOPL = 3 in ring 3), so tg_printf() works there too, at the
 * price of a slower exit per byte. Any fault ends the guest through
 * tg_panic().
 */
#include "cpu.h"
#include "rt.h"

#define USER_STACK_SIZE (256 * 1024)

static uint8_t user_stack[USER_STACK_SIZE] __attribute__((aligned(4096)));
static bool in_user;
uint64_t tg_user_kernel_rsp; /* the kernel RSP to go back to (read by the asm below) */

long tg_user_enter(long (*fn)(void *arg), void *arg, uint64_t user_rsp);
void tg_user_trampoline(void);

/* clang-format off */
__asm__(
	".text\n"
	".globl tg_user_enter\n"
	"tg_user_enter:\n"			/* RDI fn, RSI arg, RDX user stack top */
	"	pushq %rbx\n"
	"	pushq %rbp\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	movq %rsp, tg_user_kernel_rsp(%rip)\n"
	"	movq %rsp, tg_tss + 4(%rip)\n"	/* RSP0: frames from ring 3 land below the saved registers */
	"	movq %rdi, %r12\n"			/* fn, for the trampoline */
	"	movq %rsi, %rdi\n"			/* arg */
	"	pushq $" TG_STR(TG_USER_DS) " + 3\n"	/* SS */
	"	pushq %rdx\n"				/* RSP */
	"	pushq $2\n"				/* RFLAGS: IF = 0 */
	"	pushq $" TG_STR(TG_USER_CS) " + 3\n"	/* CS */
	"	pushq $tg_user_trampoline\n"		/* RIP */
	"	iretq\n"
	"\n"
	".globl tg_user_trampoline\n"
	"tg_user_trampoline:\n"			/* ring 3; RSP is 16-byte aligned */
	"	call *%r12\n"
	"	movq %rax, %rdi\n"
	".globl tg_user_exit\n"
	"tg_user_exit:\n"
	"	ud2\n"					/* RDI = the result */
	"\n"
	".globl tg_user_resume\n"
	"tg_user_resume:\n"			/* ring 0, from tg_isr_dispatch() */
	"	movq %rdi, %rax\n"
	"	movq tg_user_kernel_rsp(%rip), %rsp\n"
	"	movl $" TG_STR(TG_KERNEL_DS) ", %ecx\n"
	"	movl %ecx, %ss\n"		/* entry from ring 3 left a null SS */
	"	movl %ecx, %ds\n"		/* IRETQ to ring 3 nulled these */
	"	movl %ecx, %es\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbp\n"
	"	popq %rbx\n"
	"	ret\n");
/* clang-format on */

bool tg_in_user(void)
{
	return in_user;
}

long tg_run_user(long (*fn)(void *arg), void *arg)
{
	long ret;

	if (in_user)
		tg_panic("tg_run_user: called again from ring 3");
	in_user = true;
	ret = tg_user_enter(fn, arg, (uintptr_t)user_stack + sizeof(user_stack));
	in_user = false;
	return ret;
}
