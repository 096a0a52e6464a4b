#!/usr/bin/env bash
# Build and check dlgn on a GPU node that reaches no package registry (an
# air-gapped cluster node, a locked-down container), from Debian 12 packages
# copied over with the source tree.
#
#   1. On any connected Debian 12 (bookworm) x86-64 machine, in the tree:
#        bash scripts/gpu-check.sh pack        # downloads the packages into .deb/
#      then copy the whole tree, .deb/ included, to the GPU node.
#   2. On the GPU node (no root needed, nothing is installed system-wide):
#        bash scripts/gpu-check.sh run [--within SECONDS] [LOG]
#      Everything it prints also goes to LOG. --within bounds the whole run
#      (a batch job's time limit, say): no step starts after the time is up,
#      and none runs past it.
#   bash scripts/gpu-check.sh driver [DIR] only finds the OpenCL driver (as
#   below) and, where the node has no .icd file for it, writes one into DIR
#   (default build-gpu/icd) and prints the OCL_ICD_VENDORS line to use.
#
# `run` finds the GPU's OpenCL driver: the ICD files in /etc/OpenCL/vendors
# (or $OCL_ICD_VENDORS) when there are any, else the driver's library itself
# (libnvidia-opencl.so.1, AMD's and Intel's likewise), looked for in the
# folders of $DLGN_OPENCL_DRIVER_DIRS (separated by ':'), then through
# `ldconfig -p`, then in the driver mounts that container images of GPU nodes
# use, such as /usr/local/nvidia/lib64. For that library it writes an .icd
# file into build-gpu/icd and points OCL_ICD_VENDORS there. If there is no
# OpenCL driver at all, it says so and stops.
#
# It then unpacks .deb/*.deb into build-gpu/prefix (dpkg -x), builds into build-gpu
# against that prefix, lists the devices and their extensions, and runs: the
# device test suites on the GPU; bench_gemm (the three GEMM backends); the
# training speed of the FC 5x128, C4GAP-32 and C4GAP-128 dlgns (two synthetic
# epochs each); `dlgn tune --quick`; bench_gemm and the training speed again
# with the tuned choices; a C4GAP-128 kernel profile (DLGN_PROFILE); bench_ops
# and bench_conv; with PyTorch (CUDA) installed, training speed against
# PyTorch on the GPU (bench/speed.py), and with $DLGN_DATA naming the CIFAR-10
# archive also test accuracy against it (bench/vs_torch.py). Each
# step has a time limit; a step that fails or runs out of time is reported
# and the next one runs. It ends with a table of the steps (result and
# seconds) and the figures: GEMM GFLOPS per backend and training images/s,
# before and after tuning. Kernel binaries, the GEMM backend choice, the
# tuning and the steps' logs (build-gpu/check) stay in build-gpu.
#
# The checks run on the first GPU. To rehearse on another device (the CPU of
# a connected machine, before shipping the tree), name it in $DLGN_DEVICE
# (index, 'cpu' or a name substring, as `dlgn devices` lists them).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

PACKAGES=(libclblast1 libclblast-dev libarchive13 libarchive-dev libmd0 libmd-dev libjson-c5
  libjson-c-dev libpng16-16 libpng-dev zlib1g-dev check libsubunit0 libsubunit-dev
  ocl-icd-libopencl1 ocl-icd-opencl-dev opencl-c-headers opencl-clhpp-headers pkg-config
  libpkgconf3 pkgconf pkgconf-bin liblzma5 libzstd1 libbz2-1.0 liblz4-1 libacl1 libxml2
  libnettle8 libicu72 libopenblas0-pthread libopenblas-pthread-dev libopenblas-dev libopenblas0
  libgfortran5 clinfo libcurl4 libcurl4-openssl-dev libnghttp2-14 librtmp1 libssh2-1 libpsl5
  libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libkeyutils1 libldap-2.5-0 libsasl2-2
  libsasl2-modules-db libbrotli1 libssl3)

# The OpenCL library of the GPU driver, when the loader has no .icd for it.
DRIVER_LIBS=(libnvidia-opencl.so.1 libamdocl64.so libigdrcl.so)
DRIVER_DIRS=(/usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu
  /usr/lib64 /usr/lib /usr/local/cuda/compat /usr/local/cuda/lib64 /opt/rocm/lib
  /opt/amdgpu-pro/lib64 /run/nvidia/driver/usr/lib/x86_64-linux-gnu)
USER_DIRS=()
if [ -n "${DLGN_OPENCL_DRIVER_DIRS:-}" ]; then
  IFS=: read -r -a USER_DIRS <<< "$DLGN_OPENCL_DRIVER_DIRS"
fi

# Prints the path of the first driver library found: each name in the
# folders of $DLGN_OPENCL_DRIVER_DIRS, then the ldconfig cache, then the
# usual folders.
find_driver() {
  local name dir path
  for name in "${DRIVER_LIBS[@]}"; do
    for dir in "${USER_DIRS[@]}"; do
      if [ -e "$dir/$name" ]; then echo "$dir/$name"; return 0; fi
    done
    path=$(ldconfig -p 2>/dev/null | awk -v n="$name" '$1 == n {print $NF; exit}')
    if [ -n "$path" ] && [ -e "$path" ]; then echo "$path"; return 0; fi
    for dir in "${DRIVER_DIRS[@]}"; do
      if [ -e "$dir/$name" ]; then echo "$dir/$name"; return 0; fi
    done
  done
  return 1
}

# The driver for the loader: the ICD files already there, else an .icd file
# written into $1 for the library find_driver finds (OCL_ICD_VENDORS then
# names $1). Returns 1, saying why, when there is neither.
setup_driver() {
  local icd_dir=$1 vendors=${OCL_ICD_VENDORS:-/etc/OpenCL/vendors} driver f
  if ls "$vendors"/*.icd > /dev/null 2>&1; then
    echo "ICD files in $vendors:"
    for f in "$vendors"/*.icd; do echo "  $f: $(cat "$f")"; done
    return 0
  fi
  if driver=$(find_driver); then
    mkdir -p "$icd_dir" || return 1
    icd_dir=$(cd "$icd_dir" && pwd)
    # the file itself, not a link to it: some drivers find their other
    # parts from where their library lies
    real=$(realpath "$driver") || return 1
    echo "$real" > "$icd_dir/gpu.icd" || return 1
    export OCL_ICD_VENDORS=$icd_dir
    echo "no ICD file in $vendors; found the driver's OpenCL library $driver"
    [ "$real" = "$driver" ] || echo "($real)"
    echo "and wrote $icd_dir/gpu.icd for it; use it with:"
    echo "  export OCL_ICD_VENDORS=$icd_dir"
    return 0
  fi
  echo "No OpenCL driver on this node: no .icd file in $vendors, and none of"
  echo "${DRIVER_LIBS[*]} in ${USER_DIRS[*]:+${USER_DIRS[*]}, }the ldconfig cache"
  echo "or ${DRIVER_DIRS[*]}."
  echo "Install or mount the GPU driver's OpenCL part (NVIDIA: libnvidia-opencl.so.1,"
  echo "part of the driver; in a container, the driver's utility/compute capabilities),"
  echo "name its folder in DLGN_OPENCL_DRIVER_DIRS, or set OCL_ICD_VENDORS to a folder"
  echo "holding an .icd file that names it."
  return 1
}

# ---- run: steps with time limits, and the table at the end ----
DEADLINE=0 # seconds since the script started ($SECONDS); 0: none
RESULTS=()

# step NAME LIMIT COMMAND...: runs COMMAND for at most LIMIT seconds (less
# when --within leaves less), and records its result and time.
step() {
  local name=$1 limit=$2 t0=$SECONDS rc result
  shift 2
  if [ "$DEADLINE" -gt 0 ]; then
    local left=$((DEADLINE - SECONDS))
    if [ "$left" -lt 5 ]; then
      RESULTS+=("$(printf '%-34s %-22s %5s' "$name" "not run (time is up)" "-")")
      return 1
    fi
    [ "$left" -lt "$limit" ] && limit=$left
  fi
  echo
  echo "== $name (at most ${limit} s)"
  timeout --kill-after=10 "$limit" "$@"
  rc=$?
  case $rc in
    0) result=ok ;;
    124 | 137) result="timed out after ${limit} s" ;;
    *) result="FAILED (exit $rc)" ;;
  esac
  RESULTS+=("$(printf '%-34s %-22s %5d' "$name" "$result" $((SECONDS - t0)))")
  return $rc
}

# train_speed LOG: two epochs of 5000 synthetic images at batch 128 of the
# FC 5x128, C4GAP-32 and C4GAP-128 dlgns; each model's epoch lines go to LOG
# (the second epoch's images/s is the figure: the first includes set-up).
train_speed() {
  set -o pipefail
  local log=$1 m rc=0
  : > "$log"
  for m in "fc --arch fc" "c4gap-32 --arch c4gap --width 32" "c4gap-128 --arch c4gap --width 128"; do
    rm -rf "build-gpu/run-speed"
    echo "${m%% *}:" | tee -a "$log"
    # shellcheck disable=SC2086 # the model's options are words
    build-gpu/dlgn train --data synthetic ${m#* } --class dlgn --batch 128 --epochs 2 \
      --no-eval-train --progress plain --run-dir build-gpu/run-speed 2>&1 | tee -a "$log" ||
      rc=1
  done
  return $rc
}
export -f train_speed

# The figures of the run, from the logs of its steps.
figures() {
  local logs=build-gpu/check f
  echo
  echo "== figures"
  for f in gemm-untuned gemm-tuned; do
    [ -s "$logs/$f.log" ] || continue
    printf '%-15s %s\n' "$f:" "$(grep -m1 '^backend ocl_gemm uses' "$logs/$f.log" | cut -c1-160)"
    printf '%-15s %s\n' "" "$(grep -m1 '^geometric mean' "$logs/$f.log")"
    # the rows' fields between the bars: shape, own, work-group, CLBlast
    printf '%-15s %s\n' "" "$(grep -E '^(conv forward|1024\^3) ' "$logs/$f.log" |
      awk -F'|' '{split($2, o, " "); split($3, w, " "); split($4, c, " "); n = $1
        sub(/ +[nt][nt] .*/, "", n)
        printf "%s: own %s, wg %s, clblast %s GFLOPS; ", n, o[3], w[2], c[2]}')"
  done
  for f in speed-untuned speed-tuned; do
    [ -s "$logs/$f.log" ] || continue
    # the last epoch line of each model: its images/s
    printf '%-15s %s\n' "$f:" "$(awk '/^[a-z0-9-]+:$/ {m = $1} /^epoch 2\/2/ {
      for (i = 1; i < NF; i++) if ($(i + 1) == "img/s") printf "%s %s img/s; ", m, $i }' \
      "$logs/$f.log")"
  done
}

summary() {
  echo
  echo "== summary ($(build-gpu/dlgn devices 2> /dev/null | grep -m1 '^selected:'))"
  printf '%-34s %-22s %5s\n' step result s
  printf '%s\n' "${RESULTS[@]}"
  figures
  echo "total: $SECONDS s"
}

case "${1:-}" in
  pack)
    mkdir -p .deb && cd .deb || exit 1
    apt-get update -qq
    apt-get download "${PACKAGES[@]}" || exit 1
    echo "$(ls ./*.deb | wc -l) packages in .deb/ ($(du -sh . | cut -f1)); copy the tree with it"
    ;;
  driver)
    setup_driver "${2:-build-gpu/icd}"
    ;;
  run)
    shift
    if [ "${1:-}" = "--within" ]; then
      case "${2:-}" in
        '' | *[!0-9]*) echo "--within takes a number of seconds" >&2; exit 2 ;;
      esac
      DEADLINE=$2
      shift 2
    fi
    if [ -n "${1:-}" ]; then exec > >(tee "$1") 2>&1; fi
    if ! ls .deb/*.deb > /dev/null 2>&1; then
      echo "no packages in .deb/: run 'bash scripts/gpu-check.sh pack' on a connected machine first"
      exit 1
    fi
    echo "== OpenCL driver"
    rm -rf build-gpu/check && mkdir -p build-gpu/check # this run's logs only
    setup_driver build-gpu/icd || exit 1
    command -v nvidia-smi > /dev/null && nvidia-smi -L

    echo
    echo "== build against the bundled packages"
    # unpacked into the build folder, so that .deb/ keeps the packages alone
    root=$PWD/build-gpu/prefix
    rm -rf "$root" && mkdir -p "$root"
    for d in .deb/*.deb; do dpkg -x "$d" "$root" || exit 1; done
    lib=$root/usr/lib/x86_64-linux-gnu
    node_ld=${LD_LIBRARY_PATH:-}
    export PKG_CONFIG_PATH=$lib/pkgconfig:$root/usr/share/pkgconfig
    export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export CPATH=$root/usr/include
    export LIBRARY_PATH=$lib
    export PATH=$root/usr/bin:$PATH
    # the packages' .pc files name /usr: point them at the unpacked prefix
    sed -i "s|^prefix=/usr|prefix=$root/usr|" "$lib"/pkgconfig/*.pc "$root"/usr/share/pkgconfig/*.pc 2> /dev/null
    pkgconf=$(command -v pkg-config || echo "$root/usr/bin/pkgconf")
    cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$root/usr" \
      -DPKG_CONFIG_EXECUTABLE="$pkgconf" -DOpenCL_LIBRARY="$lib/libOpenCL.so.1" \
      -DOpenCL_INCLUDE_DIR="$root/usr/include" > build-gpu/check/configure.log 2>&1 ||
      { cat build-gpu/check/configure.log; exit 1; }
    cmake --build build-gpu -j"$(nproc)" > build-gpu/check/build.log 2>&1 ||
      { grep -E "error|Error" build-gpu/check/build.log | head -40; exit 1; }
    echo "built in $SECONDS s (log: build-gpu/check/build.log)"

    echo
    echo "== devices"
    build-gpu/dlgn devices || exit 1
    if [ -n "${DLGN_DEVICE:-}" ]; then
      echo "checking the device DLGN_DEVICE=$DLGN_DEVICE names"
    elif ! build-gpu/dlgn devices --device gpu > /dev/null 2>&1; then
      echo "OpenCL works but lists no GPU: the driver above is not a GPU's (see the list);"
      echo "to check another device anyway, name it in DLGN_DEVICE"
      exit 1
    fi
    export DLGN_DEVICE=${DLGN_DEVICE:-gpu} DLGN_CACHE_DIR=$PWD/build-gpu/kernel-cache
    export DLGN_TUNING_DIR=$PWD/build-gpu/tuning
    clinfo 2> /dev/null | grep -E "^  (Device Name|Device Version|Driver Version|Device Extensions)"
    logs=build-gpu/check
    rm -rf "$DLGN_TUNING_DIR" # "untuned" below means untuned, also on a second run

    # The suites run kernels on every device the loader lists; the
    # gpu_choices_* ones repeat them with a GPU's choices on CPU devices.
    step "device test suites" 240 ctest --test-dir build-gpu --output-on-failure -j4 -L device \
      -E '^gpu_choices_'
    step "bench_gemm, untuned" 90 bash -c "set -o pipefail; build-gpu/bench/bench_gemm --budget 0.2 | tee $logs/gemm-untuned.log"
    step "training speed, untuned" 150 bash -c "train_speed $logs/speed-untuned.log"
    step "dlgn tune --quick" 240 build-gpu/dlgn tune --quick --quiet
    step "bench_gemm, tuned" 90 bash -c "set -o pipefail; build-gpu/bench/bench_gemm --budget 0.2 | tee $logs/gemm-tuned.log"
    step "training speed, tuned" 150 bash -c "train_speed $logs/speed-tuned.log"
    rm -rf build-gpu/run-profile
    step "C4GAP-128 kernel profile" 90 bash -c "DLGN_PROFILE=1 build-gpu/dlgn train --data synthetic \
      --arch c4gap --width 128 --epochs 1 --synth-train 1280 --synth-test 128 --no-eval-train \
      --progress plain --run-dir build-gpu/run-profile"
    step "bench_ops" 60 build-gpu/bench/bench_ops
    step "bench_conv" 90 build-gpu/bench/bench_conv
    # PyTorch keeps the node's own libraries: only dlgn runs with the bundled ones
    printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "$LD_LIBRARY_PATH" \
      "$PWD/build-gpu/dlgn" > build-gpu/dlgn-bundled && chmod +x build-gpu/dlgn-bundled
    if env LD_LIBRARY_PATH="$node_ld" python3 -c \
      "import torch; assert torch.cuda.is_available()" 2> /dev/null; then
      step "speed against PyTorch on CUDA" 240 env LD_LIBRARY_PATH="$node_ld" python3 \
        bench/speed.py --dlgn build-gpu/dlgn-bundled --device "$DLGN_DEVICE" --torch-device cuda \
        --models fc-dlgn,fc-dnn,c4gap32-dlgn,c4gap128-dlgn,c4gap128-dnn,vgg16-dlgn --images 5120 \
        --repeat 1
      if [ -n "${DLGN_DATA:-}" ]; then
        step "accuracy against PyTorch" 300 env LD_LIBRARY_PATH="$node_ld" python3 \
          bench/vs_torch.py --dlgn build-gpu/dlgn-bundled --data "$DLGN_DATA" --only c4gap --seeds 1
      fi
    else
      echo
      echo "(no PyTorch with CUDA here: no side-by-side with PyTorch)"
    fi
    summary
    ;;
  *)
    echo "usage: bash scripts/gpu-check.sh pack       (connected machine: fetch the packages)" >&2
    echo "       bash scripts/gpu-check.sh run [--within SECONDS] [LOG]" >&2
    echo "                                            (GPU node: build, test, benchmark)" >&2
    echo "       bash scripts/gpu-check.sh driver [DIR]" >&2
    echo "                                            (find the OpenCL driver, write its .icd)" >&2
    exit 2
    ;;
esac
