/* Softmax cross-entropy with a numerically safe log-sum-exp. */

/* logits (N,K), labels (N) -> loss[0] = mean cross-entropy, correct[0] += argmax
 * hits. One work-group (N is a batch); a label outside 0..K-1 makes the loss
 * NaN rather than reading out of bounds. */
__kernel void xent_forward(__global float *loss, ulong loss_off, __global int *correct,
                           ulong correct_off, __global const float *logits, ulong logits_off,
                           __global const int *labels, ulong labels_off, int N, int K) {
  __local float scratch[DLGN_RED_WG];
  int l = (int)get_local_id(0), ls = (int)get_local_size(0);
  float total = 0.0f, hits = 0.0f;
  for (int n = l; n < N; n += ls) {
    __global const float *z = logits + logits_off + (size_t)n * K;
    int best = 0;
    for (int k = 1; k < K; k++)
      if (z[k] > z[best]) best = k;
    float s = 0.0f;
    for (int k = 0; k < K; k++) s += exp(z[k] - z[best]);
    int y = labels[labels_off + n];
    if (y < 0 || y >= K) {
      total = NAN;
      continue;
    }
    total += z[best] + log(s) - z[y];
    hits += best == y ? 1.0f : 0.0f;
  }
  total = dlgn_wg_sum(scratch, total);
  hits = dlgn_wg_sum(scratch, hits); /* exact: integers below 2^24 */
  if (l == 0) {
    loss[loss_off] = total / (float)N;
    correct[correct_off] += (int)hits;
  }
}

/* -> dlogits (N,K) = (softmax - onehot) / N, one work-item per row */
__kernel void xent_backward(__global float *dlogits, ulong dlogits_off,
                            __global const float *logits, ulong logits_off,
                            __global const int *labels, ulong labels_off, int N, int K) {
  int n = GID0;
  if (n >= N) return;
  __global const float *z = logits + logits_off + (size_t)n * K;
  __global float *d = dlogits + dlogits_off + (size_t)n * K;
  float mx = z[0];
  for (int k = 1; k < K; k++) mx = fmax(mx, z[k]);
  float s = 0.0f;
  for (int k = 0; k < K; k++) s += exp(z[k] - mx);
  int y = labels[labels_off + n];
  float inv = 1.0f / (float)N;
  for (int k = 0; k < K; k++) d[k] = (exp(z[k] - mx) / s - (k == y ? 1.0f : 0.0f)) * inv;
}
