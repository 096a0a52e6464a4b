/* The ops of dlgn's models, on any OpenCL device. Each op is a
 * forward/backward pair (or a single update) enqueued on dev->queue without
 * waiting: no host round trip, no allocation, no kernel build per call (the
 * kernels come from the ops program, built once). Each has a plain C twin in
 * ops_ref.h and a test on every device against it.
 *
 * Layouts: dense activations are (N,F) row-major; convolutional activations
 * are (C,N,H,W) ("CNHW"), so a 3x3 convolution of a whole batch is one GEMM
 * of (OC, C*9) x (C*9, N*H*W) with no transposes. Offsets count floats. */
#ifndef NN_OPS_H
#define NN_OPS_H

#include <stdbool.h>

#include "cl/device.h"
#include "dlgn/types.h"

/* A float array on the device: buffer plus offset in floats. */
typedef struct {
  cl_mem mem;
  size_t off;
} nn_buf;

static inline nn_buf nn_at(nn_buf b, size_t floats) {
  return (nn_buf){b.mem, b.off + floats};
}

/* ---- input ---- */
/* dlgn_aug (types.h): per-image crop shift and flip, 3 ints, drawn by the batcher. */

/* x8 (N,3,H,W) uint8 at byte offset x8_off, aug (N) dlgn_aug at element aug_off or NULL,
 * mean/std per channel of x/255 -> out (N,3*H*W) when !cnhw, (3,N,H,W) when cnhw */
int input_forward(dlgn_device *dev, nn_buf out, cl_mem x8, size_t x8_off, cl_mem aug,
                  size_t aug_off, int N,
                  int H, int W, const float mean[3], const float std[3], bool cnhw);

/* out (n) = value: the constant-1 value input, and resets */
int fill_forward(dlgn_device *dev, nn_buf out, size_t n, float value);
/* x (C,1,P) -> y (C,N,P), the same for every image (a dense layer's (N,OUT)
 * output is C=1, P=OUT) */
int repeat_images_forward(dlgn_device *dev, nn_buf y, nn_buf x, int C, int N, int P);
/* dy (C,N,P) -> dx (C,1,P) = the sum over the images */
int repeat_images_backward(dlgn_device *dev, nn_buf dx, nn_buf dy, int C, int N, int P);

/* ---- dense ---- */
/* x (N,IN), w (OUT,IN), b (OUT) -> y (N,OUT) */
int dense_forward(dlgn_device *dev, nn_buf y, nn_buf x, nn_buf w, nn_buf b, int N, int IN,
                  int OUT);
/* dy (N,OUT) -> dw (OUT,IN), db (OUT) (overwritten), dx (N,IN) (NULL mem: skipped;
 * accumulate_dx: dx += instead of dx =) */
int dense_backward(dlgn_device *dev, nn_buf dx, nn_buf dw, nn_buf db, nn_buf dy,
                   nn_buf x, nn_buf w, int N, int IN, int OUT, bool accumulate_dx);

/* ---- convolution ---- */
/* ocl_conv_shape (the geometry of one call) is in cl/device.h, beside the
 * record of calls and the strategy names the tuning file shares. */

int conv2d_out_h(const ocl_conv_shape *s);
int conv2d_out_w(const ocl_conv_shape *s);
/* Floats of scratch the conv needs on this device (im2col columns, partial
 * weight gradients, Winograd's transforms, or nothing); the caller
 * allocates the largest once and passes it to every conv. */
int conv2d_scratch_floats(dlgn_device *dev, const ocl_conv_shape *s, size_t *out);

/* The strategy the device runs for the forward pass of s: "rows", "flat",
 * "batch", "winograd", "direct" or "im2col+gemm". Each pass (forward, dx,
 * dw) takes, where it fits: the device's forced strategy (dev->conv, from
 * $DLGN_CONV), else the entry `dlgn tune` measured for this shape, else the
 * built-in choice (conv_plan_builtin in ops_conv.c). */
int conv2d_forward_strategy(dlgn_device *dev, const ocl_conv_shape *s, const char **out);
/* "FWD/DX/DW" strategies of s on a device not opened (dlgn devices), with
 * " (tuned)" when t's entry decided them; t may be NULL. */
struct ocl_tuning;
void conv2d_describe_plan(const dlgn_device_info *info, const ocl_conv_options *o,
                          const struct ocl_tuning *t, const ocl_conv_shape *s, char *out,
                          size_t size);

/* What a forward convolution writes besides y: nothing; out = y * gate(g)
 * (soft: sigmoid(beta g), hard: g > 0), as gate_forward; out = relu(y), as
 * relu_forward. The row and batch kernels do it as they store y; the other
 * strategies run that op after the convolution. */
typedef enum { CONV_EPI_NONE = 0, CONV_EPI_GATE, CONV_EPI_RELU } conv_epilogue_kind;
typedef struct {
  conv_epilogue_kind kind;
  nn_buf out, g; /* (OC,N,HO,WO) each; g for the gate only */
  float beta;
  dlgn_gate_kind gates;
} conv_epilogue;

/* x (C,N,H,W), w (OC,C,k,k), b (OC) -> y (OC,N,HO,WO) */
int conv2d_forward(dlgn_device *dev, nn_buf y, nn_buf x, nn_buf w, nn_buf b,
                   nn_buf scratch, const ocl_conv_shape *s);
/* The same, and e's output (e NULL: none) */
int conv2d_forward_fused(dlgn_device *dev, nn_buf y, nn_buf x, nn_buf w, nn_buf b,
                         nn_buf scratch, const ocl_conv_shape *s, const conv_epilogue *e);
/* dy (OC,N,HO,WO) -> dw (OC,C,k,k), db (OC) (overwritten), dx (C,N,H,W) (NULL mem:
 * skipped; accumulate_dx: dx += ) */
int conv2d_backward(dlgn_device *dev, nn_buf dx, nn_buf dw, nn_buf db, nn_buf dy,
                    nn_buf x, nn_buf w, nn_buf scratch, const ocl_conv_shape *s,
                    bool accumulate_dx);

/* ---- gating (the DGN's one nonlinearity) ---- */

/* v (n), q (n) -> out (n) = v * sigmoid(beta*q) (soft) or v * (q > 0) (hard) */
int gate_forward(dlgn_device *dev, nn_buf out, nn_buf v, nn_buf q, size_t n, float beta,
                 dlgn_gate_kind kind);
/* dout (n) -> dv (n) (overwritten), dq (n) (soft only; NULL mem: skipped;
 * accumulate_dq: dq += ). A hard gate has no gradient in q: its dq is left
 * alone when accumulating and zeroed otherwise. */
int gate_backward(dlgn_device *dev, nn_buf dv, nn_buf dq, nn_buf dout, nn_buf v,
                  nn_buf q, size_t n, float beta, dlgn_gate_kind kind, bool accumulate_dq);

/* Gate shuffling within a layer: x viewed as (outer, C, inner), perm (C) ints:
 * y[o,c,i] = x[o,perm[c],i]. Dense (N,C): outer=N, inner=1; CNHW: outer=1, inner=N*H*W. */
int permute_channels_forward(dlgn_device *dev, nn_buf y, nn_buf x, cl_mem perm, int outer,
                             int C, int inner);
/* dy -> dx[o,perm[c],i] = dy[o,c,i] (accumulate: +=) */
int permute_channels_backward(dlgn_device *dev, nn_buf dx, nn_buf dy, cl_mem perm, int outer,
                              int C, int inner, bool accumulate);

/* ---- ReLU ---- */
/* x (n) -> y (n) = max(x, 0) */
int relu_forward(dlgn_device *dev, nn_buf y, nn_buf x, size_t n);
/* dy (n) -> dx (n) = dy * (x > 0) (accumulate: +=) */
int relu_backward(dlgn_device *dev, nn_buf dx, nn_buf dy, nn_buf x, size_t n,
                  bool accumulate);

/* ---- pooling ---- */
/* x (P,H,W) (P = C*N planes) -> y (P,H/2,W/2), 2x2 average, H and W even */
int avgpool2_forward(dlgn_device *dev, nn_buf y, nn_buf x, int P, int H, int W);
/* dy (P,H/2,W/2) -> dx (P,H,W) (accumulate: +=) */
int avgpool2_backward(dlgn_device *dev, nn_buf dx, nn_buf dy, int P, int H, int W,
                      bool accumulate);
/* x (P,H,W) -> y (P,H/2,W/2): the even rows and columns, H and W even */
int subsample2_forward(dlgn_device *dev, nn_buf y, nn_buf x, int P, int H, int W);
/* dy (P,H/2,W/2) -> dx (P,H,W): dy at the even rows and columns, zero elsewhere */
int subsample2_backward(dlgn_device *dev, nn_buf dx, nn_buf dy, int P, int H, int W);
/* x (C,N,HW) -> y (N,C) mean over HW */
int gap_forward(dlgn_device *dev, nn_buf y, nn_buf x, int C, int N, int HW);
/* dy (N,C) -> dx (C,N,HW) = dy/HW (accumulate: +=) */
int gap_backward(dlgn_device *dev, nn_buf dx, nn_buf dy, int C, int N, int HW,
                 bool accumulate);
/* The last conv layer's gate_backward and relu_backward with dout the
 * gradient of gap_forward: dout (C,N,HW) = dh (N,C) / HW, computed in place of
 * gap_backward's output (HW a multiple of 16) */
int gate_backward_gap(dlgn_device *dev, nn_buf dv, nn_buf dq, nn_buf dh, nn_buf v,
                      nn_buf q, int C, int N, int HW, float beta, dlgn_gate_kind kind,
                      bool accumulate_dq);
int relu_backward_gap(dlgn_device *dev, nn_buf dx, nn_buf dh, nn_buf x, int C, int N,
                      int HW);

/* ---- residual shortcut (zero-padding, option A of the CIFAR ResNets) ---- */
/* x (C,N,H,W) -> y (OC,N,H/s,W/s) += x[c,n,s*i,s*j] for c < C (OC >= C: the
 * channels past C get nothing, the zero padding); s = stride */
int shortcut_add_forward(dlgn_device *dev, nn_buf y, nn_buf x, int C, int OC, int N, int H,
                         int W, int stride);
/* dy (OC,N,H/s,W/s) -> dx (C,N,H,W) = dy[c,n,i/s,j/s] where s divides i and j,
 * else 0 (accumulate: +=) */
int shortcut_add_backward(dlgn_device *dev, nn_buf dx, nn_buf dy, int C, int OC, int N, int H,
                          int W, int stride, bool accumulate);

/* ---- batch norm (VGG option), per channel of x viewed as (C, M) ---- */
/* training: batch statistics, saved mean/invstd (C) for backward, running
 * stats (C) updated with momentum; !training: running stats.
 * x (C,M), gamma (C), beta (C) -> y (C,M) */
int batchnorm_forward(dlgn_device *dev, nn_buf y, nn_buf x, nn_buf gamma, nn_buf beta,
                      nn_buf running_mean, nn_buf running_var, nn_buf save_mean,
                      nn_buf save_invstd, int C, int M, float momentum, float eps,
                      bool training);
/* The same, with a shortcut res (RC,M) (RC <= C; NULL mem: none) added to
 * y's first RC channels, and e's output (e NULL: none) from that y as y is
 * stored */
int batchnorm_forward_fused(dlgn_device *dev, nn_buf y, nn_buf x, nn_buf gamma,
                            nn_buf beta, nn_buf running_mean, nn_buf running_var,
                            nn_buf save_mean, nn_buf save_invstd, int C, int M,
                            float momentum, float eps, bool training, nn_buf res, int RC,
                            const conv_epilogue *e);
/* dy (C,M) -> dx (C,M), dgamma (C), dbeta (C) (overwritten), training-mode gradient */
int batchnorm_backward(dlgn_device *dev, nn_buf dx, nn_buf dgamma, nn_buf dbeta,
                       nn_buf dy, nn_buf x, nn_buf gamma, nn_buf save_mean,
                       nn_buf save_invstd, int C, int M);

/* ---- loss ---- */
/* logits (N,K), labels (N) ints -> loss[0] = mean cross-entropy (written),
 * correct[0] += number of argmax hits (an int buffer at int offset correct_off).
 * labels_off counts ints. A label outside 0..K-1 makes the loss NaN. */
int xent_forward(dlgn_device *dev, nn_buf loss, cl_mem correct, size_t correct_off,
                 nn_buf logits, cl_mem labels, size_t labels_off, int N, int K);
/* -> dlogits (N,K) = (softmax(logits) - onehot(labels)) / N */
int xent_backward(dlgn_device *dev, nn_buf dlogits, nn_buf logits, cl_mem labels,
                  size_t labels_off, int N, int K);

/* ---- optimizers, on a flat range of n parameters ---- */
/* PyTorch semantics: g = grad + wd*p; m = momentum*m + g (m = g on the first
 * step, first_step); p -= lr * (nesterov ? g + momentum*m : m) */
int sgd_update(dlgn_device *dev, nn_buf params, nn_buf grads, nn_buf mom, size_t n,
               float lr, float momentum, float weight_decay, bool nesterov, bool first_step);
/* PyTorch Adam (L2 weight decay added to the gradient), step t >= 1:
 * m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
 * p -= (lr/(1-b1^t)) * m / (sqrt(v)/sqrt(1-b2^t) + eps) */
int adam_update(dlgn_device *dev, nn_buf params, nn_buf grads, nn_buf m, nn_buf v,
                size_t n, float lr, float beta1, float beta2, float eps, float weight_decay,
                int t);

/* y (n) += alpha * x (n) */
int axpy(dlgn_device *dev, nn_buf y, nn_buf x, size_t n, float alpha);

#endif
