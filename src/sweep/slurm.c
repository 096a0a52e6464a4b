/* A sweep as Slurm job arrays (dlgn sweep --emit-slurm FILE): one bash
 * script that submits itself twice with sbatch, wave 1 as one array and
 * wave 2 as a second array that waits for the first (afterok), and that,
 * run inside an array task, execs the job line of its wave and index. The
 * job lines sit in the script as a case statement, so `bash -n` checks
 * every one of them and no line file has to travel with the jobs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlgn/status.h"
#include "dlgn/sweep.h"
#include "dlgn/util.h"

/* The sweep's name as a job name: Slurm puts it into the log file names. */
static void job_name(const char *sweep, char *out, size_t size) {
  snprintf(out, size, "dlgn-%s", sweep);
  for (char *c = out; *c; c++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *c)) *c = '_';
}

/* A name or path inside a comment line: a newline there would end the
 * comment and make the rest a command. */
static void comment_safe(const char *s, char *out, size_t size) {
  snprintf(out, size, "%s", s);
  for (char *c = out; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
}

static void header(FILE *f, const dlgn_sweep_plan *p, const int count[3]) {
  char name[sizeof p->name], out[sizeof p->out_dir];
  comment_safe(p->name, name, sizeof name);
  comment_safe(p->out_dir, out, sizeof out);
  fprintf(f,
          "#!/usr/bin/env bash\n"
          "# The dlgn sweep \"%s\" as Slurm job arrays: %d runs, %d in wave 1 and %d in wave 2.\n"
          "# Written by dlgn sweep --emit-slurm (docs/sweeps.md).\n"
          "#\n"
          "# Submit from a login node; the arguments go to both sbatch calls:\n"
          "#   bash THIS_FILE --partition=gpu --gres=gpu:1 --time=04:00:00\n"
          "# Wave 1 is one array job, one run per index. Wave 2, the fixed-learnt runs that\n"
          "# read wave 1's checkpoints, is a second array that starts only when every task\n"
          "# of the first has succeeded (--dependency=afterok). When both are done:\n"
          "#   dlgn sweep --merge %s --out %s\n"
          "# Each task writes its log to %s/slurm/JOBNAME-JOBID_INDEX.out.\n"
          "set -euo pipefail\n\n",
          name, p->nruns, count[1], count[2], out, out, out);
}

/* Inside an array task: the job line of this wave and index. */
static int task_part(FILE *f, const dlgn_sweep_plan *p, const char *program) {
  fprintf(f, "if [ -n \"${SLURM_ARRAY_TASK_ID:-}\" ] && [ -n \"${DLGN_SLURM_WAVE:-}\" ]; then\n"
             "  case \"$DLGN_SLURM_WAVE-$SLURM_ARRAY_TASK_ID\" in\n");
  for (int wave = 1; wave <= 2; wave++) {
    int index = 0;
    for (int i = 0; i < p->nruns; i++) {
      if (dlgn_sweep_run_wave(&p->runs[i]) != wave) continue;
      char *line;
      DLGN_TRY(dlgn_sweep_job_line(&p->runs[i], program, &line));
      fprintf(f, "    %d-%d) exec %s ;;\n", wave, ++index, line);
      free(line);
    }
  }
  fprintf(f, "    *) echo \"dlgn: no run for wave $DLGN_SLURM_WAVE, task\"\\\n"
             "         \"$SLURM_ARRAY_TASK_ID\" >&2; exit 1 ;;\n"
             "  esac\n"
             "fi\n\n");
  return 0;
}

/* On the login node: two sbatch calls, the second after the first. The
 * array ranges are written out, so the script says what it will submit. */
static void submit_part(FILE *f, const dlgn_sweep_plan *p, const int count[3], const char *cwd,
                        const char *logs) {
  char name[160], qcwd[4096 * 4 + 4], qlogs[5200 * 4 + 4];
  job_name(p->name, name, sizeof name);
  dlgn_sweep_shell_quote(cwd, qcwd, sizeof qcwd);
  dlgn_sweep_shell_quote(logs, qlogs, sizeof qlogs);
  fprintf(f, "mkdir -p %s\n", qlogs);
  for (int wave = 1; wave <= 2; wave++) {
    if (!count[wave]) continue;
    fprintf(f,
            "wave%d=$(sbatch --parsable --job-name=%s-w%d --chdir=%s \\\n"
            "  --output=%s/%%x-%%A_%%a.out --array=1-%d%s \\\n"
            "  --export=ALL,DLGN_SLURM_WAVE=%d \"$@\" \"$0\")\n"
            "wave%d=${wave%d%%%%;*} # --parsable prints JOBID[;CLUSTER]\n",
            wave, name, wave, qcwd, qlogs, count[wave],
            wave == 2 ? " --dependency=afterok:\"$wave1\"" : "", wave, wave, wave);
    if (wave == 1) fprintf(f, "echo \"wave 1: job $wave1, %d runs\"\n", count[1]);
    else
      fprintf(f, "echo \"wave 2: job $wave2, %d runs, once every task of job $wave1 has "
                 "succeeded\"\n", count[2]);
  }
}

int dlgn_sweep_write_slurm(const dlgn_sweep_plan *p, const char *program, const char *path) {
  int count[3] = {0};
  for (int i = 0; i < p->nruns; i++) count[dlgn_sweep_run_wave(&p->runs[i])]++;
  if (p->nruns == 0) return dlgn_fail("%s: the sweep %s has no runs to submit", path, p->name);
  /* Slurm starts a task in --chdir, and the job lines name OUT as given */
  char cwd[4096], logs[4096 + sizeof p->out_dir + 16];
  if (!getcwd(cwd, sizeof cwd))
    return dlgn_fail("%s: cannot name the working folder: %s", path, strerror(errno));
  snprintf(logs, sizeof logs, "%s%s%s/slurm", p->out_dir[0] == '/' ? "" : cwd,
           p->out_dir[0] == '/' ? "" : "/", p->out_dir);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return dlgn_fail("%s: cannot build the script: %s", path, strerror(errno));
  header(f, p, count);
  int rc = task_part(f, p, program);
  if (rc == 0) submit_part(f, p, count, cwd, logs);
  bool failed = ferror(f) != 0;
  if (fclose(f) != 0 || (failed && rc == 0))
    rc = dlgn_fail("%s: cannot build the script: out of memory", path);
  if (rc == 0) rc = dlgn_write_file_atomic(path, text, len);
  free(text);
  return rc;
}
