#!/usr/bin/env bash
# dlgn tune: --help documents every option, bad arguments give one "dlgn: ..."
# line and exit 2, and an unwritable tuning folder fails before any measuring
# (the search itself is covered by tests/test_cl_gemm.c).
set -euo pipefail
dlgn=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

help=$("$dlgn" tune --help)
for opt in --device --backend --quick --quiet DLGN_TUNING_DIR XDG_CONFIG_HOME; do
  grep -q -- "$opt" <<< "$help" || fail "tune --help lacks $opt"
done

set +e
out=$("$dlgn" tune --backend nope 2>&1); rc=$?
set -e
[ $rc -eq 2 ] || fail "--backend nope: exit $rc"
echo "$out" | grep -q "^dlgn: --backend: unknown GEMM backend 'nope'" || fail "--backend nope: $out"

set +e
start=$(date +%s)
out=$(DLGN_TUNING_DIR=/dev/null/dlgn "$dlgn" tune --quick --quiet 2>&1); rc=$?
took=$(( $(date +%s) - start ))
set -e
[ $rc -eq 1 ] || fail "unwritable folder: exit $rc"
echo "$out" | grep -q "^dlgn: cannot create the folder of tuning file /dev/null/dlgn/" ||
  fail "unwritable folder: $out"
[ $took -lt 10 ] || fail "unwritable folder noticed only after ${took} s"
