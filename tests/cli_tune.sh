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
for opt in --device --models --batch --part --backend --quick --quiet DLGN_TUNING_DIR \
  XDG_CONFIG_HOME; do
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

# resnet21: not 6n+2; resnet20x: no such architecture
for bad in "--models cnn" "--models c4gap-0" "--models resnet21" "--models resnet20x" "--batch 0" \
  "--batch 64,x" "--part all-of-it"; do
  set +e
  # shellcheck disable=SC2086
  out=$("$dlgn" tune $bad 2>&1); rc=$?
  set -e
  [ $rc -eq 2 ] || fail "tune $bad: exit $rc"
  [ "$(echo "$out" | wc -l)" -eq 1 ] && echo "$out" | grep -q "^dlgn: --" || fail "tune $bad: $out"
done

# The models' own shapes: one step of a C4GAP-8 and of a ResNet-8 of width 4
# at batch 16 recorded, their convolution shapes (the resnet's stride-2 ones
# into stages 2 and 3 among them) timed in every strategy that fits, the file
# read back by `dlgn devices` and applied by a training run of the C4GAP.
export DLGN_TUNING_DIR="$tmp/tuning"
"$dlgn" tune --models c4gap-8,resnet8-4 --batch 16 --quick --quiet > "$tmp/tune.txt" ||
  fail "tune c4gap-8,resnet8-4: $(cat "$tmp/tune.txt")"
file=$(ls "$DLGN_TUNING_DIR"/*.txt)
for shape in "conv N=16 C=3 H=32 W=32 OC=8 " "conv N=16 C=8 H=32 W=32 OC=8 " \
  "conv N=16 C=4 H=32 W=32 OC=8 k=3 stride=2 " "conv N=16 C=8 H=16 W=16 OC=16 k=3 stride=2 " \
  "conv N=16 C=16 H=8 W=8 OC=16 k=3 stride=1 "; do
  grep -q "^$shape" "$file" || fail "no entry '$shape' in $(cat "$file")"
done
grep -q "^own-default" "$file" || fail "no GEMM tuning in $(cat "$file")"
"$dlgn" devices | grep -q "tuned convolutions: " || fail "devices: $("$dlgn" devices)"
(cd "$tmp" && "$dlgn" train --arch c4gap --width 8 --batch 16 --synth-train 64 --synth-test 16 \
  --epochs 1 --quiet --run-dir tuned-run > train.txt 2>&1) || fail "tuned run: $(cat "$tmp/train.txt")"
echo "cli_tune: ok"
