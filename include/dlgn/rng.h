/* Deterministic random numbers, identical on every platform: xoshiro256**
 * seeded through splitmix64. Used for shuffles, augmentation choices, weight
 * initialisation and synthetic data, so that a seed fixes a whole run. */
#ifndef DLGN_RNG_H
#define DLGN_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t s[4];
} dlgn_rng;

/* The state for seed (any value, 0 included). */
void dlgn_rng_seed(dlgn_rng *r, uint64_t seed);
/* The next 64 random bits. */
uint64_t dlgn_rng_next(dlgn_rng *r);
/* Uniform integer in [0, n), unbiased (n > 0). */
uint32_t dlgn_rng_below(dlgn_rng *r, uint32_t n);
/* Uniform float in [0, 1). */
float dlgn_rng_uniform(dlgn_rng *r);
/* Standard normal (Box-Muller, one value per call). */
float dlgn_rng_normal(dlgn_rng *r);
/* Fisher-Yates shuffle of idx[0..n). */
void dlgn_rng_shuffle(dlgn_rng *r, uint32_t *idx, size_t n);

#endif
