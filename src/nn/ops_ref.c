/* The C twins of the device ops: obvious loops in double precision. */
#include "nn/ops_ref.h"

#include <math.h>
#include <string.h>

void fill_forward_ref(double *out, size_t n, double value) {
  for (size_t i = 0; i < n; i++) out[i] = value;
}

void repeat_images_forward_ref(double *y, const double *x, int C, int N, int P) {
  for (int c = 0; c < C; c++)
    for (int n = 0; n < N; n++)
      for (int p = 0; p < P; p++) y[((size_t)c * N + n) * P + p] = x[(size_t)c * P + p];
}

void repeat_images_backward_ref(double *dx, const double *dy, int C, int N, int P) {
  for (int c = 0; c < C; c++)
    for (int p = 0; p < P; p++) {
      double s = 0;
      for (int n = 0; n < N; n++) s += dy[((size_t)c * N + n) * P + p];
      dx[(size_t)c * P + p] = s;
    }
}

/* ---- dense ---- */

void dense_forward_ref(double *y, const double *x, const double *w, const double *b, int N, int IN,
                       int OUT) {
  for (int n = 0; n < N; n++)
    for (int o = 0; o < OUT; o++) {
      double s = b[o];
      for (int i = 0; i < IN; i++) s += x[(size_t)n * IN + i] * w[(size_t)o * IN + i];
      y[(size_t)n * OUT + o] = s;
    }
}

void dense_backward_ref(double *dx, double *dw, double *db, const double *dy, const double *x,
                        const double *w, int N, int IN, int OUT) {
  for (int o = 0; o < OUT; o++) {
    double s = 0;
    for (int n = 0; n < N; n++) s += dy[(size_t)n * OUT + o];
    db[o] = s;
    for (int i = 0; i < IN; i++) {
      double t = 0;
      for (int n = 0; n < N; n++) t += dy[(size_t)n * OUT + o] * x[(size_t)n * IN + i];
      dw[(size_t)o * IN + i] = t;
    }
  }
  if (!dx) return;
  for (int n = 0; n < N; n++)
    for (int i = 0; i < IN; i++) {
      double s = 0;
      for (int o = 0; o < OUT; o++) s += dy[(size_t)n * OUT + o] * w[(size_t)o * IN + i];
      dx[(size_t)n * IN + i] = s;
    }
}

/* ---- convolution ---- */

void conv2d_forward_ref(double *y, const double *x, const double *w, const double *b,
                        const ocl_conv_shape *s) {
  int HO = conv2d_out_h(s), WO = conv2d_out_w(s), k = s->k;
  for (int oc = 0; oc < s->OC; oc++)
    for (int n = 0; n < s->N; n++)
      for (int oy = 0; oy < HO; oy++)
        for (int ox = 0; ox < WO; ox++) {
          double acc = b[oc];
          for (int c = 0; c < s->C; c++)
            for (int ky = 0; ky < k; ky++) {
              int iy = oy * s->stride - s->pad + ky;
              if (iy < 0 || iy >= s->H) continue;
              for (int kx = 0; kx < k; kx++) {
                int ix = ox * s->stride - s->pad + kx;
                if (ix < 0 || ix >= s->W) continue;
                acc += w[(((size_t)oc * s->C + c) * k + ky) * k + kx] *
                       x[(((size_t)c * s->N + n) * s->H + iy) * s->W + ix];
              }
            }
          y[(((size_t)oc * s->N + n) * HO + oy) * WO + ox] = acc;
        }
}

void conv2d_backward_ref(double *dx, double *dw, double *db, const double *dy, const double *x,
                         const double *w, const ocl_conv_shape *s) {
  int HO = conv2d_out_h(s), WO = conv2d_out_w(s), k = s->k;
  size_t nw = (size_t)s->OC * s->C * k * k;
  memset(dw, 0, nw * sizeof *dw);
  memset(db, 0, (size_t)s->OC * sizeof *db);
  if (dx) memset(dx, 0, (size_t)s->C * s->N * s->H * s->W * sizeof *dx);
  for (int oc = 0; oc < s->OC; oc++)
    for (int n = 0; n < s->N; n++)
      for (int oy = 0; oy < HO; oy++)
        for (int ox = 0; ox < WO; ox++) {
          double g = dy[(((size_t)oc * s->N + n) * HO + oy) * WO + ox];
          db[oc] += g;
          for (int c = 0; c < s->C; c++)
            for (int ky = 0; ky < k; ky++) {
              int iy = oy * s->stride - s->pad + ky;
              if (iy < 0 || iy >= s->H) continue;
              for (int kx = 0; kx < k; kx++) {
                int ix = ox * s->stride - s->pad + kx;
                if (ix < 0 || ix >= s->W) continue;
                size_t wi = (((size_t)oc * s->C + c) * k + ky) * k + kx;
                size_t xi = (((size_t)c * s->N + n) * s->H + iy) * s->W + ix;
                dw[wi] += g * x[xi];
                if (dx) dx[xi] += g * w[wi];
              }
            }
        }
}

/* ---- gating, permutation, ReLU ---- */

static double sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + exp(-z));
  double e = exp(z);
  return e / (1.0 + e);
}

void gate_forward_ref(double *out, const double *v, const double *q, size_t n, double beta,
                      dlgn_gate_kind kind) {
  for (size_t i = 0; i < n; i++)
    out[i] = v[i] * (kind == DLGN_GATE_HARD ? (q[i] > 0 ? 1.0 : 0.0) : sigmoid(beta * q[i]));
}

void gate_backward_ref(double *dv, double *dq, const double *dout, const double *v,
                       const double *q, size_t n, double beta, dlgn_gate_kind kind) {
  for (size_t i = 0; i < n; i++) {
    if (kind == DLGN_GATE_HARD) {
      dv[i] = q[i] > 0 ? dout[i] : 0.0;
      if (dq) dq[i] = 0.0;
    } else {
      double g = sigmoid(beta * q[i]);
      dv[i] = dout[i] * g;
      if (dq) dq[i] = dout[i] * v[i] * beta * g * (1.0 - g);
    }
  }
}

void permute_channels_forward_ref(double *y, const double *x, const int *perm, int outer, int C,
                                  int inner) {
  for (int o = 0; o < outer; o++)
    for (int c = 0; c < C; c++)
      for (int i = 0; i < inner; i++)
        y[((size_t)o * C + c) * inner + i] = x[((size_t)o * C + perm[c]) * inner + i];
}

void permute_channels_backward_ref(double *dx, const double *dy, const int *perm, int outer, int C,
                                   int inner) {
  for (int o = 0; o < outer; o++)
    for (int c = 0; c < C; c++)
      for (int i = 0; i < inner; i++)
        dx[((size_t)o * C + perm[c]) * inner + i] = dy[((size_t)o * C + c) * inner + i];
}

void relu_forward_ref(double *y, const double *x, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.0;
}

void relu_backward_ref(double *dx, const double *dy, const double *x, size_t n) {
  for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : 0.0;
}

/* ---- pooling ---- */

void avgpool2_forward_ref(double *y, const double *x, int P, int H, int W) {
  int HO = H / 2, WO = W / 2;
  for (int p = 0; p < P; p++)
    for (int oy = 0; oy < HO; oy++)
      for (int ox = 0; ox < WO; ox++) {
        const double *r = x + ((size_t)p * H + 2 * oy) * W + 2 * ox;
        y[((size_t)p * HO + oy) * WO + ox] = 0.25 * (r[0] + r[1] + r[W] + r[W + 1]);
      }
}

void avgpool2_backward_ref(double *dx, const double *dy, int P, int H, int W) {
  int HO = H / 2, WO = W / 2;
  for (int p = 0; p < P; p++)
    for (int iy = 0; iy < H; iy++)
      for (int ix = 0; ix < W; ix++)
        dx[((size_t)p * H + iy) * W + ix] = 0.25 * dy[((size_t)p * HO + iy / 2) * WO + ix / 2];
}

void subsample2_forward_ref(double *y, const double *x, int P, int H, int W) {
  int HO = H / 2, WO = W / 2;
  for (int p = 0; p < P; p++)
    for (int oy = 0; oy < HO; oy++)
      for (int ox = 0; ox < WO; ox++)
        y[((size_t)p * HO + oy) * WO + ox] = x[((size_t)p * H + 2 * oy) * W + 2 * ox];
}

void subsample2_backward_ref(double *dx, const double *dy, int P, int H, int W) {
  int HO = H / 2, WO = W / 2;
  for (int p = 0; p < P; p++)
    for (int iy = 0; iy < H; iy++)
      for (int ix = 0; ix < W; ix++)
        dx[((size_t)p * H + iy) * W + ix] =
            iy % 2 || ix % 2 ? 0 : dy[((size_t)p * HO + iy / 2) * WO + ix / 2];
}

void shortcut_add_forward_ref(double *y, const double *x, int C, int OC, int N, int H, int W,
                              int s) {
  int HO = H / s, WO = W / s;
  (void)OC;
  for (int p = 0; p < C * N; p++)
    for (int oy = 0; oy < HO; oy++)
      for (int ox = 0; ox < WO; ox++)
        y[((size_t)p * HO + oy) * WO + ox] += x[((size_t)p * H + s * oy) * W + s * ox];
}

void shortcut_add_backward_ref(double *dx, const double *dy, int C, int OC, int N, int H, int W,
                               int s) {
  int HO = H / s, WO = W / s;
  (void)OC;
  for (int p = 0; p < C * N; p++)
    for (int iy = 0; iy < H; iy++)
      for (int ix = 0; ix < W; ix++)
        dx[((size_t)p * H + iy) * W + ix] =
            iy % s || ix % s ? 0.0 : dy[((size_t)p * HO + iy / s) * WO + ix / s];
}

void gap_forward_ref(double *y, const double *x, int C, int N, int HW) {
  for (int c = 0; c < C; c++)
    for (int n = 0; n < N; n++) {
      double s = 0;
      for (int i = 0; i < HW; i++) s += x[((size_t)c * N + n) * HW + i];
      y[(size_t)n * C + c] = s / HW;
    }
}

void gap_backward_ref(double *dx, const double *dy, int C, int N, int HW) {
  for (int c = 0; c < C; c++)
    for (int n = 0; n < N; n++)
      for (int i = 0; i < HW; i++) dx[((size_t)c * N + n) * HW + i] = dy[(size_t)n * C + c] / HW;
}

/* ---- batch norm ---- */

void batchnorm_forward_ref(double *y, const double *x, const double *gamma, const double *beta,
                           double *running_mean, double *running_var, double *save_mean,
                           double *save_invstd, int C, int M, double momentum, double eps,
                           bool training) {
  for (int c = 0; c < C; c++) {
    const double *xc = x + (size_t)c * M;
    double mean, invstd;
    if (training) {
      double s = 0, ss = 0;
      for (int i = 0; i < M; i++) s += xc[i];
      mean = s / M;
      for (int i = 0; i < M; i++) ss += (xc[i] - mean) * (xc[i] - mean);
      double var = ss / M;
      invstd = 1.0 / sqrt(var + eps);
      double unbiased = M > 1 ? ss / (M - 1) : var;
      running_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean;
      running_var[c] = (1 - momentum) * running_var[c] + momentum * unbiased;
      if (save_mean) save_mean[c] = mean;
      if (save_invstd) save_invstd[c] = invstd;
    } else {
      mean = running_mean[c];
      invstd = 1.0 / sqrt(running_var[c] + eps);
    }
    for (int i = 0; i < M; i++) y[(size_t)c * M + i] = (xc[i] - mean) * invstd * gamma[c] + beta[c];
  }
}

void batchnorm_backward_ref(double *dx, double *dgamma, double *dbeta, const double *dy,
                            const double *x, const double *gamma, const double *save_mean,
                            const double *save_invstd, int C, int M) {
  for (int c = 0; c < C; c++) {
    const double *xc = x + (size_t)c * M, *g = dy + (size_t)c * M;
    double mean = save_mean[c], invstd = save_invstd[c];
    double sg = 0, sgx = 0;
    for (int i = 0; i < M; i++) {
      sg += g[i];
      sgx += g[i] * (xc[i] - mean) * invstd;
    }
    dbeta[c] = sg;
    dgamma[c] = sgx;
    /* d/dx of gamma*xhat with xhat depending on the batch mean and variance */
    for (int i = 0; i < M; i++) {
      double xhat = (xc[i] - mean) * invstd;
      dx[(size_t)c * M + i] = gamma[c] * invstd * (g[i] - sg / M - xhat * sgx / M);
    }
  }
}

/* ---- loss ---- */

double xent_forward_ref(int *correct, const double *logits, const int *labels, int N, int K) {
  double total = 0;
  for (int n = 0; n < N; n++) {
    const double *z = logits + (size_t)n * K;
    int best = 0;
    for (int k = 1; k < K; k++)
      if (z[k] > z[best]) best = k;
    double s = 0;
    for (int k = 0; k < K; k++) s += exp(z[k] - z[best]);
    total += z[best] + log(s) - z[labels[n]];
    if (correct && best == labels[n]) (*correct)++;
  }
  return total / N;
}

void xent_backward_ref(double *dlogits, const double *logits, const int *labels, int N, int K) {
  for (int n = 0; n < N; n++) {
    const double *z = logits + (size_t)n * K;
    double mx = z[0], s = 0;
    for (int k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
    for (int k = 0; k < K; k++) s += exp(z[k] - mx);
    for (int k = 0; k < K; k++)
      dlogits[(size_t)n * K + k] = (exp(z[k] - mx) / s - (k == labels[n] ? 1.0 : 0.0)) / N;
  }
}

/* ---- optimizers ---- */

void sgd_update_ref(double *params, const double *grads, double *mom, size_t n, double lr,
                    double momentum, double weight_decay, bool nesterov, bool first_step) {
  for (size_t i = 0; i < n; i++) {
    double g = grads[i] + weight_decay * params[i];
    double step = g;
    if (momentum != 0) {
      mom[i] = first_step ? g : momentum * mom[i] + g;
      step = nesterov ? g + momentum * mom[i] : mom[i];
    }
    params[i] -= lr * step;
  }
}

void adam_update_ref(double *params, const double *grads, double *m, double *v, size_t n,
                     double lr, double beta1, double beta2, double eps, double weight_decay,
                     int t) {
  double step_size = lr / (1 - pow(beta1, t));
  double bc2_sqrt = sqrt(1 - pow(beta2, t));
  for (size_t i = 0; i < n; i++) {
    double g = grads[i] + weight_decay * params[i];
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    params[i] -= step_size * m[i] / (sqrt(v[i]) / bc2_sqrt + eps);
  }
}

void axpy_ref(double *y, const double *x, size_t n, double alpha) {
  for (size_t i = 0; i < n; i++) y[i] += alpha * x[i];
}
