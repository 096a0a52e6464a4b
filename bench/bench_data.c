/* Loading the real CIFAR-10 archive into memory (decompress, untar,
 * validate, md5, de-interleave) against `gzip -dc FILE > /dev/null` of the
 * same file, timed in the same run, interleaved, median of RUNS each.
 * Usage: bench_data [ARCHIVE] (default $DLGN_REAL_CIFAR10, else
 * ../shared/datasets/cifar-10-binary.tar.gz beside the source tree). */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dlgn/data.h"
#include "dlgn/status.h"
#include "dlgn/util.h"

#define RUNS 5

extern char **environ;

/* Seconds for `gzip -dc path > /dev/null`, or -1. */
static double time_gzip(const char *path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  char *argv[] = {"gzip", "-dc", (char *)path, NULL};
  pid_t pid;
  double t0 = dlgn_now();
  int rc = posix_spawnp(&pid, "gzip", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return dlgn_now() - t0;
}

static const char *default_archive(void) {
  static char path[4096];
  const char *env = getenv("DLGN_REAL_CIFAR10");
  if (env && *env) return env;
  /* __FILE__ is bench/bench_data.c under the source tree. */
  snprintf(path, sizeof path, "%s", __FILE__);
  char *slash = strrchr(path, '/');
  if (!slash) return "../shared/datasets/cifar-10-binary.tar.gz";
  *slash = '\0';
  strncat(path, "/../../shared/datasets/cifar-10-binary.tar.gz", sizeof path - strlen(path) - 1);
  return path;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : default_archive();
  struct stat st;
  if (stat(path, &st) != 0) {
    printf("bench_data: no CIFAR-10 archive at %s; nothing to measure\n", path);
    return 0;
  }
  double t_dlgn[RUNS], t_gzip[RUNS];
  uint64_t bytes = 0;
  for (int r = 0; r < RUNS; r++) {
    dlgn_dataset ds;
    double t0 = dlgn_now();
    if (dlgn_dataset_load(&ds, path, NULL) != 0) {
      fprintf(stderr, "bench_data: %s\n", dlgn_error());
      return 1;
    }
    t_dlgn[r] = dlgn_now() - t0;
    /* A fast wrong answer is no answer: the members must be the official ones. */
    for (int m = 0; m < ds.nmembers; m++)
      if (ds.members[m].official != 1) {
        fprintf(stderr, "bench_data: member %s md5 %s is not the official one\n",
                ds.members[m].name, ds.members[m].md5);
        dlgn_dataset_free(&ds);
        return 1;
      }
    bytes = ds.bytes_read;
    dlgn_dataset_free(&ds);
    t_gzip[r] = time_gzip(path);
    if (t_gzip[r] < 0) {
      printf("bench_data: `gzip -dc` failed or is missing; no reference time\n");
      return 1;
    }
  }
  double d = dlgn_median(t_dlgn, RUNS), g = dlgn_median(t_gzip, RUNS);
  double mb_in = (double)st.st_size / 1e6, mb_out = (double)bytes / 1e6;
  printf("archive: %s (%.1f MB compressed, %.1f MB of members)\n", path, mb_in, mb_out);
  printf(
      "dlgn_dataset_load : %.3f s median of %d  (%.1f MB/s compressed, %.1f MB/s decompressed)\n",
      d, RUNS, mb_in / d, mb_out / d);
  printf(
      "gzip -dc >/dev/null: %.3f s median of %d  (%.1f MB/s compressed, %.1f MB/s decompressed)\n",
      g, RUNS, mb_in / g, mb_out / g);
  printf("ratio dlgn/gzip: %.2f (target <= 1.5: %s)\n", d / g, d / g <= 1.5 ? "met" : "NOT met");
  return 0;
}
