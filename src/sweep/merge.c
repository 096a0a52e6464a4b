/* --merge: the results files from run folders trained elsewhere (job lines
 * on a cluster, several machines), with the filter checks they lack. */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlgn/run_files.h"
#include "dlgn/status.h"
#include "dlgn/sweep.h"
#include "dlgn/util.h"
#include "sweep_internal.h"

typedef struct {
  char **v;
  int n, cap;
} dir_list;

static int list_add(dir_list *l, const char *path) {
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 64;
    char **grown = realloc(l->v, (size_t)cap * sizeof *grown);
    if (!grown) return dlgn_fail("out of host memory listing run folders");
    l->v = grown;
    l->cap = cap;
  }
  if (!(l->v[l->n] = strdup(path))) return dlgn_fail("out of host memory listing run folders");
  l->n++;
  return 0;
}

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The run folders (those with a config.json) directly inside dir, by name. */
static int scan_runs(dir_list *l, const char *dir) {
  struct dirent **names;
  int n = scandir(dir, &names, NULL, alphasort);
  if (n < 0) return dlgn_fail("cannot list %s: %s", dir, strerror(errno));
  int rc = 0;
  for (int i = 0; i < n; i++) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
    if (rc == 0 && names[i]->d_name[0] != '.' && is_dir(path)) {
      if (sweep_exists(path, "config.json")) rc = list_add(l, path);
      else fprintf(stderr, "dlgn: note: %s has no config.json (not a run folder?), left out\n", path);
    }
    free(names[i]);
  }
  free(names);
  return rc;
}

static void merge_title(const char *dir, char *out, size_t size) {
  char path[1200], *text;
  snprintf(path, sizeof path, "%s/sweep.json", dir);
  if (access(path, F_OK) != 0 || dlgn_read_file(path, "sweep file", DLGN_MAX_SWEEP_BYTES, &text, NULL) != 0) {
    dlgn_error_clear();
    return;
  }
  json_object *o = json_tokener_parse(text), *v;
  free(text);
  if (o && json_object_object_get_ex(o, "name", &v) && json_object_is_type(v, json_type_string))
    snprintf(out, size, "%s", json_object_get_string(v));
  json_object_put(o);
}

int dlgn_sweep_merge(const char *const *dirs, int ndirs, const char *out_dir,
                     const dlgn_sweep_options *o) {
  dir_list found = {0}, keep = {0};
  char title[256] = "merged runs";
  int rc = -1;
  for (int d = 0; d < ndirs; d++) {
    char runs[1200];
    snprintf(runs, sizeof runs, "%s/runs", dirs[d]);
    if (!is_dir(dirs[d])) {
      dlgn_fail("--merge %s: not a folder", dirs[d]);
      goto done;
    }
    if (d == 0) merge_title(dirs[d], title, sizeof title);
    int r = sweep_exists(dirs[d], "config.json") ? list_add(&found, dirs[d])
            : is_dir(runs)                       ? scan_runs(&found, runs)
                                                 : scan_runs(&found, dirs[d]);
    if (r != 0) goto done;
  }
  for (int i = 0; i < found.n; i++) {
    const char *base = strrchr(found.v[i], '/') ? strrchr(found.v[i], '/') + 1 : found.v[i];
    bool dup = false;
    for (int j = 0; j < keep.n && !dup; j++) {
      const char *b = strrchr(keep.v[j], '/') ? strrchr(keep.v[j], '/') + 1 : keep.v[j];
      dup = strcmp(base, b) == 0;
    }
    dlgn_train_config c;
    if (dup) {
      fprintf(stderr, "dlgn: note: %s: a run of that name is already merged, skipped\n",
              found.v[i]);
      continue;
    }
    if (dlgn_train_config_load(&c, found.v[i]) != 0) goto done;
    int epochs;
    if (dlgn_run_summary_epochs(found.v[i], &epochs) != 0) {
      fprintf(stderr, "dlgn: note: %s, left out\n", dlgn_error());
      dlgn_error_clear();
      continue;
    }
    if (dlgn_sweep_run_state(found.v[i], c.epochs) != DLGN_RUN_FINISHED) {
      fprintf(stderr, "dlgn: note: %s is not finished, left out\n", found.v[i]);
      continue;
    }
    if (sweep_check_if_missing(found.v[i], o->device, o) != 0 || list_add(&keep, found.v[i]) != 0)
      goto done;
  }
  if (keep.n == 0) {
    dlgn_fail("--merge found no finished run folders");
    goto done;
  }
  if (dlgn_sweep_write_results(keep.v, keep.n, out_dir, title) != 0) goto done;
  printf("merged %d runs: %s/results.{csv,jsonl,md}, %s/tradeoff.png\n", keep.n, out_dir, out_dir);
  rc = 0;
done:
  for (int i = 0; i < found.n; i++) free(found.v[i]);
  for (int i = 0; i < keep.n; i++) free(keep.v[i]);
  free(found.v);
  free(keep.v);
  return rc;
}
