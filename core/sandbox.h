/* SPDX-License-Identifier: MIT */
/*
 * Confinement once the machine is set up: no new privileges, no core dumps,
 * and a seccomp filter per kind of thread (enum thread_kind, core/log.h)
 * that allows only the system calls, and the ioctls, that kind needs. A
 * denied call ends the VMM with one line naming the call and the thread
 * kind, exit status 1.
 *
 * Filters stack: a thread keeps its creator's filter under its own. Device
 * workers are started by the vCPU that wrote DRIVER_OK, so the vCPU filter
 * allows what the workers need as well; each worker then narrows itself to
 * its own list. Built with libseccomp (sandbox.c says why).
 */
#ifndef VMM_SANDBOX_H
#define VMM_SANDBOX_H

#include <stdbool.h>

#include "core/log.h"

/*
 * Process-wide, from the main thread after set-up and before any vCPU
 * runs: PR_SET_NO_NEW_PRIVS, no core dumps, every capability dropped (the
 * tap is open by then), the SIGSYS handler, and every
 * thread started from now on confines itself (vmm_thread_enter). With
 * @enabled false (--no-seccomp) only no-new-privs and no core dumps.
 */
int sandbox_init(bool enabled);

/* Load @kind's filter on the calling thread; ends the VMM if it cannot. */
void sandbox_enter(enum thread_kind kind);

#endif
