#!/usr/bin/env bash
# A short training, its resume, eval and explain on every OpenCL device the
# loader lists (PoCL, and Mesa's rusticl where RUSTICL_ENABLE=llvmpipe is set,
# as the test command does; any GPU): the end-to-end paths each
# implementation must run, and the same test accuracy on every device of
# this seed within 5 points (same data and initialisation; only the order
# of float sums differs).
set -euo pipefail
dlgn=$(realpath "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$dlgn" devices > devices.txt
mapfile -t indices < <(sed -n 's/^[ *] \[\([0-9]*\)\].*/\1/p' devices.txt)
[ ${#indices[@]} -ge 1 ] || fail "no device listed: $(cat devices.txt)"
tiny=(--data synthetic --synth-train 512 --synth-test 256 --arch fc --depth 2 --width 32
  --batch 128 --no-eval-train --progress plain)
for i in "${indices[@]}"; do
  name=$(sed -n "s/^[ *] \[$i\] //p" devices.txt)
  "$dlgn" train "${tiny[@]}" --device "$i" --epochs 1 --run-dir "run$i" > out.txt ||
    fail "train on [$i] $name: $(cat out.txt)"
  grep -q "epoch 1/1" out.txt || fail "[$i] $name: no epoch line: $(cat out.txt)"
  "$dlgn" train --resume "run$i" --epochs 2 --device "$i" --progress plain > out.txt ||
    fail "resume on [$i] $name: $(cat out.txt)"
  grep -q "resuming run$i after epoch 1 of 2" out.txt || fail "[$i] $name resume: $(cat out.txt)"
  [ "$(wc -l < "run$i/metrics.jsonl")" -eq 2 ] || fail "[$i] $name: metrics after resume"
  "$dlgn" eval "run$i" --device "$i" | grep -Eq "soft gates [0-9.]+%" || fail "eval on [$i] $name"
  "$dlgn" explain "run$i" --out "explain$i" --check-images 64 --npk-images 64 --device "$i" \
    --quiet || fail "explain on [$i] $name"
  [ -s "explain$i/report.md" ] || fail "[$i] $name: explain wrote no report"
  acc=$(sed -n 's/.*"test_acc_soft": *\([0-9.]*\).*/\1/p' "run$i/summary.json" | head -1)
  [ -n "$acc" ] || fail "[$i] $name: no test accuracy in summary.json: $(cat "run$i/summary.json")"
  echo "[$i] $name: test accuracy (soft) $acc"
  echo "$acc" >> accs.txt
done
# every device trained the same model on the same data: accuracies agree
sort -n accs.txt | awk 'NR == 1 {lo = $1} {hi = $1} END {
  if (hi - lo > 0.05) { print "accuracies differ: " lo " .. " hi; exit 1 } }' ||
  fail "devices disagree: $(cat accs.txt)"
echo "cli_devices: ok (${#indices[@]} devices)"
