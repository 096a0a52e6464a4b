#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (run as root, or with sudo):
#   bash scripts/run.sh demo   set up, build, run the main job on the default dataset
#   bash scripts/run.sh test   set up, build (plain and sanitized), run the whole test suite
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake pkg-config ocl-icd-opencl-dev opencl-headers libclblast-dev
  libarchive-dev libmd-dev libjson-c-dev libpng-dev zlib1g-dev check pocl-opencl-icd
  mesa-opencl-icd oclgrind libopenblas-dev clinfo gnuplot-nox)

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

build() { # build DIR [cmake options...]
  local dir=$1
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
}

jobs=$(nproc)
case "${1:-}" in
  demo)
    install_missing
    build build
    ./build/dlgn demo
    ;;
  test)
    install_missing
    build build
    # Two OpenCL implementations on the CPU: PoCL, and Mesa's rusticl on
    # llvmpipe (a second platform once RUSTICL_ENABLE names it). The device
    # suites run every kernel on every device listed, so on both; the CLI
    # tests use the first CPU device (PoCL), and cli_devices trains, resumes,
    # evaluates and explains on each. The Oclgrind runs follow separately.
    (cd build && RUSTICL_ENABLE=llvmpipe ctest --output-on-failure -j"$jobs" -LE oclgrind)
    # Kernels under Oclgrind (out-of-bounds, uninitialised reads, data races,
    # API misuse): the op suite fits the time budget; the GEMM and conv
    # suites under Oclgrind take longer (README).
    (cd build && ctest --output-on-failure -R "^oclgrind_test_nn_ops$")
    # The same suite under AddressSanitizer + UBSan (leaks inside the OpenCL
    # driver are suppressed; leaks in dlgn are not), on PoCL only.
    build build-asan -DDLGN_SANITIZE=ON -DDLGN_BUILD_BENCH=OFF
    # Only PoCL's ICD: Mesa's OpenCL library leaks at load even when it
    # exposes no device, and LeakSanitizer cannot attribute all of it.
    mkdir -p build-asan/icd-pocl
    cp /etc/OpenCL/vendors/pocl.icd build-asan/icd-pocl/
    (cd build-asan && OCL_ICD_VENDORS=$PWD/icd-pocl ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
      LSAN_OPTIONS=suppressions=$PWD/../tests/lsan.supp:print_suppressions=0 \
      DLGN_SANITIZED=1 ctest --output-on-failure -j"$jobs" -LE oclgrind)
    ;;
  *)
    echo "usage: bash scripts/run.sh demo|test" >&2
    exit 2
    ;;
esac
