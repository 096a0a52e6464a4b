/* The C twin of the device input op (cl/input.cl): normalise, crop, flip. The
 * arithmetic is the kernel's, in float and in the same order, so that the two
 * agree to the last bit or two. */
#include <stddef.h>

#include "dlgn/data.h"

void dlgn_input_ref(float *out, const uint8_t *x8, const dlgn_aug *aug, int n, const float mean[3],
                    const float std[3], bool cnhw) {
  const int H = DLGN_IMAGE_H, W = DLGN_IMAGE_W;
  for (int i = 0; i < n; i++) {
    dlgn_aug a = aug ? aug[i] : (dlgn_aug){0, 0, 0};
    for (int c = 0; c < 3; c++)
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
          int sy = y + a.dy, sx = (a.flip ? W - 1 - x : x) + a.dx;
          float raw = 0.0f;
          if (sy >= 0 && sy < H && sx >= 0 && sx < W)
            raw = (float)x8[(((size_t)i * 3 + c) * H + sy) * W + sx];
          size_t o = cnhw ? (((size_t)c * n + i) * H + y) * W + x
                          : (((size_t)i * 3 + c) * H + y) * W + x;
          out[o] = (raw / 255.0f - mean[c]) / std[c];
        }
  }
}
