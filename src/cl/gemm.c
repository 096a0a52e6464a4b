/* The one GEMM entry point and its two backends.
 *
 * Own kernel (cl/gemm.cl). The kernels compute an R x S product from an A
 * side (rows, read one broadcast value at a time) and a B side (columns,
 * read in vectors); plan_of maps a call onto them:
 *   - normally A side = op(A), B side = op(B), product = C; when B is
 *     transposed and that is cheaper, the operands swap and the product is
 *     C^T (stored transposed), so that the B side can be read in place;
 *   - the B side is read in place when its values for one step of K are
 *     contiguous, else packed into k-major panels of tn columns; a B panel
 *     read in place is first copied to local memory by its work-item
 *     (gemm_bcopy*), which then runs several row tiles over it;
 *   - the A side is packed into k-major panels of tm rows unless it is tiny
 *     or huge, then read in place (gemm_tile_direct, gemm_bcopy_direct).
 * K runs in passes of ks blocks of kc steps: pack what the pass needs, run
 * the tiles (passes after the first add to C with beta = 1). When C has too
 * few tiles to occupy the device (weight gradients of small layers), the ks
 * blocks of a pass run side by side into partial sums that gemm_reduce adds
 * up. Edges: packed panels are zero-padded, the last partial B panel read in
 * place runs as its own launch with its missing columns clamped, and only
 * stores test bounds. The
 * scratch buffers only grow, so steady-state training allocates nothing.
 *
 * CLBlast: one call to CLBlastSgemm, with parameters overridden from the
 * tuning file when `dlgn tune` wrote one for this device. */
#include "cl/gemm.h"

#include <clblast_c.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/status.h"
#include "cl/tune.h"
#include "gemm_internal.h"

#define GEMM_MAX_VARIANTS 24

typedef struct {
  int tm, tn, vw;
  cl_program program;
  cl_kernel tile, tile_direct, bcopy, bcopy_direct, pack_a, pack_b, reduce;
} gemm_variant;

struct ocl_gemm_state {
  ocl_gemm_backend backend;
  int nvariants;
  gemm_variant variants[GEMM_MAX_VARIANTS];
  /* packed A, packed B, partial sums, CLBlast's temporary buffer */
  cl_mem scratch_a, scratch_b, scratch_p, scratch_t;
  size_t cap_a, cap_b, cap_p, cap_t; /* floats */
  ocl_tuning *tuning;               /* NULL when the device has no tuning file */
  char tuning_file[1024];
  ocl_gemm_wg_state *wg;        /* the work-group kernel's programs */
  ocl_gemm_wg_params wg_params; /* its measured best form */
  char backend_source[160]; /* why this backend: variable, tuning file, measurement */
  bool no_bcopy;            /* $DLGN_GEMM_BCOPY=0 when the device first ran a GEMM */
};

static void variant_release(gemm_variant *v) {
  if (v->tile) clReleaseKernel(v->tile);
  if (v->tile_direct) clReleaseKernel(v->tile_direct);
  if (v->bcopy) clReleaseKernel(v->bcopy);
  if (v->bcopy_direct) clReleaseKernel(v->bcopy_direct);
  if (v->pack_a) clReleaseKernel(v->pack_a);
  if (v->pack_b) clReleaseKernel(v->pack_b);
  if (v->reduce) clReleaseKernel(v->reduce);
  if (v->program) clReleaseProgram(v->program);
  memset(v, 0, sizeof *v);
}

void dlgn_gemm_state_free(dlgn_device *dev) {
  ocl_gemm_state *g = dev->gemm;
  if (!g) return;
  for (int i = 0; i < g->nvariants; i++) variant_release(&g->variants[i]);
  ocl_buffer_release(&g->scratch_a);
  ocl_buffer_release(&g->scratch_b);
  ocl_buffer_release(&g->scratch_p);
  ocl_buffer_release(&g->scratch_t);
  ocl_gemm_wg_state_free(g->wg);
  free(g->tuning);
  free(g);
  dev->gemm = NULL;
}

int ocl_gemm_backend_parse(const char *name, ocl_gemm_backend *out) {
  if (strcmp(name, "clblast") == 0)
    *out = OCL_GEMM_CLBLAST;
  else if (strcmp(name, "own") == 0)
    *out = OCL_GEMM_OWN;
  else if (strcmp(name, "workgroup") == 0)
    *out = OCL_GEMM_WG;
  else
    return dlgn_fail("unknown GEMM backend '%s' (expected 'clblast', 'own' or 'workgroup')", name);
  return 0;
}

static int gemm_state(dlgn_device *dev, ocl_gemm_state **out) {
  if (dev->gemm) {
    *out = dev->gemm;
    return 0;
  }
  ocl_gemm_state *g = dlgn_calloc(1, sizeof *g, "GEMM state");
  if (!g) return -1;
  /* Until the choice below: the choice itself runs every backend. */
  g->backend = OCL_GEMM_OWN;
  const char *env = getenv("DLGN_GEMM");
  /* read once here, like every setting of the GEMM: no call reads the
   * environment */
  const char *bcopy = getenv("DLGN_GEMM_BCOPY");
  g->no_bcopy = bcopy && strcmp(bcopy, "0") == 0;
  if (env && *env && ocl_gemm_backend_parse(env, &g->backend) != 0) {
    free(g);
    return dlgn_fail_context("$DLGN_GEMM");
  }
  dev->gemm = g;
  /* A broken tuning file fails every call the same way rather than the
   * first one only, so that it cannot go unnoticed. */
  ocl_tuning t;
  bool found = false;
  char path[1024];
  if (ocl_tuning_path(&dev->info, path, sizeof path) == 0) {
    if (ocl_tuning_load(&dev->info, path, &t, &found) != 0 ||
        (found && ocl_gemm_use_tuning(dev, &t, path) != 0)) {
      dlgn_gemm_state_free(dev);
      return -1;
    }
  }
  /* The backend: $DLGN_GEMM, else the measured choice for this device and
   * driver (src/cl/gemm_select.c: cached, else measured now). $DLGN_GEMM
   * measures nothing (slow simulators such as Oclgrind need that): the
   * work-group kernel then takes the cached form, else the first candidate. */
  if (env && *env) {
    ocl_gemm_backend cached;
    ocl_gemm_wg_params forms[2];
    ocl_gemm_wg_candidates(dev, forms);
    g->wg_params = forms[0];
    ocl_gemm_choice_params(dev, &cached, &g->wg_params);
    snprintf(g->backend_source, sizeof g->backend_source, "$DLGN_GEMM");
  } else if (ocl_gemm_select(dev, &g->backend, &g->wg_params, g->backend_source,
                             sizeof g->backend_source) != 0) {
    dlgn_gemm_state_free(dev);
    return -1;
  }
  *out = g;
  return 0;
}

const char *ocl_gemm_backend_source(dlgn_device *dev) {
  ocl_gemm_state *g;
  return gemm_state(dev, &g) == 0 ? g->backend_source : "?";
}

int ocl_gemm_use_tuning(dlgn_device *dev, const ocl_tuning *t, const char *source) {
  ocl_gemm_state *g;
  DLGN_TRY(gemm_state(dev, &g));
  for (int i = 0; i < t->nshapes; i++)
    if (ocl_gemm_own_params_check(dev, &t->shapes[i].own) != 0)
      return dlgn_fail_context("tuning from %s, shape %d", source, i + 1);
  if (t->has_own_default && ocl_gemm_own_params_check(dev, &t->own_default) != 0)
    return dlgn_fail_context("tuning from %s, own default", source);
  if (ocl_tuning_apply_clblast(dev, t) != 0)
    return dlgn_fail_context("applying CLBlast parameters from %s", source);
  if (!g->tuning) {
    g->tuning = dlgn_malloc(sizeof *g->tuning, "GEMM tuning table");
    if (!g->tuning) return -1;
  }
  *g->tuning = *t;
  snprintf(g->tuning_file, sizeof g->tuning_file, "%s", source);
  return 0;
}

const char *ocl_gemm_tuning_file(dlgn_device *dev) {
  ocl_gemm_state *g;
  if (gemm_state(dev, &g) != 0 || !g->tuning) return NULL;
  return g->tuning_file;
}

int ocl_device_tuning(dlgn_device *dev, const ocl_tuning **out) {
  ocl_gemm_state *g;
  DLGN_TRY(gemm_state(dev, &g));
  *out = g->tuning;
  return 0;
}

ocl_gemm_backend ocl_gemm_backend_of(dlgn_device *dev) {
  ocl_gemm_state *g;
  return gemm_state(dev, &g) == 0 ? g->backend : OCL_GEMM_CLBLAST;
}

int ocl_gemm_set_backend(dlgn_device *dev, ocl_gemm_backend b) {
  ocl_gemm_state *g;
  DLGN_TRY(gemm_state(dev, &g));
  g->backend = b;
  return 0;
}

const char *ocl_gemm_backend_name(ocl_gemm_backend b) {
  return b == OCL_GEMM_OWN ? "own" : b == OCL_GEMM_WG ? "workgroup" : "clblast";
}

/* ---- own kernel: parameters ---- */

static cl_uint native_float_width(const dlgn_device *dev) {
  cl_uint w = 1;
  if (clGetDeviceInfo(dev->info.id, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof w, &w, NULL) !=
      CL_SUCCESS)
    w = 1;
  return w;
}

void ocl_gemm_own_default(const dlgn_device *dev, ocl_gemm_own_params *out) {
  /* Tiles whose accumulators fill half the vector register file or more: of
   * 32 registers with AVX-512 (16 floats), 4 x 64 measured best on the
   * conv shapes on a Zen 5 core (4 B vectors and 4 broadcasts feed 16
   * FMAs); of 16 with AVX (8 floats) or SSE (4 floats), the classic 6-row
   * tiles. K blocks and splits automatic. */
  cl_uint w = native_float_width(dev);
  if (w >= 16)
    *out = (ocl_gemm_own_params){4, 64, 16, 0, 0};
  else if (w >= 8)
    *out = (ocl_gemm_own_params){6, 16, 8, 0, 0};
  else
    *out = (ocl_gemm_own_params){6, 8, 4, 0, 0};
}

int ocl_gemm_own_params_check(const dlgn_device *dev, const ocl_gemm_own_params *p) {
  if (p->vw != 1 && p->vw != 4 && p->vw != 8 && p->vw != 16)
    return dlgn_fail("own GEMM parameters: vw=%d must be 1, 4, 8 or 16", p->vw);
  if (p->tm < 1 || p->tm > 64 || p->tn < p->vw || p->tn > 256 || p->tn % p->vw != 0)
    return dlgn_fail("own GEMM parameters: tile %dx%d is not 1..64 x a multiple of vw=%d up to 256",
                     p->tm, p->tn, p->vw);
  if (p->kc < 0) return dlgn_fail("own GEMM parameters: kc=%d is negative", p->kc);
  if (p->ks < 0 || p->ks > 64) return dlgn_fail("own GEMM parameters: ks=%d is not 0..64", p->ks);
  (void)dev;
  return 0;
}

int ocl_gemm_own_params_for(dlgn_device *dev, bool ta, bool tb, size_t M, size_t N, size_t K,
                            ocl_gemm_own_params *out) {
  ocl_gemm_state *g;
  DLGN_TRY(gemm_state(dev, &g));
  const ocl_tuning *t = g->tuning;
  if (t) {
    for (int i = 0; i < t->nshapes; i++) {
      const ocl_tuned_shape *s = &t->shapes[i];
      if (s->ta == ta && s->tb == tb && s->M == M && s->N == N && s->K == K) {
        *out = s->own;
        return 0;
      }
    }
    if (t->has_own_default) {
      *out = t->own_default;
      return 0;
    }
  }
  ocl_gemm_own_default(dev, out);
  return 0;
}

/* ---- own kernel: programs and scratch ---- */

static int gemm_variant_get(dlgn_device *dev, ocl_gemm_state *g, const ocl_gemm_own_params *p,
                            gemm_variant **out) {
  for (int i = 0; i < g->nvariants; i++) {
    gemm_variant *v = &g->variants[i];
    if (v->tm == p->tm && v->tn == p->tn && v->vw == p->vw) {
      *out = v;
      return 0;
    }
  }
  /* The tuner compiles many variants; keep the most recent ones. */
  if (g->nvariants == GEMM_MAX_VARIANTS) {
    variant_release(&g->variants[0]);
    memmove(&g->variants[0], &g->variants[1], (GEMM_MAX_VARIANTS - 1) * sizeof g->variants[0]);
    g->nvariants--;
  }
  gemm_variant v = {.tm = p->tm, .tn = p->tn, .vw = p->vw};
  char options[160];
  snprintf(options, sizeof options, "-DTM=%d -DTN=%d -DVW=%d -cl-mad-enable -cl-fast-relaxed-math",
           p->tm, p->tn, p->vw);
  const char *files[] = {"gemm.cl"};
  DLGN_TRY(ocl_program_build(dev, files, 1, options, &v.program));
  cl_int err;
  v.tile = clCreateKernel(v.program, "gemm_tile", &err);
  if (ocl_check(dev, err, "clCreateKernel", "gemm_tile")) goto fail;
  v.tile_direct = clCreateKernel(v.program, "gemm_tile_direct", &err);
  if (ocl_check(dev, err, "clCreateKernel", "gemm_tile_direct")) goto fail;
  v.bcopy = clCreateKernel(v.program, "gemm_bcopy", &err);
  if (ocl_check(dev, err, "clCreateKernel", "gemm_bcopy")) goto fail;
  v.bcopy_direct = clCreateKernel(v.program, "gemm_bcopy_direct", &err);
  if (ocl_check(dev, err, "clCreateKernel", "gemm_bcopy_direct")) goto fail;
  v.pack_a = clCreateKernel(v.program, "gemm_pack_a", &err);
  if (ocl_check(dev, err, "clCreateKernel", "gemm_pack_a")) goto fail;
  v.pack_b = clCreateKernel(v.program, "gemm_pack_b", &err);
  if (ocl_check(dev, err, "clCreateKernel", "gemm_pack_b")) goto fail;
  v.reduce = clCreateKernel(v.program, "gemm_reduce", &err);
  if (ocl_check(dev, err, "clCreateKernel", "gemm_reduce")) goto fail;
  g->variants[g->nvariants] = v;
  *out = &g->variants[g->nvariants++];
  return 0;
fail:
  variant_release(&v);
  return -1;
}

static int scratch_reserve(dlgn_device *dev, cl_mem *buf, size_t *cap, size_t floats,
                           const char *what) {
  if (floats <= *cap && *buf) return 0;
  /* Queued kernels may still read the old buffer; OpenCL keeps it alive
   * until they finish, so releasing it here is safe. */
  ocl_buffer_release(buf);
  *cap = 0;
  DLGN_TRY(ocl_buffer_create(dev, (floats ? floats : 4) * sizeof(float), what, buf));
  *cap = floats;
  return 0;
}

/* ---- argument checks shared by both backends ---- */

static size_t extent(size_t off, size_t rows, size_t cols, size_t ld) {
  return rows == 0 || cols == 0 ? off : off + (rows - 1) * ld + cols;
}

static int gemm_check_args(const dlgn_device *dev, const ocl_gemm_call *c) {
  size_t acols = c->ta ? c->M : c->K, bcols = c->tb ? c->K : c->N;
  if (c->lda < (acols ? acols : 1) || c->ldb < (bcols ? bcols : 1) || c->ldc < (c->N ? c->N : 1))
    return dlgn_fail(
        "GEMM (ta=%d tb=%d M=%zu N=%zu K=%zu) on device '%s': leading dimensions "
        "lda=%zu ldb=%zu ldc=%zu are smaller than the rows they hold (%zu, %zu, %zu)",
        c->ta, c->tb, c->M, c->N, c->K, dev->info.name, c->lda, c->ldb, c->ldc, acols, bcols, c->N);
  return 0;
}

/* ---- the work-group kernel (src/cl/gemm_wg.c) ---- */

int ocl_gemm_wg(dlgn_device *dev, const ocl_gemm_wg_params *p, const ocl_gemm_call *c) {
  DLGN_TRY(gemm_check_args(dev, c));
  ocl_gemm_state *g;
  DLGN_TRY(gemm_state(dev, &g));
  return ocl_gemm_wg_run(dev, &g->wg, p, c);
}

int ocl_gemm_wg_params_of(dlgn_device *dev, ocl_gemm_wg_params *out) {
  ocl_gemm_state *g;
  DLGN_TRY(gemm_state(dev, &g));
  *out = g->wg_params;
  return 0;
}

/* ---- own kernel: the call ---- */

/* Pack panels of op(A) (side 'a', tm rows) or op(B) (side 'b', tn columns). */
static int launch_pack(dlgn_device *dev, const gemm_variant *v, char side, cl_mem P, int npanels,
                       int kc, cl_mem X, size_t off, size_t rs, size_t ks, size_t R) {
  size_t global[2] = {((size_t)kc + 63) / 64, (size_t)npanels}; /* runs of 64: cl/gemm.cl */
  size_t local[2] = {1, 1};
  ocl_arg args[] = {OCL_MEM(P),   OCL_INT(npanels), OCL_INT(kc), OCL_MEM(X),
                     OCL_INT(off), OCL_INT(rs),      OCL_INT(ks), OCL_INT(R)};
  return side == 'a' ? ocl_launch_kernel(dev, v->pack_a, "gemm_pack_a", 2, global, local, 8, args)
                     : ocl_launch_kernel(dev, v->pack_b, "gemm_pack_b", 2, global, local, 8, args);
}

/* An operand as the kernels see it: element (row r, step k) at
 * buf[off + r * rs + k * ks]. */
typedef struct {
  cl_mem buf;
  size_t off, rs, ks;
} gemm_view;

/* How one call maps onto the kernels. The product computed is R x S: C
 * itself, or C transposed when swap is set (then the A side holds op(B)^T
 * and the B side op(A)^T). The B side is read in place when its rows of
 * step k are contiguous (ks of the view along S is 1), else packed; the A
 * side is packed unless reading it in place is cheaper. */
typedef struct {
  bool swap, a_direct, b_direct;
  size_t R, S, K;
  gemm_view a, b;
} gemm_plan;

static gemm_plan plan_of(const ocl_gemm_call *c) {
  gemm_plan pl = {.K = c->K};
  /* The B side needs packing when B is transposed (normal) or A is not
   * (swapped); swap when that packs fewer elements: always for A^T B^T, and
   * for A B^T when A is the smaller (weight gradients: M = output channels,
   * N = inputs x kernel). */
  pl.swap = c->tb && (c->ta || c->M < c->N);
  gemm_view A = {c->A, c->offa, c->ta ? 1 : c->lda, c->ta ? c->lda : 1};  /* rows i of op(A) */
  gemm_view Bt = {c->B, c->offb, c->tb ? c->ldb : 1, c->tb ? 1 : c->ldb}; /* rows j of op(B)^T */
  pl.R = pl.swap ? c->N : c->M;
  pl.S = pl.swap ? c->M : c->N;
  pl.a = pl.swap ? Bt : A;
  pl.b = pl.swap ? A : Bt;
  pl.b_direct = pl.b.rs == 1;
  /* Packing the A side costs a pass over it; it pays for itself through
   * contiguous broadcasts unless the side is very large (each element is
   * then used by few tiles) or tiny (the extra launch dominates). */
  double na = (double)pl.R * (double)pl.K;
  pl.a_direct = na > 8.0 * 1048576 || na <= 16384;
  return pl;
}

size_t ocl_gemm_own_block(const ocl_gemm_own_params *p, bool ta, bool tb, size_t M, size_t N,
                          size_t K) {
  ocl_gemm_call c = {.ta = ta, .tb = tb, .M = M, .N = N, .K = K};
  size_t kc = (size_t)p->kc;
  if (kc == 0) {
    /* Automatic: a packed A side's block (R x kc floats, reused by every
     * column tile) about 1 MiB, a typical L2, within [256, 2048] steps. An A
     * side read in place is streamed, and short blocks only add passes. */
    gemm_plan pl = plan_of(&c);
    kc = pl.a_direct || pl.R == 0 ? 2048 : (262144 / pl.R) / 64 * 64;
    kc = kc < 256 ? 256 : kc > 2048 ? 2048 : kc;
  }
  if (kc >= K) kc = K ? K : 1;
  return kc;
}

/* One pass over K as the tile kernel sees it: klen steps starting at k0,
 * cut into nsplit runs of kc computed by separate work-items. */
typedef struct {
  size_t k0, klen, kc;
  int nsplit;
  float beta;
} gemm_block;

/* bcopy: the B side is read in place and each work-item first copies its
 * panel to local memory, then runs qchunk row tiles over it (cl/gemm.cl). */
static int launch_tile(dlgn_device *dev, ocl_gemm_state *g, const gemm_variant *v,
                       const ocl_gemm_call *c, const gemm_plan *pl, const gemm_block *blk,
                       cl_mem B, size_t b_off, size_t b_ps, size_t b_ks, int nq, int np, int p_base,
                       int qchunk, size_t b_cols) {
  const bool bcopy = qchunk > 0;
  size_t groups = bcopy ? ((size_t)nq + (size_t)qchunk - 1) / (size_t)qchunk : (size_t)nq;
  size_t global = groups * (size_t)np * (size_t)blk->nsplit, local = 1;
  int qfast = pl->R <= pl->S;
  /* splits write partial sums to scratch_p, added up by gemm_reduce */
  bool split = blk->nsplit > 1;
  cl_mem C = split ? g->scratch_p : c->C;
  size_t offc = split ? 0 : c->offc, ldc = split ? pl->S : c->ldc, c_ss = pl->R * pl->S;
  float alpha = split ? 1.0f : c->alpha, beta = split ? 0.0f : blk->beta;
  int ctrans = !split && pl->swap;
  cl_mem A = pl->a_direct ? pl->a.buf : g->scratch_a;
  size_t a_off = pl->a_direct ? pl->a.off + blk->k0 * pl->a.ks : 0;
  size_t a_ps = pl->a_direct ? (size_t)v->tm * pl->a.rs : (size_t)v->tm * blk->klen;
  size_t a_is = pl->a_direct ? pl->a.rs : 1, a_ks = pl->a_direct ? pl->a.ks : (size_t)v->tm;
  ocl_arg args[] = {OCL_INT(pl->R),
                     OCL_INT(pl->S),
                     OCL_INT(blk->kc),
                     OCL_INT(blk->klen),
                     OCL_MEM(A),
                     OCL_INT(a_off),
                     OCL_INT(a_ps),
                     OCL_INT(a_is),
                     OCL_INT(a_ks),
                     OCL_MEM(B),
                     OCL_INT(b_off),
                     OCL_INT(b_ps),
                     OCL_INT(b_ks),
                     OCL_MEM(C),
                     OCL_INT(offc),
                     OCL_INT(ldc),
                     OCL_INT(c_ss),
                     OCL_INT(ctrans),
                     OCL_FLOAT(alpha),
                     OCL_FLOAT(beta),
                     OCL_INT(nq),
                     OCL_INT(np),
                     OCL_INT(blk->nsplit),
                     OCL_INT(qfast),
                     OCL_INT(p_base),
                     OCL_INT(qchunk),
                     OCL_INT(b_cols),
                     OCL_LOCAL(blk->kc * (size_t)v->tn * sizeof(float))};
  if (bcopy)
    return pl->a_direct
               ? ocl_launch_kernel(dev, v->bcopy_direct, "gemm_bcopy_direct", 1, &global, &local,
                                   28, args)
               : ocl_launch_kernel(dev, v->bcopy, "gemm_bcopy", 1, &global, &local, 28, args);
  return pl->a_direct ? ocl_launch_kernel(dev, v->tile_direct, "gemm_tile_direct", 1, &global,
                                          &local, 27, args)
                      : ocl_launch_kernel(dev, v->tile, "gemm_tile", 1, &global, &local, 27, args);
}

/* Row tiles per work-item in bcopy mode (0: bcopy off). The copy pays when
 * several row tiles reuse a panel; keep enough work-items for every compute
 * unit, and the panel within half the local memory. */
static int bcopy_chunk(const dlgn_device *dev, const ocl_gemm_state *g, const gemm_plan *pl,
                       size_t nq, size_t np, int nsplit, size_t kc, size_t tn) {
  if (g->no_bcopy) return 0;
  if (!pl->b_direct || nq < 2 || kc * tn * sizeof(float) > dev->info.local_mem / 2) return 0;
  size_t want = 8 * (size_t)(dev->info.compute_units ? dev->info.compute_units : 1);
  size_t items = np * (size_t)nsplit;
  size_t groups = items >= want ? 1 : (want + items - 1) / items;
  size_t chunk = (nq + groups - 1) / groups;
  return chunk >= 2 ? (int)chunk : 0;
}

static int launch_reduce(dlgn_device *dev, ocl_gemm_state *g, const gemm_variant *v,
                         const ocl_gemm_call *c, const gemm_plan *pl, const gemm_block *blk) {
  size_t global[2] = {pl->S, pl->R};
  ocl_arg args[] = {OCL_MEM(c->C),       OCL_INT(c->offc),      OCL_INT(c->ldc),
                     OCL_INT(pl->swap),   OCL_MEM(g->scratch_p), OCL_INT(blk->nsplit),
                     OCL_INT(pl->R),      OCL_INT(pl->S),        OCL_FLOAT(c->alpha),
                     OCL_FLOAT(blk->beta)};
  return ocl_launch_kernel(dev, v->reduce, "gemm_reduce", 2, global, NULL, 10, args);
}

/* Splits of K when ks is 0: enough work-items to keep every compute unit
 * busy (a few per unit, for balance) when C has few tiles, e.g. weight
 * gradients of small layers over a long batch dimension. */
static int auto_splits(const dlgn_device *dev, size_t tiles, size_t nblocks) {
  size_t want = 8 * (size_t)(dev->info.compute_units ? dev->info.compute_units : 1);
  size_t s = tiles >= want ? 1 : (want + tiles - 1) / tiles;
  if (s > nblocks) s = nblocks;
  if (s > 64) s = 64;
  return s ? (int)s : 1;
}

int ocl_gemm_own(dlgn_device *dev, const ocl_gemm_own_params *p, const ocl_gemm_call *c) {
  DLGN_TRY(gemm_check_args(dev, c));
  DLGN_TRY(ocl_gemm_own_params_check(dev, p));
  if (c->M == 0 || c->N == 0) return 0;
  ocl_gemm_state *g;
  DLGN_TRY(gemm_state(dev, &g));
  gemm_variant *v;
  DLGN_TRY(gemm_variant_get(dev, g, p, &v));

  const gemm_plan pl = plan_of(c);
  const size_t R = pl.R, S = pl.S, K = pl.K, tm = (size_t)p->tm, tn = (size_t)p->tn;
  const size_t kc = ocl_gemm_own_block(p, c->ta, c->tb, c->M, c->N, K);
  const size_t nq = (R + tm - 1) / tm;
  const size_t np_all = (S + tn - 1) / tn;
  const size_t np_full = pl.b_direct ? S / tn : np_all; /* panels read in place */
  const bool edge = pl.b_direct && S % tn != 0;
  const size_t nblocks = (K + kc - 1) / kc;
  const int nsplit = p->ks > 0 ? (p->ks < (int)nblocks ? p->ks : (int)(nblocks ? nblocks : 1))
                               : auto_splits(dev, nq * np_all, nblocks);
  /* Each pass packs nsplit blocks of kc steps and computes them at once. */
  const size_t pass = kc * (size_t)nsplit;
  const size_t need_a = pl.a_direct ? 0 : nq * tm * pass;
  const size_t need_b = !pl.b_direct ? np_all * tn * pass : 0;
  const size_t need_p = nsplit > 1 ? (size_t)nsplit * R * S : 0;
  /* The kernels index with 32-bit ints. */
  size_t ext_a = c->ta ? extent(c->offa, K, c->M, c->lda) : extent(c->offa, c->M, K, c->lda);
  size_t ext_b = c->tb ? extent(c->offb, c->N, K, c->ldb) : extent(c->offb, K, c->N, c->ldb);
  size_t ext_c = extent(c->offc, c->M, c->N, c->ldc);
  if (ext_a > INT_MAX || ext_b > INT_MAX || ext_c > INT_MAX || need_a > INT_MAX ||
      need_b > INT_MAX || need_p > INT_MAX)
    return dlgn_fail(
        "GEMM M=%zu N=%zu K=%zu on device '%s' is too large for the own kernel's "
        "32-bit indexing (use DLGN_GEMM=clblast)",
        c->M, c->N, K, dev->info.name);
  if (need_a)
    DLGN_TRY(scratch_reserve(dev, &g->scratch_a, &g->cap_a, need_a, "GEMM packing scratch (A)"));
  if (need_b)
    DLGN_TRY(scratch_reserve(dev, &g->scratch_b, &g->cap_b, need_b, "GEMM packing scratch (B)"));
  if (need_p) DLGN_TRY(scratch_reserve(dev, &g->scratch_p, &g->cap_p, need_p, "GEMM partial sums"));

  /* K == 0 still runs one (empty) pass: C = beta * C. */
  for (size_t k0 = 0; k0 == 0 || k0 < K; k0 += pass) {
    gemm_block blk = {.k0 = k0, .klen = K - k0 < pass ? K - k0 : pass, .kc = kc};
    blk.nsplit = (int)((blk.klen + kc - 1) / kc);
    if (blk.nsplit < 1) blk.nsplit = 1;
    blk.beta = k0 == 0 ? c->beta : 1.0f;
    if (!pl.a_direct)
      DLGN_TRY(launch_pack(dev, v, 'a', g->scratch_a, (int)nq, (int)blk.klen, pl.a.buf,
                           pl.a.off + k0 * pl.a.ks, pl.a.rs, pl.a.ks, R));
    const size_t b_k0 = pl.b.off + k0 * pl.b.ks;
    if (!pl.b_direct) {
      DLGN_TRY(launch_pack(dev, v, 'b', g->scratch_b, (int)np_all, (int)blk.klen, pl.b.buf, b_k0,
                           pl.b.rs, pl.b.ks, S));
      DLGN_TRY(launch_tile(dev, g, v, c, &pl, &blk, g->scratch_b, 0, blk.klen * tn, tn, (int)nq,
                           (int)np_all, 0, 0, tn));
    } else {
      if (np_full)
        DLGN_TRY(launch_tile(dev, g, v, c, &pl, &blk, pl.b.buf, b_k0, tn, pl.b.ks, (int)nq,
                             (int)np_full, 0,
                             bcopy_chunk(dev, g, &pl, nq, np_full, blk.nsplit, kc, tn), tn));
      /* The last, partial, panel is read in place too, its missing columns
       * clamped (cl/gemm.cl); it was packed once, which cost a launch, and
       * Oclgrind reported the tile reading packed values as uninitialised. */
      if (edge)
        DLGN_TRY(launch_tile(dev, g, v, c, &pl, &blk, pl.b.buf, b_k0 + np_full * tn, 0, pl.b.ks,
                             (int)nq, 1, (int)np_full, 0, S - np_full * tn));
    }
    if (blk.nsplit > 1) DLGN_TRY(launch_reduce(dev, g, v, c, &pl, &blk));
    if (K == 0) break;
  }
  return 0;
}

/* ---- CLBlast ---- */

int ocl_gemm_clblast(dlgn_device *dev, const ocl_gemm_call *c) {
  DLGN_TRY(gemm_check_args(dev, c));
  if (c->M == 0 || c->N == 0) return 0;
  if (c->K == 0) {
    /* CLBlast rejects k == 0; the own kernel handles C = beta * C. */
    ocl_gemm_own_params p;
    ocl_gemm_own_default(dev, &p);
    return ocl_gemm_own(dev, &p, c);
  }
  ocl_gemm_state *g;
  DLGN_TRY(gemm_state(dev, &g));
  const CLBlastTranspose ta = c->ta ? CLBlastTransposeYes : CLBlastTransposeNo;
  const CLBlastTranspose tb = c->tb ? CLBlastTransposeYes : CLBlastTransposeNo;
  /* CLBlast's indirect kernel pads its operands into a temporary buffer that
   * it would otherwise allocate on every call; hand it a grow-only one. */
  size_t bytes = 0;
  CLBlastStatusCode st =
      CLBlastSGemmTempBufferSize(CLBlastLayoutRowMajor, ta, tb, c->M, c->N, c->K, c->offa, c->lda,
                                 c->offb, c->ldb, c->offc, c->ldc, &dev->queue, &bytes);
  if (st == CLBlastSuccess && bytes > 0 &&
      scratch_reserve(dev, &g->scratch_t, &g->cap_t, (bytes + 3) / 4, "CLBlast temporary buffer"))
    return -1;
  if (st == CLBlastSuccess && bytes > 0)
    st = CLBlastSgemmWithTempBuffer(CLBlastLayoutRowMajor, ta, tb, c->M, c->N, c->K, c->alpha, c->A,
                                    c->offa, c->lda, c->B, c->offb, c->ldb, c->beta, c->C, c->offc,
                                    c->ldc, &dev->queue, NULL, g->scratch_t);
  else if (st == CLBlastSuccess)
    st = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, c->M, c->N, c->K, c->alpha, c->A, c->offa,
                      c->lda, c->B, c->offb, c->ldb, c->beta, c->C, c->offc, c->ldc, &dev->queue,
                      NULL);
  if (st != CLBlastSuccess)
    return dlgn_fail("CLBlastSgemm (ta=%d tb=%d M=%zu N=%zu K=%zu) failed on device '%s': %s (%d)",
                     c->ta, c->tb, c->M, c->N, c->K, dev->info.name, ocl_clblast_status_name((int)st),
                     (int)st);
  return 0;
}

int ocl_gemm(dlgn_device *dev, bool ta, bool tb, size_t M, size_t N, size_t K, float alpha,
             cl_mem A, size_t offa, size_t lda, cl_mem B, size_t offb, size_t ldb, float beta,
             cl_mem C, size_t offc, size_t ldc) {
  ocl_gemm_state *g;
  DLGN_TRY(gemm_state(dev, &g));
  ocl_gemm_call c = {ta, tb, M, N, K, alpha, A, offa, lda, B, offb, ldb, beta, C, offc, ldc};
  ocl_record_gemm(dev, ta, tb, M, N, K);
  if (g->backend == OCL_GEMM_CLBLAST) return ocl_gemm_clblast(dev, &c);
  if (g->backend == OCL_GEMM_WG) return ocl_gemm_wg_run(dev, &g->wg, &g->wg_params, &c);
  ocl_gemm_own_params p;
  DLGN_TRY(ocl_gemm_own_params_for(dev, ta, tb, M, N, K, &p));
  return ocl_gemm_own(dev, &p, &c);
}

void ocl_gemm_ref(bool ta, bool tb, size_t M, size_t N, size_t K, float alpha, const float *A,
                  size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc) {
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < N; j++) {
      double s = 0;
      for (size_t k = 0; k < K; k++) {
        float a = ta ? A[k * lda + i] : A[i * lda + k];
        float b = tb ? B[j * ldb + k] : B[k * ldb + j];
        s += (double)a * b;
      }
      C[i * ldc + j] = (float)(alpha * s + (beta == 0 ? 0.0 : (double)beta * C[i * ldc + j]));
    }
}
