/* dlgn train / dlgn eval */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dlgn/status.h"
#include "dlgn/train.h"

static void train_usage(void) {
  dlgn_train_config d;
  dlgn_train_config_default(&d);
  printf(
      "usage: dlgn train [OPTIONS]\n"
      "       dlgn train --resume RUN_DIR [--epochs N]\n\n"
      "Trains one model on CIFAR (or the synthetic default) and writes RUN_DIR/config.json,\n"
      "metrics.jsonl (one line per epoch), summary.json and checkpoint.bin (every epoch).\n\n"
      "data and device\n"
      "  --data PATH         CIFAR-10/100 archive or folder (default: $DLGN_DATA, else the first\n"
      "                      archive in ./datasets/, else a synthetic CIFAR-10 of %zu/%zu images)\n"
      "  --device SEL        OpenCL device: index, gpu, cpu or name substring (default:\n"
      "                      $DLGN_DEVICE, else the first GPU, else the first CPU)\n"
      "  --synth-train N     images of the synthetic set: train (default: %zu)\n"
      "  --synth-test N      images of the synthetic set: test (default: %zu)\n"
      "  --train-limit N     train on the first N images only (default: all)\n"
      "  --test-limit N      test on the first N images only (default: all)\n"
      "  --augment           random crop (pad 4) and horizontal flip (default: off)\n"
      "  --normalize unit|standard  x/255, or per-channel mean/std of the training set (default: "
      "%s)\n\n"
      "model\n"
      "  --class dnn|dgn|dlgn|dlgn-sf   (default: %s)\n"
      "  --arch fc|c4gap|vgg16          (default: %s)\n"
      "  --depth L           hidden layers: fc 5, c4gap 4, vgg16 13 (default by --arch)\n"
      "  --width W           fc width 128, c4gap channels 128, vgg16 first stage 64 (default by "
      "--arch)\n"
      "  --batchnorm         batch norm after every conv layer (c4gap, vgg16)\n"
      "  --beta B            soft gate sigmoid(B*q) (default: %g)\n"
      "  --value-input image|ones     value network input (default: %s; a dnn always image)\n"
      "  --mode joint|fixed-learnt|fixed-random  (default: %s)\n"
      "  --gates-from CKPT   fixed-learnt: checkpoint (or run folder) whose gates are frozen; a\n"
      "                      dnn's gates make a dgn\n"
      "  --shuffle-gates none|layers|channels  (default: none)\n"
      "  --shuffle-seed S    permutation seed (default: %llu)\n\n"
      "optimisation\n"
      "  --optimizer adam|sgd (default: %s)\n"
      "  --lr X              learning rate (default: %g)\n"
      "  --adam-beta1 X, --adam-beta2 X, --adam-eps X  Adam's constants (default: %g, %g, %g)\n"
      "  --momentum X        sgd momentum (default: %g)\n"
      "  --nesterov          sgd Nesterov momentum\n"
      "  --weight-decay X    L2 weight decay (default: 0)\n"
      "  --schedule constant|cosine|step  (default: %s)\n"
      "  --step-every N      step schedule: epochs per decay (default: %d)\n"
      "  --step-gamma X      step schedule: factor per decay (default: %g)\n"
      "  --epochs N          (default: %d)\n"
      "  --batch N           (default: %d)\n"
      "  --seed S            weights, shuffles and augmentation (default: %llu)\n\n"
      "output\n"
      "  --run-dir DIR       (default: runs/CLASS-ARCH-MODE[-ones]-sSEED)\n"
      "  --resume RUN_DIR    continue a run from its last checkpoint (or start it from its\n"
      "                      config.json when it stopped before its first checkpoint)\n"
      "  --overwrite         train again in a --run-dir that already holds a run, replacing it\n"
      "  --no-eval-train     skip the final soft/hard accuracy on the training set\n"
      "  --progress auto|bar|plain  live bar on a terminal, plain lines otherwise (default: auto)\n"
      "  --quiet             print only errors and the final line\n",
      d.synth_train, d.synth_test, d.synth_train, d.synth_test, dlgn_normalize_name(d.normalize),
      dlgn_class_name(d.model.cls),
      dlgn_arch_name(d.model.arch), d.model.beta, dlgn_value_input_name(d.model.value_input),
      dlgn_mode_name(d.model.mode), (unsigned long long)d.model.shuffle_seed,
      dlgn_optimizer_name(d.optimizer), d.lr, d.adam_beta1, d.adam_beta2, d.adam_eps, d.momentum, dlgn_schedule_name(d.schedule),
      d.step_every, d.step_gamma, d.epochs, d.batch, (unsigned long long)d.seed);
}

static int parse_int(const char *opt, const char *s, long lo, long hi, long *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v < lo || v > hi)
    return dlgn_fail("%s: expected an integer in %ld..%ld, got '%s'", opt, lo, hi, s);
  *out = v;
  return 0;
}

/* The valid range of a real option: [lo, hi], an end excluded when its
 * open flag is set. nan and inf are never valid (strtof accepts both, and a
 * run with them trained to NaN and still exited 0). */
typedef struct {
  float lo, hi;
  bool lo_open, hi_open;
} float_range;

static int parse_float(const char *opt, const char *s, float_range r, float *out) {
  char *end;
  errno = 0;
  float v = strtof(s, &end);
  bool in = isfinite(v) && (r.lo_open ? v > r.lo : v >= r.lo) && (r.hi_open ? v < r.hi : v <= r.hi);
  if (end == s || *end || errno == ERANGE || !in)
    return dlgn_fail("%s: expected a number in %c%g, %g%c, got '%s'", opt, r.lo_open ? '(' : '[',
                     r.lo, r.hi, r.hi_open ? ')' : ']', s);
  *out = v;
  return 0;
}

/* beta: the gate's sigmoid slope; the others are learning-rate, Adam,
 * momentum, decay and schedule constants, each in the range where it means
 * what the help says. */
static const float_range R_POSITIVE = {0, 1e6f, true, false};
static const float_range R_UNIT_OPEN = {0, 1, false, true};   /* [0, 1) */
static const float_range R_GAMMA = {0, 1, true, false};       /* (0, 1] */
static const float_range R_DECAY = {0, 1, false, false};      /* [0, 1] */
static const float_range R_EPS = {0, 1, true, false};         /* (0, 1] */

enum {
  O_DATA = 256, O_DEVICE, O_TRAIN_LIMIT, O_TEST_LIMIT, O_AUGMENT, O_NORMALIZE, O_CLASS, O_ARCH,
  O_DEPTH, O_WIDTH, O_BATCHNORM, O_BETA, O_VALUE, O_MODE, O_GATES_FROM, O_SHUFFLE, O_SHUFFLE_SEED,
  O_OPTIMIZER, O_LR, O_MOMENTUM, O_NESTEROV, O_WD, O_SCHEDULE, O_STEP_EVERY, O_STEP_GAMMA,
  O_EPOCHS, O_BATCH, O_SEED, O_RUN_DIR, O_RESUME, O_NO_EVAL_TRAIN, O_PROGRESS, O_QUIET, O_HELP,
  O_ADAM_BETA1, O_ADAM_BETA2, O_ADAM_EPS, O_SYNTH_TRAIN, O_SYNTH_TEST, O_OVERWRITE
};

static const struct option train_opts[] = {
    {"data", required_argument, NULL, O_DATA}, {"device", required_argument, NULL, O_DEVICE},
    {"train-limit", required_argument, NULL, O_TRAIN_LIMIT},
    {"test-limit", required_argument, NULL, O_TEST_LIMIT}, {"augment", no_argument, NULL, O_AUGMENT},
    {"normalize", required_argument, NULL, O_NORMALIZE}, {"class", required_argument, NULL, O_CLASS},
    {"arch", required_argument, NULL, O_ARCH}, {"depth", required_argument, NULL, O_DEPTH},
    {"width", required_argument, NULL, O_WIDTH}, {"batchnorm", no_argument, NULL, O_BATCHNORM},
    {"beta", required_argument, NULL, O_BETA}, {"value-input", required_argument, NULL, O_VALUE},
    {"mode", required_argument, NULL, O_MODE}, {"gates-from", required_argument, NULL, O_GATES_FROM},
    {"shuffle-gates", required_argument, NULL, O_SHUFFLE},
    {"shuffle-seed", required_argument, NULL, O_SHUFFLE_SEED},
    {"optimizer", required_argument, NULL, O_OPTIMIZER}, {"lr", required_argument, NULL, O_LR},
    {"momentum", required_argument, NULL, O_MOMENTUM}, {"nesterov", no_argument, NULL, O_NESTEROV},
    {"weight-decay", required_argument, NULL, O_WD},
    {"schedule", required_argument, NULL, O_SCHEDULE},
    {"step-every", required_argument, NULL, O_STEP_EVERY},
    {"step-gamma", required_argument, NULL, O_STEP_GAMMA},
    {"epochs", required_argument, NULL, O_EPOCHS}, {"batch", required_argument, NULL, O_BATCH},
    {"seed", required_argument, NULL, O_SEED}, {"run-dir", required_argument, NULL, O_RUN_DIR},
    {"resume", required_argument, NULL, O_RESUME},
    {"overwrite", no_argument, NULL, O_OVERWRITE},
    {"no-eval-train", no_argument, NULL, O_NO_EVAL_TRAIN},
    {"progress", required_argument, NULL, O_PROGRESS}, {"quiet", no_argument, NULL, O_QUIET},
    {"adam-beta1", required_argument, NULL, O_ADAM_BETA1},
    {"adam-beta2", required_argument, NULL, O_ADAM_BETA2},
    {"adam-eps", required_argument, NULL, O_ADAM_EPS},
    {"synth-train", required_argument, NULL, O_SYNTH_TRAIN},
    {"synth-test", required_argument, NULL, O_SYNTH_TEST},
    {"help", no_argument, NULL, O_HELP}, {0}};

int cli_parse_train(int argc, char **argv, dlgn_train_config *c, bool *resume, bool *help) {
  dlgn_train_config_default(c);
  *resume = false;
  *help = false;
  bool depth_given = false, width_given = false, run_dir_given = false, epochs_given = false;
  bool value_given = false;
  int o;
  long v;
  optind = 1;
  opterr = 0;
  while ((o = getopt_long(argc, argv, "", train_opts, NULL)) != -1) {
    dlgn_model_config *m = &c->model;
    switch (o) {
      case O_DATA: snprintf(c->data, sizeof c->data, "%s", optarg); break;
      case O_DEVICE: snprintf(c->device, sizeof c->device, "%s", optarg); break;
      case O_TRAIN_LIMIT: DLGN_TRY(parse_int("--train-limit", optarg, 0, 1L << 30, &v)); c->train_limit = (size_t)v; break;
      case O_TEST_LIMIT: DLGN_TRY(parse_int("--test-limit", optarg, 0, 1L << 30, &v)); c->test_limit = (size_t)v; break;
      case O_AUGMENT: c->augment = true; break;
      case O_NORMALIZE: DLGN_TRY(dlgn_normalize_parse(optarg, &c->normalize)); break;
      case O_CLASS: DLGN_TRY(dlgn_class_parse(optarg, &m->cls)); c->class_given = true; break;
      case O_ARCH: DLGN_TRY(dlgn_arch_parse(optarg, &m->arch)); break;
      case O_DEPTH: DLGN_TRY(parse_int("--depth", optarg, 1, DLGN_MAX_LAYERS, &v)); m->depth = (int)v; depth_given = true; break;
      case O_WIDTH: DLGN_TRY(parse_int("--width", optarg, 1, 4096, &v)); m->width = (int)v; width_given = true; break;
      case O_BATCHNORM: m->batchnorm = true; break;
      case O_BETA: DLGN_TRY(parse_float("--beta", optarg, R_POSITIVE, &m->beta)); break;
      case O_VALUE: DLGN_TRY(dlgn_value_input_parse(optarg, &m->value_input)); value_given = true; break;
      case O_MODE: DLGN_TRY(dlgn_mode_parse(optarg, &m->mode)); break;
      case O_GATES_FROM: dlgn_checkpoint_path(optarg, c->gates_from, sizeof c->gates_from); break;
      case O_SHUFFLE: DLGN_TRY(dlgn_shuffle_parse(optarg, &m->shuffle)); break;
      case O_SHUFFLE_SEED: DLGN_TRY(parse_int("--shuffle-seed", optarg, 0, 0x7fffffffL, &v)); m->shuffle_seed = (uint64_t)v; break;
      case O_OPTIMIZER: DLGN_TRY(dlgn_optimizer_parse(optarg, &c->optimizer)); break;
      case O_LR: DLGN_TRY(parse_float("--lr", optarg, R_POSITIVE, &c->lr)); break;
      case O_MOMENTUM: DLGN_TRY(parse_float("--momentum", optarg, R_UNIT_OPEN, &c->momentum)); break;
      case O_NESTEROV: c->nesterov = true; break;
      case O_WD: DLGN_TRY(parse_float("--weight-decay", optarg, R_DECAY, &c->weight_decay)); break;
      case O_SCHEDULE: DLGN_TRY(dlgn_schedule_parse(optarg, &c->schedule)); break;
      case O_STEP_EVERY: DLGN_TRY(parse_int("--step-every", optarg, 1, 100000, &v)); c->step_every = (int)v; break;
      case O_STEP_GAMMA: DLGN_TRY(parse_float("--step-gamma", optarg, R_GAMMA, &c->step_gamma)); break;
      case O_EPOCHS: DLGN_TRY(parse_int("--epochs", optarg, 1, 100000, &v)); c->epochs = (int)v; epochs_given = true; break;
      case O_BATCH: DLGN_TRY(parse_int("--batch", optarg, 1, 65536, &v)); c->batch = (int)v; break;
      case O_SEED: DLGN_TRY(parse_int("--seed", optarg, 0, 0x7fffffffL, &v)); c->seed = (uint64_t)v; break;
      case O_RUN_DIR: snprintf(c->run_dir, sizeof c->run_dir, "%s", optarg); run_dir_given = true; break;
      case O_RESUME: snprintf(c->run_dir, sizeof c->run_dir, "%s", optarg); *resume = true; break;
      case O_NO_EVAL_TRAIN: c->eval_train = false; break;
      case O_OVERWRITE: c->overwrite = true; break;
      case O_PROGRESS:
        if (strcmp(optarg, "auto") == 0) c->progress = -1;
        else if (strcmp(optarg, "bar") == 0) c->progress = 1;
        else if (strcmp(optarg, "plain") == 0) c->progress = 0;
        else return dlgn_fail("--progress: expected auto|bar|plain, got '%s'", optarg);
        break;
      case O_QUIET: c->quiet = true; break;
      case O_ADAM_BETA1: DLGN_TRY(parse_float("--adam-beta1", optarg, R_UNIT_OPEN, &c->adam_beta1)); break;
      case O_ADAM_BETA2: DLGN_TRY(parse_float("--adam-beta2", optarg, R_UNIT_OPEN, &c->adam_beta2)); break;
      case O_ADAM_EPS: DLGN_TRY(parse_float("--adam-eps", optarg, R_EPS, &c->adam_eps)); break;
      case O_SYNTH_TRAIN: DLGN_TRY(parse_int("--synth-train", optarg, 1, 1L << 24, &v)); c->synth_train = (size_t)v; break;
      case O_SYNTH_TEST: DLGN_TRY(parse_int("--synth-test", optarg, 1, 1L << 24, &v)); c->synth_test = (size_t)v; break;
      case O_HELP: *help = true; return 0;
      default:
        return dlgn_fail("unknown or incomplete option '%s' (see dlgn %s --help)", argv[optind - 1],
                         argv[0]);
    }
  }
  if (optind < argc) return dlgn_fail("unexpected argument '%s'", argv[optind]);
  if (*resume && c->overwrite)
    return dlgn_fail("--overwrite starts a run afresh; it does not go with --resume");
  if (*resume) {
    /* everything comes from the run folder; only --epochs may extend it */
    dlgn_train_config saved;
    DLGN_TRY(dlgn_train_config_load(&saved, c->run_dir));
    if (epochs_given) saved.epochs = c->epochs;
    saved.progress = c->progress;
    saved.quiet = c->quiet;
    snprintf(saved.run_dir, sizeof saved.run_dir, "%s", c->run_dir);
    *c = saved;
    return 0;
  }
  dlgn_model_config *m = &c->model;
  if (!depth_given) m->depth = m->arch == DLGN_FC ? 5 : m->arch == DLGN_C4GAP ? 4 : 13;
  if (!width_given) m->width = m->arch == DLGN_VGG16 ? 64 : 128;
  /* the default value input (ones) means nothing to a dnn; an explicit one is checked */
  if (m->cls == DLGN_DNN && !value_given) m->value_input = DLGN_VALUE_IMAGE;
  if (!run_dir_given)
    snprintf(c->run_dir, sizeof c->run_dir, "runs/%s-%s-%s%s-s%llu", dlgn_class_name(m->cls),
             dlgn_arch_name(m->arch), dlgn_mode_name(m->mode),
             m->cls != DLGN_DNN && m->value_input == DLGN_VALUE_ONES ? "-ones" : "",
             (unsigned long long)c->seed);
  return 0;
}

int cmd_train(int argc, char **argv) {
  dlgn_train_config c;
  bool resume, help;
  if (cli_parse_train(argc, argv, &c, &resume, &help) != 0) return cli_report_error();
  if (help) {
    train_usage();
    return 0;
  }
  /* Only here, not in dlgn_train_run: a sweep trains afresh over a run it
   * found incomplete, by design. */
  if (!resume && dlgn_run_dir_claim(c.run_dir, c.overwrite) != 0) return cli_report_error();
  dlgn_train_summary s;
  if (dlgn_train_run(&c, resume, &s) != 0) return cli_report_error();
  const dlgn_epoch_metrics *f = &s.final;
  const dlgn_model_config *m = &s.config.model;
  printf("%s %s %s: test acc soft %.2f%% hard %.2f%%", dlgn_class_name(m->cls),
         dlgn_arch_name(m->arch), dlgn_mode_name(m->mode), 100 * f->test_soft, 100 * f->test_hard);
  if (f->train_soft >= 0)
    printf(", train acc soft %.2f%% hard %.2f%%", 100 * f->train_soft, 100 * f->train_hard);
  printf(" (%d epochs on %s) -> %s\n", s.epochs_run, s.device, c.run_dir);
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
