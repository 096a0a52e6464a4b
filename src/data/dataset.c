/* dlgn_dataset_load: an archive or an extracted folder, through the loader. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/cifar_internal.h"
#include "dlgn/status.h"

int dlgn_dataset_load(dlgn_dataset *ds, const char *path, const dlgn_load_options *opt) {
  memset(ds, 0, sizeof *ds);
  struct stat st;
  if (stat(path, &st) != 0)
    return dlgn_fail("%s: member (none), byte 0: %s", path, strerror(errno));
  if (S_ISREG(st.st_mode) && st.st_size == 0)
    return dlgn_fail("%s: member (none), byte 0: empty file, not an archive", path);
  cifar_loader L;
  cifar_loader_init(&L, path, opt ? opt->max_bytes : 0);
  int rc = S_ISDIR(st.st_mode) ? cifar_folder_read(&L, path) : cifar_archive_read(&L, path);
  if (rc != 0) {
    cifar_loader_free(&L);
    return -1;
  }
  return cifar_loader_finish(&L, ds);
}

void dlgn_dataset_free(dlgn_dataset *ds) {
  if (!ds) return;
  dlgn_split *splits[2] = {&ds->train, &ds->test};
  for (int i = 0; i < 2; i++) {
    free(splits[i]->images);
    free(splits[i]->labels);
    free(splits[i]->coarse);
  }
  memset(ds, 0, sizeof *ds);
}

void dlgn_split_channel_stats(const dlgn_split *s, float mean[3], float std[3]) {
  /* Integer sums are exact, so the result does not depend on the order. */
  for (int c = 0; c < 3; c++) {
    uint64_t sum = 0, sumsq = 0;
    for (size_t i = 0; i < s->n; i++) {
      const uint8_t *p = s->images + i * DLGN_IMAGE_BYTES + (size_t)c * 1024;
      uint32_t a = 0, b = 0;
      for (int k = 0; k < 1024; k++) {
        a += p[k];
        b += (uint32_t)p[k] * p[k];
      }
      sum += a;
      sumsq += b;
    }
    double count = (double)s->n * 1024.0;
    double m = s->n ? (double)sum / count : 0.0;
    double var = s->n ? (double)sumsq / count - m * m : 0.0;
    mean[c] = (float)(m / 255.0);
    std[c] = (float)(var > 0 ? sqrt(var) / 255.0 : 0.0);
  }
}
