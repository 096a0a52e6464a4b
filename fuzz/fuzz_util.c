/* nftw is an X/Open function */
#define _XOPEN_SOURCE 700

#include "fuzz_util.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/status.h"

static char dir[512];

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...) {
  fprintf(stderr, "%s:%d: invariant broken: %s: ", file, line, cond);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  abort();
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

void fuzz_rmtree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

static void remove_dir(void) { fuzz_rmtree(dir); }

const char *fuzz_dir(void) {
  if (dir[0]) return dir;
  const char *t = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/dlgn-fuzz-XXXXXX", t && *t ? t : "/tmp");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    abort();
  }
  atexit(remove_dir);
  return dir;
}

const char *fuzz_path(const char *name) {
  static char p[4][1024];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", fuzz_dir(), name);
  return p[k];
}

void fuzz_write(const char *path, const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
    perror(path);
    abort();
  }
}

void fuzz_check_error(const char *what) {
  const char *msg = dlgn_error();
  FUZZ_CHECK(msg[0] != '\0', "%s failed without a message", what);
  FUZZ_CHECK(strchr(msg, '\n') == NULL, "%s: message of more than one line: %s", what, msg);
}
