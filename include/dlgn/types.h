/* Small plain types shared by several stages. */
#ifndef DLGN_TYPES_H
#define DLGN_TYPES_H

#include <stdint.h>

/* One augmentation choice per image, drawn on the host from the seeded
 * batcher and applied on the device: the image is zero-padded and shifted by
 * (dy, dx) in [-pad, pad] (a random crop), then mirrored when flip != 0. */
typedef struct {
  int32_t dy, dx, flip;
} dlgn_aug;

#endif
