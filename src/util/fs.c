#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dlgn/status.h"
#include "dlgn/util.h"

int dlgn_mkdir_p(const char *path) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
    return dlgn_fail("path too long: %s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
      return dlgn_fail("cannot create folder %s: %s", tmp, strerror(errno));
    *p = '/';
  }
  if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
    return dlgn_fail("cannot create folder %s: %s", tmp, strerror(errno));
  struct stat st;
  if (stat(tmp, &st) != 0 || !S_ISDIR(st.st_mode))
    return dlgn_fail("%s exists and is not a folder", tmp);
  return 0;
}

int dlgn_read_file(const char *path, const char *what, size_t max_bytes, char **data,
                   size_t *len) {
  *data = NULL;
  if (len) *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return dlgn_fail("cannot open %s %s: %s", what, path, strerror(errno));
  /* Grow as needed up to max_bytes + 1: the one byte more tells a file at the
   * cap from one past it, and a device such as /dev/zero stops here instead
   * of filling memory. */
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap);
  bool too_large = false;
  while (buf) {
    size_t want = cap - n - 1;
    if (want > max_bytes + 1 - n) want = max_bytes + 1 - n;
    size_t got = fread(buf + n, 1, want, f);
    n += got;
    if (n > max_bytes) {
      too_large = true;
      break;
    }
    if (got < want) break; /* end of file (or an error, told by ferror below) */
    char *grown = realloc(buf, cap * 2);
    if (!grown) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = grown;
    cap *= 2;
  }
  int err = ferror(f);
  fclose(f);
  if (!buf) return dlgn_fail("out of host memory reading %s %s", what, path);
  if (too_large) {
    free(buf);
    return dlgn_fail("%s %s is larger than %zu bytes, the most a %s may hold (is it the right "
                     "file?)",
                     what, path, max_bytes, what);
  }
  if (err) {
    free(buf);
    return dlgn_fail("cannot read %s %s", what, path);
  }
  buf[n] = '\0';
  *data = buf;
  if (len) *len = n;
  return 0;
}

int dlgn_write_file_atomic(const char *path, const void *data, size_t len) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) return dlgn_fail("cannot write %s: %s", tmp, strerror(errno));
  int bad = fwrite(data, 1, len, f) != len;
  bad |= fflush(f) != 0;
  bad |= fclose(f) != 0;
  if (bad || rename(tmp, path) != 0) {
    int e = errno;
    remove(tmp);
    return dlgn_fail("cannot write %s: %s", path, strerror(e));
  }
  return 0;
}

double dlgn_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double dlgn_median(double *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int dlgn_parse_choice(const char *s, const char *const *names, int n, const char *what, int *out) {
  for (int i = 0; i < n; i++)
    if (strcmp(s, names[i]) == 0) {
      *out = i;
      return 0;
    }
  char choices[256] = "";
  for (int i = 0; i < n; i++) {
    size_t used = strlen(choices);
    snprintf(choices + used, sizeof choices - used, "%s%s", i ? "|" : "", names[i]);
  }
  return dlgn_fail("unknown %s '%s' (expected %s)", what, s, choices);
}
