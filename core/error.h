/* SPDX-License-Identifier: MIT */
/*
 * One-line error messages for the user. A failing function records what went
 * wrong with set_error() and returns -1; the caller at the top prints it once.
 */
#ifndef VMM_ERROR_H
#define VMM_ERROR_H

__attribute__((format(printf, 1, 2))) int set_error(const char *fmt, ...);
const char *last_error(void);

#endif
