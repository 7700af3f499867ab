/*
 * The run mode's PID 1 (guest/run-init.c, static), carried inside ./vmm so
 * that --exec needs no file of the host's but the kernel.
 */
	.section .rodata
	.balign 16
	.globl run_init_start, run_init_end
run_init_start:
	.incbin "build/guest/run-init"
run_init_end:
	.section .note.GNU-stack, "", @progbits
