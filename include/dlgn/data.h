/* The archive stage: CIFAR-10/100 binary archives (or extracted folders)
 * streamed with libarchive straight into memory and validated strictly;
 * deterministic synthetic CIFAR-format archives; seeded batching with a
 * producer thread. Nothing here touches OpenCL. */
#ifndef DLGN_DATA_H
#define DLGN_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dlgn/types.h"

#define DLGN_IMAGE_H 32
#define DLGN_IMAGE_W 32
#define DLGN_IMAGE_C 3
#define DLGN_IMAGE_BYTES (DLGN_IMAGE_C * DLGN_IMAGE_H * DLGN_IMAGE_W)

typedef enum { DLGN_CIFAR10 = 10, DLGN_CIFAR100 = 100 } dlgn_cifar_kind;

typedef struct {
  size_t n;
  uint8_t *images; /* (n,3,32,32): 1024 red, 1024 green, 1024 blue, row-major */
  uint8_t *labels; /* (n) label (CIFAR-10) or fine label (CIFAR-100) */
  uint8_t *coarse; /* (n) CIFAR-100 coarse label; NULL for CIFAR-10 */
} dlgn_split;

typedef struct {
  char name[64];  /* member file name, e.g. "data_batch_1.bin" */
  size_t records;
  char md5[33];   /* hex digest of the member's bytes */
  int official;   /* 1: equals the official file's md5, 0: differs, -1: no official md5 known */
} dlgn_member_info;

typedef struct {
  dlgn_cifar_kind kind;
  int num_classes;        /* 10, or 100 fine classes */
  int num_coarse;         /* 20 for CIFAR-100, 0 otherwise */
  dlgn_split train, test;
  char source[1024];      /* archive path, folder, or "synthetic:..." */
  char class_names[100][32];
  char coarse_names[20][32]; /* CIFAR-100 only */
  bool names_from_meta;   /* class names read from the meta text files (else defaults) */
  bool coarse_names_from_meta; /* CIFAR-100: coarse names from coarse_label_names.txt */
  uint64_t bytes_read;    /* decompressed bytes of every member, extras included */
  int nmembers;           /* the record members, canonical order (train members, then test) */
  dlgn_member_info members[8];
} dlgn_dataset;

#define DLGN_DEFAULT_MAX_BYTES ((uint64_t)1 << 30)

typedef struct {
  uint64_t max_bytes; /* decompressed-size cap (bomb guard); 0 = default (1 GiB) */
} dlgn_load_options;

/* "CIFAR-10" or "CIFAR-100". */
const char *dlgn_cifar_kind_name(dlgn_cifar_kind kind);

/* Load an archive libarchive reads (.tar.gz, .tar, .tar.xz, .zip, ...) or an
 * extracted folder (or the folder holding it); the dataset is detected from
 * the members. Strict: whole records, labels in range, every records member
 * present once, each split non-empty, no absolute/'..' paths, links or
 * devices, at most max_bytes decompressed. One error naming archive, member
 * and byte offset; never a partial dataset (ds is zeroed on failure). */
int dlgn_dataset_load(dlgn_dataset *ds, const char *path, const dlgn_load_options *opt);
/* Frees the images and labels of both splits and zeroes ds. */
void dlgn_dataset_free(dlgn_dataset *ds);

/* The folder, relative to the working folder, where dlgn looks for archives
 * when none is given, and where dlgn_data_download puts them by default. */
#define DLGN_DATASETS_DIR "datasets"

/* Where the data comes from: cli (--data), else $DLGN_DATA, else the first
 * CIFAR archive or folder in ./datasets/ (names starting "cifar-10", sorted);
 * *synthetic = true (and path "") when none. A given --data or $DLGN_DATA that
 * does not exist is an error, except the word "synthetic", which forces
 * synthetic data. */
int dlgn_data_resolve(const char *cli, char *path, size_t size, bool *synthetic);

/* ---- the official archives, and fetching them ---- */
typedef struct {
  const char *file; /* "cifar-10-binary.tar.gz" */
  const char *url;  /* where it is published */
  const char *md5;  /* hex digest of the whole file */
} dlgn_cifar_archive;

const dlgn_cifar_archive *dlgn_cifar_official_archive(dlgn_cifar_kind kind);

typedef struct {
  const char *dir; /* NULL or "": DLGN_DATASETS_DIR */
  const char *url; /* NULL or "": the official address (a mirror otherwise) */
  const char *md5; /* NULL or "": the official md5 (a mirror that serves another file: its md5) */
  int retries;     /* further attempts after a transient failure (a cut connection, a
                      timeout, HTTP 408, 429 or 5xx), waiting 1, 2, 4, ... s between them */
  bool progress;   /* draw a progress bar on stderr (the caller checks it is a terminal) */
  FILE *log;       /* a line when a transfer starts, resumes or is retried; NULL: silent */
} dlgn_download_options;

typedef struct {
  char path[4096];       /* DIR/FILE, whole and verified */
  bool already;          /* it was there and verified; nothing was fetched */
  uint64_t bytes;        /* size of the file */
  uint64_t resumed_from; /* bytes of an earlier partial download that were kept (0: none) */
  int attempts;          /* transfers made */
} dlgn_download_result;

/* Fetch the official archive of kind (or o->url) over HTTP(S) into
 * DIR/FILE.part, resuming a partial download left by an earlier attempt or
 * run with a Range request; check the whole file's md5 and only then rename
 * it to DIR/FILE, where dlgn_data_resolve finds it (with the default DIR).
 * A file already at DIR/FILE is verified and kept. A wrong md5 removes the
 * partial file; any other failure keeps it for the next run to resume. The
 * error names the address and the file and says where to put an archive
 * fetched by other means. */
int dlgn_data_download(dlgn_cifar_kind kind, const dlgn_download_options *o,
                       dlgn_download_result *r);

/* Sizes of the embedded synthetic default (no archive given or found). */
#define DLGN_SYNTH_DEFAULT_TRAIN 5000
#define DLGN_SYNTH_DEFAULT_TEST 1000

/* Synthetic, learnable CIFAR-format data (class-dependent patterns plus
 * noise), deterministic in the seed, and independent of the C library (no
 * libm transcendentals). The class patterns are fixed; the seed draws the
 * images; the test images do not change with ntrain. ntrain, ntest >= 1. */
int dlgn_synth_generate(dlgn_dataset *ds, dlgn_cifar_kind kind, size_t ntrain, size_t ntest,
                        uint64_t seed);
/* The same, written as a CIFAR-format .tar.gz through libarchive's writer
 * (the official archive's member names; CIFAR-10 train records spread over
 * data_batch_1..5); same arguments -> byte-identical file. */
int dlgn_synth_write(const char *path, dlgn_cifar_kind kind, size_t ntrain, size_t ntest,
                     uint64_t seed);

/* Per-channel mean and (population) std of x/255 over a split. */
void dlgn_split_channel_stats(const dlgn_split *s, float mean[3], float std[3]);

/* The C twin of the device input op: x8 (n,3,32,32) uint8, aug (n) or NULL ->
 * out (n,3*32*32) when !cnhw, (3,n,32,32) when cnhw: (x/255 - mean[c]) / std[c]
 * of the shifted and flipped image. Pixels shifted in from outside are raw 0
 * (as torchvision's RandomCrop(padding=4) before Normalize).
 * Exactly: out[c][y][x] = norm_c(img[c][y+dy][xs+dx]) with xs = flip ? 31-x : x,
 * and img = 0 outside 0..31 (crop of the 4-padded image, then mirror). */
void dlgn_input_ref(float *out, const uint8_t *x8, const dlgn_aug *aug, int n, const float mean[3],
                    const float std[3], bool cnhw);

/* ---- batching ---- */
typedef struct {
  int n;                  /* images in this batch (last one may be short) */
  size_t index;           /* batch number within the epoch */
  const uint8_t *images;  /* (n,3,32,32) contiguous */
  const int32_t *labels;  /* (n) */
  const dlgn_aug *aug;    /* (n); all zero when augmentation is off */
} dlgn_batch;

typedef struct {
  int batch;      /* images per batch */
  bool shuffle;   /* seeded reshuffle every epoch */
  bool augment;   /* random crop (pad 4) + horizontal flip choices */
  bool drop_last; /* drop the short last batch */
  uint64_t seed;
  size_t limit;   /* use only the first limit images of the split (0 = all) */
} dlgn_batcher_options;

typedef struct dlgn_batcher dlgn_batcher;

/* A producer thread gathers the next batch while the caller uses the current
 * one. The order of epoch e depends only on (seed, e), so a run resumed at an
 * epoch boundary sees the same batches. */
int dlgn_batcher_create(dlgn_batcher **out, const dlgn_split *split,
                        const dlgn_batcher_options *opt);
/* Begin epoch `epoch` (0-based): its order and augmentation choices. */
int dlgn_batcher_start_epoch(dlgn_batcher *b, int epoch);
/* 1: *batch valid until the next call of next or start_epoch; 0: epoch
 * finished; -1: error (no epoch started). */
int dlgn_batcher_next(dlgn_batcher *b, dlgn_batch *batch);
size_t dlgn_batcher_batches_per_epoch(const dlgn_batcher *b);
/* Stops the producer thread and frees the batcher; NULL is a no-op. */
void dlgn_batcher_destroy(dlgn_batcher *b);

#endif
