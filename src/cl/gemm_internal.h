/* Shared between the GEMM backends' files (src/cl/gemm*.c); not installed. */
#ifndef CL_GEMM_INTERNAL_H
#define CL_GEMM_INTERNAL_H

#include "cl/gemm.h"

typedef struct ocl_gemm_wg_state ocl_gemm_wg_state;

/* The work-group kernel with parameters p; *state holds its compiled
 * variants (created on first use, freed by ocl_gemm_wg_state_free). */
int ocl_gemm_wg_run(dlgn_device *dev, ocl_gemm_wg_state **state, const ocl_gemm_wg_params *p,
                    const ocl_gemm_call *c);
void ocl_gemm_wg_state_free(ocl_gemm_wg_state *s);

/* A CLBlast status code in words (OpenCL codes by their names). */
const char *ocl_clblast_status_name(int code);

/* The backend for a device without $DLGN_GEMM (src/cl/gemm_select.c): the
 * measured choice cached for this device and driver, else measured now and
 * cached; wg: the faster form of the work-group kernel. source tells where it came from, for `dlgn
 * devices` and logs. */
int ocl_gemm_select(dlgn_device *dev, ocl_gemm_backend *out, ocl_gemm_wg_params *wg,
                    char *source, size_t size);

/* The cached choice with its work-group form, checked against dev: 1 when
 * there is a valid one (out and wg set), else 0 (nothing changed). */
int ocl_gemm_choice_params(const dlgn_device *dev, ocl_gemm_backend *out,
                           ocl_gemm_wg_params *wg);

#endif
