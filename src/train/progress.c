#include "progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void train_progress_init(train_progress *p, int mode, bool quiet) {
  p->quiet = quiet;
  p->bar = !quiet && (mode == 1 || (mode < 0 && isatty(STDERR_FILENO)));
  p->width = 0;
}

static void clear_bar(train_progress *p) {
  if (p->bar && p->width) fprintf(stderr, "\r%*s\r", p->width, "");
  p->width = 0;
}

static void format_eta(char *out, size_t size, double s) {
  if (!(s >= 0) || s > 360000) {
    snprintf(out, size, "--:--");
    return;
  }
  int t = (int)(s + 0.5);
  if (t >= 3600) snprintf(out, size, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
  else snprintf(out, size, "%d:%02d", t / 60, t % 60);
}

void train_progress_step(train_progress *p, int epoch, int epochs, size_t done, size_t total,
                         double loss, double acc, double images_per_s, double eta_s) {
  if (!p->bar) return;
  enum { BAR = 24 };
  int filled = total ? (int)((double)done / (double)total * BAR) : 0;
  char bar[BAR + 1];
  for (int i = 0; i < BAR; i++) bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
  bar[BAR] = '\0';
  char eta[32];
  format_eta(eta, sizeof eta, eta_s);
  int n = fprintf(stderr, "\repoch %d/%d [%s] %3.0f%% loss %.4f acc %5.1f%% %6.0f img/s ETA %s ",
                  epoch, epochs, bar, total ? 100.0 * (double)done / (double)total : 0.0, loss,
                  100 * acc, images_per_s, eta);
  fflush(stderr);
  if (n > 0) p->width = n;
}

void train_progress_epoch(train_progress *p, int epochs, const dlgn_epoch_metrics *e, bool gated) {
  clear_bar(p);
  if (p->quiet) return;
  if (gated)
    printf("epoch %d/%d  loss %.4f  train acc %.2f%%  test acc soft %.2f%% hard %.2f%%  "
           "%.0f img/s  %.1f s\n",
           e->epoch, epochs, e->train_loss, 100 * e->train_acc, 100 * e->test_soft,
           100 * e->test_hard, e->images_per_s, e->seconds);
  else
    printf("epoch %d/%d  loss %.4f  train acc %.2f%%  test acc %.2f%%  %.0f img/s  %.1f s\n",
           e->epoch, epochs, e->train_loss, 100 * e->train_acc, 100 * e->test_hard,
           e->images_per_s, e->seconds);
  fflush(stdout);
}

void train_progress_note(train_progress *p, const char *fmt, ...) {
  clear_bar(p);
  if (p->quiet) return;
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  fflush(stdout);
}
