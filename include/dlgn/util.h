/* Small host utilities: folders, whole-file reads, monotonic time. */
#ifndef DLGN_UTIL_H
#define DLGN_UTIL_H

#include <stddef.h>

/* mkdir -p; fails with a message naming the folder. */
int dlgn_mkdir_p(const char *path);
/* Size caps of the files dlgn reads whole, each far above what dlgn itself
 * writes, so that a wrong path (a device, a dataset, a log) is an error and
 * not an exhausted memory. */
#define DLGN_MAX_JSON_BYTES ((size_t)1 << 20)     /* config.json, summary.json, sweep.json */
#define DLGN_MAX_METRICS_BYTES ((size_t)64 << 20) /* metrics.jsonl: ~300 bytes per epoch */
#define DLGN_MAX_SWEEP_BYTES ((size_t)4 << 20)    /* a sweep file */
#define DLGN_MAX_TUNING_BYTES ((size_t)1 << 20)   /* a GEMM tuning file */

/* Whole file into a NUL-terminated buffer (free() it). what names the kind of
 * file in messages ("sweep file"); a file past max_bytes is an error that
 * names it and the cap. */
int dlgn_read_file(const char *path, const char *what, size_t max_bytes, char **data,
                   size_t *len);
/* 1 when an object in JSON text (already parsed by json-c, which keeps the
 * last of two equal keys without a word) holds a key twice: key (size bytes)
 * gets it, as written between its quotes, and line the line of its second
 * use; 0 when none; -1 when out of memory. */
int dlgn_json_find_duplicate_key(const char *text, size_t len, char *key, size_t size, int *line);
/* Write through a temporary file and rename, so readers never see half a file. */
int dlgn_write_file_atomic(const char *path, const void *data, size_t len);
/* Seconds on a monotonic clock. */
double dlgn_now(void);
/* Median of v[0..n) (n >= 1); sorts v. */
double dlgn_median(double *v, size_t n);
/* Index of s among names[0..n), or a message "unknown WHAT 'S' (expected a|b|c)". */
int dlgn_parse_choice(const char *s, const char *const *names, int n, const char *what, int *out);

#endif
