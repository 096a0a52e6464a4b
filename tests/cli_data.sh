#!/usr/bin/env bash
# dlgn data synth / inspect end to end: same arguments give the same bytes,
# inspect reads what synth wrote, and a bad file gives one "dlgn: ..." line
# and a non-zero exit.
set -euo pipefail
dlgn=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$dlgn" data --help | grep -q -- "--max-bytes" || fail "data --help lacks --max-bytes"
"$dlgn" data --help | grep -q -- "--seed" || fail "data --help lacks --seed"

"$dlgn" data synth "$tmp/a.tar.gz" --kind cifar10 --train 200 --test 50 --seed 4 > /dev/null
sleep 1 # a timestamp anywhere in the archive would now differ
"$dlgn" data synth "$tmp/b.tar.gz" --kind cifar10 --train 200 --test 50 --seed 4 > /dev/null
a=$(md5sum < "$tmp/a.tar.gz")
b=$(md5sum < "$tmp/b.tar.gz")
[ "$a" = "$b" ] || fail "same arguments, different archives: $a vs $b"

out=$("$dlgn" data inspect "$tmp/a.tar.gz")
echo "$out" | grep -q "kind: CIFAR-10 " || fail "inspect: no kind line: $out"
echo "$out" | grep -q "images: 200 train, 50 test" || fail "inspect: wrong counts: $out"
echo "$out" | grep -q "data_batch_1.bin *40 records" || fail "inspect: no member line: $out"
echo "$out" | grep -q "differs from the official md5" || fail "inspect: no md5 verdict: $out"
echo "$out" | grep -Eq "^ +9 +truck +20 +5$" || fail "inspect: wrong histogram: $out"

"$dlgn" data synth "$tmp/c.tar.gz" --kind cifar100 --train 300 --test 100 > /dev/null
out=$("$dlgn" data inspect "$tmp/c.tar.gz")
echo "$out" | grep -q "kind: CIFAR-100" || fail "inspect cifar100: $out"
echo "$out" | grep -q "coarse classes" || fail "inspect cifar100: no coarse histogram: $out"

# A bad file: non-zero exit, exactly one line on stderr, starting "dlgn: ".
head -c 5000 "$tmp/a.tar.gz" > "$tmp/bad.tar.gz"
set +e
"$dlgn" data inspect "$tmp/bad.tar.gz" > "$tmp/out" 2> "$tmp/err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "inspect of a truncated archive exited 0"
[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "expected one error line, got: $(cat "$tmp/err")"
grep -q "^dlgn: .*bad.tar.gz" "$tmp/err" || fail "error line: $(cat "$tmp/err")"

# The cap from the command line.
set +e
"$dlgn" data inspect "$tmp/a.tar.gz" --max-bytes 100K > /dev/null 2> "$tmp/err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "--max-bytes 100K did not stop a 600 KB archive"
grep -q "cap of 102400 bytes" "$tmp/err" || fail "cap message: $(cat "$tmp/err")"

# Without PATH, $DLGN_DATA, then ./datasets/, else the embedded synthetic default.
out=$(cd "$tmp" && env -u DLGN_DATA "$dlgn" data inspect)
echo "$out" | grep -q "embedded synthetic default" || fail "inspect without PATH: $out"
mkdir "$tmp/datasets" && cp "$tmp/c.tar.gz" "$tmp/datasets/cifar-100-binary.tar.gz"
out=$(cd "$tmp" && env -u DLGN_DATA "$dlgn" data inspect)
echo "$out" | grep -q "source: datasets/cifar-100-binary.tar.gz" || fail "./datasets/: $out"
out=$(cd "$tmp" && DLGN_DATA="$tmp/a.tar.gz" "$dlgn" data inspect)
echo "$out" | grep -q "source: $tmp/a.tar.gz" || fail "\$DLGN_DATA: $out"

# Bad option values are refused.
if "$dlgn" data synth "$tmp/d.tar.gz" --kind cifar7 2> /dev/null; then
  fail "--kind cifar7 accepted"
fi
[ ! -e "$tmp/d.tar.gz" ] || fail "a refused synth left a file"
# a CIFAR-100 folder without coarse_label_names.txt: the coarse names are said to be built in
"$dlgn" data synth "$tmp/c100.tar.gz" --kind cifar100 --train 100 --test 50 > /dev/null
mkdir -p "$tmp/c100" && tar xzf "$tmp/c100.tar.gz" -C "$tmp/c100"
rm "$tmp/c100/cifar-100-binary/coarse_label_names.txt"
"$dlgn" data inspect "$tmp/c100/cifar-100-binary" > "$tmp/c100.txt" || fail "inspect without coarse names"
grep -q "^coarse classes (names built in: the data has no coarse_label_names.txt" "$tmp/c100.txt" ||
  fail "coarse names not reported as built in: $(grep names "$tmp/c100.txt")"
grep -q "^classes (names from the archive's fine_label_names.txt" "$tmp/c100.txt" ||
  fail "fine names: $(grep names "$tmp/c100.txt")"
echo "cli_data: ok"
