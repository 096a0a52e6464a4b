#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "dlgn/status.h"

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} commands[] = {
    {"demo", cmd_demo, "train a dnn and a dlgn briefly on the default data and compare"},
    {"devices", cmd_devices, "list OpenCL platforms and devices, and the one selected"},
    {"tune", cmd_tune, "tune the GEMM parameters for a device and store them for later runs"},
    {"train", cmd_train, "train a model (dnn, dgn, dlgn, dlgn-sf) in one of the paper's modes"},
    {"eval", cmd_eval, "accuracy of a checkpoint with soft and hard gates"},
    {"data", cmd_data, "inspect, synthesise or download a CIFAR archive"},
    {"explain", cmd_explain, "verified effective filters, gate statistics, neural path kernel"},
    {"sweep", cmd_sweep, "many runs from one sweep file, and the interpretability-accuracy table"},
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: dlgn COMMAND [OPTIONS]\n\n"
          "Train and explain deep gated networks (DNN, DGN, DLGN, DLGN-SF) on CIFAR with OpenCL.\n\n"
          "commands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\n`dlgn COMMAND --help` documents each command's options and defaults.\n");
}

int cli_report_error(void) {
  fprintf(stderr, "dlgn: %s\n", dlgn_error()[0] ? dlgn_error() : "unknown error");
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "dlgn: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
