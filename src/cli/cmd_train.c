/* dlgn train / dlgn eval */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dlgn/config_keys.h"
#include "dlgn/status.h"
#include "dlgn/train.h"

static void train_usage(void) {
  printf(
      "usage: dlgn train [OPTIONS]\n"
      "       dlgn train --resume RUN_DIR [--epochs N] [--device SEL] [--progress ...] [--quiet]\n\n"
      "Trains one model on CIFAR (or the synthetic default) and writes RUN_DIR/config.json,\n"
      "metrics.jsonl (one line per epoch), summary.json and checkpoint.bin (every epoch).\n"
      "Every option but --resume is a key of config.json and of sweep files (docs/sweeps.md).\n");
  static const char *const sections[] = {"data and device", "model", "optimisation", "output"};
  for (int s = 0; s < 4; s++) {
    printf("\n%s\n", sections[s]);
    dlgn_config_print_help(stdout, sections[s]);
    if (s == 3)
      printf("  --resume RUN_DIR    continue a run from its last checkpoint (or start it from its\n"
             "                      config.json when it stopped before its first checkpoint); the\n"
             "                      experiment comes from the run, --epochs may raise it\n");
  }
}

static int parse_int(const char *opt, const char *s, long lo, long hi, long *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v < lo || v > hi)
    return dlgn_fail("%s: expected an integer in %ld..%ld, got '%s'", opt, lo, hi, s);
  *out = v;
  return 0;
}

enum { O_KEY = 256, O_RESUME = 1024, O_HELP };

/* The long options of the schema (each key's val is O_KEY + its row), then
 * --resume and --help. */
static void train_options(struct option *opts, int cap) {
  int n = 0;
  for (int i = 0; i < dlgn_config_nkeys && n + 3 < cap; i++) {
    const dlgn_config_key *k = &dlgn_config_keys[i];
    if (!k->flag) continue;
    opts[n++] = (struct option){k->flag, k->type == DLGN_KEY_BOOL ? no_argument : required_argument,
                                NULL, O_KEY + i};
  }
  opts[n++] = (struct option){"resume", required_argument, NULL, O_RESUME};
  opts[n++] = (struct option){"help", no_argument, NULL, O_HELP};
  opts[n] = (struct option){0};
}

static bool was_given(const bool *given, const char *key) {
  const dlgn_config_key *k = dlgn_config_key_find(key);
  return k && given[k - dlgn_config_keys];
}

static int cli_parse_train(int argc, char **argv, dlgn_train_config *c, bool *resume, bool *help) {
  enum { MAX_OPTS = 96 };
  struct option opts[MAX_OPTS];
  bool given[MAX_OPTS] = {false};
  if (dlgn_config_nkeys + 3 > MAX_OPTS) return dlgn_fail("too many configuration keys");
  train_options(opts, MAX_OPTS);
  dlgn_train_config_default(c);
  *resume = false;
  *help = false;
  int o;
  optind = 1;
  opterr = 0;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o >= O_KEY && o < O_KEY + dlgn_config_nkeys) {
      DLGN_TRY(dlgn_config_key_parse(&dlgn_config_keys[o - O_KEY], c, optarg));
      given[o - O_KEY] = true;
      continue;
    }
    switch (o) {
      case O_RESUME: snprintf(c->run.run_dir, sizeof c->run.run_dir, "%s", optarg); *resume = true; break;
      case O_HELP: *help = true; return 0;
      default:
        return dlgn_fail("unknown or incomplete option '%s' (see dlgn %s --help)", argv[optind - 1],
                         argv[0]);
    }
  }
  if (optind < argc) return dlgn_fail("unexpected argument '%s'", argv[optind]);
  if (*resume && c->run.overwrite)
    return dlgn_fail("--overwrite starts a run afresh; it does not go with --resume");
  if (*resume) {
    /* the experiment comes from the run folder (only --epochs may extend it);
     * the run options from this command */
    for (int i = 0; i < dlgn_config_nkeys; i++) {
      const dlgn_config_key *k = &dlgn_config_keys[i];
      if (given[i] && k->scope == DLGN_SCOPE_EXPERIMENT && strcmp(k->flag, "epochs") != 0)
        return dlgn_fail("--%s: a resumed run keeps its configuration (only --epochs may change; "
                         "see %s/config.json)", k->flag, c->run.run_dir);
    }
    dlgn_train_config saved;
    DLGN_TRY(dlgn_train_config_load(&saved, c->run.run_dir));
    if (was_given(given, "epochs")) saved.epochs = c->epochs;
    if (!was_given(given, "device")) snprintf(c->run.device, sizeof c->run.device, "%s", saved.run.device);
    saved.run = c->run;
    *c = saved;
    return 0;
  }
  if (c->gates_from[0]) {
    char path[sizeof c->gates_from];
    dlgn_checkpoint_path(c->gates_from, path, sizeof path);
    snprintf(c->gates_from, sizeof c->gates_from, "%s", path);
  }
  c->run.class_given = was_given(given, "class");
  dlgn_train_config_settle(c, was_given(given, "depth"), was_given(given, "width"),
                           was_given(given, "value_input"));
  /* combinations that mean nothing are refused here, before any data is read */
  DLGN_TRY(dlgn_model_config_check(&c->model));
  const dlgn_model_config *m = &c->model;
  if (!was_given(given, "run_dir"))
    snprintf(c->run.run_dir, sizeof c->run.run_dir, "runs/%s-%s-%s%s%s-s%llu", dlgn_class_name(m->cls),
             dlgn_arch_name(m->arch), dlgn_mode_name(m->mode),
             m->cls != DLGN_DNN && m->value_input == DLGN_VALUE_ONES ? "-ones" : "",
             c->labels == DLGN_LABELS_COARSE ? "-coarse" : "", (unsigned long long)c->seed);
  return 0;
}

int cmd_train(int argc, char **argv) {
  dlgn_train_config c;
  bool resume = false, help = false;
  if (cli_parse_train(argc, argv, &c, &resume, &help) != 0) return cli_report_error();
  if (help) {
    train_usage();
    return 0;
  }
  /* Only here, not in dlgn_train_run: a sweep trains afresh over a run it
   * found incomplete, by design. */
  if (!resume && dlgn_run_dir_claim(c.run.run_dir, c.run.overwrite) != 0) return cli_report_error();
  dlgn_train_summary s;
  if (dlgn_train_run(&c, resume, &s) != 0) return cli_report_error();
  const dlgn_epoch_metrics *f = &s.final;
  const dlgn_model_config *m = &s.config.model;
  printf("%s %s %s: test acc soft %.2f%% hard %.2f%%", dlgn_class_name(m->cls),
         dlgn_arch_name(m->arch), dlgn_mode_name(m->mode), 100 * f->test_soft, 100 * f->test_hard);
  if (f->train_soft >= 0)
    printf(", train acc soft %.2f%% hard %.2f%%", 100 * f->train_soft, 100 * f->train_hard);
  printf(" (%d epochs on %s) -> %s\n", s.epochs_run, s.device, c.run.run_dir);
  return 0;
}

static void eval_usage(void) {
  printf(
      "usage: dlgn eval CHECKPOINT|RUN_DIR [OPTIONS]\n\n"
      "Accuracy of a trained model with soft and hard gates.\n\n"
      "  --gates soft|hard|both  which figures to print (default: both)\n"
      "  --split test|train      (default: test)\n"
      "  --data PATH             dataset (default: the one the model was trained on, else the\n"
      "                          usual resolution: $DLGN_DATA, ./datasets/, synthetic)\n"
      "  --limit N               first N images only (default: all)\n"
      "  --batch N               images per forward pass (default: 256)\n"
      "  --device SEL            OpenCL device (default: $DLGN_DEVICE, first GPU, first CPU)\n");
}

int cmd_eval(int argc, char **argv) {
  static const struct option opts[] = {
      {"gates", required_argument, NULL, 'g'}, {"split", required_argument, NULL, 's'},
      {"data", required_argument, NULL, 'd'},  {"limit", required_argument, NULL, 'l'},
      {"batch", required_argument, NULL, 'b'}, {"device", required_argument, NULL, 'D'},
      {"help", no_argument, NULL, 'h'},        {0}};
  const char *gates = "both", *split_name = "test", *data = NULL, *device = NULL;
  long limit = 0, batch = 256;
  int o;
  optind = 1;
  opterr = 0;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
      case 'g': gates = optarg; break;
      case 's': split_name = optarg; break;
      case 'd': data = optarg; break;
      case 'l': if (parse_int("--limit", optarg, 0, 1L << 30, &limit)) return cli_report_error(); break;
      case 'b': if (parse_int("--batch", optarg, 1, 65536, &batch)) return cli_report_error(); break;
      case 'D': device = optarg; break;
      case 'h': eval_usage(); return 0;
      default:
        dlgn_fail("unknown or incomplete option '%s' (see dlgn eval --help)", argv[optind - 1]);
        return cli_report_error();
    }
  }
  if (optind != argc - 1) {
    dlgn_fail("dlgn eval needs exactly one CHECKPOINT or RUN_DIR (see dlgn eval --help)");
    return cli_report_error();
  }
  if (strcmp(gates, "soft") && strcmp(gates, "hard") && strcmp(gates, "both")) {
    dlgn_fail("--gates: expected soft|hard|both, got '%s'", gates);
    return cli_report_error();
  }
  if (strcmp(split_name, "test") && strcmp(split_name, "train")) {
    dlgn_fail("--split: expected test|train, got '%s'", split_name);
    return cli_report_error();
  }
  char path[1200];
  dlgn_checkpoint_path(argv[optind], path, sizeof path);
  int rc = 1;
  dlgn_device *dev = NULL;
  dlgn_model *m = NULL;
  dlgn_checkpoint ck = {0};
  dlgn_dataset ds;
  bool have_ds = false;
  if (dlgn_device_open(&dev, device, 0) != 0 ||
      dlgn_model_from_checkpoint(&m, dev, path, (int)batch, &ck) != 0)
    goto done;
  if (dlgn_train_load_dataset(&ck.config, data, &ds, NULL, NULL) != 0) goto done;
  have_ds = true;
  if (ds.num_classes != ck.config.model.num_classes) {
    dlgn_fail("%s has %d classes but the model was trained on %d", ds.source, ds.num_classes,
              ck.config.model.num_classes);
    goto done;
  }
  const dlgn_split *split = strcmp(split_name, "train") == 0 ? &ds.train : &ds.test;
  double soft, hard;
  if (dlgn_evaluate(m, split, (size_t)limit, ck.mean, ck.std, &soft, &hard) != 0) goto done;
  printf("%s (%s %s, epoch %d) on %s %s (%zu images):", path, dlgn_class_name(ck.config.model.cls),
         dlgn_arch_name(ck.config.model.arch), ck.epoch, ds.source, split_name,
         limit && (size_t)limit < split->n ? (size_t)limit : split->n);
  if (strcmp(gates, "hard") != 0) printf(" soft gates %.2f%%", 100 * soft);
  if (strcmp(gates, "soft") != 0) printf(" hard gates %.2f%%", 100 * hard);
  printf("\n");
  rc = 0;
done:
  if (rc) cli_report_error();
  if (have_ds) dlgn_dataset_free(&ds);
  dlgn_checkpoint_free(&ck);
  dlgn_model_destroy(m);
  dlgn_device_close(dev);
  return rc;
}
