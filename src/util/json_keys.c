/* Duplicate keys in JSON text. json-c keeps the last of two equal keys in
 * an object without a word, so a sweep file with "lr" twice ran with one of
 * them silently; this scan finds the first duplicate, with its line. It
 * expects text that already parsed as JSON (it does not validate). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/status.h"
#include "dlgn/util.h"

#define MAX_DEPTH 64

typedef struct {
  uint64_t hash;
  size_t at, len; /* the key's raw bytes, between its quotes */
  int line;
} key_ref;

static int cmp_key(const void *pa, const void *pb, const char *text) {
  const key_ref *a = pa, *b = pb;
  if (a->hash != b->hash) return a->hash < b->hash ? -1 : 1;
  if (a->len != b->len) return a->len < b->len ? -1 : 1;
  int c = memcmp(text + a->at, text + b->at, a->len);
  if (c) return c;
  return (a->at > b->at) - (a->at < b->at);
}

static const char *sort_text; /* qsort has no context argument in C11 */
static int cmp_sorted(const void *a, const void *b) { return cmp_key(a, b, sort_text); }

/* Keys [from, n) of one object: sort them and report the first pair. */
static int check_object(key_ref *k, size_t from, size_t n, const char *text, key_ref *dup) {
  if (n - from < 2) return 0; /* also keeps a NULL k (no key seen yet) from qsort */
  sort_text = text;
  qsort(k + from, n - from, sizeof *k, cmp_sorted);
  int found = 0;
  for (size_t i = from + 1; i < n; i++)
    if (k[i].hash == k[i - 1].hash && k[i].len == k[i - 1].len &&
        memcmp(text + k[i].at, text + k[i - 1].at, k[i].len) == 0 &&
        (!found || k[i].at < dup->at)) {
      *dup = k[i]; /* the later of the two in the file */
      found = 1;
    }
  return found;
}

int dlgn_json_find_duplicate_key(const char *text, size_t len, char *key, size_t size, int *line) {
  key_ref *keys = NULL, dup = {0};
  size_t nkeys = 0, cap = 0, starts[MAX_DEPTH];
  int depth = 0, cur_line = 1, found = 0;
  char kind[MAX_DEPTH]; /* '{' or '[' */
  for (size_t i = 0; i < len && !found; i++) {
    char c = text[i];
    if (c == '\n') cur_line++;
    if (c == '{' || c == '[') {
      if (depth == MAX_DEPTH) break; /* deeper than json-c parses anyway */
      kind[depth] = c;
      starts[depth++] = nkeys;
    } else if ((c == '}' || c == ']') && depth > 0) {
      depth--;
      if (kind[depth] == '{' && check_object(keys, starts[depth], nkeys, text, &dup)) found = 1;
      nkeys = starts[depth];
    } else if (c == '"') {
      size_t at = ++i;
      while (i < len && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
      if (i >= len) break;
      size_t j = i + 1;
      while (j < len && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n'))
        j++;
      if (depth == 0 || kind[depth - 1] != '{' || j >= len || text[j] != ':') continue;
      if (nkeys == cap) {
        size_t grown_cap = cap ? 2 * cap : 64;
        key_ref *grown = realloc(keys, grown_cap * sizeof *grown);
        if (!grown) {
          free(keys);
          return dlgn_fail("out of host memory checking JSON keys");
        }
        keys = grown;
        cap = grown_cap;
      }
      uint64_t h = 1469598103934665603ull; /* FNV-1a */
      for (size_t k = at; k < i; k++) h = (h ^ (unsigned char)text[k]) * 1099511628211ull;
      keys[nkeys++] = (key_ref){h, at, i - at, cur_line};
    }
  }
  free(keys);
  if (!found) return 0;
  snprintf(key, size, "%.*s", (int)dup.len, text + dup.at);
  *line = dup.line;
  return 1;
}
