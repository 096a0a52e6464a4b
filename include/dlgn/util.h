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

#endif
