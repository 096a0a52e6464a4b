#!/usr/bin/env bash
# Every kernel program compiles as OpenCL C 1.2 for GPU targets with only the
# extensions that every GPU driver dlgn aims at advertises: NVIDIA's OpenCL
# has no cl_khr_fp16 and no subgroups, so a kernel that used half precision,
# a subgroup function or an OpenCL C 2.0 feature fails here, on a machine
# without any GPU. clang's front end checks the programs for NVIDIA (nvptx64),
# AMD (amdgcn) and SPIR (what Intel's drivers take as SPIR-V); the ops
# program is also compiled to NVIDIA's PTX, through code generation. The
# programs are put together as src/cl/program.c does: cl/common.h first, then
# each file, the GEMM files with the definitions their builds pass.
#   bash tests/kernels_gpu_targets.sh SOURCE_DIR [CLANG]
set -euo pipefail
src=$1
clang=${2:-clang}
if ! command -v "$clang" > /dev/null; then
  echo "skipped: no clang ($clang) to compile the kernels for GPU targets"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# what NVIDIA's driver advertises of the Khronos extensions the kernels could use
ext=-all,+cl_khr_fp64,+cl_khr_byte_addressable_store,+cl_khr_global_int32_base_atomics
ext=$ext,+cl_khr_global_int32_extended_atomics,+cl_khr_local_int32_base_atomics
ext=$ext,+cl_khr_local_int32_extended_atomics,+cl_khr_int64_base_atomics
ext=$ext,+cl_khr_int64_extended_atomics
common=(-x cl -cl-std=CL1.2 -Xclang -finclude-default-header -Xclang "-cl-ext=$ext"
  -Wall -Werror -cl-mad-enable -cl-fast-relaxed-math)
targets=("nvptx64-nvidia-nvcl" "amdgcn-amd-amdhsa -mcpu=gfx90a -nogpulib" "spir64")

program() { # program OUT FILE...: common.h, then the files, as program.c joins them
  local out=$1 f
  shift
  {
    printf '#line 1 "common.h"\n'
    cat "$src/cl/common.h"
    printf '\n'
    for f in "$@"; do
      printf '#line 1 "%s"\n' "$(basename "$f")"
      cat "$f"
      printf '\n'
    done
  } > "$out"
}

ops=()
for f in "$src"/cl/*.cl; do
  case $(basename "$f") in gemm*) ;; *) ops+=("$f") ;; esac
done
program "$tmp/ops.cl" "${ops[@]}"
program "$tmp/gemm.cl" "$src/cl/gemm.cl"
program "$tmp/gemm_wg.cl" "$src/cl/gemm_wg.cl"

# the GEMM forms a GPU can be given: own tiles of each vector width, the
# work-group kernel's two candidates (src/cl/gemm_wg.c) and a 32x32 tile
gemm_defs=("-DTM=4 -DTN=16 -DVW=4" "-DTM=8 -DTN=32 -DVW=8" "-DTM=2 -DTN=16 -DVW=16"
  "-DTM=3 -DTN=5 -DVW=1")
wg_defs=("-DTSM=64 -DTSN=64 -DTSK=16 -DWPTM=4 -DWPTN=4" "-DTSM=64 -DTSN=32 -DTSK=0 -DWPTM=8 -DWPTN=4"
  "-DTSM=32 -DTSN=32 -DTSK=16 -DWPTM=4 -DWPTN=4")

fails=0
check() { # check WHAT CLANG-ARGS...
  local what=$1
  shift
  if ! out=$("$clang" "$@" 2>&1); then
    echo "FAIL: $what"
    echo "$out" | head -12
    fails=$((fails + 1))
  fi
}
for t in "${targets[@]}"; do
  read -r -a targ <<< "-target $t"
  check "ops program, $t" "${common[@]}" "${targ[@]}" -fsyntax-only "$tmp/ops.cl"
  for d in "${gemm_defs[@]}"; do
    read -r -a defs <<< "$d"
    check "gemm.cl $d, $t" "${common[@]}" "${targ[@]}" "${defs[@]}" -fsyntax-only "$tmp/gemm.cl"
  done
  for d in "${wg_defs[@]}"; do
    read -r -a defs <<< "$d"
    check "gemm_wg.cl $d, $t" "${common[@]}" "${targ[@]}" "${defs[@]}" -fsyntax-only \
      "$tmp/gemm_wg.cl"
  done
done
check "ops program to PTX" "${common[@]}" -target nvptx64-nvidia-nvcl -O2 -S -o "$tmp/ops.ptx" \
  "$tmp/ops.cl"
if [ "$fails" -gt 0 ]; then
  echo "$fails of the compilations failed"
  exit 1
fi
echo "ok: $(grep -c '\.entry' "$tmp/ops.ptx") kernels in PTX; every program" \
  "compiles for ${targets[*]} with OpenCL C 1.2 and no fp16 or subgroups"
