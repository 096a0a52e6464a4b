#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "cli/cli.h"
#include "cl/device.h"
#include "cl/gemm.h"
#include "nn/ops.h"
#include "cl/tune.h"

/* The forward strategy of the models' 3x3 layers on this device, by row
 * length (src/nn/ops_conv.c; $DLGN_CONV forces one). */
static void print_conv_strategies(const dlgn_device_info *d, const dlgn_conv_options *o) {
  const int widths[] = {32, 16, 8, 4, 2};
  printf("      convolutions 3x3 (rows of");
  for (int i = 0; i < 5; i++) {
    dlgn_conv_shape s = {128, 64, widths[i], widths[i], 64, 3, 1, 1};
    printf("%s %d: %s", i ? "," : "", widths[i], conv2d_forward_strategy(d, o->force, &s));
  }
  printf(")%s%s", *o->force ? "; $DLGN_CONV=" : "", o->force);
  if (o->columns != DLGN_CONV_COLUMNS_DEFAULT) printf("; $DLGN_CONV_COLUMNS=%zu", o->columns);
  printf("\n");
}

int cmd_devices(int argc, char **argv) {
  const char *selector = NULL;
  static const struct option opts[] = {
      {"device", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
    if (c == 'd') selector = optarg;
    else if (c == 'h') {
      printf(
          "usage: dlgn devices [--device SEL]\n\n"
          "Lists every OpenCL platform and device and marks the one a command would use.\n\n"
          "  --device SEL  index, 'gpu', 'cpu' or a name substring (default: $DLGN_DEVICE, else\n"
          "                the first GPU, else the first CPU device)\n");
      return 0;
    } else return 2;
  }
  dlgn_device_info *list;
  int n, chosen;
  if (dlgn_devices_list(&list, &n) != 0) return cli_report_error();
  if (dlgn_device_pick(list, n, selector, &chosen) != 0) {
    free(list);
    return cli_report_error();
  }
  /* the convolution options every device gets when it opens */
  dlgn_conv_options conv;
  if (dlgn_conv_options_from_env(&conv) != 0) {
    free(list);
    return cli_report_error();
  }
  const char *last_platform = "";
  for (int i = 0; i < n; i++) {
    const dlgn_device_info *d = &list[i];
    if (strcmp(d->platform_name, last_platform) != 0) {
      printf("platform: %s (%s)\n", d->platform_name, d->platform_version);
      last_platform = d->platform_name;
    }
    printf("%c [%d] %s\n", i == chosen ? '*' : ' ', d->index, d->name);
    printf("      vendor %s, type %s, %u compute units, %.1f GiB global memory (%.1f GiB per "
           "buffer), %s, driver %s\n",
           d->vendor, dlgn_device_type_name(d->type), d->compute_units,
           d->global_mem / 1073741824.0, d->max_alloc / 1073741824.0, d->c_version, d->driver);
    /* The GEMM strategy as the last run measured it (src/cl/gemm_select.c)
     * and whether `dlgn tune` wrote parameters, without opening the device. */
    dlgn_gemm_backend b;
    char note[256], path[1024];
    if (dlgn_gemm_choice_read(d, &b, note, sizeof note))
      printf("      GEMM backend %s (%s)", dlgn_gemm_backend_name(b), note);
    else
      printf("      GEMM backend: measured on first use");
    bool tuned = dlgn_tuning_path(d, path, sizeof path) == 0 && access(path, R_OK) == 0;
    const char *env = getenv("DLGN_GEMM");
    if (env && *env) printf("; $DLGN_GEMM=%s overrides it", env);
    printf("; %s\n", tuned ? "tuned by `dlgn tune`" : "not tuned");
    print_conv_strategies(d, &conv);
  }
  printf("selected: [%d] %s\n", chosen, list[chosen].name);
  free(list);
  return 0;
}
