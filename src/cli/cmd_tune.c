#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cl/device.h"
#include "cl/gemm.h"
#include "dlgn/status.h"
#include "cl/tune.h"

static void tune_usage(FILE *out) {
  fprintf(out,
          "usage: dlgn tune [--device SEL] [--backend own|clblast|all] [--quick] [--quiet]\n\n"
          "Measures GEMM parameters on the shapes the models use (FC 5x128 and C4GAP-128 at\n"
          "batch 128, forward and backward, and 1024^3) and stores the best for the device in\n"
          "$DLGN_TUNING_DIR, else $XDG_CONFIG_HOME/dlgn/tuning, else ~/.config/dlgn/tuning (one\n"
          "file per device name and driver version). Later runs apply it automatically.\n"
          "Parts of an existing file for a backend not tuned now are kept.\n\n"
          "  --device SEL    index, 'gpu', 'cpu' or a name substring (default: $DLGN_DEVICE,\n"
          "                  else the first GPU, else the first CPU device)\n"
          "  --backend B     own: the project's kernel (tile sizes and K blocking);\n"
          "                  clblast: CLBlast's Xgemm/XgemmDirect parameters; all: both\n"
          "                  (default: the backend the device uses, own on CPUs, clblast on GPUs)\n"
          "  --quick         coarser grid, and the shapes cut to 1/8 of their work\n"
          "  --quiet         print only the summary, not every measurement\n\n"
          "Time on a 2-core CPU with PoCL: the own search about 40 s on an idle machine\n"
          "(2-3 min while other jobs share the cores), --quick a few seconds; the CLBlast\n"
          "search about 35 s more once PoCL has compiled its candidates, 2-3 min the first\n"
          "time. Kernels are compiled once and kept in the binary cache.\n");
}

int cmd_tune(int argc, char **argv) {
  const char *selector = NULL, *backend = NULL;
  bool quick = false, quiet = false;
  static const struct option opts[] = {
      {"device", required_argument, NULL, 'd'}, {"backend", required_argument, NULL, 'b'},
      {"quick", no_argument, NULL, 'q'},        {"quiet", no_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},         {0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "d:b:qsh", opts, NULL)) != -1) {
    if (c == 'd')
      selector = optarg;
    else if (c == 'b')
      backend = optarg;
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
  dlgn_tune_options opt = {.quick = quick, .log = quiet ? NULL : stdout};
  if (backend && strcmp(backend, "all") == 0) {
    opt.own = opt.clblast = true;
  } else if (backend) {
    dlgn_gemm_backend b;
    if (dlgn_gemm_backend_parse(backend, &b) != 0) {
      fprintf(stderr, "dlgn: --backend: %s (or 'all')\n", dlgn_error());
      return 2;
    }
    opt.own = b == DLGN_GEMM_OWN;
    opt.clblast = b == DLGN_GEMM_CLBLAST;
  }
  dlgn_device *dev;
  if (dlgn_device_open(&dev, selector, 0) != 0) return cli_report_error();
  char path[1024];
  dlgn_tuning t;
  bool found = false;
  int rc = 1;
  if (dlgn_tuning_path(&dev->info, path, sizeof path) != 0) goto out;
  /* A broken file is about to be replaced; removed now, it cannot stop the
   * GEMM runs of the search either. */
  if (dlgn_tuning_load(&dev->info, path, &t, &found) != 0) {
    fprintf(stderr, "dlgn: removing unusable %s\n", dlgn_error());
    remove(path);
    found = false;
  }
  if (!found) {
    memset(&t, 0, sizeof t);
    snprintf(t.device, sizeof t.device, "%s", dev->info.name);
    snprintf(t.driver, sizeof t.driver, "%s", dev->info.driver);
  }
  /* An unwritable folder should fail now, not after minutes of measuring;
   * rewriting what is there (or an empty table) changes nothing. */
  if (dlgn_tuning_write(path, &t) != 0) goto out;
  if (!backend) {
    opt.own = (dev->info.type & CL_DEVICE_TYPE_CPU) != 0;
    opt.clblast = !opt.own;
  }
  printf("tuning %s%s%s on [%d] %s (driver %s)\n", opt.own ? "own" : "",
         opt.own && opt.clblast ? " and " : "", opt.clblast ? "clblast" : "", dev->info.index,
         dev->info.name, dev->info.driver);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (dlgn_tune(dev, &opt, &t) != 0) goto out;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (dlgn_tuning_write(path, &t) != 0) goto out;
  if (t.has_own_default)
    printf("own default: tile %dx%d vw=%d kc=%d ks=%d\n", t.own_default.tm, t.own_default.tn,
           t.own_default.vw, t.own_default.kc, t.own_default.ks);
  for (int i = 0; i < t.nshapes; i++) {
    const dlgn_tuned_shape *s = &t.shapes[i];
    printf("  %c%c M=%-5zu N=%-6zu K=%-6zu tile %2dx%-2d kc=%-4d ks=%-2d %7.1f GFLOPS\n",
           s->ta ? 't' : 'n', s->tb ? 't' : 'n', s->M, s->N, s->K, s->own.tm, s->own.tn, s->own.kc,
           s->own.ks, s->gflops);
  }
  if (opt.clblast)
    printf("clblast: %s\n", t.nclblast ? "parameters overridden (see the file)"
                                       : "built-in parameters kept (no candidate was faster)");
  printf("wrote %s (%.0f s)\n", path,
         (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
  rc = 0;
out:
  if (rc != 0) cli_report_error();
  dlgn_device_close(dev);
  return rc;
}
