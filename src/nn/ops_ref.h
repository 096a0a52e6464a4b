/* Plain C twins of the ops of ops.h, in double precision on host arrays, with
 * the same shapes and semantics. They are the reference the device kernels are
 * tested against, and double precision makes finite-difference gradient checks
 * of the backward twins accurate. Backward twins overwrite their outputs (the
 * accumulate variants of the device ops are tested as old + twin); a NULL
 * output is skipped. The input op's twin is dlgn_input_ref (data.h). */
#ifndef NN_OPS_REF_H
#define NN_OPS_REF_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/ops.h"

/* out (n) = value */
void fill_forward_ref(double *out, size_t n, double value);
void repeat_images_forward_ref(double *y, const double *x, int C, int N, int P);
void repeat_images_backward_ref(double *dx, const double *dy, int C, int N, int P);

/* x (N,IN), w (OUT,IN), b (OUT) -> y (N,OUT) */
void dense_forward_ref(double *y, const double *x, const double *w, const double *b, int N, int IN,
                       int OUT);
/* dy (N,OUT) -> dx (N,IN), dw (OUT,IN), db (OUT) */
void dense_backward_ref(double *dx, double *dw, double *db, const double *dy, const double *x,
                        const double *w, int N, int IN, int OUT);

/* x (C,N,H,W), w (OC,C,k,k), b (OC) -> y (OC,N,HO,WO) */
void conv2d_forward_ref(double *y, const double *x, const double *w, const double *b,
                        const ocl_conv_shape *s);
/* dy (OC,N,HO,WO) -> dx (C,N,H,W), dw (OC,C,k,k), db (OC) */
void conv2d_backward_ref(double *dx, double *dw, double *db, const double *dy, const double *x,
                         const double *w, const ocl_conv_shape *s);

/* v, q (n) -> out (n) = v * sigmoid(beta*q) or v * (q > 0) */
void gate_forward_ref(double *out, const double *v, const double *q, size_t n, double beta,
                      dlgn_gate_kind kind);
/* dout (n) -> dv (n), dq (n) (zero for hard gates: the step has no gradient) */
void gate_backward_ref(double *dv, double *dq, const double *dout, const double *v,
                       const double *q, size_t n, double beta, dlgn_gate_kind kind);

/* x (outer,C,inner) -> y[o,c,i] = x[o,perm[c],i] */
void permute_channels_forward_ref(double *y, const double *x, const int *perm, int outer, int C,
                                  int inner);
/* dy -> dx[o,perm[c],i] = dy[o,c,i] */
void permute_channels_backward_ref(double *dx, const double *dy, const int *perm, int outer, int C,
                                   int inner);

/* x (n) -> y (n) = max(x, 0) */
void relu_forward_ref(double *y, const double *x, size_t n);
/* dy (n) -> dx (n) = dy * (x > 0) */
void relu_backward_ref(double *dx, const double *dy, const double *x, size_t n);

/* x (P,H,W) -> y (P,H/2,W/2) */
void avgpool2_forward_ref(double *y, const double *x, int P, int H, int W);
/* dy (P,H/2,W/2) -> dx (P,H,W) */
void avgpool2_backward_ref(double *dx, const double *dy, int P, int H, int W);
/* x (P,H,W) -> y (P,H/2,W/2) the even rows and columns; its backward */
void subsample2_forward_ref(double *y, const double *x, int P, int H, int W);
void subsample2_backward_ref(double *dx, const double *dy, int P, int H, int W);

/* x (C,N,H,W) -> y (OC,N,H/s,W/s) += x[c,n,s*i,s*j] for c < C */
void shortcut_add_forward_ref(double *y, const double *x, int C, int OC, int N, int H, int W,
                              int s);
/* dy (OC,N,H/s,W/s) -> dx (C,N,H,W) = dy[c,n,i/s,j/s] on the subsampled grid, else 0 */
void shortcut_add_backward_ref(double *dx, const double *dy, int C, int OC, int N, int H, int W,
                               int s);

/* x (C,N,HW) -> y (N,C) */
void gap_forward_ref(double *y, const double *x, int C, int N, int HW);
/* dy (N,C) -> dx (C,N,HW) */
void gap_backward_ref(double *dx, const double *dy, int C, int N, int HW);

/* x (C,M), gamma, beta (C) -> y (C,M); training: batch statistics written to
 * save_mean/save_invstd (may be NULL) and running stats updated (PyTorch:
 * running_var takes the unbiased variance); otherwise running stats. */
void batchnorm_forward_ref(double *y, const double *x, const double *gamma, const double *beta,
                           double *running_mean, double *running_var, double *save_mean,
                           double *save_invstd, int C, int M, double momentum, double eps,
                           bool training);
/* dy (C,M) -> dx (C,M), dgamma, dbeta (C), training-mode gradient */
void batchnorm_backward_ref(double *dx, double *dgamma, double *dbeta, const double *dy,
                            const double *x, const double *gamma, const double *save_mean,
                            const double *save_invstd, int C, int M);

/* logits (N,K), labels (N) -> mean cross-entropy; *correct += argmax hits
 * (correct may be NULL) */
double xent_forward_ref(int *correct, const double *logits, const int *labels, int N, int K);
/* -> dlogits (N,K) = (softmax - onehot) / N */
void xent_backward_ref(double *dlogits, const double *logits, const int *labels, int N, int K);

/* One step of the optimizers, as in ops.h (mom may be NULL when momentum == 0). */
void sgd_update_ref(double *params, const double *grads, double *mom, size_t n, double lr,
                    double momentum, double weight_decay, bool nesterov, bool first_step);
void adam_update_ref(double *params, const double *grads, double *m, double *v, size_t n,
                     double lr, double beta1, double beta2, double eps, double weight_decay, int t);

/* y (n) += alpha * x (n) */
void axpy_ref(double *y, const double *x, size_t n, double alpha);

#endif
