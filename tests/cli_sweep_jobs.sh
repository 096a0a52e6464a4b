#!/usr/bin/env bash
# dlgn sweep on real job engines, on a tiny synthetic sweep (fc width 8,
# depth 2, one epoch; 3 runs in wave 1, 2 fixed-learnt runs in wave 2):
# - GNU parallel runs the --emit-jobs lines in two job slots, each slot pinned
#   to a device through its slot number, wave 2 after wave 1;
# - the --emit-slurm script is well-formed and, submitted through a stand-in
#   for sbatch that runs each array task here, trains every run, wave 2
#   after wave 1 (afterok);
# - GNU parallel over --sshlogin hosts with scripts/free-device.sh;
# and --merge of each gives the same results as the sweep run directly.
set -euo pipefail
dlgn=$1
free=$(cd "$(dirname "$0")/.." && pwd)/scripts/free-device.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$tmp"

"$dlgn" sweep --help | grep -q -- "--emit-slurm FILE" || fail "sweep --help lacks --emit-slurm"
"$dlgn" data synth tiny.tar.gz --train 256 --test 128 > /dev/null
cat > s.json << 'EOF'
{
  "name": "tiny jobs",
  "defaults": {"arch": "fc", "depth": 2, "width": 8, "epochs": 1, "batch": 64,
               "data": "tiny.tar.gz"},
  "grid": {"class": ["dnn", "dgn", "dlgn"], "mode": ["joint", "fixed-learnt"]}
}
EOF
# Every column but the timing ones (seconds, images_per_s).
strip() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "seconds" || $i == "images_per_s") skip[i] = 1 }
    { line = ""; first = 1
      for (i = 1; i <= NF; i++) if (!skip[i]) { line = line (first ? "" : ",") $i; first = 0 }
      print line }' "$1"
}
same_results() { # DIR: its results equal the direct sweep's
  diff <(strip A/results.csv) <(strip "$1/results.csv") ||
    fail "$1: results.csv differs from the direct sweep"
  cmp -s <(grep -v '^data:' A/results.md | sed 's/| [0-9.]* | [0-9]* |$//') \
    <(grep -v '^data:' "$1/results.md" | sed 's/| [0-9.]* | [0-9]* |$//') ||
    fail "$1: results.md differs from the direct sweep"
}

"$dlgn" sweep s.json --out A --quiet > /dev/null 2>&1 || fail "the direct sweep failed"
[ "$(wc -l < A/results.csv)" -eq 6 ] || fail "direct sweep: $(cat A/results.csv)"
"$dlgn" sweep s.json --out B --emit-jobs --wave 1 > w1 2> /dev/null
"$dlgn" sweep s.json --out B --emit-jobs --wave 2 > w2 2> /dev/null
[ "$(wc -l < w1)" -eq 3 ] && [ "$(wc -l < w2)" -eq 2 ] || fail "waves: $(cat w1 w2)"

# 1. Slurm: the script, checked without Slurm.
"$dlgn" sweep s.json --out C --emit-slurm sub.sh > out 2> /dev/null || fail "--emit-slurm"
grep -q "^wrote sub.sh: 5 runs as Slurm arrays (3 in wave 1, 2 in wave 2)" out || fail "$(cat out)"
bash -n sub.sh || fail "sub.sh is not valid bash"
[ "$(grep -c '^    1-[0-9]*) exec ' sub.sh)" -eq 3 ] && [ "$(grep -c '^    2-[0-9]*) exec ' sub.sh)" -eq 2 ] ||
  fail "one case per run and wave: $(cat sub.sh)"
grep -q -- '--array=1-3 \\$' sub.sh || fail "wave 1 is not an array of 3: $(cat sub.sh)"
grep -q -- '--array=1-2 --dependency=afterok:"$wave1" \\$' sub.sh ||
  fail "wave 2 is not an array of 2 after wave 1: $(cat sub.sh)"
# the tasks run the --emit-jobs lines (for the other output folder)
diff <(sed -n 's/^    1-[0-9]*) exec \(.*\) ;;$/\1/p' sub.sh) <(sed 's/ B\/runs\// C\/runs\//' w1) ||
  fail "wave 1 tasks differ from the job lines"
diff <(sed -n 's/^    2-[0-9]*) exec \(.*\) ;;$/\1/p' sub.sh) <(sed 's/ B\/runs\// C\/runs\//g' w2) ||
  fail "wave 2 tasks differ from the job lines"
if "$dlgn" sweep s.json --out C --emit-slurm x.sh --emit-jobs 2> err; then
  fail "--emit-slurm with --emit-jobs accepted"
fi

# ... and run through a stand-in for sbatch: it keeps a copy of the script
# (as Slurm does), checks that an afterok job has succeeded, and runs every
# array task in --chdir with SLURM_ARRAY_TASK_ID and the --export variables.
mkdir fakebin
cat > fakebin/sbatch << 'EOF'
#!/usr/bin/env bash
set -euo pipefail
log=$FAKE_SLURM_DIR/log
array= chdir=$PWD vars= dep=
for a in "$@"; do
  case $a in
    --array=*) array=${a#--array=} ;;
    --chdir=*) chdir=${a#--chdir=} ;;
    --export=ALL,*) vars=${a#--export=ALL,} ;;
    --dependency=afterok:*) dep=${a#--dependency=afterok:} ;;
  esac
done
id=$((100 + $(grep -c . "$log" || true)))
echo "$id $*" >> "$log"
if [ -n "$dep" ] && ! grep -q "^ok $dep$" "$FAKE_SLURM_DIR/done"; then
  echo "sbatch: job $dep has not succeeded" >&2
  exit 1
fi
cp "${!#}" "$FAKE_SLURM_DIR/job-$id.sh"
for i in $(seq "${array%-*}" "${array#*-}"); do
  (cd "$chdir" && env SLURM_ARRAY_TASK_ID="$i" "$vars" bash "$FAKE_SLURM_DIR/job-$id.sh") \
    > "$FAKE_SLURM_DIR/job-$id-$i.out" 2>&1
done
echo "ok $id" >> "$FAKE_SLURM_DIR/done"
echo "$id;cluster"
EOF
chmod +x fakebin/sbatch
mkdir slurm && touch slurm/log slurm/done
mkdir elsewhere
(cd elsewhere && PATH=$tmp/fakebin:$PATH FAKE_SLURM_DIR=$tmp/slurm bash ../sub.sh --partition=test) \
  > submit.out 2>&1 || fail "submitting: $(cat submit.out; cat slurm/*.out 2> /dev/null)"
[ "$(wc -l < slurm/log)" -eq 2 ] || fail "expected two sbatch calls: $(cat slurm/log)"
grep -q '^100 .*--partition=test' slurm/log && grep -q '^101 .*--dependency=afterok:100 .*--partition=test' slurm/log ||
  fail "sbatch calls: $(cat slurm/log)"
grep -q "wave 2: job 101, 2 runs, once every task of job 100 has succeeded" submit.out ||
  fail "submit output: $(cat submit.out)"
"$dlgn" sweep --merge C --out C > /dev/null 2> err || fail "merge C: $(cat err)"
same_results C

# 2. GNU parallel: two job slots, each pinned to a device by its slot number
# ({%}: 1, 2), here both to device 0, the only one (ndev devices in all).
if ! command -v parallel > /dev/null; then
  echo "cli_sweep_jobs: GNU parallel is not installed; its half skipped"
  exit 77
fi
ndev=1
for w in w1 w2; do
  parallel --will-cite -j2 --halt now,fail=1 \
    "echo slot {%} device \$(( ({%} - 1) % $ndev )) >> slots; DLGN_DEVICE=\$(( ({%} - 1) % $ndev )) bash -c {}" \
    < $w > /dev/null || fail "parallel, $w"
  echo "$w done" >> slots
done
grep -q '^slot 1 device 0$' slots && grep -q '^slot 2 device 0$' slots || fail "slots: $(cat slots)"
[ "$(grep -c '^slot' slots)" -eq 5 ] || fail "not one job per run: $(cat slots)"
[ "$(sed -n '4p' slots)" = "w1 done" ] || fail "wave 2 started before wave 1 ended: $(cat slots)"
"$dlgn" sweep --merge B --out B > /dev/null 2> err || fail "merge B: $(cat err)"
same_results B

# 3. The several-host form (docs/sweeps.md), on the one host ":" (this one,
# without ssh): scripts/free-device.sh gives each job a device that no
# other job of its host holds.
for w in 1 2; do
  "$dlgn" sweep s.json --out D --emit-jobs --wave $w 2> /dev/null |
    parallel --will-cite --sshlogin 1/: --wd "$tmp" --halt now,fail=1 "$free" $ndev {} > /dev/null ||
    fail "parallel --sshlogin, wave $w"
done
"$dlgn" sweep --merge D --out D > /dev/null 2> err || fail "merge D: $(cat err)"
same_results D
DLGN_LOCK_DIR=$tmp flock "$tmp/dlgn-device-0.lock" bash -c \
  "DLGN_LOCK_DIR=$tmp \"$free\" 1 'echo ran' > held.out 2>&1; echo \$? >> held.out" || true
grep -q "^free-device.sh: all 1 devices of .* are held$" held.out && [ "$(tail -1 held.out)" = 75 ] ||
  fail "a held device was not refused: $(cat held.out)"
echo "cli_sweep_jobs: ok"
