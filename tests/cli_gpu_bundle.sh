#!/usr/bin/env bash
# The offline GPU bundle's driver search (scripts/gpu-check.sh driver), as a
# GPU node meets it: no .icd file for the loader, the driver's OpenCL library
# in a folder of its own. PoCL's library stands in for the GPU driver's under
# NVIDIA's file name; dlgn must then list its device through the .icd file the
# script writes. Also: no driver at all (a plain message, nothing written),
# ICD files already there (used as they are), and the run's argument checks.
#   bash tests/cli_gpu_bundle.sh build/dlgn
set -euo pipefail
dlgn=$1
root=$(cd "$(dirname "$0")/.." && pwd)
script=$root/scripts/gpu-check.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# PoCL's library, as the system's loader names it
name=$(cat /etc/OpenCL/vendors/pocl.icd 2> /dev/null || true)
pocl=
if [ -n "$name" ]; then
  case $name in
    /*) pocl=$name ;;
    *) for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
         if [ -e "$d/$name" ]; then pocl=$d/$name; break; fi
       done ;;
  esac
fi
if [ -z "$pocl" ]; then
  echo "skipped: PoCL's OpenCL library (named by /etc/OpenCL/vendors/pocl.icd) is not installed"
  exit 77
fi
mkdir -p "$tmp/empty" "$tmp/driver" "$tmp/none"
ln -s "$pocl" "$tmp/driver/libnvidia-opencl.so.1"

# 1. no .icd file, the library in a named folder: an .icd file for it
out=$(OCL_ICD_VENDORS=$tmp/empty DLGN_OPENCL_DRIVER_DIRS=$tmp/none:$tmp/driver \
  bash "$script" driver "$tmp/icd") || fail "driver search failed: $out"
grep -qF "found the driver's OpenCL library $tmp/driver/libnvidia-opencl.so.1" <<< "$out" ||
  fail "the script did not report the library it found: $out"
grep -qF "export OCL_ICD_VENDORS=$tmp/icd" <<< "$out" || fail "no OCL_ICD_VENDORS line: $out"
[ "$(cat "$tmp/icd/gpu.icd")" = "$(realpath "$pocl")" ] ||
  fail "gpu.icd holds '$(cat "$tmp/icd/gpu.icd")'"
# ... through which the loader finds the driver
devices=$(OCL_ICD_VENDORS=$tmp/icd "$dlgn" devices 2>&1) || fail "dlgn devices: $devices"
grep -q "^platform: Portable Computing Language" <<< "$devices" ||
  fail "dlgn devices did not list the driver named by the written .icd file: $devices"
echo "ok: the driver library found in a named folder, its .icd written and used"

# 2. no driver anywhere: says so, fails, writes nothing
if out=$(OCL_ICD_VENDORS=$tmp/empty DLGN_OPENCL_DRIVER_DIRS=$tmp/none \
  bash "$script" driver "$tmp/icd2"); then
  # only where this machine has a GPU driver's OpenCL library of its own
  grep -q "found the driver's OpenCL library" <<< "$out" || fail "unexpected success: $out"
  echo "note: this machine has a GPU driver's OpenCL library; the no-driver case was not checked"
else
  grep -q "^No OpenCL driver on this node" <<< "$out" || fail "no plain message: $out"
  [ ! -e "$tmp/icd2/gpu.icd" ] || fail "an .icd file was written without a driver"
  echo "ok: no driver, said plainly"
fi

# 3. ICD files present: listed and used as they are, nothing written
out=$(OCL_ICD_VENDORS=$tmp/icd DLGN_OPENCL_DRIVER_DIRS=$tmp/driver \
  bash "$script" driver "$tmp/icd3") || fail "driver step with ICD files present: $out"
grep -qF "ICD files in $tmp/icd:" <<< "$out" || fail "ICD files not listed: $out"
[ ! -e "$tmp/icd3" ] || fail "an .icd file was written although ICD files exist"
echo "ok: existing ICD files used"

# 4. the run's arguments
if out=$(bash "$script" run --within soon 2>&1); then fail "--within soon accepted"; fi
grep -q "takes a number of seconds" <<< "$out" || fail "--within soon: $out"
if out=$(bash "$script" frobnicate 2>&1); then fail "unknown command accepted"; fi
grep -q "^usage:" <<< "$out" || fail "no usage: $out"
echo "ok: arguments checked"
