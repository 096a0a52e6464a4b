/* Error reporting: every fallible function returns int (0 = ok, -1 = failed)
 * and records one message naming the file, member, kernel or device involved.
 * The CLI prints dlgn_error() once and exits non-zero. */
#ifndef DLGN_STATUS_H
#define DLGN_STATUS_H

#include <stddef.h>

#define DLGN_ERROR_MAX 2048

/* Record a formatted message (replacing any earlier one); returns -1. */
int dlgn_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prefix the recorded message with more context ("while X: " + old); returns -1. */
int dlgn_fail_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The last message recorded on this thread ("" if none). */
const char *dlgn_error(void);
/* Forget the recorded message. */
void dlgn_error_clear(void);

/* Allocation helpers that record "out of host memory allocating N bytes for WHAT". */
void *dlgn_malloc(size_t bytes, const char *what);
void *dlgn_calloc(size_t count, size_t size, const char *what);

#define DLGN_TRY(expr)                                                                             \
  do {                                                                                             \
    if ((expr) != 0) return -1;                                                                    \
  } while (0)

#endif
