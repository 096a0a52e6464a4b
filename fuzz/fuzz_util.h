/* Shared by the libFuzzer targets: a private scratch folder (some readers
 * take a path, not bytes), and invariant checks that abort, so that libFuzzer
 * reports a broken invariant like a crash, with the input that caused it. */
#ifndef DLGN_FUZZ_UTIL_H
#define DLGN_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_CHECK(cond, ...)                                                                      \
  do {                                                                                             \
    if (!(cond)) fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                                \
  } while (0)

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

/* A folder of this process, removed at exit with its files (not folders
 * below it: fuzz_rmtree removes those). */
const char *fuzz_dir(void);
/* fuzz_dir()/name, in a static buffer of 4 slots. */
const char *fuzz_path(const char *name);
void fuzz_write(const char *path, const uint8_t *data, size_t size);
void fuzz_rmtree(const char *path);

/* After a failed read: the error must be one non-empty line. */
void fuzz_check_error(const char *what);
/* A char array holds a terminated string. */
#define FUZZ_TERMINATED(arr) FUZZ_CHECK(memchr((arr), '\0', sizeof(arr)) != NULL, "%s", #arr)

#endif
