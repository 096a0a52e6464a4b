/* The tuning file: where it lives, how it reads and writes (format in
 * src/cl/tune.h), and handing its CLBlast part to CLBlast. */
#include <clblast_c.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlgn/status.h"
#include "cl/tune.h"
#include "dlgn/util.h"

int ocl_tuning_dir(char *out, size_t size) {
  const char *d = getenv("DLGN_TUNING_DIR");
  if (d && *d) {
    snprintf(out, size, "%s", d);
    return 0;
  }
  const char *x = getenv("XDG_CONFIG_HOME");
  if (x && *x) {
    snprintf(out, size, "%s/dlgn/tuning", x);
    return 0;
  }
  const char *home = getenv("HOME");
  if (!home || !*home)
    return dlgn_fail(
        "no folder for GEMM tuning files: set DLGN_TUNING_DIR, XDG_CONFIG_HOME or HOME");
  snprintf(out, size, "%s/.config/dlgn/tuning", home);
  return 0;
}

/* Device names contain spaces and '@'; keep file names portable. */
static void sanitise(const char *in, char *out, size_t size) {
  size_t n = 0;
  for (const char *p = in; *p && n + 1 < size; p++)
    out[n++] = (isalnum((unsigned char)*p) || strchr(".+-", *p)) ? *p : '_';
  out[n] = '\0';
}

int ocl_tuning_path(const dlgn_device_info *info, char *out, size_t size) {
  char dir[700], name[200], driver[100];
  DLGN_TRY(ocl_tuning_dir(dir, sizeof dir));
  sanitise(info->name, name, sizeof name);
  sanitise(info->driver, driver, sizeof driver);
  snprintf(out, size, "%s/%s--%s.txt", dir, name, driver);
  return 0;
}

/* ---- reading ---- */

typedef struct {
  const char *path;
  int line;
} where;

static int parse_size(const where *w, const char *tok, const char *val, size_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(val, &end, 10);
  if (errno || end == val || *end || val[0] == '-')
    return dlgn_fail("tuning file %s line %d: '%s' is not a non-negative integer", w->path, w->line,
                     tok);
  *out = (size_t)v;
  return 0;
}

static int parse_int(const where *w, const char *tok, const char *val, int *out) {
  size_t v;
  DLGN_TRY(parse_size(w, tok, val, &v));
  if (v > 1000000)
    return dlgn_fail("tuning file %s line %d: '%s' is too large", w->path, w->line, tok);
  *out = (int)v;
  return 0;
}

/* "ta=0 tb=1 M=.. N=.. K=.. tm=.. tn=.. vw=.. kc=.. gflops=.." in any order;
 * shape says whether the shape keys are required. */
static int parse_own(const where *w, char *rest, bool shape, ocl_tuned_shape *s) {
  memset(s, 0, sizeof *s);
  unsigned seen = 0;
  static const char *keys[] = {"tm", "tn", "vw", "kc", "ta", "tb", "M", "N", "K", "gflops", "ks"};
  char *save = NULL;
  for (char *tok = strtok_r(rest, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
    char *eq = strchr(tok, '=');
    if (!eq)
      return dlgn_fail("tuning file %s line %d: expected KEY=VALUE, got '%s'", w->path, w->line,
                       tok);
    *eq = '\0';
    const char *val = eq + 1;
    int k = -1;
    for (int i = 0; i < 11; i++)
      if (strcmp(tok, keys[i]) == 0) k = i;
    if (k < 0) return dlgn_fail("tuning file %s line %d: unknown key '%s'", w->path, w->line, tok);
    *eq = '=';
    size_t v = 0;
    int iv = 0;
    if (k == 9) {
      char *end;
      s->gflops = strtod(val, &end);
      if (end == val || *end)
        return dlgn_fail("tuning file %s line %d: bad number in '%s'", w->path, w->line, tok);
    } else if (k < 4 || k == 10) {
      DLGN_TRY(parse_int(w, tok, val, &iv));
    } else {
      DLGN_TRY(parse_size(w, tok, val, &v));
    }
    switch (k) {
      case 0:
        s->own.tm = iv;
        break;
      case 1:
        s->own.tn = iv;
        break;
      case 2:
        s->own.vw = iv;
        break;
      case 3:
        s->own.kc = iv;
        break;
      case 4:
        s->ta = v != 0;
        break;
      case 5:
        s->tb = v != 0;
        break;
      case 6:
        s->M = v;
        break;
      case 7:
        s->N = v;
        break;
      case 8:
        s->K = v;
        break;
      case 10:
        s->own.ks = iv;
        break;
      default:
        break;
    }
    seen |= 1u << k;
  }
  unsigned need = shape ? 0x1ffu : 0xfu;
  if ((seen & need) != need)
    return dlgn_fail("tuning file %s line %d: missing keys (need %s)", w->path, w->line,
                     shape ? "ta tb M N K tm tn vw kc" : "tm tn vw kc");
  return 0;
}

static int parse_clblast(const where *w, char *rest, ocl_clblast_params *c) {
  memset(c, 0, sizeof *c);
  char *save = NULL;
  char *kernel = strtok_r(rest, " \t", &save);
  if (!kernel || strchr(kernel, '='))
    return dlgn_fail("tuning file %s line %d: expected 'clblast KERNEL NAME=VALUE...'", w->path,
                     w->line);
  snprintf(c->kernel, sizeof c->kernel, "%s", kernel);
  for (char *tok = strtok_r(NULL, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
    char *eq = strchr(tok, '=');
    if (!eq || eq == tok || (size_t)(eq - tok) >= sizeof c->names[0])
      return dlgn_fail("tuning file %s line %d: expected NAME=VALUE, got '%s'", w->path, w->line,
                       tok);
    if (c->n == OCL_CLBLAST_MAX_PARAMS)
      return dlgn_fail("tuning file %s line %d: more than %d parameters", w->path, w->line,
                       OCL_CLBLAST_MAX_PARAMS);
    *eq = '\0';
    snprintf(c->names[c->n], sizeof c->names[0], "%s", tok);
    *eq = '=';
    DLGN_TRY(parse_size(w, tok, eq + 1, &c->values[c->n]));
    c->n++;
  }
  if (c->n == 0)
    return dlgn_fail("tuning file %s line %d: no parameters for %s", w->path, w->line, c->kernel);
  return 0;
}

/* "N=.. C=.. H=.. W=.. OC=.. k=.. stride=.. pad=.. fwd=KIND dx=KIND dw=KIND
 * [fwd_ms=.. dx_ms=.. dw_ms=..]" in any order */
static int parse_conv(const where *w, char *rest, ocl_tuned_conv *e) {
  memset(e, 0, sizeof *e);
  static const char *keys[] = {"N",   "C",  "H",  "W",      "OC",    "k",    "stride",
                               "pad", "fwd", "dx", "dw", "fwd_ms", "dx_ms", "dw_ms"};
  enum { NKEYS = sizeof keys / sizeof keys[0] };
  int *dims[] = {&e->shape.N,  &e->shape.C, &e->shape.H,      &e->shape.W,
                 &e->shape.OC, &e->shape.k, &e->shape.stride, &e->shape.pad};
  ocl_conv_kind *kinds[] = {&e->fwd, &e->dx, &e->dw};
  unsigned seen = 0;
  char *save = NULL;
  for (char *tok = strtok_r(rest, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
    char *eq = strchr(tok, '=');
    if (!eq)
      return dlgn_fail("tuning file %s line %d: expected KEY=VALUE, got '%s'", w->path, w->line,
                       tok);
    *eq = '\0';
    int k = -1;
    for (int i = 0; i < NKEYS; i++)
      if (strcmp(tok, keys[i]) == 0) k = i;
    *eq = '=';
    const char *val = eq + 1;
    if (k < 0)
      return dlgn_fail("tuning file %s line %d: unknown key in '%s'", w->path, w->line, tok);
    if (seen & (1u << k))
      return dlgn_fail("tuning file %s line %d: '%s' given twice", w->path, w->line, keys[k]);
    seen |= 1u << k;
    if (k < 8) {
      DLGN_TRY(parse_int(w, tok, val, dims[k]));
    } else if (k < 11) {
      if (ocl_conv_kind_parse(val, kinds[k - 8]) != 0)
        return dlgn_fail_context("tuning file %s line %d", w->path, w->line);
    } else {
      char *end;
      double v = strtod(val, &end);
      if (end == val || *end || !(v >= 0 && v < 1e9))
        return dlgn_fail("tuning file %s line %d: bad time in '%s'", w->path, w->line, tok);
      e->ms[k - 11] = v;
    }
  }
  if ((seen & 0x7ffu) != 0x7ffu)
    return dlgn_fail("tuning file %s line %d: missing keys (need N C H W OC k stride pad fwd dx dw)",
                     w->path, w->line);
  const ocl_conv_shape *c = &e->shape;
  if (c->N < 1 || c->C < 1 || c->H < 1 || c->W < 1 || c->OC < 1 || c->k < 1 || c->stride < 1)
    return dlgn_fail("tuning file %s line %d: a convolution needs N C H W OC k stride >= 1",
                     w->path, w->line);
  return 0;
}

const ocl_tuned_conv *ocl_tuning_find_conv(const ocl_tuning *t, const ocl_conv_shape *s) {
  for (int i = 0; i < t->nconvs; i++)
    if (memcmp(&t->convs[i].shape, s, sizeof *s) == 0) return &t->convs[i];
  return NULL;
}

int ocl_tuning_put_conv(ocl_tuning *t, const ocl_tuned_conv *e) {
  for (int i = 0; i < t->nconvs; i++)
    if (memcmp(&t->convs[i].shape, &e->shape, sizeof e->shape) == 0) {
      t->convs[i] = *e;
      return 0;
    }
  if (t->nconvs == OCL_TUNE_MAX_CONVS)
    return dlgn_fail("the tuning table holds at most %d convolutions", OCL_TUNE_MAX_CONVS);
  t->convs[t->nconvs++] = *e;
  return 0;
}

static int tuning_parse_line(const where *w, char *line, ocl_tuning *t) {
  char *hash = strchr(line, '#');
  if (hash) *hash = '\0';
  size_t n = strlen(line);
  while (n && isspace((unsigned char)line[n - 1])) line[--n] = '\0';
  char *p = line;
  while (isspace((unsigned char)*p)) p++;
  if (!*p) return 0;
  char *sp = p + strcspn(p, " \t");
  char *rest = *sp ? sp + 1 : sp;
  *sp = '\0';
  while (isspace((unsigned char)*rest)) rest++;
  /* a cut name would be compared with the device's own and never match */
  if ((strcmp(p, "device") == 0 && strlen(rest) >= sizeof t->device) ||
      (strcmp(p, "driver") == 0 && strlen(rest) >= sizeof t->driver))
    return dlgn_fail("tuning file %s line %d: %s name longer than %zu characters", w->path,
                     w->line, p, (p[1] == 'e' ? sizeof t->device : sizeof t->driver) - 1);
  if (strcmp(p, "device") == 0) {
    snprintf(t->device, sizeof t->device, "%s", rest);
  } else if (strcmp(p, "driver") == 0) {
    snprintf(t->driver, sizeof t->driver, "%s", rest);
  } else if (strcmp(p, "own-default") == 0) {
    ocl_tuned_shape s;
    DLGN_TRY(parse_own(w, rest, false, &s));
    t->own_default = s.own;
    t->has_own_default = true;
  } else if (strcmp(p, "own-shape") == 0) {
    if (t->nshapes == OCL_TUNE_MAX_SHAPES)
      return dlgn_fail("tuning file %s line %d: more than %d shapes", w->path, w->line,
                       OCL_TUNE_MAX_SHAPES);
    DLGN_TRY(parse_own(w, rest, true, &t->shapes[t->nshapes]));
    t->nshapes++;
  } else if (strcmp(p, "conv") == 0) {
    ocl_tuned_conv e;
    DLGN_TRY(parse_conv(w, rest, &e));
    if (ocl_tuning_find_conv(t, &e.shape))
      return dlgn_fail("tuning file %s line %d: a second entry for the same convolution", w->path,
                       w->line);
    if (t->nconvs == OCL_TUNE_MAX_CONVS)
      return dlgn_fail("tuning file %s line %d: more than %d convolutions", w->path, w->line,
                       OCL_TUNE_MAX_CONVS);
    t->convs[t->nconvs++] = e;
  } else if (strcmp(p, "clblast") == 0) {
    if (t->nclblast == OCL_CLBLAST_MAX_KERNELS)
      return dlgn_fail("tuning file %s line %d: more than %d CLBlast kernels", w->path, w->line,
                       OCL_CLBLAST_MAX_KERNELS);
    DLGN_TRY(parse_clblast(w, rest, &t->clblast[t->nclblast]));
    t->nclblast++;
  } else {
    return dlgn_fail("tuning file %s line %d: unknown entry '%s'", w->path, w->line, p);
  }
  return 0;
}

int ocl_tuning_parse(ocl_tuning *t, const char *text, size_t len, const char *path) {
  memset(t, 0, sizeof *t);
  where w = {path, 0};
  char line[2048];
  size_t pos = 0;
  while (pos < len) {
    w.line++;
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
    /* fgets would cut a long line in two and parse both halves; a NUL would
     * end the line early: both mean this is not a file dlgn wrote. */
    if (n >= sizeof line)
      return dlgn_fail("tuning file %s line %d: longer than %zu characters", path, w.line,
                       sizeof line - 1);
    if (memchr(text + pos, '\0', n))
      return dlgn_fail("tuning file %s line %d: holds a NUL byte (not a text file)", path, w.line);
    memcpy(line, text + pos, n);
    line[n] = '\0';
    pos += n + (nl ? 1 : 0);
    DLGN_TRY(tuning_parse_line(&w, line, t));
  }
  if (!t->device[0] || !t->driver[0])
    return dlgn_fail("tuning file %s lacks its 'device' or 'driver' line", path);
  return 0;
}

int ocl_tuning_read(const char *path, ocl_tuning *t) {
  memset(t, 0, sizeof *t);
  char *text;
  size_t len;
  DLGN_TRY(dlgn_read_file(path, "tuning file", DLGN_MAX_TUNING_BYTES, &text, &len));
  int rc = ocl_tuning_parse(t, text, len, path);
  free(text);
  return rc;
}

int ocl_tuning_load(const dlgn_device_info *info, const char *path, ocl_tuning *t, bool *found) {
  *found = false;
  if (access(path, F_OK) != 0) return 0;
  DLGN_TRY(ocl_tuning_read(path, t));
  if (strcmp(t->device, info->name) != 0 || strcmp(t->driver, info->driver) != 0)
    return dlgn_fail(
        "tuning file %s was made for device '%s' driver '%s', not '%s' driver '%s' "
        "(rerun `dlgn tune` or delete it)",
        path, t->device, t->driver, info->name, info->driver);
  *found = true;
  return 0;
}

/* ---- writing ---- */

static void write_own(FILE *f, const ocl_gemm_own_params *p) {
  fprintf(f, " tm=%d tn=%d vw=%d kc=%d ks=%d", p->tm, p->tn, p->vw, p->kc, p->ks);
}

int ocl_tuning_write(const char *path, const ocl_tuning *t) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = '\0';
    if (dlgn_mkdir_p(dir) != 0)
      return dlgn_fail_context("cannot create the folder of tuning file %s", path);
  }
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) return dlgn_fail("cannot write tuning file %s: %s", tmp, strerror(errno));
  fprintf(f, "# GEMM parameters and convolution strategies found by `dlgn tune`; applied\n");
  fprintf(f, "# when this device runs a GEMM or a convolution.\n");
  fprintf(f, "# own-*: the own kernel (cl/gemm.cl), tile tm x tn, vector width vw, K block kc\n");
  fprintf(f, "# (0 = automatic), ks K blocks side by side (0 = automatic).\n");
  fprintf(f, "# clblast: passed to CLBlastOverrideParameters.\n");
  fprintf(f, "# conv: the strategy of each pass of one convolution (src/nn/ops_conv.c).\n");
  fprintf(f, "device %s\ndriver %s\n", t->device, t->driver);
  if (t->has_own_default) {
    fprintf(f, "own-default");
    write_own(f, &t->own_default);
    fprintf(f, "\n");
  }
  for (int i = 0; i < t->nshapes; i++) {
    const ocl_tuned_shape *s = &t->shapes[i];
    fprintf(f, "own-shape ta=%d tb=%d M=%zu N=%zu K=%zu", s->ta, s->tb, s->M, s->N, s->K);
    write_own(f, &s->own);
    fprintf(f, " gflops=%.1f\n", s->gflops);
  }
  for (int i = 0; i < t->nclblast; i++) {
    const ocl_clblast_params *c = &t->clblast[i];
    fprintf(f, "clblast %s", c->kernel);
    for (int j = 0; j < c->n; j++) fprintf(f, " %s=%zu", c->names[j], c->values[j]);
    fprintf(f, "\n");
  }
  for (int i = 0; i < t->nconvs; i++) {
    const ocl_tuned_conv *e = &t->convs[i];
    const ocl_conv_shape *c = &e->shape;
    fprintf(f, "conv N=%d C=%d H=%d W=%d OC=%d k=%d stride=%d pad=%d fwd=%s dx=%s dw=%s", c->N,
            c->C, c->H, c->W, c->OC, c->k, c->stride, c->pad, ocl_conv_kind_name(e->fwd),
            ocl_conv_kind_name(e->dx), ocl_conv_kind_name(e->dw));
    fprintf(f, " fwd_ms=%.3f dx_ms=%.3f dw_ms=%.3f\n", e->ms[0], e->ms[1], e->ms[2]);
  }
  bool ok = !ferror(f);
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    int e = errno;
    remove(tmp);
    return dlgn_fail("writing tuning file %s failed: %s", path, strerror(e));
  }
  return 0;
}

/* ---- CLBlast ---- */

int ocl_tuning_apply_clblast(const dlgn_device *dev, const ocl_tuning *t) {
  for (int i = 0; i < t->nclblast; i++) {
    const ocl_clblast_params *c = &t->clblast[i];
    const char *names[OCL_CLBLAST_MAX_PARAMS];
    for (int j = 0; j < c->n; j++) names[j] = c->names[j];
    CLBlastStatusCode st = CLBlastOverrideParameters(
        dev->info.id, c->kernel, CLBlastPrecisionSingle, (size_t)c->n, names, c->values);
    if (st != CLBlastSuccess)
      return dlgn_fail(
          "CLBlastOverrideParameters for kernel %s on device '%s' failed with status "
          "%d (%s)",
          c->kernel, dev->info.name, (int)st,
          st == CLBlastMissingOverrideParameter ? "a parameter of this CLBlast version is missing"
          : st == CLBlastInvalidOverrideKernel  ? "no such kernel in this CLBlast version"
                                                : "see clblast_c.h");
  }
  return 0;
}
