/* dlgn demo: the main job of README command 1. Trains a plain ReLU network
 * and a DLGN fed with ones (every bit of the image reaches the output only
 * through hyperplane gates) for a short while on the default data, and prints
 * their accuracy side by side. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dlgn/data.h"
#include "dlgn/status.h"
#include "dlgn/train.h"

static void demo_usage(void) {
  printf(
      "usage: dlgn demo [OPTIONS]\n\n"
      "Trains a dnn and a dlgn (constant-1 value input) on FC 5x128 briefly and prints test\n"
      "accuracy by class. Data: real CIFAR-10 when an archive is found, else synthetic.\n\n"
      "  --data PATH     dataset (default: $DLGN_DATA, ./datasets/, else synthetic)\n"
      "  --device SEL    OpenCL device (default: $DLGN_DEVICE, first GPU, first CPU)\n"
      "  --epochs N      epochs per model (default: 5; batch 64, Adam 1e-3, per-channel\n"
      "                  normalisation)\n"
      "  --train-limit N training images per epoch (default: 20000; 0 = all)\n"
      "  --out DIR       run folders go to DIR/dnn and DIR/dlgn (default: runs/demo)\n");
}

int cmd_demo(int argc, char **argv) {
  static const struct option opts[] = {
      {"data", required_argument, NULL, 'd'},        {"device", required_argument, NULL, 'D'},
      {"epochs", required_argument, NULL, 'e'},      {"train-limit", required_argument, NULL, 'l'},
      {"out", required_argument, NULL, 'o'},         {"help", no_argument, NULL, 'h'},
      {0}};
  const char *data = "", *device = "", *out = "runs/demo";
  int epochs = 5;
  long limit = 20000;
  int o;
  optind = 1;
  opterr = 0;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
      case 'd': data = optarg; break;
      case 'D': device = optarg; break;
      case 'e': epochs = atoi(optarg); break;
      case 'l': limit = atol(optarg); break;
      case 'o': out = optarg; break;
      case 'h': demo_usage(); return 0;
      default:
        dlgn_fail("unknown or incomplete option '%s' (see dlgn demo --help)", argv[optind - 1]);
        return cli_report_error();
    }
  }
  if (epochs < 1 || limit < 0) {
    dlgn_fail("--epochs must be >= 1 and --train-limit >= 0");
    return cli_report_error();
  }
  /* Say how to get the real data before minutes of training on the stand-in. */
  char path[4096];
  bool synthetic;
  if (dlgn_data_resolve(data, path, sizeof path, &synthetic) != 0) return cli_report_error();
  const char *env = getenv("DLGN_DATA");
  if (synthetic && strcmp(data, "synthetic") != 0 && !(env && strcmp(env, "synthetic") == 0))
    printf("No CIFAR archive found (no --data, no $DLGN_DATA, none in ./%s/): training on the\n"
           "built-in synthetic set. `dlgn data download cifar10` fetches the real one (about\n"
           "170 MB) into ./%s/, where the next demo finds it.\n\n",
           DLGN_DATASETS_DIR, DLGN_DATASETS_DIR);
  const struct {
    dlgn_model_class cls;
    dlgn_value_input value;
    const char *name;
  } runs[] = {{DLGN_DNN, DLGN_VALUE_IMAGE, "dnn"}, {DLGN_DLGN, DLGN_VALUE_ONES, "dlgn"}};
  dlgn_train_summary sums[2];
  for (int i = 0; i < 2; i++) {
    dlgn_train_config c;
    dlgn_train_config_default(&c);
    c.model.cls = runs[i].cls;
    c.model.value_input = runs[i].value;
    c.epochs = epochs;
    c.batch = 64;
    c.normalize = DLGN_NORM_STANDARD;
    c.train_limit = (size_t)limit;
    c.run.progress = -1;
    snprintf(c.data, sizeof c.data, "%s", data);
    snprintf(c.run.device, sizeof c.run.device, "%s", device);
    snprintf(c.run.run_dir, sizeof c.run.run_dir, "%s/%s", out, runs[i].name);
    printf("== %s, fc 5x128, %s input, Adam 1e-3, batch 64, %d epochs\n", runs[i].name,
           dlgn_value_input_name(c.model.value_input), epochs);
    fflush(stdout);
    if (dlgn_train_run(&c, false, &sums[i]) != 0) return cli_report_error();
  }
  printf("\ndata: %s%s\ndevice: %s\n\n", sums[0].data_source,
         sums[0].synthetic ? " (synthetic: no CIFAR archive found)" : "", sums[0].device);
  printf("%-6s %-11s %-14s %-15s %-15s %s\n", "class", "value input", "linear gating",
         "test acc soft", "test acc hard", "train acc hard");
  for (int i = 0; i < 2; i++) {
    const dlgn_epoch_metrics *f = &sums[i].final;
    printf("%-6s %-11s %-14s %13.2f%% %14.2f%% %13.2f%%\n", runs[i].name,
           runs[i].value == DLGN_VALUE_ONES ? "ones" : "image",
           runs[i].cls == DLGN_DLGN ? "yes" : "no", 100 * f->test_soft, 100 * f->test_hard,
           100 * f->train_hard);
  }
  printf("\nA dnn's soft and hard figures coincide (its gates are its own ReLUs). Run folders: %s/\n",
         out);
  return 0;
}
