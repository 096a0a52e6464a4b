/* CLBlast's status codes in words, for error messages. */
#include <clblast_c.h>

#include "gemm_internal.h"

const char *ocl_clblast_status_name(int code) {
  const CLBlastStatusCode st = (CLBlastStatusCode)code;
  switch (st) {
    case CLBlastInvalidLocalMemUsage:
      return "CLBlastInvalidLocalMemUsage (parameters need more local memory than the device has)";
    case CLBlastMissingOverrideParameter:
      return "CLBlastMissingOverrideParameter";
    case CLBlastInvalidOverrideKernel:
      return "CLBlastInvalidOverrideKernel";
    case CLBlastDatabaseError:
      return "CLBlastDatabaseError";
    case CLBlastOpenCLCompilerNotAvailable:
      return "CLBlastOpenCLCompilerNotAvailable";
    case CLBlastInsufficientMemoryA:
      return "CLBlastInsufficientMemoryA (buffer A too small for offset/ld)";
    case CLBlastInsufficientMemoryB:
      return "CLBlastInsufficientMemoryB (buffer B too small for offset/ld)";
    case CLBlastInsufficientMemoryC:
      return "CLBlastInsufficientMemoryC (buffer C too small for offset/ld)";
    case CLBlastInvalidLeadDimA:
      return "CLBlastInvalidLeadDimA";
    case CLBlastInvalidLeadDimB:
      return "CLBlastInvalidLeadDimB";
    case CLBlastInvalidLeadDimC:
      return "CLBlastInvalidLeadDimC";
    case CLBlastOpenCLBuildProgramFailure:
      return "CLBlastBuildProgramFailure (CLBlast kernel did not compile)";
    default:
      return st < -1000 ? "CLBlast status" : dlgn_cl_strerror((cl_int)st);
  }
}
