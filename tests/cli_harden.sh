#!/usr/bin/env bash
# Hostile command lines and files, as a user meets them: each must end with
# one clear error (exit 1, nothing written where it should not be), never a
# crash, a hang or an exit 0.
set -euo pipefail
dlgn=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$tmp"

# expect_error MESSAGE_PART CMD...: exit 1 and the message on stderr.
expect_error() {
  local want=$1
  shift
  local rc=0
  "$@" > out.txt 2> err.txt || rc=$?
  [ "$rc" -eq 1 ] || fail "$* exited $rc, expected 1: $(cat err.txt)"
  grep -qF -- "$want" err.txt || fail "$*: message lacks '$want': $(cat err.txt)"
}

# Whole-file reads are capped: an endless file is an error, not a full memory.
expect_error "sweep file /dev/zero is larger than" timeout 120 "$dlgn" sweep /dev/zero --list --out out

# Real options refuse nan, inf and values outside their meaning (such runs
# trained to NaN and exited 0).
for bad in "--beta nan" "--beta -1" "--beta 0" "--lr inf" "--lr -0.1" "--adam-beta1 1" \
  "--adam-beta1 -0.5" "--adam-beta2 nan" "--adam-beta2 1.5" "--adam-eps 0" "--adam-eps -1e-8" \
  "--momentum -0.9" "--momentum 1" "--momentum nan" "--weight-decay -1" "--weight-decay inf" \
  "--step-gamma 0" "--step-gamma -0.1" "--step-gamma 2" "--step-gamma nan" "--lr 1e40"; do
  opt=${bad%% *}
  # shellcheck disable=SC2086
  expect_error "$opt: expected a number in" "$dlgn" train $bad --run-dir bad-run --epochs 1
  [ ! -e bad-run ] || fail "train $bad created its run folder"
done

"$dlgn" data synth tiny.tar.gz --train 64 --test 32 > /dev/null

# An empty output path wrote the archive to standard output.
expect_error "output path is empty" "$dlgn" data synth ''
[ ! -s out.txt ] || fail "data synth '' wrote $(wc -c < out.txt) bytes to standard output"

# --program must name something that runs.
cat > s.json << EOF2
{"name": "t", "defaults": {"arch": "fc", "depth": 1, "width": 4, "epochs": 1,
  "data": "$PWD/tiny.tar.gz"}, "runs": [{"class": "dlgn"}]}
EOF2
expect_error "--program: the path is empty" "$dlgn" sweep s.json --out o --emit-jobs --program ''
touch not-exec
expect_error "not an executable file" "$dlgn" sweep s.json --out o --emit-jobs --program ./not-exec
expect_error "not an executable file" "$dlgn" sweep s.json --out o --emit-jobs --program "$PWD"
expect_error "No such file" "$dlgn" sweep s.json --out o --emit-jobs --program ./missing
expect_error "no executable of that name on PATH" "$dlgn" sweep s.json --out o --emit-jobs \
  --program no-such-dlgn-program
"$dlgn" sweep s.json --out o --emit-jobs --program "$dlgn" | grep -qF -- "--run-dir" ||
  fail "--program with an executable path emits no job lines"
"$dlgn" sweep s.json --out o --emit-jobs --program bash | grep -q '^bash train' ||
  fail "--program with a name on PATH emits no job lines"

# ---- run folders ----
train() { "$dlgn" train --data "$PWD/tiny.tar.gz" --arch fc --depth 1 --width 4 --batch 32 \
  --epochs 1 --no-eval-train --quiet "$@"; }
train --run-dir r1 > /dev/null 2> err.txt || fail "train: $(cat err.txt)"
[ -s r1/checkpoint.bin ] && [ -s r1/summary.json ] || fail "r1 lacks its checkpoint or summary"

# A --run-dir holding a run (finished or partial) is refused, and left alone.
before=$(md5sum r1/* | md5sum)
expect_error "already holds a run (config.json, metrics.jsonl, summary.json, checkpoint.bin)" \
  train --run-dir r1
grep -qF -- "--resume r1" err.txt && grep -qF -- "--overwrite" err.txt ||
  fail "the refusal names neither --resume nor --overwrite: $(cat err.txt)"
[ "$(md5sum r1/* | md5sum)" = "$before" ] || fail "the refused run changed r1"
mkdir -p partial && cp r1/config.json partial/
sed -i 's|"run_dir": *"r1"|"run_dir": "partial"|' partial/config.json
expect_error "already holds a run (config.json)" train --run-dir partial
expect_error "does not go with --resume" "$dlgn" train --resume r1 --overwrite
# --overwrite means it: the old run's files go first (a stale checkpoint must
# not outlive the configuration it belonged to).
echo keep > r1/notes.txt
train --run-dir r1 --overwrite --seed 7 > /dev/null 2> err.txt || fail "--overwrite: $(cat err.txt)"
grep -q '"seed": *7' r1/config.json || fail "--overwrite did not train the new run"
[ "$(wc -l < r1/metrics.jsonl)" -eq 1 ] || fail "--overwrite kept old metrics lines"
[ -f r1/notes.txt ] || fail "--overwrite removed a file that is not the run's"

# A run killed before its first checkpoint resumes from its config.json.
rm r1/checkpoint.bin r1/summary.json r1/metrics.jsonl
"$dlgn" train --resume r1 --progress plain > out.txt 2> err.txt || fail "resume without checkpoint: $(cat err.txt)"
grep -q "has no checkpoint yet" out.txt err.txt || fail "no note about the missing checkpoint: $(cat out.txt err.txt)"
[ -s r1/checkpoint.bin ] && [ -s r1/summary.json ] || fail "the resumed run wrote no checkpoint"
grep -q '"seed": *7' r1/config.json || fail "the resumed run lost its configuration"

# Temporaries that a killed write left are removed on start, nothing else.
head -c 100000 /dev/urandom > r1/checkpoint.bin.tmp
echo '{' > r1/summary.json.tmp.12345
echo '{' > r1/config.json.tmp.
"$dlgn" train --resume r1 --epochs 2 --progress plain > out.txt 2> err.txt || fail "resume: $(cat err.txt)"
[ ! -e r1/checkpoint.bin.tmp ] && [ ! -e r1/summary.json.tmp.12345 ] ||
  fail "stale temporaries left in r1: $(ls r1)"
[ -e r1/config.json.tmp. ] && [ -f r1/notes.txt ] || fail "a file that is no temporary was removed"
grep -q "removed 2 temporary files" out.txt err.txt || fail "no note on the removed files: $(cat out.txt err.txt)"

# A config.json edited to an invalid value is refused by the trainer too.
mkdir -p edited
cat > edited/config.json << EOF2
{"arch": "fc", "depth": 1, "width": 4, "epochs": 1, "batch": 32, "data": "$PWD/tiny.tar.gz",
 "momentum": -1, "optimizer": "sgd", "run_dir": "edited"}
EOF2
expect_error '"momentum" must be a number in [0, 1)' "$dlgn" train --resume edited --quiet


# A run that diverges in its first epoch has no checkpoint to keep, and says so.
rc=0
"$dlgn" train --data "$PWD/tiny.tar.gz" --arch fc --depth 2 --width 16 --batch 8 --epochs 1 \
  --optimizer sgd --lr 1e6 --run-dir diverged --quiet --no-eval-train > out.txt 2> err.txt || rc=$?
[ "$rc" -eq 1 ] || fail "a diverging run exited $rc: $(cat err.txt)"
grep -q "training diverged" err.txt || fail "no divergence message: $(cat err.txt)"
grep -q "No checkpoint was written" err.txt && ! grep -q "is kept" err.txt ||
  fail "the divergence message claims a checkpoint: $(cat err.txt)"
[ ! -e diverged/checkpoint.bin ] || fail "a checkpoint exists after all"

# ---- sweeps: corrupt summaries in --merge, broken checkpoints on rerun ----
cat > one.json << EOF2
{"name": "one", "defaults": {"arch": "fc", "depth": 1, "width": 4, "epochs": 1, "batch": 32,
  "data": "$PWD/tiny.tar.gz"}, "runs": [{"class": "dlgn"}]}
EOF2
"$dlgn" sweep one.json --out S --quiet --no-filter-check > out.txt 2> err.txt ||
  fail "sweep: $(cat err.txt)"
run=$(ls S/runs)
[ -s "S/runs/$run/summary.json" ] || fail "the sweep run has no summary"

# --merge says "corrupt" with the reason, not "not finished"; a folder without
# config.json gets a note instead of vanishing.
mkdir -p M
for k in good trunc binary typed; do cp -r "S/runs/$run" "M/$k"; done
head -c 40 "S/runs/$run/summary.json" > M/trunc/summary.json
head -c 300 /dev/urandom > M/binary/summary.json
sed -i 's/"epochs": *[0-9]*/"epochs": "one"/' M/typed/summary.json
mkdir -p M/noconf
"$dlgn" sweep --merge M --out MOUT --no-filter-check > out.txt 2> err.txt ||
  fail "merge: $(cat err.txt)"
grep -q "M/trunc/summary.json is corrupt: not valid JSON (it ends early), left out" err.txt ||
  fail "truncated summary: $(cat err.txt)"
grep -q "M/binary/summary.json is corrupt" err.txt || fail "binary summary: $(cat err.txt)"
grep -q 'M/typed/summary.json is corrupt: "epochs" is missing or not an epoch count' err.txt ||
  fail "wrongly typed summary: $(cat err.txt)"
grep -q "M/noconf has no config.json" err.txt || fail "no note on M/noconf: $(cat err.txt)"
! grep -q "not finished" err.txt || fail "a corrupt summary called 'not finished': $(cat err.txt)"
[ "$(wc -l < MOUT/results.csv)" -eq 2 ] || fail "merged results: $(cat MOUT/results.csv)"

# A run with a broken checkpoint fails every rerun the same way; the message
# names the way out, and --set-aside-broken takes it.
rm "S/runs/$run/summary.json"
printf 'XXXX' | dd of="S/runs/$run/checkpoint.bin" bs=1 seek=200 conv=notrunc 2> /dev/null
for attempt in 1 2; do
  expect_error "--set-aside-broken moves the run to S/broken/$run" \
    "$dlgn" sweep one.json --out S --quiet --no-filter-check
  grep -q "CRC-32 mismatch" err.txt || fail "the reason is missing: $(cat err.txt)"
done
"$dlgn" sweep one.json --out S --quiet --no-filter-check --set-aside-broken > out.txt 2> err.txt ||
  fail "--set-aside-broken: $(cat err.txt)"
grep -q "moved to S/broken/$run" err.txt || fail "no note on the moved run: $(cat err.txt)"
[ -f "S/broken/$run/checkpoint.bin" ] && [ -s "S/runs/$run/summary.json" ] ||
  fail "the broken run was not moved aside and trained again"
