/* dlgn sweep: many runs from one sweep file (docs/sweeps.md), trained here
 * one after another, or printed as `dlgn train` job lines for GNU parallel
 * or a Slurm array, and gathered into the tradeoff table. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dlgn/status.h"
#include "dlgn/sweep.h"
#include "dlgn/util.h"

static void sweep_usage(void) {
  printf(
      "usage: dlgn sweep FILE --out DIR [OPTIONS]               train the runs here, one by one\n"
      "       dlgn sweep FILE --out DIR --emit-jobs [--wave N]  print them as dlgn train lines\n"
      "       dlgn sweep FILE --out DIR --emit-slurm SCRIPT     the same as Slurm job arrays\n"
      "       dlgn sweep FILE --out DIR --list                  the plan and each run's state\n"
      "       dlgn sweep --merge DIR [DIR...] --out OUT         results of finished runs\n\n"
      "FILE is a sweep file (docs/sweeps.md): defaults, a grid (cartesian product over any\n"
      "configuration keys of dlgn train) and explicit runs. Combinations the model rejects\n"
      "are skipped with a note. fixed-learnt runs take the gates of the sweep's joint run of\n"
      "the same arch, depth, width and seed (a dnn's for a dgn) and train after it.\n\n"
      "Each run trains in DIR/runs/NAME (NAME follows from its settings). Running the sweep\n"
      "again skips finished runs and resumes interrupted ones from their checkpoints; raise\n"
      "\"epochs\" and finished runs train on. Results: DIR/results.csv and results.jsonl (one\n"
      "row per run), results.md (mean and std over seeds), tradeoff.png (drawn by gnuplot\n"
      "from tradeoff.gp and tradeoff.dat, kept beside it), DIR/sweep.json (the sweep file).\n\n"
      "options\n"
      "  --out DIR          output folder (required)\n"
      "  --device SEL       OpenCL device of every run and filter check: index, gpu, cpu or\n"
      "                     name substring (default: a run's \"device\" key, else $DLGN_DEVICE,\n"
      "                     else the first GPU, else the first CPU)\n"
      "  --emit-jobs        print one `dlgn train ... --run-dir DIR/runs/NAME` line per run\n"
      "                     instead of training: wave 1, a comment line, then wave 2 (the\n"
      "                     fixed-learnt runs, which read wave 1's checkpoints: start them\n"
      "                     only after wave 1 has finished). Then gather with --merge DIR.\n"
      "  --wave 1|2         with --emit-jobs: only that wave, no comment lines (default: both)\n"
      "  --emit-slurm FILE  write FILE, a bash script that submits the runs as Slurm job\n"
      "                     arrays, one run per index: wave 1, then wave 2 as a second array\n"
      "                     with --dependency=afterok on the first. `bash FILE [SBATCH\n"
      "                     OPTIONS]` submits both; then gather with --merge DIR.\n"
      "  --program PATH     with --emit-jobs or --emit-slurm: the dlgn the lines call\n"
      "                     (default: this binary, by its absolute path)\n"
      "  --list             print the planned runs, their state and the notes; train nothing\n"
      "  --merge            the arguments are folders to gather: sweep output folders, folders\n"
      "                     of run folders, or run folders; unfinished runs are left out\n"
      "  --check-images N   test images of the filter-export check of dlgn and dlgn-sf runs\n"
      "                     (default: 256)\n"
      "  --no-filter-check  skip that check (the column then reads \"not checked\")\n"
      "  --progress auto|bar|plain  training progress display (default: auto)\n"
      "  --quiet            only the one line per run, notes and errors\n"
      "  --set-aside-broken move a run whose checkpoint cannot be read to OUT/broken/NAME\n"
      "                     and train it afresh (without it, such a run fails every rerun)\n"
      "\n"
      "Example on a cluster: dlgn sweep s.json --out o --emit-jobs --wave 1 | parallel -j4;\n"
      "then the same with --wave 2; then dlgn sweep --merge o --out o.\n");
}

typedef struct {
  const char *out, *device, *program, *slurm;
  bool emit, list, merge;
  int wave;
  dlgn_sweep_options run;
} sweep_args;

/* --program: every emitted line runs it, so an empty name or a file that
 * cannot run would make every job fail later, far from the cause. A name
 * without '/' is looked up on PATH, as the shell running the lines will. */
static int check_program(const char *program) {
  if (!*program) return dlgn_fail("--program: the path is empty");
  struct stat st;
  if (strchr(program, '/')) {
    if (stat(program, &st) != 0)
      return dlgn_fail("--program %s: %s", program, strerror(errno));
    if (!S_ISREG(st.st_mode) || access(program, X_OK) != 0)
      return dlgn_fail("--program %s: not an executable file", program);
    return 0;
  }
  const char *path = getenv("PATH");
  for (const char *p = path ? path : ""; *p;) {
    size_t n = strcspn(p, ":");
    char full[2048];
    if (n && snprintf(full, sizeof full, "%.*s/%s", (int)n, p, program) < (int)sizeof full &&
        stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
      return 0;
    p += n + (p[n] == ':');
  }
  return dlgn_fail("--program %s: no executable of that name on PATH", program);
}

static int parse_args(int argc, char **argv, sweep_args *a, bool *help) {
  enum { O_OUT = 256, O_DEVICE, O_EMIT, O_WAVE, O_PROGRAM, O_LIST, O_MERGE, O_CHECK_IMAGES,
         O_NO_CHECK, O_PROGRESS, O_QUIET, O_HELP, O_SET_ASIDE, O_SLURM };
  static const struct option opts[] = {
      {"out", required_argument, NULL, O_OUT},       {"device", required_argument, NULL, O_DEVICE},
      {"emit-jobs", no_argument, NULL, O_EMIT},      {"wave", required_argument, NULL, O_WAVE},
      {"emit-slurm", required_argument, NULL, O_SLURM},
      {"program", required_argument, NULL, O_PROGRAM}, {"list", no_argument, NULL, O_LIST},
      {"merge", no_argument, NULL, O_MERGE},
      {"check-images", required_argument, NULL, O_CHECK_IMAGES},
      {"no-filter-check", no_argument, NULL, O_NO_CHECK},
      {"progress", required_argument, NULL, O_PROGRESS}, {"quiet", no_argument, NULL, O_QUIET},
      {"set-aside-broken", no_argument, NULL, O_SET_ASIDE},
      {"help", no_argument, NULL, O_HELP},           {0}};
  memset(a, 0, sizeof *a);
  dlgn_sweep_options_default(&a->run);
  *help = false;
  int o;
  char *end;
  long v;
  optind = 1;
  opterr = 0;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
      case O_OUT: a->out = optarg; break;
      case O_DEVICE: a->device = optarg; break;
      case O_EMIT: a->emit = true; break;
      case O_WAVE:
        if (strcmp(optarg, "1") && strcmp(optarg, "2"))
          return dlgn_fail("--wave: expected 1 or 2, got '%s'", optarg);
        a->wave = optarg[0] - '0';
        break;
      case O_PROGRAM: a->program = optarg; break;
      case O_SLURM: a->slurm = optarg; break;
      case O_LIST: a->list = true; break;
      case O_MERGE: a->merge = true; break;
      case O_CHECK_IMAGES:
        v = strtol(optarg, &end, 10);
        if (end == optarg || *end || v < 1 || v > 1000000)
          return dlgn_fail("--check-images: expected an integer in 1..1000000, got '%s'", optarg);
        a->run.check_images = (size_t)v;
        break;
      case O_NO_CHECK: a->run.filter_check = false; break;
      case O_PROGRESS:
        if (!strcmp(optarg, "auto")) a->run.progress = -1;
        else if (!strcmp(optarg, "bar")) a->run.progress = 1;
        else if (!strcmp(optarg, "plain")) a->run.progress = 0;
        else return dlgn_fail("--progress: expected auto|bar|plain, got '%s'", optarg);
        break;
      case O_QUIET: a->run.quiet = true; break;
      case O_SET_ASIDE: a->run.set_aside_broken = true; break;
      case O_HELP: *help = true; return 0;
      default:
        return dlgn_fail("unknown or incomplete option '%s' (see dlgn sweep --help)",
                         argv[optind - 1]);
    }
  }
  a->run.device = a->device;
  if (!a->out) return dlgn_fail("dlgn sweep needs --out DIR (see dlgn sweep --help)");
  if (a->merge && (a->emit || a->list))
    return dlgn_fail("--merge gathers finished runs; it goes with neither --emit-jobs nor --list");
  if (a->slurm && (a->emit || a->list || a->merge))
    return dlgn_fail("--emit-slurm writes a script; it goes with none of --emit-jobs, --list, "
                     "--merge");
  if (a->slurm && !*a->slurm) return dlgn_fail("--emit-slurm: the file name is empty");
  if (a->wave && !a->emit) return dlgn_fail("--wave goes with --emit-jobs");
  if (a->program && !a->emit && !a->slurm)
    return dlgn_fail("--program goes with --emit-jobs or --emit-slurm");
  if (a->program) DLGN_TRY(check_program(a->program));
  if (a->merge && optind >= argc) return dlgn_fail("--merge needs at least one folder");
  if (!a->merge && optind != argc - 1)
    return dlgn_fail("dlgn sweep takes exactly one sweep FILE (see dlgn sweep --help)");
  return 0;
}

/* program == NULL: only check that the line can be written. */
static int print_job(const dlgn_sweep_run *r, const char *program) {
  char *line;
  DLGN_TRY(dlgn_sweep_job_line(r, program ? program : "dlgn", &line));
  if (program) puts(line);
  free(line);
  return 0;
}

/* --program, else this binary by its absolute path. */
static const char *job_program(const sweep_args *a, char *self, size_t size) {
  if (a->program) return a->program;
  snprintf(self, size, "dlgn");
  ssize_t n = readlink("/proc/self/exe", self, size - 1);
  if (n > 0) self[n] = '\0';
  return self;
}

static int emit_jobs(const dlgn_sweep_plan *p, const sweep_args *a) {
  char self[1024];
  const char *program = job_program(a, self, sizeof self);
  int count[3] = {0};
  for (int i = 0; i < p->nruns; i++) {
    DLGN_TRY(print_job(&p->runs[i], NULL)); /* all or nothing */
    count[dlgn_sweep_run_wave(&p->runs[i])]++;
  }
  if (!a->wave)
    printf("# dlgn sweep %s: %d runs, %d in wave 1 and %d in wave 2\n# wave 1: independent runs, "
           "in any order or all at once\n", p->name, p->nruns, count[1], count[2]);
  for (int wave = 1; wave <= 2; wave++) {
    if (a->wave && a->wave != wave) continue;
    if (!a->wave && wave == 2 && count[2])
      printf("# wave 2: fixed-learnt runs; each reads a wave-1 checkpoint (--gates-from), so "
             "start them only after wave 1 has finished\n");
    for (int i = 0; i < p->nruns; i++)
      if (dlgn_sweep_run_wave(&p->runs[i]) == wave) DLGN_TRY(print_job(&p->runs[i], program));
  }
  return 0;
}

static int emit_slurm(const dlgn_sweep_plan *p, const sweep_args *a) {
  char self[1024];
  DLGN_TRY(dlgn_sweep_write_slurm(p, job_program(a, self, sizeof self), a->slurm));
  int wave2 = 0;
  for (int i = 0; i < p->nruns; i++) wave2 += dlgn_sweep_run_wave(&p->runs[i]) == 2;
  printf("wrote %s: %d runs as Slurm arrays (%d in wave 1, %d in wave 2); submit with\n"
         "  bash %s [SBATCH OPTIONS...]\nthen gather with dlgn sweep --merge %s --out %s\n",
         a->slurm, p->nruns, p->nruns - wave2, wave2, a->slurm, a->out, a->out);
  return 0;
}

static void list_plan(const dlgn_sweep_plan *p) {
  static const char *states[] = {"new", "interrupted", "finished"};
  printf("%s: %d runs in %s/runs\n", p->name, p->nruns, p->out_dir);
  for (int i = 0; i < p->nruns; i++) {
    const dlgn_sweep_run *r = &p->runs[i];
    printf("  %-11s wave %d  %s", states[dlgn_sweep_run_state(r->cfg.run.run_dir, r->cfg.epochs)],
           dlgn_sweep_run_wave(r), r->name);
    if (r->source >= 0) printf("  (gates of %s)", p->runs[r->source].name);
    putchar('\n');
  }
}

/* OUT/sweep.json: the sweep file beside its results (--merge reads its name). */
static int keep_sweep_file(const char *file, const char *out) {
  char *text, path[1200];
  size_t len;
  DLGN_TRY(dlgn_mkdir_p(out));
  DLGN_TRY(dlgn_read_file(file, "sweep file", DLGN_MAX_SWEEP_BYTES, &text, &len));
  snprintf(path, sizeof path, "%s/sweep.json", out);
  int rc = dlgn_write_file_atomic(path, text, len);
  free(text);
  return rc;
}

int cmd_sweep(int argc, char **argv) {
  sweep_args a;
  bool help;
  if (parse_args(argc, argv, &a, &help) != 0) return cli_report_error();
  if (help) {
    sweep_usage();
    return 0;
  }
  if (a.merge) {
    if (dlgn_sweep_merge((const char *const *)argv + optind, argc - optind, a.out, &a.run) != 0)
      return cli_report_error();
    return 0;
  }
  const char *file = argv[optind];
  dlgn_sweep_plan p;
  if (dlgn_sweep_plan_load(&p, file, a.out) != 0) return cli_report_error();
  if (a.device) dlgn_sweep_plan_set_device(&p, a.device);
  for (int i = 0; i < p.nnotes; i++) fprintf(stderr, "dlgn: note: %s\n", p.notes[i]);
  int rc = 0;
  if (a.list) list_plan(&p);
  else if (a.emit) rc = emit_jobs(&p, &a) || keep_sweep_file(file, a.out) ? -1 : 0;
  else if (a.slurm) rc = emit_slurm(&p, &a) || keep_sweep_file(file, a.out) ? -1 : 0;
  else rc = keep_sweep_file(file, a.out) || dlgn_sweep_execute(&p, &a.run) ? -1 : 0;
  dlgn_sweep_plan_free(&p);
  return rc ? cli_report_error() : 0;
}
