/*
 * Port-I/O devices the VMM offers to its guests. Shared by the VMM and by
 * the test guest's init, so both sides agree on the numbers.
 */
#ifndef VMM_GUEST_ABI_H
#define VMM_GUEST_ABI_H

/* 1-byte write: the VMM exits with the written value (0..255) as status. */
#define VMM_PORT_TEST_EXIT	0x501

/* Any 1-byte write: the VMM prints how many ms the guest took to boot. */
#define VMM_PORT_BOOT_MARK	0x502

/*
 * Run mode (--exec): with a piped stdin, the byte the VMM sends when the
 * input ends; run-init leaves it as the tty's VEOF (end of file) and
 * nothing else in the input special.
 */
#define VMM_RUN_INPUT_EOF	0x04

#endif /* VMM_GUEST_ABI_H */
