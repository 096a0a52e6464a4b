/* Shared between the GEMM backends' files (src/cl/gemm*.c); not installed. */
#ifndef CL_GEMM_INTERNAL_H
#define CL_GEMM_INTERNAL_H

#include "cl/gemm.h"

typedef struct dlgn_gemm_wg_state dlgn_gemm_wg_state;

/* The work-group kernel with parameters p; *state holds its compiled
 * variants (created on first use, freed by dlgn_gemm_wg_state_free). */
int dlgn_gemm_wg_run(dlgn_device *dev, dlgn_gemm_wg_state **state, const dlgn_gemm_wg_params *p,
                     const dlgn_gemm_call *c);
void dlgn_gemm_wg_state_free(dlgn_gemm_wg_state *s);

/* A CLBlast status code in words (OpenCL codes by their names). */
const char *dlgn_clblast_status_name(int code);

/* The backend for a device without $DLGN_GEMM (src/cl/gemm_select.c): the
 * measured choice cached for this device and driver, else measured now and
 * cached; wg: the faster form of the work-group kernel. source tells where it came from, for `dlgn
 * devices` and logs. */
int dlgn_gemm_select(dlgn_device *dev, dlgn_gemm_backend *out, dlgn_gemm_wg_params *wg,
                     char *source, size_t size);

/* The cached choice with its work-group form, checked against dev: 1 when
 * there is a valid one (out and wg set), else 0 (nothing changed). */
int dlgn_gemm_choice_params(const dlgn_device *dev, dlgn_gemm_backend *out,
                            dlgn_gemm_wg_params *wg);

#endif
