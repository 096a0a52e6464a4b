/* Checkpoint file: "DLGNCKPT", u32 version, u32 header length, header JSON
 * (configuration, epoch, step, shapes, normalisation, best figures), then the
 * parameters, batch-norm state and optimizer state as little-endian float32,
 * then a CRC-32 of everything before it. The RNG state is (seed, epoch): every
 * random choice of an epoch is drawn from a generator seeded by both. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dlgn/status.h"
#include "dlgn/train.h"
#include "run_files.h"
#include "nn/model_internal.h"

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
  json_object_object_add(h, "best", train_run_metrics_json(&ck->best));
  const char *htext = json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN);
  uint32_t hlen = (uint32_t)strlen(htext);

  char tmp[1200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  /* what a failed write leaves, for its message */
  struct stat prev;
  bool had_previous = stat(path, &prev) == 0 && S_ISREG(prev.st_mode);
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
    return dlgn_fail("writing checkpoint %s failed: %s (%s)", path, strerror(e),
                     had_previous ? "the previous checkpoint is kept"
                                  : "no checkpoint of this run is on disk yet");
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

/* The header's fields, each required with its JSON type; anything else in
 * the header is an error (the CRC only says the bytes are the ones written,
 * not that a writer of this format wrote them). */
static const char *const header_keys[] = {"config", "epoch", "step", "nparams", "nstate",
                                          "nopt",   "mean",  "std",  "best"};
#define NHEADER_KEYS (int)(sizeof header_keys / sizeof header_keys[0])

static int header_int(json_object *h, const char *key, int64_t lo, int64_t hi, const char *path,
                      int64_t *out) {
  json_object *v;
  if (!json_object_object_get_ex(h, key, &v) || !json_object_is_type(v, json_type_int))
    return dlgn_fail("checkpoint %s is corrupt: header field \"%s\" is missing or not an integer",
                     path, key);
  errno = 0;
  int64_t x = json_object_get_int64(v);
  if (errno == ERANGE || x < lo || x > hi)
    return dlgn_fail("checkpoint %s is corrupt: header field \"%s\" is %s, outside %lld..%lld",
                     path, key, json_object_to_json_string(v), (long long)lo, (long long)hi);
  *out = x;
  return 0;
}

/* mean and std: three finite numbers each, std positive. */
static int header_channels(json_object *h, const char *key, bool positive, const char *path,
                           float out[3]) {
  json_object *a;
  if (!json_object_object_get_ex(h, key, &a) || !json_object_is_type(a, json_type_array) ||
      json_object_array_length(a) != 3)
    return dlgn_fail("checkpoint %s is corrupt: header field \"%s\" is not an array of 3 numbers",
                     path, key);
  for (size_t i = 0; i < 3; i++) {
    json_object *v = json_object_array_get_idx(a, i);
    bool num = json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int);
    double d = num ? json_object_get_double(v) : 0;
    if (!num || !isfinite(d) || (positive && !(d > 0)) || fabs(d) > 1e6)
      return dlgn_fail("checkpoint %s is corrupt: header field \"%s\" entry %zu is not a %s "
                       "number",
                       path, key, i, positive ? "positive finite" : "finite");
    out[i] = (float)d;
  }
  return 0;
}

/* Every field against the configuration: the shapes must be the ones the
 * configuration lays out, so that nothing downstream trusts a size the
 * payload was not written for. */
static int parse_header(const char *htext, uint32_t hlen, const char *path, dlgn_checkpoint *ck) {
  if (strlen(htext) != hlen)
    return dlgn_fail("checkpoint %s is corrupt: a NUL byte inside the header", path);
  json_tokener *tok = json_tokener_new();
  if (!tok) return dlgn_fail("out of host memory reading checkpoint %s", path);
  json_object *h = json_tokener_parse_ex(tok, htext, (int)hlen);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t used = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  int rc = -1;
  if (!h || jerr != json_tokener_success || used != hlen) {
    dlgn_fail("checkpoint %s is corrupt: the header is not one JSON object (%s)", path,
              jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "bytes after it");
    goto done;
  }
  if (!json_object_is_type(h, json_type_object)) {
    dlgn_fail("checkpoint %s is corrupt: the header is not a JSON object", path);
    goto done;
  }
  json_object_object_foreach(h, key, val) {
    (void)val;
    bool known = false;
    for (int i = 0; i < NHEADER_KEYS; i++) known = known || strcmp(key, header_keys[i]) == 0;
    if (!known) {
      dlgn_fail("checkpoint %s is corrupt: unknown header field \"%s\"", path, key);
      goto done;
    }
  }
  json_object *cfg, *best;
  if (!json_object_object_get_ex(h, "config", &cfg) || !json_object_is_type(cfg, json_type_object)) {
    dlgn_fail("checkpoint %s is corrupt: header field \"config\" is missing or not an object",
              path);
    goto done;
  }
  dlgn_train_config_default(&ck->config);
  if (dlgn_train_config_from_json(&ck->config, json_object_to_json_string(cfg), path) != 0 ||
      dlgn_train_config_check(&ck->config) != 0 ||
      dlgn_model_config_check(&ck->config.model) != 0) {
    dlgn_fail_context("checkpoint %s is corrupt: its configuration", path);
    goto done;
  }
  const dlgn_train_config *c = &ck->config;
  /* CIFAR-10, or CIFAR-100's fine or coarse labels: a model for another count
   * was never trained by dlgn */
  int want = c->labels == DLGN_LABELS_COARSE ? 20 : c->model.num_classes == 10 ? 10 : 100;
  if (c->model.num_classes != want) {
    dlgn_fail("checkpoint %s is corrupt: its configuration has %d classes (CIFAR has 10 or 100, "
              "CIFAR-100's coarse labels 20)", path, c->model.num_classes);
    goto done;
  }
  if (c->epochs < 1 || c->epochs > 100000 || c->batch < 1 || c->batch > 65536) {
    dlgn_fail("checkpoint %s is corrupt: its configuration has %d epochs of batch %d", path,
              c->epochs, c->batch);
    goto done;
  }
  int64_t epoch, step, np, ns, no;
  if (header_int(h, "epoch", 0, c->epochs, path, &epoch) != 0 ||
      header_int(h, "step", 0, INT64_MAX / 2, path, &step) != 0 ||
      header_int(h, "nparams", 1, INT64_MAX / 2, path, &np) != 0 ||
      header_int(h, "nstate", 0, INT64_MAX / 2, path, &ns) != 0 ||
      header_int(h, "nopt", 0, INT64_MAX / 2, path, &no) != 0)
    goto done;
  /* every epoch is at least one step, and no step comes before an epoch */
  if (step < epoch || (epoch == 0 && step != 0)) {
    dlgn_fail("checkpoint %s is corrupt: step %lld after %lld epochs", path, (long long)step,
              (long long)epoch);
    goto done;
  }
  ck->epoch = (int)epoch;
  ck->step = (long)step;
  if (header_channels(h, "mean", false, path, ck->mean) != 0 ||
      header_channels(h, "std", true, path, ck->std) != 0)
    goto done;
  if (!json_object_object_get_ex(h, "best", &best) || !json_object_is_type(best, json_type_object)) {
    dlgn_fail("checkpoint %s is corrupt: header field \"best\" is missing or not an object", path);
    goto done;
  }
  train_run_metrics_parse(best, &ck->best);
  if (ck->best.epoch < 0 || ck->best.epoch > ck->epoch) {
    dlgn_fail("checkpoint %s is corrupt: its best epoch %d is not one of its %d epochs", path,
              ck->best.epoch, ck->epoch);
    goto done;
  }
  dlgn_model layout;
  memset(&layout, 0, sizeof layout);
  if (nn_model_layout(&layout, &c->model) != 0) {
    dlgn_fail_context("checkpoint %s is corrupt", path);
    goto done;
  }
  size_t ntrain = layout.train_end - layout.train_begin;
  size_t nopt = c->optimizer == DLGN_ADAM ? 2 * ntrain : ntrain;
  /* nopt 0: a checkpoint without optimizer state (evaluation and explain
   * read it; resume refuses it) */
  if ((size_t)np != layout.nparams || (size_t)ns != layout.nstate ||
      ((size_t)no != nopt && no != 0)) {
    dlgn_fail("checkpoint %s is corrupt: it holds %lld parameters, %lld state and %lld optimizer "
              "values, which does not match its configuration (a %s %s of depth %d, width %d "
              "and %d classes needs %zu, %zu and %zu)",
              path, (long long)np, (long long)ns, (long long)no, dlgn_class_name(c->model.cls),
              dlgn_arch_name(c->model.arch), c->model.depth, c->model.width,
              c->model.num_classes, layout.nparams, layout.nstate, nopt);
    goto done;
  }
  ck->nparams = (size_t)np;
  ck->nstate = (size_t)ns;
  ck->nopt = (size_t)no;
  rc = 0;
done:
  json_object_put(h);
  return rc;
}

/* Whether the CRC-32 at the end of the file (size bytes) matches the bytes
 * before it; leaves f at an unspecified position. */
static bool file_crc_matches(FILE *f, uint64_t size) {
  if (size < 4 || fseek(f, 0, SEEK_SET) != 0) return false;
  uLong crc = crc32(0L, Z_NULL, 0);
  unsigned char buf[65536];
  for (uint64_t left = size - 4; left;) {
    size_t k = left > sizeof buf ? sizeof buf : (size_t)left;
    if (fread(buf, 1, k, f) != k) return false;
    crc = crc32(crc, buf, (uInt)k);
    left -= k;
  }
  uint32_t stored;
  return fread(&stored, 1, 4, f) == 4 && stored == (uint32_t)crc;
}

int dlgn_checkpoint_read(const char *path, dlgn_checkpoint *ck) {
  memset(ck, 0, sizeof *ck);
  FILE *f = fopen(path, "rb");
  if (!f) return dlgn_fail("cannot open checkpoint %s: %s", path, strerror(errno));
  int rc = -1;
  char *htext = NULL;
  uLong crc = crc32(0L, Z_NULL, 0);
  char magic[8];
  uint32_t version, hlen;
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    dlgn_fail("checkpoint %s is not a regular file", path);
    goto done;
  }
  uint64_t size = (uint64_t)st.st_size;
  if (read_exact(f, magic, 8, &crc) != 0 || memcmp(magic, CKPT_MAGIC, 8) != 0) {
    dlgn_fail("%s is not a dlgn checkpoint (bad magic)", path);
    goto done;
  }
  if (read_exact(f, &version, 4, &crc) != 0 || version != CKPT_VERSION) {
    dlgn_fail("checkpoint %s has version %u; this dlgn reads version %u", path,
              size >= 12 ? version : 0, CKPT_VERSION);
    goto done;
  }
  if (read_exact(f, &hlen, 4, &crc) != 0) {
    dlgn_fail("checkpoint %s is truncated (no header length)", path);
    goto done;
  }
  /* A header that does not fit in the file is a damaged length, not a
   * short file: the payload and checksum would follow it. */
  if (hlen < 2 || hlen > (1u << 24) || 16 + (uint64_t)hlen + 4 > size) {
    dlgn_fail("checkpoint %s is corrupt: bad header length %u (the file has %llu bytes)", path,
              hlen, (unsigned long long)size);
    goto done;
  }
  htext = dlgn_malloc((size_t)hlen + 1, "checkpoint header");
  if (!htext) goto done;
  if (read_exact(f, htext, hlen, &crc) != 0) {
    dlgn_fail("checkpoint %s is truncated (in the header)", path);
    goto done;
  }
  htext[hlen] = '\0';
  if (parse_header(htext, hlen, path, ck) != 0) {
    /* Damaged bytes are the likelier cause than an edited header: say so
     * when the checksum disagrees too. */
    if (!file_crc_matches(f, size))
      dlgn_fail("checkpoint %s is corrupt: CRC-32 mismatch (its header does not read)", path);
    goto done;
  }
  uint64_t want = 16 + (uint64_t)hlen + 4 * ((uint64_t)ck->nparams + ck->nstate + ck->nopt) + 4;
  if (size < want) {
    dlgn_fail("checkpoint %s is truncated (%llu of %llu bytes: %zu parameters, %zu state, %zu "
              "optimizer values and the checksum)",
              path, (unsigned long long)size, (unsigned long long)want, ck->nparams, ck->nstate,
              ck->nopt);
    goto done;
  }
  if (size > want) {
    dlgn_fail("checkpoint %s is corrupt: %llu bytes after the checksum", path,
              (unsigned long long)(size - want));
    goto done;
  }
  ck->params = dlgn_malloc(ck->nparams * sizeof(float), "checkpoint parameters");
  ck->state = dlgn_malloc((ck->nstate ? ck->nstate : 1) * sizeof(float), "checkpoint state");
  ck->opt = dlgn_malloc((ck->nopt ? ck->nopt : 1) * sizeof(float), "checkpoint optimizer state");
  if (!ck->params || !ck->state || !ck->opt) goto done;
  uint32_t stored;
  if (read_exact(f, ck->params, ck->nparams * sizeof(float), &crc) != 0 ||
      read_exact(f, ck->state, ck->nstate * sizeof(float), &crc) != 0 ||
      read_exact(f, ck->opt, ck->nopt * sizeof(float), &crc) != 0 ||
      fread(&stored, 1, 4, f) != 4) {
    dlgn_fail("checkpoint %s is truncated (it shrank while being read)", path);
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
  free(htext);
  fclose(f);
  if (rc != 0) {
    dlgn_checkpoint_free(ck);
    memset(ck, 0, sizeof *ck);
  }
  return rc;
}

void dlgn_checkpoint_free(dlgn_checkpoint *ck) {
  free(ck->params);
  free(ck->state);
  free(ck->opt);
  ck->params = ck->state = ck->opt = NULL;
}
