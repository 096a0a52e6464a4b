/* The cl/ sources, embedded at build time by cmake/embed_cl.cmake. */
#ifndef CL_EMBEDDED_CL_H
#define CL_EMBEDDED_CL_H

typedef struct {
  const char *name; /* file name inside cl/ */
  const char *text;
} ocl_embedded_file;

extern const ocl_embedded_file ocl_embedded_cl[];
extern const int ocl_embedded_cl_count;

#endif
