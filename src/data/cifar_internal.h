/* Inside src/data: the CIFAR member table, class names, the growable split
 * that records are decoded into, and the loader that archive and folder
 * readers feed member by member. */
#ifndef DATA_CIFAR_INTERNAL_H
#define DATA_CIFAR_INTERNAL_H

#include <md5.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dlgn/data.h"

/* ---- members (cifar_members.c) ---- */
typedef enum { MEMBER_RECORDS, MEMBER_NAMES, MEMBER_FINE_NAMES, MEMBER_COARSE_NAMES } member_role;

typedef struct {
  const char *base; /* file name inside the official folder */
  dlgn_cifar_kind kind;
  member_role role;
  int test;        /* records: 0 train, 1 test */
  int order;       /* records: canonical position (train members first) */
  const char *md5; /* official digest of a records member */
} cifar_member_spec;

#define CIFAR_MAX_RECORD_MEMBERS 6
#define CIFAR_META_MAX_BYTES 65536

/* The spec whose base equals the last path component of name, or NULL. */
const cifar_member_spec *cifar_member_lookup(const char *name);
/* The records members of kind in canonical order; returns their count. */
int cifar_record_members(dlgn_cifar_kind kind, const cifar_member_spec **specs);
const char *cifar_folder_name(dlgn_cifar_kind kind);
size_t cifar_record_bytes(dlgn_cifar_kind kind);
void cifar_default_names(dlgn_dataset *ds);
/* Class names, one per line (blank lines ignored); exactly expected names. */
int cifar_parse_names(char (*names)[32], int expected, const char *text, size_t len,
                      const char *archive, const char *member);
/* "airplane\nautomobile\n...\n\n" as the official meta files hold them. */
size_t cifar_format_names(char *out, size_t size, const char (*names)[32], int count);

/* ---- decoded records (cifar_records.c) ---- */
typedef struct {
  uint8_t *images, *labels, *coarse; /* coarse only when with_coarse */
  size_t n, cap;
  bool with_coarse;
} split_builder;

/* Room for at least records records in total; exact growth when exact. */
int split_reserve(split_builder *b, size_t records, bool exact);
void split_builder_free(split_builder *b);

/* Decodes one member's byte stream into a split_builder, validating labels
 * and hashing the bytes as they pass. */
typedef struct {
  const char *archive, *member; /* for messages */
  split_builder *dst;
  int header_bytes; /* 1 (label) or 2 (coarse, fine) */
  int num_classes;
  uint64_t offset; /* member bytes consumed */
  size_t pos;      /* position inside the current record */
  MD5_CTX md5;
} record_stream;

void record_stream_begin(record_stream *s, dlgn_cifar_kind kind, split_builder *dst,
                         const char *archive, const char *member);
int record_stream_feed(record_stream *s, const uint8_t *p, size_t len);
/* Whole records only; writes the hex digest. */
int record_stream_end(record_stream *s, char md5_hex[33]);

/* ---- the loader (cifar_loader.c) ---- */
typedef struct {
  const cifar_member_spec *spec;
  char name[256];
  size_t first, count; /* records in the split */
  char md5[33];
} loaded_member;

typedef struct {
  const char *source;        /* archive or folder, for messages */
  uint64_t max_bytes, total; /* cap and decompressed bytes so far */
  dlgn_cifar_kind kind;      /* 0 until the first records member */
  char kind_member[256];     /* the member that fixed kind */
  split_builder split[2];    /* train, test */
  loaded_member members[CIFAR_MAX_RECORD_MEMBERS];
  int nmembers;
  char *meta[3]; /* names, fine, coarse: raw text */
  size_t meta_len[3];
  char meta_member[3][256];
  /* the member being read */
  char current[256];
  const cifar_member_spec *current_spec; /* NULL: unknown member, data discarded */
  uint64_t current_offset;
  record_stream records;
  bool in_records;
} cifar_loader;

void cifar_loader_init(cifar_loader *L, const char *source, uint64_t max_bytes);
/* declared: the member's size from its header, or -1 when unknown. */
int cifar_loader_member_begin(cifar_loader *L, const char *name, int64_t declared);
int cifar_loader_member_data(cifar_loader *L, const uint8_t *p, size_t len);
int cifar_loader_member_end(cifar_loader *L);
/* Checks completeness and moves everything into ds (L is freed either way). */
int cifar_loader_finish(cifar_loader *L, dlgn_dataset *ds);
void cifar_loader_free(cifar_loader *L);

/* Drivers (cifar_archive.c, cifar_folder.c). */
int cifar_archive_read(cifar_loader *L, const char *path);
int cifar_folder_read(cifar_loader *L, const char *path);

#endif
