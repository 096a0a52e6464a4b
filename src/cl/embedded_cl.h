/* The cl/ sources, embedded at build time by cmake/embed_cl.cmake. */
#ifndef CL_EMBEDDED_CL_H
#define CL_EMBEDDED_CL_H

typedef struct {
  const char *name; /* file name inside cl/ */
  const char *text;
} dlgn_embedded_file;

extern const dlgn_embedded_file dlgn_embedded_cl[];
extern const int dlgn_embedded_cl_count;

#endif
