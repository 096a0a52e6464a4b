/* The input op: uint8 images as uploaded -> normalised floats, with the
 * batcher's crop shift and mirror applied on the way (see dlgn_input_ref in
 * data.h for the exact definition and its C twin). */

/* x8 (N,3,H,W) bytes, aug (N) x {dy,dx,flip} ints -> out (N,3,H,W) or (3,N,H,W) */
__kernel void input_forward(__global float *out, ulong out_off, __global const uchar *x8,
                            ulong x8_off, __global const int *aug, ulong aug_off, int has_aug,
                            int N, int H, int W, float m0, float m1, float m2, float s0,
                            float s1, float s2, int cnhw) {
  int i = GID0;
  if (i >= N * 3 * H * W) return;
  out += out_off;
  x8 += x8_off;
  int x = i % W, t = i / W;
  int y = t % H;
  t /= H;
  int n = cnhw ? t % N : t / 3;
  int c = cnhw ? t / N : t % 3;
  int dy = 0, dx = 0, flip = 0;
  if (has_aug) {
    __global const int *a = aug + 3 * (aug_off + n); /* aug_off counts dlgn_aug */
    dy = a[0];
    dx = a[1];
    flip = a[2];
  }
  int sy = y + dy, sx = (flip ? W - 1 - x : x) + dx;
  float raw = 0.0f;
  if (sy >= 0 && sy < H && sx >= 0 && sx < W) raw = (float)x8[((n * 3 + c) * H + sy) * W + sx];
  float mean = c == 0 ? m0 : (c == 1 ? m1 : m2);
  float sd = c == 0 ? s0 : (c == 1 ? s1 : s2);
  out[i] = (raw / 255.0f - mean) / sd;
}

/* out (n) = value */
__kernel void fill_forward(__global float *out, ulong out_off, int n, float value) {
  int i = GID0;
  if (i < n) out[out_off + i] = value;
}

/* x (C, 1, P) -> y (C, N, P): every image the same (the constant-1 value
 * input's first layer, computed for one image). A work-item copies 16
 * positions of one image as one vector (the plane's tail lane by lane). */
__kernel void repeat_images_forward(__global float *y, ulong y_off, __global const float *x,
                                    ulong x_off, int C, int N, int P) {
  int p0 = 16 * GID0, n = GID1, c = GID2;
  if (p0 >= P || n >= N || c >= C) return;
  __global const float *src = x + x_off + (size_t)c * P + p0;
  __global float *dst = y + y_off + ((size_t)c * N + n) * P + p0;
  if (p0 + 16 <= P) {
    vstore16(vload16(0, src), 0, dst);
  } else {
    for (int i = 0; i < P - p0; i++) dst[i] = src[i];
  }
}

/* dy (C, N, P) -> dx (C, 1, P) = the sum over the images; a work-item sums
 * 16 positions as one vector down the images */
__kernel void repeat_images_backward(__global float *dx, ulong dx_off, __global const float *dy,
                                     ulong dy_off, int C, int N, int P) {
  int p0 = 16 * GID0, c = GID1;
  if (p0 >= P || c >= C) return;
  __global const float *src = dy + dy_off + (size_t)c * N * P + p0;
  __global float *dst = dx + dx_off + (size_t)c * P + p0;
  if (p0 + 16 <= P) {
    float16 s = (float16)(0.0f);
    for (int n = 0; n < N; n++) s += vload16(0, src + (size_t)n * P);
    vstore16(s, 0, dst);
  } else {
    for (int i = 0; i < P - p0; i++) {
      float s = 0.0f;
      for (int n = 0; n < N; n++) s += src[(size_t)n * P + i];
      dst[i] = s;
    }
  }
}
