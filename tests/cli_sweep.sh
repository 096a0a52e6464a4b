#!/usr/bin/env bash
# dlgn sweep end to end on a tiny synthetic archive (fc width 8, depth 2, one
# epoch): a sweep trains every run, skips the meaningless ones with a note,
# skips finished runs when run again, resumes an interrupted one, trains on
# when epochs grow; --emit-jobs lines run by xargs in two waves, then
# --merge, give the same results.csv as the sweep run directly (timing
# columns aside).
set -euo pipefail
dlgn=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$tmp"

help=$("$dlgn" sweep --help)
for opt in --out --device --emit-jobs --wave --program --list --merge --check-images \
  --no-filter-check --progress --quiet; do
  grep -q -- "$opt" <<< "$help" || fail "sweep --help lacks $opt"
done

"$dlgn" data synth tiny.tar.gz --train 512 --test 256 > /dev/null
sweep() { # sweep EPOCHS > FILE
  cat << EOF
{
  "name": "tiny",
  "defaults": {"arch": "fc", "depth": 2, "width": 8, "epochs": $1, "batch": 64,
               "data": "tiny.tar.gz", "train_limit": 512, "test_limit": 256},
  "grid": {"class": ["dnn", "dgn", "dlgn"], "mode": ["joint", "fixed-learnt"],
           "value_input": ["image", "ones"]},
  "runs": [{"class": "dlgn-sf", "mode": "fixed-random", "shuffle_gates": "layers"}]
}
EOF
}
sweep 1 > s.json

# Every column but the timing ones (seconds, images_per_s).
strip() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "seconds" || $i == "images_per_s") skip[i] = 1 }
    { line = ""; first = 1
      for (i = 1; i <= NF; i++) if (!skip[i]) { line = line (first ? "" : ",") $i; first = 0 }
      print line }' "$1"
}

# 1. The sweep directly: 3 x 2 x 2 combinations, 3 of them a dnn that cannot be.
"$dlgn" sweep s.json --out A --quiet > A.log 2> A.err || fail "sweep: $(cat A.err)"
[ "$(grep -c ': training$' A.log)" -eq 10 ] || fail "expected 10 runs trained: $(cat A.log)"
[ "$(grep -c '^dlgn: note: skipped grid combination (class=dnn' A.err)" -eq 3 ] ||
  fail "expected 3 notes: $(cat A.err)"
[ "$(wc -l < A/results.csv)" -eq 11 ] || fail "results.csv: $(cat A/results.csv)"
for f in results.jsonl results.md tradeoff.gp tradeoff.dat sweep.json; do
  [ -s "A/$f" ] || fail "A/$f missing"
done
if command -v gnuplot > /dev/null; then [ -s A/tradeoff.png ] || fail "no tradeoff.png"; fi
grep -q ',dgn,.*,fixed-learnt,.*,runs/dnn-fc-d2-w8-joint-s1-[0-9a-f]*/checkpoint.bin,' A/results.csv ||
  fail "a dgn fixed-learnt run does not take the dnn's gates: $(cat A/results.csv)"
grep -q '^dlgn-fc-.*,pass,1,' A/results.csv || fail "no passing filter check: $(cat A/results.csv)"
grep -q '^dnn-.*,n/a,,' A/results.csv || fail "dnn filter check is not n/a"

# 2. Again: everything finished, the same results.
cp A/results.csv A1.csv
"$dlgn" sweep s.json --out A --quiet > A.log 2> /dev/null
[ "$(grep -c ': finished, skipped$' A.log)" -eq 10 ] || fail "rerun trained again: $(cat A.log)"
cmp -s A1.csv A/results.csv || fail "rerun changed results.csv"

# 3. A run without its summary (interrupted after its last checkpoint) resumes
# from the checkpoint and trains nothing more.
run=$(ls A/runs | grep '^dlgn-fc-d2-w8-joint-ones-s1-')
sum=$(md5sum < "A/runs/$run/checkpoint.bin")
rm "A/runs/$run/summary.json" "A/runs/$run/filter_check.json"
"$dlgn" sweep s.json --out A --quiet > A.log 2> /dev/null
[ "$(grep -c ': resuming from its checkpoint$' A.log)" -eq 1 ] || fail "no resume: $(cat A.log)"
grep -q "$run: resuming" A.log || fail "resumed the wrong run: $(cat A.log)"
[ "$(md5sum < "A/runs/$run/checkpoint.bin")" = "$sum" ] || fail "the resumed run trained again"
[ -s "A/runs/$run/filter_check.json" ] || fail "no filter check after the resume"
diff <(strip A1.csv) <(strip A/results.csv) || fail "resume changed the results"

# 4. Job lines: two waves, run by xargs, then merged.
"$dlgn" sweep s.json --out B --emit-jobs > jobs.txt 2> /dev/null
[ "$(grep -vc '^#' jobs.txt)" -eq 10 ] || fail "expected 10 job lines: $(cat jobs.txt)"
wave2=$(grep -n '^# wave 2' jobs.txt | cut -d: -f1)
[ -n "$wave2" ] || fail "no wave 2 comment: $(cat jobs.txt)"
awk -v w="$wave2" 'NR < w && /--mode fixed-learnt/ { exit 1 }' jobs.txt ||
  fail "a fixed-learnt job comes before its sources"
"$dlgn" sweep s.json --out B --emit-jobs --wave 1 > w1.txt 2> /dev/null
"$dlgn" sweep s.json --out B --emit-jobs --wave 2 > w2.txt 2> /dev/null
[ "$(wc -l < w1.txt)" -eq 6 ] && [ "$(wc -l < w2.txt)" -eq 4 ] || fail "waves: $(cat w1.txt w2.txt)"
grep -q '^#' w1.txt w2.txt && fail "--wave output holds comment lines"
xargs -d '\n' -n 1 -P 2 bash -c < w1.txt > /dev/null || fail "wave 1 failed"
xargs -d '\n' -n 1 -P 2 bash -c < w2.txt > /dev/null || fail "wave 2 failed"
"$dlgn" sweep --merge B --out B > /dev/null 2> B.err || fail "merge: $(cat B.err)"
diff <(strip A/results.csv) <(strip B/results.csv) ||
  fail "job lines + merge differ from the direct sweep"
cmp -s <(grep -v '^data:' A/results.md | sed 's/| [0-9.]* | [0-9]* |$//') \
  <(grep -v '^data:' B/results.md | sed 's/| [0-9.]* | [0-9]* |$//') || fail "results.md differ"

# 5. More epochs: every run trains on from its checkpoint.
sweep 2 > s.json
"$dlgn" sweep s.json --out A --quiet > A.log 2> /dev/null
[ "$(grep -c ': resuming from its checkpoint$' A.log)" -eq 10 ] || fail "no train-on: $(cat A.log)"
[ "$(wc -l < "A/runs/$run/metrics.jsonl")" -eq 2 ] || fail "metrics after training on"
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "epochs_run") c = i } NR > 1 && $c != 2 { exit 1 }' \
  A/results.csv || fail "epochs_run is not 2 everywhere"

# 6. Errors: one "dlgn: " line naming the place, non-zero exit.
echo '{"grid": {"mode": ["joint", "fixed-lernt"]}}' > bad.json
if "$dlgn" sweep bad.json --out C 2> err; then fail "a bad mode was accepted"; fi
[ "$(wc -l < err)" -eq 1 ] && grep -q '^dlgn: bad.json: grid "mode"\[1\]' err || fail "error: $(cat err)"
if "$dlgn" sweep s.json 2> err; then fail "no --out accepted"; fi
grep -q -- "--out" err || fail "error: $(cat err)"
if "$dlgn" sweep s.json --out C --emit-jobs --wave 3 2> err; then fail "--wave 3 accepted"; fi

# 7. A relative "data" is found beside the sweep file from any working folder,
# and the job lines carry its absolute path (run names stay as written).
mkdir -p elsewhere
(cd elsewhere && "$dlgn" sweep ../s.json --out ../D --emit-jobs --wave 1) > d.txt 2> /dev/null ||
  fail "sweep from another folder"
grep -q -- "--data $tmp/tiny.tar.gz" d.txt || grep -q -- "--data $(cd "$tmp" && pwd -P)/tiny.tar.gz" d.txt ||
  fail "job lines lack the resolved data path: $(head -1 d.txt)"
[ "$(ls A/runs | sort)" = "$(sed -n 's/.*--run-dir [^ ]*runs\/\([^ ]*\) .*/\1/p' d.txt w2.txt | sort)" ] ||
  fail "run names changed with the data path"
echo "cli_sweep: ok"
