/* Small host utilities: folders, whole-file reads, monotonic time. */
#ifndef DLGN_UTIL_H
#define DLGN_UTIL_H

#include <stddef.h>

/* mkdir -p; fails with a message naming the folder. */
int dlgn_mkdir_p(const char *path);
/* Whole file into a NUL-terminated buffer (free() it). */
int dlgn_read_file(const char *path, char **data, size_t *len);
/* Write through a temporary file and rename, so readers never see half a file. */
int dlgn_write_file_atomic(const char *path, const void *data, size_t len);
/* Seconds on a monotonic clock. */
double dlgn_now(void);
/* Median of v[0..n) (n >= 1); sorts v. */
double dlgn_median(double *v, size_t n);
/* Index of s among names[0..n), or a message "unknown WHAT 'S' (expected a|b|c)". */
int dlgn_parse_choice(const char *s, const char *const *names, int n, const char *what, int *out);

#endif
