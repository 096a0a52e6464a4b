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

/* How a gate acts on its pre-activation q: soft, sigmoid(beta q); hard,
 * 1 when q > 0, else 0 (docs/model.md). */
typedef enum { DLGN_GATE_SOFT = 0, DLGN_GATE_HARD = 1 } dlgn_gate_kind;

#endif
