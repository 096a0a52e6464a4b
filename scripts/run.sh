#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (run as root, or with sudo):
#   bash scripts/run.sh demo   set up, build, run the main job on the default dataset
#   bash scripts/run.sh test   set up, build (plain and sanitized), run the whole test suite
#                              and each fuzz target for 30 s
#   bash scripts/run.sh fuzz   only the fuzz targets ($DLGN_FUZZ_SECONDS each, default 30)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake pkg-config ocl-icd-opencl-dev opencl-headers libclblast-dev
  libarchive-dev libmd-dev libcurl4-openssl-dev libjson-c-dev libpng-dev zlib1g-dev check
  pocl-opencl-icd mesa-opencl-icd oclgrind libopenblas-dev clinfo gnuplot-nox clang
  libclang-rt-14-dev parallel)

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

# The libFuzzer targets (fuzz/), built with clang under ASan + UBSan, each
# run for DLGN_FUZZ_SECONDS (default 30) from its committed seed corpus; any
# crash, leak, timeout or broken invariant fails the test. New inputs go to a
# scratch corpus, not into the repository. docs/fuzzing.md has the long run.
run_fuzz() {
  local secs=${DLGN_FUZZ_SECONDS:-30}
  build build-fuzz -DCMAKE_C_COMPILER=clang -DDLGN_FUZZ=ON -DDLGN_BUILD_TESTS=OFF \
    -DDLGN_BUILD_BENCH=OFF
  local t scratch status=0
  mkdir -p build-fuzz/findings
  for t in archive checkpoint sweep run_files tuning; do
    scratch=$(mktemp -d)
    echo "fuzz_$t: ${secs} s"
    if ! ASAN_OPTIONS=detect_leaks=1 ./build-fuzz/fuzz/fuzz_$t -max_total_time="$secs" \
      -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="build-fuzz/findings/$t-" "$scratch" "fuzz/corpus/$t" \
      > "build-fuzz/fuzz_$t.log" 2>&1; then
      echo "fuzz_$t found a problem (input in build-fuzz/findings/):" >&2
      tail -40 "build-fuzz/fuzz_$t.log" >&2
      status=1
    fi
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^#[0-9]+ +DONE' \
      "build-fuzz/fuzz_$t.log" || true
    rm -rf "$scratch"
  done
  return $status
}

# ctest ARGS... in a sanitized build. LeakSanitizer's own stop-the-world
# tracer now and then crashes as a process exits ("Tracer caught signal 11",
# then "LeakSanitizer has encountered a fatal error"): after the test's body
# has passed, before any leak is looked for. When every failed test failed
# that way, those tests run once more; a leak report, an ASan or UBSan error,
# or any other failure fails the suite as it is.
sanitized_ctest() {
  local log rc=0 crashes failed
  log=$(mktemp)
  ctest "$@" 2>&1 | tee "$log" || rc=$?
  if [ "$rc" -ne 0 ]; then
    crashes=$(grep -c "LeakSanitizer has encountered a fatal error" "$log" || true)
    failed=$(grep -cE "^[[:space:]]+[0-9]+ - .* \(Failed\)$" "$log" || true)
    if [ "$crashes" -gt 0 ] && [ "$crashes" -eq "$failed" ] &&
      ! grep -qE "detected memory leaks|ERROR: AddressSanitizer|runtime error:" "$log"; then
      echo "LeakSanitizer's tracer crashed in $crashes test(s) (not a leak report): running them once more"
      rc=0
      ctest --rerun-failed --output-on-failure || rc=$?
    fi
  fi
  rm -f "$log"
  return "$rc"
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
    # evaluates and explains on each. example_installed installs the build
    # into a temporary prefix and builds and runs examples/ against it with
    # pkg-config alone. The Oclgrind runs follow separately.
    (cd build && RUSTICL_ENABLE=llvmpipe ctest --output-on-failure -j"$jobs" -LE oclgrind)
    # Kernels under Oclgrind (out-of-bounds, uninitialised reads, data races,
    # API misuse): the op, GEMM and convolution suites, and the checks of the
    # two Oclgrind faults the project works around (README); every test of
    # the label, about 6 minutes on 2 cores.
    (cd build && ctest --output-on-failure -j"$jobs" -L oclgrind)
    # The same suite under AddressSanitizer + UBSan (leaks inside the OpenCL
    # driver are suppressed; leaks in dlgn are not), on PoCL only.
    build build-asan -DDLGN_SANITIZE=ON -DDLGN_BUILD_BENCH=OFF
    # Mesa's OpenCL drivers (mesa-opencl-icd) leak at load and are unloaded
    # before exit, so the fast unwinder cannot name them for a suppression
    # (the slow one can, at 2-10x the time). The sanitized suite runs on the
    # other drivers; the plain suite above covers Mesa's.
    icd=build-asan/icd
    rm -rf "$icd" && mkdir -p "$icd"
    for f in "${OCL_ICD_VENDORS:-/etc/OpenCL/vendors}"/*.icd; do
      [ -e "$f" ] || continue
      case "$(basename "$f")" in mesa* | rusticl*) ;; *) ln -s "$(realpath "$f")" "$icd/" ;; esac
    done
    (cd build-asan && OCL_ICD_VENDORS=$PWD/icd ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
      LSAN_OPTIONS=suppressions=$PWD/../tests/lsan.supp:print_suppressions=0 \
      sanitized_ctest --output-on-failure -j"$jobs" -LE oclgrind)
    run_fuzz
    ;;
  fuzz)
    install_missing
    run_fuzz
    ;;
  *)
    echo "usage: bash scripts/run.sh demo|test|fuzz" >&2
    exit 2
    ;;
esac
