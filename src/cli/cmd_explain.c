/* dlgn explain */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dlgn/explain.h"
#include "dlgn/status.h"

static void explain_usage(void) {
  dlgn_explain_options d;
  dlgn_explain_options_default(&d);
  printf(
      "usage: dlgn explain CHECKPOINT|RUN_DIR --out DIR [OPTIONS]\n\n"
      "Explains a trained model and writes DIR/report.md, DIR/explain.json and\n"
      "the pictures it links:\n"
      "  - effective filters of a dlgn or dlgn-sf: every gate as a template on the image\n"
      "    (filters_layerL.png, all templates and biases in templates.bin), verified by\n"
      "    recomputing the gates of test images from the templates alone and comparing them\n"
      "    with the network's own gates; a dnn or dgn has no such templates and says so;\n"
      "  - gate statistics per layer (fraction on, ambiguous soft gates, agreement with\n"
      "    another model);\n"
      "  - the neural path kernel: per-layer overlap kernels, their product, within/across\n"
      "    class means, label alignment and a heatmap (npk_heatmap.png).\n"
      "Exits non-zero when the filter-export check fails.\n\n"
      "  --out DIR            output folder, created if needed (required)\n"
      "  --data PATH          dataset (default: the one the model was trained on, else\n"
      "                       $DLGN_DATA, ./datasets/, synthetic); the test split is used\n"
      "  --check-images N     test images for the filter-export check (default: %zu)\n"
      "  --npk-images N       test images for the neural path kernel (default: %zu)\n"
      "  --compare CKPT2      checkpoint or run folder of a model with gates of the same shape:\n"
      "                       report the agreement of its gates per layer (default: none)\n"
      "  --batch N            images per forward pass (default: %d)\n"
      "  --device SEL         OpenCL device: index, gpu, cpu or name substring (default:\n"
      "                       $DLGN_DEVICE, else the first GPU, else the first CPU)\n"
      "  --quiet              print only errors\n"
      "Gate statistics use every image of the pass (the larger of the two counts).\n",
      d.check_images, d.npk_images, d.batch);
}

static int parse_count(const char *opt, const char *s, long lo, long hi, long *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v < lo || v > hi)
    return dlgn_fail("%s: expected an integer in %ld..%ld, got '%s'", opt, lo, hi, s);
  *out = v;
  return 0;
}

int cmd_explain(int argc, char **argv) {
  enum { O_OUT = 256, O_DATA, O_CHECK, O_NPK, O_COMPARE, O_BATCH, O_DEVICE, O_QUIET, O_HELP };
  static const struct option opts[] = {{"out", required_argument, NULL, O_OUT},
                                       {"data", required_argument, NULL, O_DATA},
                                       {"check-images", required_argument, NULL, O_CHECK},
                                       {"npk-images", required_argument, NULL, O_NPK},
                                       {"compare", required_argument, NULL, O_COMPARE},
                                       {"batch", required_argument, NULL, O_BATCH},
                                       {"device", required_argument, NULL, O_DEVICE},
                                       {"quiet", no_argument, NULL, O_QUIET},
                                       {"help", no_argument, NULL, O_HELP},
                                       {0}};
  dlgn_explain_options o;
  dlgn_explain_options_default(&o);
  long v;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
      case O_OUT: snprintf(o.out_dir, sizeof o.out_dir, "%s", optarg); break;
      case O_DATA: snprintf(o.data, sizeof o.data, "%s", optarg); break;
      case O_CHECK:
        if (parse_count("--check-images", optarg, 0, 1L << 30, &v)) return cli_report_error();
        o.check_images = (size_t)v;
        break;
      case O_NPK:
        /* the kernel is n x n doubles per layer */
        if (parse_count("--npk-images", optarg, 0, 20000, &v)) return cli_report_error();
        o.npk_images = (size_t)v;
        break;
      case O_COMPARE: snprintf(o.compare, sizeof o.compare, "%s", optarg); break;
      case O_BATCH:
        if (parse_count("--batch", optarg, 1, 65536, &v)) return cli_report_error();
        o.batch = (int)v;
        break;
      case O_DEVICE: snprintf(o.device, sizeof o.device, "%s", optarg); break;
      case O_QUIET: o.quiet = true; break;
      case O_HELP: explain_usage(); return 0;
      default:
        dlgn_fail("unknown or incomplete option '%s' (see dlgn explain --help)", argv[optind - 1]);
        return cli_report_error();
    }
  }
  if (optind != argc - 1) {
    dlgn_fail("dlgn explain needs exactly one CHECKPOINT or RUN_DIR (see dlgn explain --help)");
    return cli_report_error();
  }
  if (!o.out_dir[0]) {
    dlgn_fail("dlgn explain needs --out DIR (see dlgn explain --help)");
    return cli_report_error();
  }
  snprintf(o.checkpoint, sizeof o.checkpoint, "%s", argv[optind]);
  if (dlgn_explain_run(&o) != 0) return cli_report_error();
  return 0;
}
