#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cl/device.h"
#include "cl/gemm.h"
#include "dlgn/status.h"
#include "cl/tune.h"
#include "dlgn/config_keys.h"
#include "dlgn/util.h"
#include "dlgn/train.h"
#include "nn/tune_model.h"

#define DEFAULT_MODELS "fc,c4gap-32,c4gap-128,vgg16,resnet20"
#define DEFAULT_BATCHES "64,128"
#define MAX_MODELS 16
#define MAX_BATCHES 8

static void tune_usage(FILE *out) {
  fprintf(out,
          "usage: dlgn tune [--device SEL] [--models LIST] [--batch LIST] [--part gemm|conv|all]\n"
          "                 [--backend own|clblast|all] [--quick] [--quiet]\n\n"
          "Tunes what training runs. It runs one training step of each model (a dlgn and a\n"
          "dlgn-sf, which between them make every GEMM and convolution shape of the classes) at\n"
          "each batch size, recording the shapes the device is asked for. Then it times every\n"
          "convolution strategy that fits each pass (forward, dx, dw) of each recorded\n"
          "convolution, checked against the im2col GEMM's result first, and keeps the fastest;\n"
          "then it measures GEMM parameters on the GEMMs a step makes with those strategies.\n"
          "The results go to $DLGN_TUNING_DIR, else $XDG_CONFIG_HOME/dlgn/tuning, else\n"
          "~/.config/dlgn/tuning (one file per device name and driver version); later runs\n"
          "apply them to those exact shapes, and the built-in choice elsewhere. Parts of an\n"
          "existing file not tuned now are kept.\n\n"
          "  --device SEL    index, 'gpu', 'cpu' or a name substring (default: $DLGN_DEVICE,\n"
          "                  else the first GPU, else the first CPU device)\n"
          "  --models LIST   comma-separated ARCH[DEPTH][-WIDTH] (fc, c4gap-32, vgg16, resnet56,\n"
          "                  ...), each architecture's default depth and width where not given\n"
          "                  (default: %s)\n"
          "  --batch LIST    comma-separated batch sizes (default: %s)\n"
          "  --part P        gemm, conv or all (default: all)\n"
          "  --backend B     GEMM backend to tune: own (the project's kernel: tile sizes and K\n"
          "                  blocking), clblast (CLBlast's Xgemm/XgemmDirect parameters) or all\n"
          "                  (default: the backend the device uses, own on CPUs, clblast on GPUs)\n"
          "  --quick         fewer repetitions, a coarser GEMM grid on shapes cut to 1/8 of\n"
          "                  their work\n"
          "  --quiet         print only the summary, not every measurement\n\n"
          "Time on a 2-core CPU with PoCL, the default models and batches: the recording and\n"
          "the convolutions about 2 minutes, the own GEMM search about 1-2 minutes more on an\n"
          "idle machine; the CLBlast search 2-3 min more the first time. Kernels are compiled\n"
          "once and kept in the binary cache.\n",
          DEFAULT_MODELS, DEFAULT_BATCHES);
}

/* The models of --models: ARCH, ARCHDEPTH, ARCH-WIDTH or ARCHDEPTH-WIDTH,
 * with that architecture's default depth and width where none is given. */
static int parse_models(const char *list, dlgn_model_config *out, int max, int *n) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", list);
  *n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (*n == max) return dlgn_fail("--models: at most %d models", max);
    char *dash = strrchr(tok, '-');
    bool width_given = false;
    int width = 0;
    if (dash && dash[1] >= '0' && dash[1] <= '9') {
      char *end;
      long w = strtol(dash + 1, &end, 10);
      if (*end || w < 1 || w > 4096)
        return dlgn_fail("--models: '%s': the width after '-' must be 1..4096", tok);
      *dash = '\0';
      width = (int)w;
      width_given = true;
    }
    dlgn_train_config c;
    dlgn_train_config_default(&c);
    /* ARCH, or ARCH followed by its depth (resnet20, resnet110); an
     * architecture whose name ends in digits (vgg16) is taken whole */
    bool depth_given = false;
    int depth = 0;
    size_t len = strlen(tok), end = len;
    while (end > 0 && tok[end - 1] >= '0' && tok[end - 1] <= '9') end--;
    bool whole = false;
    for (int a = DLGN_FC; a <= DLGN_RESNET; a++) whole |= strcmp(tok, dlgn_arch_name((dlgn_arch)a)) == 0;
    if (end > 0 && end < len && !whole) {
      if (len - end > 4) return dlgn_fail("--models: '%s': depth out of range", tok);
      depth = atoi(tok + end);
      tok[end] = '\0';
      depth_given = true;
    }
    if (dlgn_arch_parse(tok, &c.model.arch) != 0) return dlgn_fail_context("--models");
    if (width_given) c.model.width = width;
    if (depth_given) c.model.depth = depth;
    dlgn_train_config_settle(&c, depth_given, width_given, false);
    if (dlgn_model_config_check(&c.model) != 0) return dlgn_fail_context("--models");
    out[(*n)++] = c.model;
  }
  if (*n == 0) return dlgn_fail("--models: no model named");
  return 0;
}

static int parse_batches(const char *list, int *out, int max, int *n) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", list);
  *n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *end;
    long b = strtol(tok, &end, 10);
    if (*end || b < 1 || b > 65536) return dlgn_fail("--batch: '%s' is not a batch size 1..65536", tok);
    if (*n == max) return dlgn_fail("--batch: at most %d sizes", max);
    out[(*n)++] = (int)b;
  }
  if (*n == 0) return dlgn_fail("--batch: no batch size given");
  return 0;
}

/* One training step of every model at every batch size, the dlgn and the
 * dlgn-sf of each, recorded into rec. */
static int record_models(dlgn_device *dev, const dlgn_model_config *models, int nmodels,
                         const int *batches, int nbatches, ocl_call_record *rec) {
  memset(rec, 0, sizeof *rec);
  const dlgn_model_class classes[] = {DLGN_DLGN, DLGN_DLGN_SF};
  for (int i = 0; i < nmodels; i++)
    for (int b = 0; b < nbatches; b++)
      for (int k = 0; k < 2; k++) {
        dlgn_model_config cfg = models[i];
        cfg.cls = classes[k];
        DLGN_TRY(nn_record_step(dev, &cfg, batches[b], rec));
      }
  if (rec->dropped)
    fprintf(stderr, "dlgn: tune: %d shapes past the first %d of a kind were not recorded\n",
            rec->dropped, OCL_RECORD_MAX);
  return 0;
}

static int tune_convs(dlgn_device *dev, const ocl_call_record *rec, bool quick, bool quiet,
                      ocl_tuning *t) {
  for (int i = 0; i < rec->nconv; i++) {
    const ocl_conv_shape *s = &rec->conv[i];
    printf("  conv N=%d %d->%d %dx%d k=%d stride=%d pad=%d\n", s->N, s->C, s->OC, s->H, s->W,
           s->k, s->stride, s->pad);
    ocl_tuned_conv e;
    DLGN_TRY(nn_tune_conv(dev, s, quick, quiet ? NULL : stdout, &e));
    printf("    -> forward %s %.3f ms, dx %s %.3f ms, dw %s %.3f ms\n",
           ocl_conv_kind_name(e.fwd), e.ms[0], ocl_conv_kind_name(e.dx), e.ms[1],
           ocl_conv_kind_name(e.dw), e.ms[2]);
    DLGN_TRY(ocl_tuning_put_conv(t, &e));
    fflush(stdout); /* minutes of work: show it as it goes, also into a file */
  }
  return 0;
}

int cmd_tune(int argc, char **argv) {
  const char *selector = NULL, *backend = NULL, *models_arg = DEFAULT_MODELS,
             *batch_arg = DEFAULT_BATCHES, *part = "all";
  bool quick = false, quiet = false;
  static const struct option opts[] = {
      {"device", required_argument, NULL, 'd'}, {"backend", required_argument, NULL, 'b'},
      {"models", required_argument, NULL, 'm'}, {"batch", required_argument, NULL, 'n'},
      {"part", required_argument, NULL, 'p'},   {"quick", no_argument, NULL, 'q'},
      {"quiet", no_argument, NULL, 's'},        {"help", no_argument, NULL, 'h'},
      {0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "d:b:m:n:p:qsh", opts, NULL)) != -1) {
    if (c == 'd')
      selector = optarg;
    else if (c == 'b')
      backend = optarg;
    else if (c == 'm')
      models_arg = optarg;
    else if (c == 'n')
      batch_arg = optarg;
    else if (c == 'p')
      part = optarg;
    else if (c == 'q')
      quick = true;
    else if (c == 's')
      quiet = true;
    else if (c == 'h') {
      tune_usage(stdout);
      return 0;
    } else {
      tune_usage(stderr);
      return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "dlgn: tune: unexpected argument '%s'\n", argv[optind]);
    return 2;
  }
  bool do_conv = strcmp(part, "conv") == 0 || strcmp(part, "all") == 0;
  bool do_gemm = strcmp(part, "gemm") == 0 || strcmp(part, "all") == 0;
  if (!do_conv && !do_gemm) {
    fprintf(stderr, "dlgn: --part: expected gemm, conv or all, got '%s'\n", part);
    return 2;
  }
  dlgn_model_config models[MAX_MODELS];
  int nmodels, batches[MAX_BATCHES], nbatches;
  if (parse_models(models_arg, models, MAX_MODELS, &nmodels) != 0 ||
      parse_batches(batch_arg, batches, MAX_BATCHES, &nbatches) != 0) {
    fprintf(stderr, "dlgn: %s\n", dlgn_error());
    return 2;
  }
  ocl_tune_options opt = {.quick = quick, .log = quiet ? NULL : stdout};
  if (backend && strcmp(backend, "all") == 0) {
    opt.own = opt.clblast = true;
  } else if (backend) {
    ocl_gemm_backend b;
    if (ocl_gemm_backend_parse(backend, &b) != 0) {
      fprintf(stderr, "dlgn: --backend: %s (or 'all')\n", dlgn_error());
      return 2;
    }
    opt.own = b == OCL_GEMM_OWN;
    opt.clblast = b == OCL_GEMM_CLBLAST;
  }
  dlgn_device *dev;
  if (dlgn_device_open(&dev, selector, 0) != 0) return cli_report_error();
  char path[1024];
  ocl_tuning *t = malloc(sizeof *t);
  ocl_call_record *rec = malloc(sizeof *rec);
  ocl_gemm_shape *shapes = NULL;
  char(*names)[64] = NULL;
  bool found = false;
  int rc = 1;
  if (!t || !rec) {
    dlgn_fail("out of memory for the tuning tables");
    goto out;
  }
  if (ocl_tuning_path(&dev->info, path, sizeof path) != 0) goto out;
  /* A broken file is about to be replaced; removed now, it cannot stop the
   * runs of the search either. */
  if (ocl_tuning_load(&dev->info, path, t, &found) != 0) {
    fprintf(stderr, "dlgn: removing unusable %s\n", dlgn_error());
    remove(path);
    found = false;
  }
  if (!found) {
    memset(t, 0, sizeof *t);
    snprintf(t->device, sizeof t->device, "%s", dev->info.name);
    snprintf(t->driver, sizeof t->driver, "%s", dev->info.driver);
  }
  /* An unwritable folder should fail now, not after minutes of measuring;
   * rewriting what is there (or an empty table) changes nothing. */
  if (ocl_tuning_write(path, t) != 0) goto out;
  if (!backend) {
    /* the backend this device runs; the work-group kernels have no
     * parameters here (their form is measured when the device first runs
     * a GEMM) */
    ocl_gemm_backend used = ocl_gemm_backend_of(dev);
    opt.own = used == OCL_GEMM_OWN;
    opt.clblast = used == OCL_GEMM_CLBLAST;
    if (used == OCL_GEMM_WG && do_gemm) {
      printf("GEMM: this device runs the work-group kernels (%s), which have no parameters "
             "to tune; --backend own|clblast tunes another backend\n",
             ocl_gemm_backend_source(dev));
      do_gemm = false;
    }
  }
  printf("tuning %s on [%d] %s (driver %s): models %s at batch %s\n",
         do_conv && do_gemm ? "convolutions and GEMMs" : do_conv ? "convolutions" : "GEMMs",
         dev->info.index, dev->info.name, dev->info.driver, models_arg, batch_arg);
  double t0 = dlgn_now();
  if (do_conv) {
    /* the strategies measured now replace the file's for these shapes only */
    if (record_models(dev, models, nmodels, batches, nbatches, rec) != 0) goto out;
    printf("%d convolution shapes recorded (%.0f s)\n", rec->nconv, dlgn_now() - t0);
    if (tune_convs(dev, rec, quick, quiet, t) != 0) goto out;
    if (ocl_tuning_write(path, t) != 0 || ocl_gemm_use_tuning(dev, t, path) != 0) goto out;
  }
  if (do_gemm) {
    /* the GEMMs a step makes with the convolution strategies now in force */
    if (record_models(dev, models, nmodels, batches, nbatches, rec) != 0) goto out;
    /* with the built-in list (FC and C4GAP-128 at batch 128, 1024^3), so that
     * the default tile, which every shape not listed takes, is not fitted to
     * a few small products only */
    const ocl_gemm_shape *builtin;
    int nbuiltin = ocl_tune_model_shapes(&builtin);
    shapes = calloc((size_t)(rec->ngemm + nbuiltin), sizeof *shapes);
    names = calloc((size_t)rec->ngemm + 1, sizeof *names);
    if (!shapes || !names) {
      dlgn_fail("out of memory for the GEMM shapes");
      goto out;
    }
    for (int i = 0; i < rec->ngemm; i++) {
      snprintf(names[i], sizeof names[i], "%c%c %zux%zux%zu", rec->gemm[i].ta ? 't' : 'n',
               rec->gemm[i].tb ? 't' : 'n', rec->gemm[i].M, rec->gemm[i].N, rec->gemm[i].K);
      shapes[i] = (ocl_gemm_shape){names[i], rec->gemm[i].ta, rec->gemm[i].tb,
                                    rec->gemm[i].M, rec->gemm[i].N, rec->gemm[i].K};
    }
    int nshapes = rec->ngemm;
    for (int i = 0; i < nbuiltin && nshapes < OCL_TUNE_MAX_SHAPES; i++) {
      bool seen = false;
      for (int j = 0; j < rec->ngemm; j++)
        seen |= shapes[j].ta == builtin[i].ta && shapes[j].tb == builtin[i].tb &&
                shapes[j].M == builtin[i].M && shapes[j].N == builtin[i].N &&
                shapes[j].K == builtin[i].K;
      if (!seen) shapes[nshapes++] = builtin[i];
    }
    printf("%d GEMM shapes recorded, %d with the built-in list\n", rec->ngemm, nshapes);
    {
      opt.shapes = shapes;
      opt.nshapes = nshapes > OCL_TUNE_MAX_SHAPES ? OCL_TUNE_MAX_SHAPES : nshapes;
      printf("tuning the %s GEMM\n", opt.own && opt.clblast ? "own and CLBlast"
                                      : opt.own             ? "own"
                                                            : "CLBlast");
      if (ocl_tune(dev, &opt, t) != 0) goto out;
    }
  }
  if (ocl_tuning_write(path, t) != 0) goto out;
  if (do_gemm && t->has_own_default)
    printf("own default: tile %dx%d vw=%d kc=%d ks=%d\n", t->own_default.tm, t->own_default.tn,
           t->own_default.vw, t->own_default.kc, t->own_default.ks);
  for (int i = 0; do_gemm && i < t->nshapes; i++) {
    const ocl_tuned_shape *sh = &t->shapes[i];
    printf("  %c%c M=%-5zu N=%-6zu K=%-6zu tile %2dx%-2d kc=%-4d ks=%-2d %7.1f GFLOPS\n",
           sh->ta ? 't' : 'n', sh->tb ? 't' : 'n', sh->M, sh->N, sh->K, sh->own.tm, sh->own.tn,
           sh->own.kc, sh->own.ks, sh->gflops);
  }
  if (do_gemm && opt.clblast)
    printf("clblast: %s\n", t->nclblast ? "parameters overridden (see the file)"
                                        : "built-in parameters kept (no candidate was faster)");
  printf("wrote %s (%d convolutions, %d GEMM shapes; %.0f s)\n", path, t->nconvs, t->nshapes,
         dlgn_now() - t0);
  rc = 0;
out:
  if (rc != 0) cli_report_error();
  free(shapes);
  free(names);
  free(rec);
  free(t);
  dlgn_device_close(dev);
  return rc;
}
