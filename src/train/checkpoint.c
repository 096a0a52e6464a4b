/* Checkpoint file: "DLGNCKPT", u32 version, u32 header length, header JSON
 * (configuration, epoch, step, shapes, normalisation, best figures), then the
 * parameters, batch-norm state and optimizer state as little-endian float32,
 * then a CRC-32 of everything before it. The RNG state is (seed, epoch): every
 * random choice of an epoch is drawn from a generator seeded by both. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "dlgn/status.h"
#include "dlgn/train.h"
#include "run_files.h"

#define CKPT_MAGIC "DLGNCKPT"
#define CKPT_VERSION 1u

static int write_all(FILE *f, const void *p, size_t n, uLong *crc) {
  *crc = crc32(*crc, p, (uInt)n);
  return fwrite(p, 1, n, f) == n ? 0 : -1;
}

static int write_floats(FILE *f, const float *p, size_t n, uLong *crc) {
  /* chunked so that CRC lengths fit in uInt */
  const unsigned char *b = (const unsigned char *)p;
  size_t bytes = n * sizeof(float);
  while (bytes) {
    size_t k = bytes > (1u << 30) ? (1u << 30) : bytes;
    if (write_all(f, b, k, crc) != 0) return -1;
    b += k;
    bytes -= k;
  }
  return 0;
}

int dlgn_checkpoint_write(const char *path, const dlgn_checkpoint *ck) {
  char *cfg = dlgn_train_config_to_json(&ck->config);
  if (!cfg) return dlgn_fail("out of host memory writing checkpoint %s", path);
  json_object *h = json_object_new_object();
  json_object_object_add(h, "config", json_tokener_parse(cfg));
  free(cfg);
  json_object_object_add(h, "epoch", json_object_new_int(ck->epoch));
  json_object_object_add(h, "step", json_object_new_int64(ck->step));
  json_object_object_add(h, "nparams", json_object_new_int64((int64_t)ck->nparams));
  json_object_object_add(h, "nstate", json_object_new_int64((int64_t)ck->nstate));
  json_object_object_add(h, "nopt", json_object_new_int64((int64_t)ck->nopt));
  json_object *mean = json_object_new_array(), *std = json_object_new_array();
  for (int i = 0; i < 3; i++) {
    json_object_array_add(mean, json_object_new_double(ck->mean[i]));
    json_object_array_add(std, json_object_new_double(ck->std[i]));
  }
  json_object_object_add(h, "mean", mean);
  json_object_object_add(h, "std", std);
  json_object_object_add(h, "best", dlgn_run_metrics_json(&ck->best));
  const char *htext = json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN);
  uint32_t hlen = (uint32_t)strlen(htext);

  char tmp[1200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    json_object_put(h);
    return dlgn_fail("cannot write checkpoint %s: %s", tmp, strerror(errno));
  }
  uLong crc = crc32(0L, Z_NULL, 0);
  uint32_t version = CKPT_VERSION;
  int bad = write_all(f, CKPT_MAGIC, 8, &crc) || write_all(f, &version, 4, &crc) ||
            write_all(f, &hlen, 4, &crc) || write_all(f, htext, hlen, &crc) ||
            write_floats(f, ck->params, ck->nparams, &crc) ||
            write_floats(f, ck->state, ck->nstate, &crc) ||
            write_floats(f, ck->opt, ck->nopt, &crc);
  json_object_put(h);
  uint32_t c32 = (uint32_t)crc;
  if (!bad) bad = fwrite(&c32, 1, 4, f) != 4;
  if (!bad) bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
  if (fclose(f) != 0) bad = 1;
  if (bad || rename(tmp, path) != 0) {
    int e = errno;
    remove(tmp);
    return dlgn_fail("writing checkpoint %s failed: %s (the previous checkpoint is kept)", path,
                     strerror(e));
  }
  return 0;
}

static int read_exact(FILE *f, void *p, size_t n, uLong *crc) {
  unsigned char *b = p;
  size_t left = n;
  while (left) {
    size_t k = left > (1u << 30) ? (1u << 30) : left;
    if (fread(b, 1, k, f) != k) return -1;
    *crc = crc32(*crc, b, (uInt)k);
    b += k;
    left -= k;
  }
  return 0;
}

int dlgn_checkpoint_read(const char *path, dlgn_checkpoint *ck) {
  memset(ck, 0, sizeof *ck);
  FILE *f = fopen(path, "rb");
  if (!f) return dlgn_fail("cannot open checkpoint %s: %s", path, strerror(errno));
  int rc = -1;
  char *htext = NULL;
  json_object *h = NULL;
  uLong crc = crc32(0L, Z_NULL, 0);
  char magic[8];
  uint32_t version, hlen;
  if (read_exact(f, magic, 8, &crc) != 0 || memcmp(magic, CKPT_MAGIC, 8) != 0) {
    dlgn_fail("%s is not a dlgn checkpoint (bad magic)", path);
    goto done;
  }
  if (read_exact(f, &version, 4, &crc) != 0 || version != CKPT_VERSION) {
    dlgn_fail("checkpoint %s has version %u; this dlgn reads version %u", path, version,
              CKPT_VERSION);
    goto done;
  }
  if (read_exact(f, &hlen, 4, &crc) != 0 || hlen > (1u << 24)) {
    dlgn_fail("checkpoint %s is corrupt: bad header length", path);
    goto done;
  }
  htext = dlgn_malloc((size_t)hlen + 1, "checkpoint header");
  if (!htext) goto done;
  if (read_exact(f, htext, hlen, &crc) != 0) {
    dlgn_fail("checkpoint %s is truncated (in the header)", path);
    goto done;
  }
  htext[hlen] = '\0';
  h = json_tokener_parse(htext);
  json_object *cfg, *v;
  if (!h || !json_object_object_get_ex(h, "config", &cfg)) {
    dlgn_fail("checkpoint %s is corrupt: unreadable header", path);
    goto done;
  }
  dlgn_train_config_default(&ck->config);
  if (dlgn_train_config_from_json(&ck->config, json_object_to_json_string(cfg), path) != 0) goto done;
  ck->epoch = json_object_object_get_ex(h, "epoch", &v) ? json_object_get_int(v) : 0;
  ck->step = json_object_object_get_ex(h, "step", &v) ? (long)json_object_get_int64(v) : 0;
  ck->nparams = json_object_object_get_ex(h, "nparams", &v) ? (size_t)json_object_get_int64(v) : 0;
  ck->nstate = json_object_object_get_ex(h, "nstate", &v) ? (size_t)json_object_get_int64(v) : 0;
  ck->nopt = json_object_object_get_ex(h, "nopt", &v) ? (size_t)json_object_get_int64(v) : 0;
  json_object *mean, *std;
  if (json_object_object_get_ex(h, "mean", &mean) && json_object_object_get_ex(h, "std", &std))
    for (int i = 0; i < 3; i++) {
      ck->mean[i] = (float)json_object_get_double(json_object_array_get_idx(mean, (size_t)i));
      ck->std[i] = (float)json_object_get_double(json_object_array_get_idx(std, (size_t)i));
    }
  if (json_object_object_get_ex(h, "best", &v)) dlgn_run_metrics_parse(v, &ck->best);
  if (ck->nparams == 0 || ck->nparams > (1ull << 32) || ck->nstate > (1ull << 32) ||
      ck->nopt > (1ull << 34)) {
    dlgn_fail("checkpoint %s is corrupt: implausible sizes", path);
    goto done;
  }
  ck->params = dlgn_malloc(ck->nparams * sizeof(float), "checkpoint parameters");
  ck->state = dlgn_malloc((ck->nstate ? ck->nstate : 1) * sizeof(float), "checkpoint state");
  ck->opt = dlgn_malloc((ck->nopt ? ck->nopt : 1) * sizeof(float), "checkpoint optimizer state");
  if (!ck->params || !ck->state || !ck->opt) goto done;
  if (read_exact(f, ck->params, ck->nparams * sizeof(float), &crc) != 0 ||
      read_exact(f, ck->state, ck->nstate * sizeof(float), &crc) != 0 ||
      read_exact(f, ck->opt, ck->nopt * sizeof(float), &crc) != 0) {
    dlgn_fail("checkpoint %s is truncated (expected %zu parameters, %zu state, %zu optimizer "
              "values)",
              path, ck->nparams, ck->nstate, ck->nopt);
    goto done;
  }
  uint32_t stored;
  if (fread(&stored, 1, 4, f) != 4) {
    dlgn_fail("checkpoint %s is truncated (no checksum)", path);
    goto done;
  }
  if (stored != (uint32_t)crc) {
    dlgn_fail("checkpoint %s is corrupt: CRC-32 mismatch (stored %08x, computed %08x)", path,
              stored, (uint32_t)crc);
    goto done;
  }
  if (fgetc(f) != EOF) {
    dlgn_fail("checkpoint %s is corrupt: trailing bytes after the checksum", path);
    goto done;
  }
  rc = 0;
done:
  if (h) json_object_put(h);
  free(htext);
  fclose(f);
  if (rc != 0) dlgn_checkpoint_free(ck);
  return rc;
}

void dlgn_checkpoint_free(dlgn_checkpoint *ck) {
  free(ck->params);
  free(ck->state);
  free(ck->opt);
  ck->params = ck->state = ck->opt = NULL;
}
