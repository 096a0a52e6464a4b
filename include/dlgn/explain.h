/* The explain stage (SPEC section 5): effective filters of linear gating
 * networks, verified against the network's own gates; neural path kernel
 * summaries; gate statistics; a report. */
#ifndef DLGN_EXPLAIN_H
#define DLGN_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "dlgn/train.h"

/* Result of recomputing the gates of n images from the exported templates
 * alone and comparing them with the network's own hard gates. */
typedef struct {
  bool applicable; /* false for dnn/dgn: their gates are not hyperplanes */
  int nlayers;
  size_t compared[DLGN_MAX_LAYERS];
  size_t mismatched[DLGN_MAX_LAYERS];  /* gates that differ with |q| > eps */
  size_t near_zero[DLGN_MAX_LAYERS];   /* differences with |q| <= eps (allowed) */
  double agreement[DLGN_MAX_LAYERS];   /* fraction of gates equal */
  double eps;                          /* stated tolerance on |q| */
  bool passed;                         /* no mismatch beyond eps in any layer */
} dlgn_filter_check;

/* Run the check for a trained model (checkpoint ck already on the device as
 * m) on the first n images of split. */
int dlgn_explain_filter_check(dlgn_model *m, const dlgn_checkpoint *ck, const dlgn_split *split,
                              size_t n, dlgn_filter_check *out);

#endif
