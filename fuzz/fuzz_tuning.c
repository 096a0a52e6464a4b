/* The GEMM tuning-file reader on arbitrary text. Invariants: a tuning read
 * back names its device and driver, and every count is within its array; a
 * failure leaves one line of error. */
#include <string.h>

#include "dlgn/status.h"
#include "cl/tune.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ocl_tuning t;
  dlgn_error_clear();
  if (ocl_tuning_parse(&t, (const char *)data, size, "fuzz.txt") != 0) {
    fuzz_check_error("ocl_tuning_parse");
    return 0;
  }
  FUZZ_TERMINATED(t.device);
  FUZZ_TERMINATED(t.driver);
  FUZZ_CHECK(t.device[0] && t.driver[0], "no device or driver");
  FUZZ_CHECK(t.nshapes >= 0 && t.nshapes <= OCL_TUNE_MAX_SHAPES, "%d shapes", t.nshapes);
  FUZZ_CHECK(t.nconvs >= 0 && t.nconvs <= OCL_TUNE_MAX_CONVS, "%d convolutions", t.nconvs);
  for (int i = 0; i < t.nconvs; i++)
    FUZZ_CHECK(t.convs[i].fwd < OCL_CONV_NKINDS && t.convs[i].dx < OCL_CONV_NKINDS &&
                   t.convs[i].dw < OCL_CONV_NKINDS,
               "strategy out of range");
  FUZZ_CHECK(t.nclblast >= 0 && t.nclblast <= OCL_CLBLAST_MAX_KERNELS, "%d kernels", t.nclblast);
  for (int i = 0; i < t.nclblast; i++) {
    FUZZ_TERMINATED(t.clblast[i].kernel);
    FUZZ_CHECK(t.clblast[i].n >= 1 && t.clblast[i].n <= OCL_CLBLAST_MAX_PARAMS, "%d params",
               t.clblast[i].n);
    for (int k = 0; k < t.clblast[i].n; k++) FUZZ_TERMINATED(t.clblast[i].names[k]);
  }
  /* what the reader accepted, the writer writes and the reader reads again */
  const char *path = fuzz_path("tuning.txt");
  FUZZ_CHECK(ocl_tuning_write(path, &t) == 0, "write: %s", dlgn_error());
  ocl_tuning back;
  FUZZ_CHECK(ocl_tuning_read(path, &back) == 0, "read back: %s", dlgn_error());
  FUZZ_CHECK(back.nshapes == t.nshapes && back.nclblast == t.nclblast &&
                 strcmp(back.device, t.device) == 0 && strcmp(back.driver, t.driver) == 0,
             "the written file reads back differently");
  FUZZ_CHECK(back.nconvs == t.nconvs, "%d convolutions read back as %d", t.nconvs, back.nconvs);
  for (int i = 0; i < t.nconvs; i++)
    FUZZ_CHECK(memcmp(&back.convs[i].shape, &t.convs[i].shape, sizeof t.convs[i].shape) == 0 &&
                   back.convs[i].fwd == t.convs[i].fwd && back.convs[i].dx == t.convs[i].dx &&
                   back.convs[i].dw == t.convs[i].dw,
               "convolution %d reads back differently", i);
  return 0;
}
