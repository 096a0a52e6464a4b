/* Reading an already-extracted CIFAR folder: the same loader as for
 * archives, fed from the known member files (other files are ignored). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/cifar_internal.h"
#include "dlgn/status.h"

#define FOLDER_READ_BLOCK (1 << 20)

static const char *const known_files[] = {
    "data_batch_1.bin", "data_batch_2.bin",     "data_batch_3.bin",       "data_batch_4.bin",
    "data_batch_5.bin", "test_batch.bin",       "batches.meta.txt",       "train.bin",
    "test.bin",         "fine_label_names.txt", "coarse_label_names.txt",
};
#define NKNOWN (sizeof known_files / sizeof known_files[0])

static bool holds_known_file(const char *dir) {
  char p[4352];
  for (size_t i = 0; i < NKNOWN; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, known_files[i]);
    if (access(p, F_OK) == 0) return true;
  }
  return false;
}

static int read_file(cifar_loader *L, const char *dir, const char *file, uint8_t *buf) {
  char p[4352];
  snprintf(p, sizeof p, "%s/%s", dir, file);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    return dlgn_fail("%s: member %s, byte 0: %s", L->source, file, strerror(errno));
  }
  struct stat st;
  int rc = 0;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    rc = dlgn_fail("%s: member %s, byte 0: not a regular file", L->source, file);
    goto done;
  }
  if (cifar_loader_member_begin(L, file, (int64_t)st.st_size) != 0) {
    rc = -1;
    goto done;
  }
  for (;;) {
    ssize_t got = read(fd, buf, FOLDER_READ_BLOCK);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      rc = dlgn_fail("%s: member %s, byte %llu: %s", L->source, file,
                     (unsigned long long)L->current_offset, strerror(errno));
      goto done;
    }
    if (got == 0) break;
    if (cifar_loader_member_data(L, buf, (size_t)got) != 0) {
      rc = -1;
      goto done;
    }
  }
  /* A file that changed size while being read would otherwise pass as whole. */
  if (L->current_offset != (uint64_t)st.st_size) {
    rc = dlgn_fail("%s: member %s, byte %llu: file changed size while being read (%lld bytes "
                   "when opened)",
                   L->source, file, (unsigned long long)L->current_offset, (long long)st.st_size);
    goto done;
  }
  rc = cifar_loader_member_end(L);
done:
  close(fd);
  return rc;
}

int cifar_folder_read(cifar_loader *L, const char *path) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  if (!holds_known_file(dir)) {
    /* Also accept the folder that holds the extracted archive's top folder. */
    const char *subs[] = {cifar_folder_name(DLGN_CIFAR10), cifar_folder_name(DLGN_CIFAR100)};
    for (int i = 0; i < 2; i++) {
      snprintf(dir, sizeof dir, "%s/%s", path, subs[i]);
      if (holds_known_file(dir)) break;
      dir[0] = '\0';
    }
    if (!dir[0])
      return dlgn_fail("%s: member data_batch_1.bin or train.bin, byte 0: the folder holds no "
                       "CIFAR member files (expected data_batch_1..5.bin + test_batch.bin, or "
                       "train.bin + test.bin, here or in %s/ or %s/)",
                       path, subs[0], subs[1]);
  }
  uint8_t *buf = dlgn_malloc(FOLDER_READ_BLOCK, "the folder read buffer");
  if (!buf) return -1;
  int rc = 0;
  for (size_t i = 0; i < NKNOWN && rc == 0; i++) rc = read_file(L, dir, known_files[i], buf);
  free(buf);
  return rc;
}
