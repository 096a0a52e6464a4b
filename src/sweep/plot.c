/* tradeoff.png: test accuracy (hard gates) against the interpretability
 * order dnn < dgn < dlgn < dlgn-sf, one panel per architecture shape, one
 * series per mode (marker by mode: filled for image input, open for ones
 * input, dashed when shuffled), error bars = sample std over seeds. Written
 * as tradeoff.dat + tradeoff.gp and rendered by gnuplot through a pipe, so
 * that the chart can be re-rendered or restyled without the runs. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dlgn/status.h"
#include "dlgn/util.h"
#include "sweep_internal.h"

static const char *colors[] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a",
                               "#66a61e", "#e6ab02", "#a6761d", "#666666"};

/* A double-quoted gnuplot string. */
static void gp_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static int point_type(const dlgn_model_config *m) {
  int filled = m->mode == DLGN_JOINT ? 7 : m->mode == DLGN_FIXED_LEARNT ? 5 : 9;
  return m->value_input == DLGN_VALUE_ONES ? filled - 1 : filled;
}

/* One block per (panel, series) with data, in gnuplot's index order;
 * block[p * nseries + s] is its index, or -1. */
static int write_data(const sweep_report *rp, const char *path, int *block) {
  FILE *f = fopen(path, "w");
  if (!f) return dlgn_fail("cannot write %s: %s", path, strerror(errno));
  static const char *classes[] = {"dnn", "dgn", "dlgn", "dlgn-sf"};
  double step = rp->nseries > 1 ? 0.5 / rp->nseries : 0;
  if (step > 0.08) step = 0.08;
  fprintf(f,
          "# written by dlgn sweep, drawn by tradeoff.gp; one block (gnuplot index) per panel "
          "and series\n# x: class position (dnn 0, dgn 1, dlgn 2, dlgn-sf 3) shifted per "
          "series; test accuracy with hard gates, mean and sample std over seeds (%%)\n");
  int nblocks = 0;
  for (int p = 0; p < rp->npanels; p++)
    for (int s = 0; s < rp->nseries; s++) {
      block[p * rp->nseries + s] = -1;
      bool any = false;
      for (int c = 0; c < 4; c++)
        for (int g = 0; g < rp->ngroups; g++) {
          const sweep_group *G = &rp->groups[g];
          if (G->panel != p || G->series != s ||
              sweep_class_rank(rp->rows[G->first].cfg.model.cls) != c || !G->test_hard.n)
            continue;
          if (!any)
            fprintf(f, "%s# %s | %s\n", nblocks ? "\n\n" : "", rp->panels[p].label,
                    rp->series[s].label);
          any = true;
          fprintf(f, "%.4f %.4f %.4f %d %s\n", c + (s - (rp->nseries - 1) / 2.0) * step,
                  100 * sweep_stat_mean(&G->test_hard), 100 * sweep_stat_std(&G->test_hard),
                  G->nseeds, classes[c]);
        }
      if (any) block[p * rp->nseries + s] = nblocks++;
    }
  if (fclose(f) != 0) return dlgn_fail("cannot write %s", path);
  return 0;
}

/* The panel's points with a margin (and no empty range when they agree). */
static void panel_range(const sweep_report *rp, int p, double *lo, double *hi) {
  *lo = 100;
  *hi = 0;
  for (int g = 0; g < rp->ngroups; g++) {
    const sweep_group *G = &rp->groups[g];
    if (G->panel != p || !G->test_hard.n) continue;
    double m = 100 * sweep_stat_mean(&G->test_hard), d = 100 * sweep_stat_std(&G->test_hard);
    if (m - d < *lo) *lo = m - d;
    if (m + d > *hi) *hi = m + d;
  }
  if (*lo > *hi) *lo = 0, *hi = 100;
  *lo = *lo - 2 < 0 ? 0 : *lo - 2;
  *hi = *hi + 2 > 100 ? 100 : *hi + 2;
}

static int write_script(const sweep_report *rp, const char *path, const int *block,
                        const char *title) {
  FILE *f = fopen(path, "w");
  if (!f) return dlgn_fail("cannot write %s: %s", path, strerror(errno));
  int cols = rp->npanels < 3 ? rp->npanels : 3, rows = (rp->npanels + 2) / 3;
  fprintf(f,
          "# written by dlgn sweep; re-render in this folder with: gnuplot tradeoff.gp\n"
          "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
          "  set terminal pngcairo size %d,%d font \"sans,11\"\n"
          "} else {\n"
          "  set terminal png size %d,%d\n"
          "}\n"
          "set termoption noenhanced\n"
          "set output \"tradeoff.png\"\n"
          "set multiplot layout %d,%d title ",
          720 * cols, (520 + 18 * rp->nseries) * rows, 720 * cols, (520 + 18 * rp->nseries) * rows,
          rows, cols);
  char text[512];
  snprintf(text, sizeof text, "%s: test accuracy against interpretability", title);
  gp_string(f, text);
  fputc('\n', f);
  fprintf(f,
          "set xrange [-0.5:3.5]\n"
          "set xtics (\"dnn\" 0, \"dgn\" 1, \"dlgn\" 2, \"dlgn-sf\" 3)\n"
          "set xlabel \"model class (interpretability rises to the right)\"\n"
          "set ylabel \"test accuracy, hard gates (%%), mean and std over seeds\"\n"
          "set grid ytics\n"
          "set key below\n");
  for (int p = 0; p < rp->npanels; p++) {
    double lo, hi;
    panel_range(rp, p, &lo, &hi);
    fprintf(f, "set yrange [%.1f:%.1f]\nset title ", lo, hi);
    gp_string(f, rp->panels[p].label);
    fprintf(f, "\nplot");
    int k = 0;
    for (int s = 0; s < rp->nseries; s++) {
      int b = block[p * rp->nseries + s];
      if (b < 0) continue;
      const dlgn_model_config *m = &rp->rows[rp->series[s].rep].cfg.model;
      fprintf(f,
              "%s \"tradeoff.dat\" index %d using 1:2:3 with yerrorlines lc rgb \"%s\" pt %d "
              "ps 1.5 lw 1.5 dt %d title ",
              k++ ? ", \\\n    " : "", b, colors[s % 8], point_type(m),
              m->shuffle != DLGN_SHUFFLE_NONE ? 2 : 1);
      gp_string(f, rp->series[s].label);
    }
    fputc('\n', f);
  }
  fprintf(f, "unset multiplot\n");
  if (fclose(f) != 0) return dlgn_fail("cannot write %s", path);
  return 0;
}

static bool find_program(const char *name, char *out, size_t size) {
  const char *path = getenv("PATH");
  if (!path) return false;
  while (*path) {
    size_t len = strcspn(path, ":");
    snprintf(out, size, "%.*s/%s", (int)len, len ? path : ".", name);
    if (access(out, X_OK) == 0) return true;
    path += len + (path[len] == ':');
  }
  return false;
}

static int render(const char *out_dir) {
  char gnuplot[1200];
  if (!find_program("gnuplot", gnuplot, sizeof gnuplot)) {
    fprintf(stderr,
            "dlgn: note: gnuplot not found, so %s/tradeoff.png was not drawn (the results files "
            "are written); install gnuplot (Debian: gnuplot-nox) and run: cd %s && gnuplot "
            "tradeoff.gp\n",
            out_dir, out_dir);
    return 0;
  }
  char cmd[2500];
  dlgn_sweep_shell_quote(gnuplot, cmd, sizeof cmd);
  /* a gnuplot that dies early must not take the sweep down with SIGPIPE */
  struct sigaction ignore = {.sa_handler = SIG_IGN}, old;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, &old);
  FILE *g = popen(cmd, "w");
  if (!g) {
    sigaction(SIGPIPE, &old, NULL);
    return dlgn_fail("cannot start %s: %s", gnuplot, strerror(errno));
  }
  /* single-quoted gnuplot strings take everything literally but '' */
  fputs("cd '", g);
  for (const char *s = out_dir; *s; s++) {
    if (*s == '\'') fputc('\'', g);
    fputc(*s, g);
  }
  fputs("'\nload 'tradeoff.gp'\n", g);
  int status = pclose(g);
  sigaction(SIGPIPE, &old, NULL);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return dlgn_fail("gnuplot failed on %s/tradeoff.gp (exit status %d); its message is above",
                     out_dir, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}

int sweep_write_plot(const sweep_row *rows, int n, const char *out_dir, const char *title) {
  if (n == 0) return 0;
  sweep_report rp;
  int rc = -1;
  int *block = NULL;
  if (sweep_report_build(&rp, rows, n) != 0) goto done;
  block = malloc((size_t)(rp.npanels * rp.nseries) * sizeof *block);
  if (!block) {
    dlgn_fail("out of host memory drawing the plot");
    goto done;
  }
  char dat[1200], gp[1200];
  snprintf(dat, sizeof dat, "%s/tradeoff.dat", out_dir);
  snprintf(gp, sizeof gp, "%s/tradeoff.gp", out_dir);
  if (write_data(&rp, dat, block) != 0 || write_script(&rp, gp, block, title) != 0 ||
      render(out_dir) != 0)
    goto done;
  rc = 0;
done:
  free(block);
  sweep_report_free(&rp);
  return rc;
}
