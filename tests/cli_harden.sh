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
  timeout 60 "$@" > out.txt 2> err.txt || rc=$?
  [ "$rc" -eq 1 ] || fail "$* exited $rc, expected 1: $(cat err.txt)"
  grep -qF -- "$want" err.txt || fail "$*: message lacks '$want': $(cat err.txt)"
}

# Whole-file reads are capped: an endless file is an error, not a full memory.
expect_error "sweep file /dev/zero is larger than" "$dlgn" sweep /dev/zero --list --out out

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
