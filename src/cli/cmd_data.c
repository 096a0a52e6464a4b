/* dlgn data inspect | synth | download: look inside a CIFAR archive, write a
 * synthetic one, or fetch the official one. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dlgn/data.h"
#include "dlgn/status.h"

#define DOWNLOAD_RETRIES 4

static void data_usage(FILE *out) {
  fprintf(out,
          "usage: dlgn data inspect [PATH] [--max-bytes N]\n"
          "       dlgn data synth OUT [--kind cifar10|cifar100] [--train N] [--test N] [--seed S]\n"
          "       dlgn data download cifar10|cifar100 [--dir DIR] [--url URL] [--md5 HEX]\n"
          "                          [--retries N]\n"
          "\n"
          "inspect  Load a CIFAR-10/100 binary archive (.tar.gz or any format libarchive reads)\n"
          "         or an extracted folder, validate it, and print its kind, image counts,\n"
          "         per-class histograms (train/test), class names and each member's md5 with\n"
          "         whether it equals the official file's. Without PATH: $DLGN_DATA, else the\n"
          "         first cifar-10* archive or folder in ./datasets/, else the embedded\n"
          "         synthetic default (%d train / %d test images, seed 0), which PATH\n"
          "         'synthetic' also selects.\n"
          "  --max-bytes N  decompressed-size cap, a guard against compression bombs; suffixes\n"
          "                 K, M, G (powers of 1024) (default 1G)\n"
          "\n"
          "synth    Write deterministic, learnable synthetic data as a CIFAR-format .tar.gz\n"
          "         with the official layout and member names (same options -> same bytes).\n"
          "  --kind K    cifar10 or cifar100 (default cifar10)\n"
          "  --train N   training images, >= 1 (default %d)\n"
          "  --test N    test images, >= 1 (default %d)\n"
          "  --seed S    seed of the images; the class patterns are fixed (default 0)\n"
          "\n"
          "download Fetch the official binary archive (%s or\n"
          "         %s) into DIR/FILE: a progress bar when stderr is a\n"
          "         terminal; a cut transfer is resumed with a Range request, also by the next\n"
          "         run (the bytes so far wait in DIR/FILE.part); the whole file's md5 is\n"
          "         checked before it gets its name.\n"
          "         A file already at DIR/FILE is only verified.\n"
          "  --dir DIR    folder (default: %s, where dlgn looks for archives)\n"
          "  --url URL    a mirror (default: $DLGN_CIFAR10_URL or $DLGN_CIFAR100_URL, else the\n"
          "               official address)\n"
          "  --md5 HEX    expected md5 of the whole file, for a mirror that serves a repackaged\n"
          "               archive (default: the official md5)\n"
          "  --retries N  further attempts after a cut, a stall or HTTP 408/429/5xx, waiting\n"
          "               1, 2, 4, ... s (default %d)\n"
          "\n"
          "  -h, --help  this text\n",
          DLGN_SYNTH_DEFAULT_TRAIN, DLGN_SYNTH_DEFAULT_TEST, DLGN_SYNTH_DEFAULT_TRAIN,
          DLGN_SYNTH_DEFAULT_TEST, dlgn_cifar_official_archive(DLGN_CIFAR10)->file,
          dlgn_cifar_official_archive(DLGN_CIFAR100)->file, DLGN_DATASETS_DIR,
          DOWNLOAD_RETRIES);
}

/* A whole non-negative number, with an optional K/M/G suffix when sized. */
static int parse_count(const char *opt, const char *s, bool sized, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (s[0] == '-' || end == s || errno != 0)
    return dlgn_fail("%s: '%s' is not a non-negative whole number", opt, s);
  uint64_t scale = 1;
  if (sized && *end) {
    scale = *end == 'K' || *end == 'k'   ? 1ull << 10
            : *end == 'M' || *end == 'm' ? 1ull << 20
            : *end == 'G' || *end == 'g' ? 1ull << 30
                                         : 0;
    if (scale) end++;
  }
  if (*end || scale == 0) return dlgn_fail("%s: '%s' is not a valid number", opt, s);
  if (v > UINT64_MAX / scale) return dlgn_fail("%s: '%s' is too large", opt, s);
  *out = v * scale;
  return 0;
}

static int bad_option(const char *sub, char **argv) {
  fprintf(stderr, "dlgn: data %s: unknown option or missing value in '%s' (see dlgn data --help)\n",
          sub, argv[optind - 1]);
  return 2;
}

static void print_histogram(const dlgn_dataset *ds, bool coarse) {
  int classes = coarse ? ds->num_coarse : ds->num_classes;
  size_t hist[2][100] = {{0}};
  const dlgn_split *splits[2] = {&ds->train, &ds->test};
  for (int s = 0; s < 2; s++)
    for (size_t i = 0; i < splits[s]->n; i++)
      hist[s][coarse ? splits[s]->coarse[i] : splits[s]->labels[i]]++;
  /* say where the names came from: an archive may hold one name file and not the other */
  bool from_meta = coarse ? ds->coarse_names_from_meta : ds->names_from_meta;
  const char *file = coarse ? "coarse_label_names.txt"
                     : ds->kind == DLGN_CIFAR100 ? "fine_label_names.txt" : "batches.meta.txt";
  printf("%sclasses (names %s%s%s):\n  %3s  %-30s %8s %8s\n", coarse ? "coarse " : "",
         from_meta ? "from the archive's " : "built in: the data has no ", file,
         from_meta ? "" : ", so these are the official names", "id", "name", "train", "test");
  for (int c = 0; c < classes; c++)
    printf("  %3d  %-30s %8zu %8zu\n", c, coarse ? ds->coarse_names[c] : ds->class_names[c],
           hist[0][c], hist[1][c]);
}

static void print_dataset(const dlgn_dataset *ds) {
  printf("source: %s\n", ds->source);
  printf("kind: %s (%d classes%s)\n", dlgn_cifar_kind_name(ds->kind), ds->num_classes,
         ds->kind == DLGN_CIFAR100 ? ", 20 coarse classes" : "");
  printf("images: %zu train, %zu test\n", ds->train.n, ds->test.n);
  if (ds->bytes_read) printf("decompressed: %" PRIu64 " bytes\n", ds->bytes_read);
  if (ds->nmembers) printf("members:\n");
  for (int i = 0; i < ds->nmembers; i++) {
    const dlgn_member_info *m = &ds->members[i];
    printf("  %-18s %7zu records  md5 %s  %s\n", m->name, m->records, m->md5,
           m->official == 1   ? "official"
           : m->official == 0 ? "differs from the official md5"
                              : "no official md5");
  }
  print_histogram(ds, false);
  if (ds->kind == DLGN_CIFAR100) print_histogram(ds, true);
  float mean[3], std[3];
  dlgn_split_channel_stats(&ds->train, mean, std);
  printf("train channel mean (x/255): %.4f %.4f %.4f\n", mean[0], mean[1], mean[2]);
  printf("train channel std  (x/255): %.4f %.4f %.4f\n", std[0], std[1], std[2]);
}

static int data_inspect(int argc, char **argv) {
  static const struct option opts[] = {
      {"max-bytes", required_argument, NULL, 'm'}, {"help", no_argument, NULL, 'h'}, {0}};
  dlgn_load_options lo = {0};
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
    if (c == 'm') {
      if (parse_count("--max-bytes", optarg, true, &lo.max_bytes) != 0) return cli_report_error();
    } else if (c == 'h') {
      data_usage(stdout);
      return 0;
    } else return bad_option("inspect", argv);
  }
  if (argc - optind > 1) {
    fprintf(stderr, "dlgn: data inspect takes one PATH\n");
    return 2;
  }
  char path[4096];
  bool synthetic = false;
  if (dlgn_data_resolve(optind < argc ? argv[optind] : NULL, path, sizeof path, &synthetic) != 0)
    return cli_report_error();
  dlgn_dataset ds;
  int rc = synthetic ? dlgn_synth_generate(&ds, DLGN_CIFAR10, DLGN_SYNTH_DEFAULT_TRAIN,
                                           DLGN_SYNTH_DEFAULT_TEST, 0)
                     : dlgn_dataset_load(&ds, path, &lo);
  if (rc != 0) return cli_report_error();
  if (synthetic) printf("no archive given or found: the embedded synthetic default\n");
  print_dataset(&ds);
  dlgn_dataset_free(&ds);
  return 0;
}

static int data_synth(int argc, char **argv) {
  static const struct option opts[] = {
      {"kind", required_argument, NULL, 'k'}, {"train", required_argument, NULL, 'n'},
      {"test", required_argument, NULL, 't'}, {"seed", required_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},       {0}};
  dlgn_cifar_kind kind = DLGN_CIFAR10;
  uint64_t ntrain = DLGN_SYNTH_DEFAULT_TRAIN, ntest = DLGN_SYNTH_DEFAULT_TEST, seed = 0;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "k:n:t:s:h", opts, NULL)) != -1) {
    int rc = 0;
    if (c == 'k') {
      if (strcmp(optarg, "cifar10") == 0) kind = DLGN_CIFAR10;
      else if (strcmp(optarg, "cifar100") == 0) kind = DLGN_CIFAR100;
      else rc = dlgn_fail("--kind: '%s' is neither cifar10 nor cifar100", optarg);
    } else if (c == 'n') rc = parse_count("--train", optarg, false, &ntrain);
    else if (c == 't') rc = parse_count("--test", optarg, false, &ntest);
    else if (c == 's') rc = parse_count("--seed", optarg, false, &seed);
    else if (c == 'h') {
      data_usage(stdout);
      return 0;
    } else return bad_option("synth", argv);
    if (rc != 0) return cli_report_error();
  }
  if (argc - optind != 1) {
    fprintf(stderr, "dlgn: data synth takes one OUT path (see dlgn data --help)\n");
    return 2;
  }
  if (ntrain > SIZE_MAX || ntest > SIZE_MAX) {
    dlgn_fail("--train/--test: too large");
    return cli_report_error();
  }
  const char *out = argv[optind];
  if (dlgn_synth_write(out, kind, (size_t)ntrain, (size_t)ntest, seed) != 0)
    return cli_report_error();
  printf("wrote %s: synthetic %s, %" PRIu64 " train + %" PRIu64 " test images, seed %" PRIu64 "\n",
         out, dlgn_cifar_kind_name(kind), ntrain, ntest, seed);
  return 0;
}

static int data_download(int argc, char **argv) {
  static const struct option opts[] = {
      {"dir", required_argument, NULL, 'd'}, {"url", required_argument, NULL, 'u'},
      {"md5", required_argument, NULL, 'm'}, {"retries", required_argument, NULL, 'r'},
      {"help", no_argument, NULL, 'h'},      {0}};
  /* what happens goes to stdout (a log without a terminal shows what the minutes are
   * spent on); stderr gets the progress bar, on a terminal, and the error */
  dlgn_download_options o = {.retries = DOWNLOAD_RETRIES, .log = stdout};
  uint64_t retries = DOWNLOAD_RETRIES;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "d:u:m:r:h", opts, NULL)) != -1) {
    if (c == 'd') o.dir = optarg;
    else if (c == 'u') o.url = optarg;
    else if (c == 'm') o.md5 = optarg;
    else if (c == 'r') {
      if (parse_count("--retries", optarg, false, &retries) != 0) return cli_report_error();
      if (retries > 100) {
        dlgn_fail("--retries: %" PRIu64 " is more than 100", retries);
        return cli_report_error();
      }
      o.retries = (int)retries;
    } else if (c == 'h') {
      data_usage(stdout);
      return 0;
    } else return bad_option("download", argv);
  }
  if (argc - optind != 1) {
    fprintf(stderr, "dlgn: data download takes one of cifar10, cifar100 (see dlgn data --help)\n");
    return 2;
  }
  dlgn_cifar_kind kind;
  if (strcmp(argv[optind], "cifar10") == 0) kind = DLGN_CIFAR10;
  else if (strcmp(argv[optind], "cifar100") == 0) kind = DLGN_CIFAR100;
  else {
    dlgn_fail("data download: '%s' is neither cifar10 nor cifar100", argv[optind]);
    return cli_report_error();
  }
  const char *env = getenv(kind == DLGN_CIFAR100 ? "DLGN_CIFAR100_URL" : "DLGN_CIFAR10_URL");
  if (!o.url && env && *env) o.url = env;
  o.progress = isatty(STDERR_FILENO);
  const dlgn_cifar_archive *a = dlgn_cifar_official_archive(kind);
  dlgn_download_result r;
  if (dlgn_data_download(kind, &o, &r) != 0) return cli_report_error();
  printf("%s: %" PRIu64 " bytes, md5 %s verified%s\n", r.path, r.bytes, o.md5 ? o.md5 : a->md5,
         r.already ? " (already there; nothing fetched)" : "");
  if (o.dir && strcmp(o.dir, DLGN_DATASETS_DIR) != 0)
    printf("train with --data %s (or DLGN_DATA=%s)\n", r.path, r.path);
  return 0;
}

int cmd_data(int argc, char **argv) {
  if (argc < 2) {
    data_usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    data_usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "inspect") == 0) return data_inspect(argc - 1, argv + 1);
  if (strcmp(argv[1], "synth") == 0) return data_synth(argc - 1, argv + 1);
  if (strcmp(argv[1], "download") == 0) return data_download(argc - 1, argv + 1);
  fprintf(stderr, "dlgn: unknown data subcommand '%s' (inspect, synth or download)\n\n", argv[1]);
  data_usage(stderr);
  return 2;
}
