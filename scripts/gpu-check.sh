#!/usr/bin/env bash
# The device checks of a lent GPU machine, as one prepared script. That
# machine has the NVIDIA driver and CUDA but reaches no package registry, so
# the Debian packages the build needs travel with the tree:
#
#   here:  bash scripts/gpu-check.sh fetch   # apt-get download them into .deb/ (git-ignored)
#   there: bash scripts/gpu-check.sh run     # the device tool, with carry [".deb"]
#
# `run` unpacks .deb/*.deb into .deb/root with dpkg -x (no root, no registry),
# builds into build-gpu against that prefix, lists the devices, then runs the
# op, GEMM and parity tests and the benchmarks on the first GPU, and `dlgn
# tune` before a second bench_gemm. Everything it prints goes to $OUT/gpu.log
# when $OUT is set (the device tool returns that folder).
set -uo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(libclblast1 libclblast-dev libarchive13 libarchive-dev libmd0 libmd-dev libjson-c5
  libjson-c-dev libpng16-16 libpng-dev zlib1g-dev check libsubunit0 libsubunit-dev
  ocl-icd-libopencl1 ocl-icd-opencl-dev opencl-c-headers opencl-clhpp-headers pkg-config
  libpkgconf3 pkgconf pkgconf-bin liblzma5 libzstd1 libbz2-1.0 liblz4-1 libacl1 libxml2
  libnettle8 libicu72 libopenblas0-pthread libopenblas-pthread-dev libopenblas-dev libopenblas0
  libgfortran5)

case "${1:-}" in
  fetch)
    mkdir -p .deb && cd .deb
    apt-get update -qq
    apt-get download "${PACKAGES[@]}"
    du -sh .
    ;;
  run)
    log=${OUT:+$OUT/gpu.log}
    exec > >(tee ${log:-/dev/null}) 2>&1
    ls /etc/OpenCL/vendors 2>&1
    ldconfig -p | grep -i libopencl
    nvidia-smi -L 2>&1 | head -2
    root=$PWD/.deb/root
    mkdir -p "$root"
    for d in .deb/*.deb; do dpkg -x "$d" "$root"; done
    lib=$root/usr/lib/x86_64-linux-gnu
    export PKG_CONFIG_PATH=$lib/pkgconfig:$root/usr/share/pkgconfig
    export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export CPATH=$root/usr/include
    export LIBRARY_PATH=$lib
    # the packages' .pc files name /usr: point them at the unpacked prefix
    sed -i "s|^prefix=/usr|prefix=$root/usr|" "$lib"/pkgconfig/*.pc "$root"/usr/share/pkgconfig/*.pc 2>/dev/null
    pkgconf=$(command -v pkg-config || echo "$root/usr/bin/pkgconf")
    cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$root/usr" \
      -DPKG_CONFIG_EXECUTABLE="$pkgconf" -DOpenCL_LIBRARY="$lib/libOpenCL.so.1" \
      -DOpenCL_INCLUDE_DIR="$root/usr/include" > /dev/null || exit 1
    cmake --build build-gpu -j"$(nproc)" 2>&1 | grep -E "error|warning" ; test "${PIPESTATUS[0]}" -eq 0 || exit 1
    build-gpu/dlgn devices
    export DLGN_DEVICE=${DLGN_DEVICE:-gpu} DLGN_CACHE_DIR=$PWD/build-gpu/kernel-cache
    export DLGN_TUNING_DIR=$PWD/build-gpu/tuning
    (cd build-gpu && ctest --output-on-failure -R "cl_|nn_")
    build-gpu/bench/bench_ops
    build-gpu/bench/bench_conv
    build-gpu/bench/bench_gemm
    build-gpu/dlgn tune
    build-gpu/bench/bench_gemm
    build-gpu/dlgn train --data synthetic --arch c4gap --width 128 --epochs 1 --progress plain
    ;;
  *)
    echo "usage: bash scripts/gpu-check.sh fetch|run" >&2
    exit 2
    ;;
esac
