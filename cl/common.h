/* Prepended to every program. Kernels guard their own bounds because the host
 * rounds global sizes up to the work-group size. */
#define GID0 ((int)get_global_id(0))
#define GID1 ((int)get_global_id(1))
#define GID2 ((int)get_global_id(2))

/* Work-group size of the reduction kernels (the host launches a power of two
 * up to this). */
#define DLGN_RED_WG 256

/* Sum of v over a 1-D work-group whose size is a power of two <= DLGN_RED_WG;
 * every work-item gets the sum. A tree, so the result does not depend on
 * timing. Every work-item of the group must call it. */
float dlgn_wg_sum(__local float *scratch, float v) {
  int l = (int)get_local_id(0), n = (int)get_local_size(0);
  scratch[l] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int h = n / 2; h > 0; h >>= 1) {
    if (l < h) scratch[l] += scratch[l + h];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  float s = scratch[0];
  barrier(CLK_LOCAL_MEM_FENCE); /* the scratch may be reused right after */
  return s;
}

/* sigmoid without overflow: exp of a non-positive number only; a select,
 * not a branch, so that CPU compilers vectorise it. */
float dlgn_sigmoid(float z) {
  float e = exp(-fabs(z));
  float r = 1.0f / (1.0f + e);
  return z >= 0.0f ? r : e * r;
}

/* dlgn_sigmoid of 16 values at once */
float16 dlgn_sigmoid16(float16 z) {
  float16 e = exp(-fabs(z));
  float16 r = 1.0f / (1.0f + e);
  return select(e * r, r, z >= 0.0f);
}

/* Clang's shuffle builtin, where the compiler has it: one permutation for a
 * vector shift (element-wise vector literals compile to a dozen partial loads
 * there). */
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define DLGN_SHUFFLE 1
#endif
#endif

/* The sum of v's 16 lanes, as a tree */
inline float dlgn_lane_sum16(float16 v) {
#ifdef DLGN_SHUFFLE
  /* v.hi is a shuffle with mask element 11, which Oclgrind 21.10 reads as
   * undefined (see cf_up in conv.cl): take the high half from the second
   * operand */
  float8 a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
             __builtin_shufflevector((float16)(0.0f), v, 24, 25, 26, 27, 28, 29, 30, 31);
#else
  float8 a = v.lo + v.hi;
#endif
  float4 b = a.lo + a.hi;
  float2 d = b.lo + b.hi;
  return d.x + d.y;
}

/* Sum of x[0..n) by one work-item of a group of ls, starting at lane l:
 * four-wide loads (contiguous across the group), then the tail. */
float dlgn_strided_sum(__global const float *x, int n, int l, int ls) {
  float4 acc = (float4)(0.0f);
  int n4 = n / 4;
  for (int i = l; i < n4; i += ls) acc += vload4(i, x);
  float s = (acc.x + acc.y) + (acc.z + acc.w);
  for (int i = 4 * n4 + l; i < n; i += ls) s += x[i];
  return s;
}

/* The epilogue a forward convolution can fuse (conv_epilogue in
 * src/nn/ops.h): out = v * sigmoid(beta g) (1, soft gate), v * (g > 0) (2,
 * hard gate), max(v, 0) (3, ReLU); as gate_forward and relu_forward compute
 * them. */
inline float16 conv_epilogue16(float16 v, float16 g, int epi, float beta) {
  if (epi == 1) return v * dlgn_sigmoid16(beta * g);
  if (epi == 2) return select((float16)(0.0f), v, g > 0.0f);
  return fmax(v, 0.0f);
}

inline float conv_epilogue1(float v, float g, int epi, float beta) {
  if (epi == 1) return v * dlgn_sigmoid(beta * g);
  if (epi == 2) return g > 0.0f ? v : 0.0f;
  return v > 0.0f ? v : 0.0f;
}
