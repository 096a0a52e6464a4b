#!/usr/bin/env bash
# Build and check dlgn on a GPU node that reaches no package registry (an
# air-gapped cluster node, a locked-down container), from Debian 12 packages
# copied over with the source tree.
#
#   1. On any connected Debian 12 (bookworm) x86-64 machine, in the tree:
#        bash scripts/gpu-check.sh pack        # downloads the packages into .deb/
#      then copy the whole tree, .deb/ included, to the GPU node.
#   2. On the GPU node (no root needed, nothing is installed system-wide):
#        bash scripts/gpu-check.sh run [LOG]   # everything it prints also goes to LOG
#
# `run` unpacks .deb/*.deb into .deb/root (dpkg -x), builds into build-gpu
# against that prefix, and finds the GPU's OpenCL driver: the ICD files in
# /etc/OpenCL/vendors (or $OCL_ICD_VENDORS) when there are any, else the
# driver's library itself (libnvidia-opencl.so.1 through `ldconfig -p` or the
# driver mounts that container images of GPU nodes use, such as
# /usr/local/nvidia/lib64; AMD's and Intel's libraries likewise), for which it
# writes an .icd file into build-gpu/icd and points OCL_ICD_VENDORS there. If
# there is no OpenCL driver at all, it says so and stops.
#
# It then lists the devices and their extensions, runs the device test suites
# on the GPU, the benchmarks (bench_ops, bench_conv, bench_gemm), `dlgn tune`,
# bench_gemm again with the tuned parameters, and one C4GAP-128 epoch; with
# PyTorch (CUDA) installed and $DLGN_DATA naming the CIFAR-10 archive, also
# the PyTorch side-by-side (bench/vs_torch.py). Kernel binaries, the GEMM
# backend choice and the tuning stay in build-gpu.
set -uo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(libclblast1 libclblast-dev libarchive13 libarchive-dev libmd0 libmd-dev libjson-c5
  libjson-c-dev libpng16-16 libpng-dev zlib1g-dev check libsubunit0 libsubunit-dev
  ocl-icd-libopencl1 ocl-icd-opencl-dev opencl-c-headers opencl-clhpp-headers pkg-config
  libpkgconf3 pkgconf pkgconf-bin liblzma5 libzstd1 libbz2-1.0 liblz4-1 libacl1 libxml2
  libnettle8 libicu72 libopenblas0-pthread libopenblas-pthread-dev libopenblas-dev libopenblas0
  libgfortran5 clinfo libcurl4 libcurl4-openssl-dev libnghttp2-14 librtmp1 libssh2-1 libpsl5
  libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libkeyutils1 libldap-2.5-0 libsasl2-2
  libsasl2-modules-db libbrotli1 libssl3)

# The OpenCL library of the GPU driver, when the loader has no .icd for it:
# the first of these names found by ldconfig or in the usual driver folders.
DRIVER_LIBS=(libnvidia-opencl.so.1 libamdocl64.so libigdrcl.so)
DRIVER_DIRS=(/usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu
  /usr/lib64 /usr/lib /usr/local/cuda/compat /usr/local/cuda/lib64 /opt/rocm/lib
  /opt/amdgpu-pro/lib64 /run/nvidia/driver/usr/lib/x86_64-linux-gnu)

find_driver() { # prints the path of the first driver library found
  local name dir path
  for name in "${DRIVER_LIBS[@]}"; do
    path=$(ldconfig -p 2>/dev/null | awk -v n="$name" '$1 == n {print $NF; exit}')
    if [ -n "$path" ] && [ -e "$path" ]; then echo "$path"; return 0; fi
    for dir in "${DRIVER_DIRS[@]}"; do
      if [ -e "$dir/$name" ]; then echo "$dir/$name"; return 0; fi
    done
  done
  return 1
}

step() { echo; echo "== $*"; }

case "${1:-}" in
  pack)
    mkdir -p .deb && cd .deb || exit 1
    apt-get update -qq
    apt-get download "${PACKAGES[@]}" || exit 1
    echo "$(ls ./*.deb | wc -l) packages in .deb/ ($(du -sh . | cut -f1)); copy the tree with it"
    ;;
  run)
    if [ -n "${2:-}" ]; then exec > >(tee "$2") 2>&1; fi
    if ! ls .deb/*.deb > /dev/null 2>&1; then
      echo "no packages in .deb/: run 'bash scripts/gpu-check.sh pack' on a connected machine first"
      exit 1
    fi
    step "OpenCL driver"
    mkdir -p build-gpu
    vendors=${OCL_ICD_VENDORS:-/etc/OpenCL/vendors}
    if ls "$vendors"/*.icd > /dev/null 2>&1; then
      echo "ICD files in $vendors:"
      for f in "$vendors"/*.icd; do echo "  $f: $(cat "$f")"; done
    elif driver=$(find_driver); then
      mkdir -p build-gpu/icd
      echo "$driver" > build-gpu/icd/gpu.icd
      export OCL_ICD_VENDORS=$PWD/build-gpu/icd
      echo "no ICD file on this node; found the driver's OpenCL library $driver"
      echo "and wrote $OCL_ICD_VENDORS/gpu.icd for it (OCL_ICD_VENDORS=$OCL_ICD_VENDORS)"
    else
      echo "No OpenCL driver on this node: no .icd file in $vendors, and none of"
      echo "${DRIVER_LIBS[*]} in the ldconfig cache or in ${DRIVER_DIRS[*]}."
      echo "Install or mount the GPU driver's OpenCL part (NVIDIA: libnvidia-opencl.so.1,"
      echo "part of the driver; in a container, the driver's utility/compute capabilities),"
      echo "or set OCL_ICD_VENDORS to a folder holding an .icd file that names it."
      exit 1
    fi
    command -v nvidia-smi > /dev/null && nvidia-smi -L

    step "build against the bundled packages"
    root=$PWD/.deb/root
    mkdir -p "$root"
    for d in .deb/*.deb; do dpkg -x "$d" "$root" || exit 1; done
    lib=$root/usr/lib/x86_64-linux-gnu
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
      -DOpenCL_INCLUDE_DIR="$root/usr/include" > /dev/null || exit 1
    cmake --build build-gpu -j"$(nproc)" 2>&1 | grep -E "error|warning"
    test "${PIPESTATUS[0]}" -eq 0 || exit 1

    step "devices"
    build-gpu/dlgn devices || exit 1
    if ! build-gpu/dlgn devices --device gpu > /dev/null 2>&1; then
      echo "OpenCL works but lists no GPU: the driver above is not a GPU's (see the list)"
      exit 1
    fi
    clinfo 2> /dev/null | grep -E "^  (Device Name|Device Version|Driver Version|Device Extensions)" | head -8
    export DLGN_DEVICE=${DLGN_DEVICE:-gpu} DLGN_CACHE_DIR=$PWD/build-gpu/kernel-cache
    export DLGN_TUNING_DIR=$PWD/build-gpu/tuning

    step "device test suites (every device the loader lists)"
    (cd build-gpu && ctest --output-on-failure -L device)
    step "benchmarks"
    build-gpu/bench/bench_ops
    build-gpu/bench/bench_conv
    step "GEMM, untuned (backend chosen by measurement)"
    build-gpu/bench/bench_gemm
    step "dlgn tune"
    build-gpu/dlgn tune --quick --quiet
    step "GEMM, tuned"
    build-gpu/bench/bench_gemm
    step "C4GAP-128, one epoch of synthetic data"
    DLGN_PROFILE=1 build-gpu/dlgn train --data synthetic --arch c4gap --width 128 --epochs 1 \
      --no-eval-train --progress plain --run-dir build-gpu/run-c4gap128
    if [ -n "${DLGN_DATA:-}" ] && python3 -c "import torch; assert torch.cuda.is_available()" 2> /dev/null; then
      step "PyTorch side by side"
      python3 bench/vs_torch.py --dlgn build-gpu/dlgn --data "$DLGN_DATA" --only c4gap --seeds 1
    fi
    ;;
  *)
    echo "usage: bash scripts/gpu-check.sh pack        (connected machine: fetch the packages)" >&2
    echo "       bash scripts/gpu-check.sh run [LOG]   (GPU node: build, test, benchmark)" >&2
    exit 2
    ;;
esac
