#include "dlgn/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char last_error[DLGN_ERROR_MAX];

/* An error is one line: messages quote names and keys from the files they
 * read (archive members, JSON keys), which may hold newlines or terminal
 * control bytes. Line breaks and tabs become spaces, other control bytes '?'. */
static void one_line(char *s) {
  for (; *s; s++)
    if (*s == '\n' || *s == '\r' || *s == '\t') *s = ' ';
    else if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = '?';
}

int dlgn_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  one_line(last_error);
  return -1;
}

int dlgn_fail_context(const char *fmt, ...) {
  char old[DLGN_ERROR_MAX];
  memcpy(old, last_error, sizeof old);
  char prefix[DLGN_ERROR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  char joined[2 * DLGN_ERROR_MAX + 2];
  snprintf(joined, sizeof joined, "%s: %s", prefix, old);
  memcpy(last_error, joined, sizeof last_error - 1);
  last_error[sizeof last_error - 1] = '\0';
  one_line(last_error);
  return -1;
}

const char *dlgn_error(void) { return last_error; }

void dlgn_error_clear(void) { last_error[0] = '\0'; }

void *dlgn_malloc(size_t bytes, const char *what) {
  void *p = malloc(bytes ? bytes : 1);
  if (!p) dlgn_fail("out of host memory allocating %zu bytes for %s", bytes, what);
  return p;
}

void *dlgn_calloc(size_t count, size_t size, const char *what) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p) dlgn_fail("out of host memory allocating %zu x %zu bytes for %s", count, size, what);
  return p;
}
