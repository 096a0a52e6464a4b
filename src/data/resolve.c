/* Where a run's data comes from: --data, then $DLGN_DATA, then the first
 * CIFAR archive or folder in ./datasets/, else the embedded synthetic
 * default. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dlgn/data.h"
#include "dlgn/status.h"

static int use_given(const char *given, const char *what, char *path, size_t size,
                     bool *synthetic) {
  if (strcmp(given, "synthetic") == 0) {
    *synthetic = true;
    path[0] = '\0';
    return 0;
  }
  struct stat st;
  if (stat(given, &st) != 0) return dlgn_fail("%s %s: %s", what, given, strerror(errno));
  if ((size_t)snprintf(path, size, "%s", given) >= size)
    return dlgn_fail("%s %s: path too long", what, given);
  *synthetic = false;
  return 0;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* A cifar-10* or cifar-100* entry, but not a download still in progress
 * (curl/wget/browser partial files) nor a checksum file beside the archive. */
static bool is_cifar_name(const char *name) {
  static const char *const skip[] = {".part", ".tmp", ".crdownload", ".download", ".md5"};
  if (strncmp(name, "cifar-10", 8) != 0) return false;
  for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
    if (ends_with(name, skip[i])) return false;
  return true;
}

int dlgn_data_resolve(const char *cli, char *path, size_t size, bool *synthetic) {
  if (cli && *cli) return use_given(cli, "--data", path, size, synthetic);
  const char *env = getenv("DLGN_DATA");
  if (env && *env) return use_given(env, "$DLGN_DATA", path, size, synthetic);
  *synthetic = true;
  path[0] = '\0';
  DIR *d = opendir(DLGN_DATASETS_DIR);
  if (!d) return 0;
  /* Sorted, so that "first" does not depend on the file system. */
  char *names[256];
  int n = 0;
  struct dirent *e;
  while (n < 256 && (e = readdir(d)) != NULL)
    if (is_cifar_name(e->d_name)) {
      names[n] = strdup(e->d_name);
      if (!names[n]) break;
      n++;
    }
  closedir(d);
  qsort(names, (size_t)n, sizeof names[0], cmp_names);
  for (int i = 0; i < n && *synthetic; i++) {
    char p[4096];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", DLGN_DATASETS_DIR, names[i]);
    if (stat(p, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) &&
        (size_t)snprintf(path, size, "%s", p) < size)
      *synthetic = false;
  }
  for (int i = 0; i < n; i++) free(names[i]);
  if (*synthetic) path[0] = '\0';
  return 0;
}
