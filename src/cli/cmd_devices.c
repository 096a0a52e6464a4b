#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cl/device.h"
#include "cl/gemm.h"
#include "nn/ops.h"
#include "cl/tune.h"
#include "dlgn/status.h"

/* The strategies (forward/dx/dw) of the models' 3x3 layers on this device at
 * batch 128, by row length, and of a ResNet's stride-2 layer (16->32 from
 * 32x32) (src/nn/ops_conv.c), as the tuning file t (NULL: none) and the
 * options leave them. */
static void print_conv_strategies(const dlgn_device_info *d, const ocl_conv_options *o,
                                  const ocl_tuning *t) {
  const int widths[] = {32, 16, 8, 4, 2};
  printf("      convolutions 3x3, forward/dx/dw (rows of");
  for (int i = 0; i < 5; i++) {
    ocl_conv_shape s = {128, 128, widths[i], widths[i], 128, 3, 1, 1};
    char plan[96];
    conv2d_describe_plan(d, o, t, &s, plan, sizeof plan);
    printf("%s %d: %s", i ? "," : "", widths[i], plan);
  }
  ocl_conv_shape s2 = {128, 16, 32, 32, 32, 3, 2, 1};
  char plan2[96];
  conv2d_describe_plan(d, o, t, &s2, plan2, sizeof plan2);
  printf("; stride 2: %s", plan2);
  printf(")%s%s", o->forced ? "; $DLGN_CONV=" : "",
         o->forced ? ocl_conv_kind_name(o->force) : "");
  if (o->columns != OCL_CONV_COLUMNS_DEFAULT) printf("; $DLGN_CONV_COLUMNS=%zu", o->columns);
  printf("\n");
  if (!t || t->nconvs == 0) return;
  /* how the measured winners fall, per pass */
  static const char *const pass[3] = {"forward", "dx", "dw"};
  printf("      tuned convolutions: %d (", t->nconvs);
  for (int p = 0; p < 3; p++) {
    printf("%s%s", p ? "; " : "", pass[p]);
    for (int k = 0; k < OCL_CONV_NKINDS; k++) {
      int n = 0;
      for (int i = 0; i < t->nconvs; i++) {
        const ocl_tuned_conv *e = &t->convs[i];
        n += (p == 0 ? e->fwd : p == 1 ? e->dx : e->dw) == (ocl_conv_kind)k;
      }
      if (n) printf(" %s %d", ocl_conv_kind_name((ocl_conv_kind)k), n);
    }
  }
  printf(")\n");
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
  ocl_conv_options conv;
  if (ocl_conv_options_from_env(&conv) != 0) {
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
    ocl_gemm_backend b;
    char note[256], path[1024];
    if (ocl_gemm_choice_read(d, &b, note, sizeof note))
      printf("      GEMM backend %s (%s)", ocl_gemm_backend_name(b), note);
    else
      printf("      GEMM backend: measured on first use");
    /* the tuning file, when `dlgn tune` wrote one for this device and driver */
    ocl_tuning *t = malloc(sizeof *t);
    bool found = false;
    const char *why = NULL;
    if (!t) why = "out of memory";
    else if (ocl_tuning_path(d, path, sizeof path) != 0 ||
             ocl_tuning_load(d, path, t, &found) != 0)
      why = dlgn_error();
    const char *env = getenv("DLGN_GEMM");
    if (env && *env) printf("; $DLGN_GEMM=%s overrides it", env);
    if (why) printf("; tuning file unusable: %s\n", why);
    else if (found)
      printf("; tuned by `dlgn tune` (%d GEMM shapes%s)\n", t->nshapes,
             t->nclblast ? ", CLBlast parameters" : "");
    else printf("; not tuned\n");
    print_conv_strategies(d, &conv, found ? t : NULL);
    free(t);
  }
  printf("selected: [%d] %s\n", chosen, list[chosen].name);
  free(list);
  return 0;
}
