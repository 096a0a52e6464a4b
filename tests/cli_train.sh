#!/usr/bin/env bash
# dlgn train / eval / devices / demo end to end on small synthetic data: every
# option documented, run files written, resume, eval of a run folder,
# fixed-learnt from a dnn, and errors as one "dlgn: ..." line with a non-zero exit.
set -euo pipefail
dlgn=$(realpath "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }

help=$("$dlgn" train --help)
for opt in data device train-limit test-limit augment normalize class arch depth width batchnorm \
  beta value-input mode gates-from shuffle-gates shuffle-seed optimizer lr momentum nesterov \
  weight-decay schedule step-every step-gamma epochs batch seed run-dir resume no-eval-train \
  progress quiet labels overwrite decoupled-weight-decay; do
  grep -q -- "--$opt" <<< "$help" || fail "train --help lacks --$opt"
done
for cmd in eval demo devices; do "$dlgn" $cmd --help | grep -q usage || fail "$cmd --help"; done
"$dlgn" devices | grep -q "^selected: \[" || fail "devices: no selected line"

tiny=(--data synthetic --arch fc --depth 2 --width 16 --batch 64 --progress plain --no-eval-train)
DLGN_DATA= "$dlgn" train "${tiny[@]}" --class dnn --epochs 1 --run-dir relu > out.txt
grep -q "epoch 1/1" out.txt || fail "no epoch line: $(cat out.txt)"
for f in config.json metrics.jsonl summary.json checkpoint.bin; do
  [ -s "relu/$f" ] || fail "relu/$f missing"
done
grep -Eq '"class": ?"dnn"' relu/summary.json || fail "summary lacks the class"

"$dlgn" train --resume relu --epochs 2 --progress plain > out.txt
grep -q "resuming relu after epoch 1 of 2" out.txt || fail "resume: $(cat out.txt)"
[ "$(wc -l < relu/metrics.jsonl)" -eq 2 ] || fail "metrics after resume: $(cat relu/metrics.jsonl)"

# AdamW's decoupled decay: recorded, and it changes the weights
"$dlgn" train "${tiny[@]}" --epochs 1 --decoupled-weight-decay 0.5 --lr 0.01 --run-dir wd --quiet > /dev/null
"$dlgn" train "${tiny[@]}" --epochs 1 --lr 0.01 --run-dir nowd --quiet > /dev/null
grep -Eq '"decoupled_weight_decay": ?0.5' wd/config.json || fail "decoupled decay not recorded"
cmp -s wd/checkpoint.bin nowd/checkpoint.bin && fail "decoupled decay changed nothing"

"$dlgn" eval relu | grep -Eq "soft gates [0-9.]+% hard gates [0-9.]+%" || fail "eval"

"$dlgn" train "${tiny[@]}" --mode fixed-learnt --gates-from relu --epochs 1 --run-dir fixed --quiet \
  | grep -q "^dgn fc fixed-learnt" || fail "fixed-learnt from a dnn must make a dgn"

# errors: one line, non-zero exit
expect_error() { # expected-substring command...
  local want=$1
  shift
  if "$@" > /dev/null 2> err.txt; then fail "succeeded: $*"; fi
  [ "$(wc -l < err.txt)" -eq 1 ] || fail "not one error line: $(cat err.txt)"
  grep -q "^dlgn: .*$want" err.txt || fail "expected '$want': $(cat err.txt)"
}
expect_error "unknown model class 'cnn'" "$dlgn" train --class cnn
expect_error "unknown or incomplete option" "$dlgn" train --bogus
expect_error "needs --gates-from" "$dlgn" train "${tiny[@]}" --mode fixed-learnt --run-dir x
expect_error "a dnn has no value network" "$dlgn" train "${tiny[@]}" --class dnn --value-input ones --run-dir y
expect_error "not found" "$dlgn" train --resume nowhere
# refused before any data is read: the missing archive is never reached
expect_error "a dnn has no value network" "$dlgn" train --data no-such.tar.gz --class dnn --value-input ones
expect_error "a resumed run keeps its configuration" "$dlgn" train --resume relu --lr 0.1

# CIFAR-100's coarse labels: 20 classes, recorded in config.json and the run name
"$dlgn" data synth c100.tar.gz --kind cifar100 --train 256 --test 128 > /dev/null
"$dlgn" train --data c100.tar.gz --arch fc --depth 2 --width 16 --batch 64 --epochs 1 --quiet \
  --no-eval-train --labels coarse > out.txt || fail "--labels coarse: $(cat out.txt)"
run=runs/dlgn-fc-joint-ones-coarse-s1
grep -Eq '"labels": ?"coarse"' $run/config.json && grep -Eq '"num_classes": ?20' $run/config.json ||
  fail "coarse labels not recorded: $(cat $run/config.json)"
"$dlgn" eval $run | grep -q "hard gates" || fail "eval of a coarse run"
# a short last batch (56 = 32 + 24 images) whose size no batch-blocked kernel
# takes: its convolutions run another strategy, whose scratch the model
# must have allocated too
"$dlgn" train --arch vgg16 --width 4 --batch 32 --synth-train 56 --synth-test 8 --epochs 1 \
  --quiet --run-dir short-batch > out.txt 2>&1 || fail "short last batch: $(cat out.txt)"
# an archive without its names file trains, and says where the names come from
mkdir -p nometa && tar -xzf c100.tar.gz -C nometa && rm nometa/*/fine_label_names.txt
tar -czf nometa.tar.gz -C nometa .
"$dlgn" train --data nometa.tar.gz --arch fc --depth 2 --width 16 --batch 64 --epochs 1 --quiet \
  --no-eval-train --run-dir nometa-run > out.txt 2>&1 || fail "no names file: $(cat out.txt)"
grep -q "has no fine_label_names.txt: the class names are the built-in CIFAR-100 names" out.txt ||
  fail "no note on the built-in names: $(cat out.txt)"
expect_error "--labels coarse needs CIFAR-100" "$dlgn" train "${tiny[@]}" --labels coarse --run-dir z
expect_error "no OpenCL device matches" "$dlgn" devices --device no-such-device
expect_error "cannot open checkpoint" "$dlgn" eval missing.bin
mkdir -p no-vendors # an ICD loader that finds no driver at all
expect_error "no OpenCL platform found" env OCL_ICD_VENDORS="$PWD/no-vendors" "$dlgn" devices
echo "cli_train: ok"
