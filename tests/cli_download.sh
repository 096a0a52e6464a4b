#!/usr/bin/env bash
# dlgn data download against an HTTP server on 127.0.0.1 started here
# (tests/http_range_server.py) that serves a synthetic archive whole, cut in
# half, ignoring Range, corrupted, or not at all: a cut download is resumed
# with a Range request, a wrong md5 or a 404 leaves no file, and every error
# is one "dlgn: " line naming the address and the path where the archive
# belongs. Nothing here reaches beyond the loopback address.
set -euo pipefail
dlgn=$1
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || true)
if [ -z "$py" ]; then
  echo "cli_download: no python3 for the test server; skipped"
  exit 77
fi
tmp=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2> /dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$tmp"
# a proxy from the environment must not see the loopback requests
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY DLGN_CIFAR10_URL \
  DLGN_CIFAR100_URL
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1

"$dlgn" data synth a.tar.gz --train 300 --test 100 > /dev/null
md5=$(md5sum < a.tar.gz | cut -d' ' -f1)
size=$(stat -c %s a.tar.gz)
half=$((size / 2))
"$py" "$here/http_range_server.py" a.tar.gz port log &
server=$!
for _ in $(seq 100); do
  [ -s port ] && break
  sleep 0.1
done
[ -s port ] || fail "the test server did not start"
base=http://127.0.0.1:$(cat port)
dl() { "$dlgn" data download cifar10 --md5 "$md5" "$@"; }
same() { [ "$(md5sum < "$1" | cut -d' ' -f1)" = "$md5" ] || fail "$1 is not the served file"; }
# fails DIR ARGS...: the download into the new folder DIR fails with one
# "dlgn: " line (in err) and leaves nothing, not even DIR
fails() {
  local dir=$1
  shift
  if dl --dir "$dir" "$@" > out 2> err; then fail "download $* succeeded"; fi
  [ "$(wc -l < err)" -eq 1 ] && grep -q '^dlgn: ' err || fail "not one error line: $(cat err)"
  [ ! -e "$dir" ] || fail "a failed download left $dir: $(ls -A "$dir")"
}

"$dlgn" data --help | grep -q -- "--retries" || fail "data --help lacks download's options"

# 1. Whole: written, verified, no .part left, no progress bar without a terminal.
dl --dir d1 --url "$base/good/a.tar.gz" > out 2> err || fail "download: $(cat err)"
same d1/cifar-10-binary.tar.gz
[ ! -e d1/cifar-10-binary.tar.gz.part ] || fail "the .part file stayed"
grep -q "^fetching $base/good/a.tar.gz into d1/cifar-10-binary.tar.gz.part$" out &&
  grep -q "^d1/cifar-10-binary.tar.gz: $size bytes, md5 $md5 verified" out || fail "$(cat out)"
[ ! -s err ] || fail "stderr without a failure or a terminal: $(cat err)"
# on a terminal (script(1) gives it one), a progress bar on stderr
if command -v script > /dev/null; then
  script -qec "$dlgn data download cifar10 --md5 $md5 --dir d0 --url $base/good/a.tar.gz" \
    /dev/null > tty.out 2>&1 || fail "download on a terminal: $(cat tty.out)"
  grep -q $'\r 100% \\[#*\\] ' tty.out || fail "no progress bar on a terminal: $(cat -A tty.out)"
  same d0/cifar-10-binary.tar.gz
fi
"$dlgn" data inspect d1/cifar-10-binary.tar.gz | grep -q "images: 300 train, 100 test" ||
  fail "the downloaded archive does not load"
# again: verified in place, nothing fetched
requests=$(wc -l < log)
dl --dir d1 --url "$base/good/a.tar.gz" > out 2> err || fail "second download: $(cat err)"
grep -q "already there; nothing fetched" out || fail "second download: $(cat out)"
[ "$(wc -l < log)" -eq "$requests" ] || fail "a verified file was fetched again"
# another file in its place is not overwritten
if "$dlgn" data download cifar10 --dir d1 --url "$base/good/a.tar.gz" > out 2> err; then
  fail "a file with another md5 was taken for the official one"
fi
grep -q "d1/cifar-10-binary.tar.gz is already there but its md5 is $md5, not the expected c32a1d4ab5d03f1284b67883e8d87530" err ||
  fail "another file in place: $(cat err)"
same d1/cifar-10-binary.tar.gz

# 2. Cut in half (the address from the environment): retried with a Range
# request from where the file ends, and whole in the end.
DLGN_CIFAR10_URL="$base/cut/a.tar.gz" dl --dir d2 > out 2> err || fail "cut download: $(cat err)"
same d2/cifar-10-binary.tar.gz
grep -q "^/cut/a.tar.gz -$" log && grep -q "^/cut/a.tar.gz bytes=$half-$" log ||
  fail "no Range request after the cut: $(cat log)"
grep -q "trying again in 1 s" out && grep -q "^resuming d2/cifar-10-binary.tar.gz.part at byte $half" out ||
  fail "the retry was not told: $(cat out)"
[ ! -s err ] || fail "stderr after a retry that succeeded: $(cat err)"

# 3. A .part left by an earlier run is resumed; one that a server ignoring
# Range answers with the whole file is started over.
mkdir d3 d4
head -c 5000 a.tar.gz > d3/cifar-10-binary.tar.gz.part
dl --dir d3 --url "$base/good/a.tar.gz" > /dev/null 2> err || fail "resume: $(cat err)"
same d3/cifar-10-binary.tar.gz
grep -q "^/good/a.tar.gz bytes=5000-$" log || fail "no Range request for the old .part"
head -c 5000 /dev/urandom > d4/cifar-10-binary.tar.gz.part
dl --dir d4 --url "$base/norange/a.tar.gz" > /dev/null 2> err || fail "no range: $(cat err)"
same d4/cifar-10-binary.tar.gz
# a whole .part (a run stopped before its rename): the server has nothing past
# its end (416), and the md5 accepts it
mkdir d5 && cp a.tar.gz d5/cifar-10-binary.tar.gz.part
dl --dir d5 --url "$base/good/a.tar.gz" > /dev/null 2> err || fail "whole .part: $(cat err)"
same d5/cifar-10-binary.tar.gz

# 4. A corrupted body: rejected by the md5, nothing kept.
fails d6 --url "$base/bad/a.tar.gz"
grep -q "$base/bad/a.tar.gz: the downloaded file has md5 [0-9a-f]*, not the expected $md5; removed d6/cifar-10-binary.tar.gz.part" err ||
  fail "md5 error: $(cat err)"
# the official md5 unless told otherwise
if "$dlgn" data download cifar10 --dir d7 --url "$base/good/a.tar.gz" 2> err > out; then
  fail "a synthetic archive passed as the official one"
fi
grep -q "not the expected c32a1d4ab5d03f1284b67883e8d87530" err || fail "official md5: $(cat err)"
[ ! -e d7 ] || fail "the rejected file stayed: $(ls -A d7)"

# 5. A 404, from the default folder: the error says where to put the archive
# by hand (where dlgn looks), and nothing is written.
mkdir w
(cd w && fails datasets --url "$base/missing/a.tar.gz") || exit 1
grep -q "$base/missing/a.tar.gz failed: HTTP 404" w/err || fail "404 error: $(cat w/err)"
grep -q "put it at datasets/cifar-10-binary.tar.gz, where dlgn looks for it" w/err ||
  fail "no hint where to put it: $(cat w/err)"

# 6. A refused connection: told at once, not retried.
closed=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start=$(date +%s)
fails d8 --url "http://127.0.0.1:$closed/a.tar.gz"
grep -q "http://127.0.0.1:$closed/a.tar.gz failed: .*onnect" err || fail "refused: $(cat err)"
[ $(($(date +%s) - start)) -lt 5 ] || fail "a refused connection was retried"

# 7. CIFAR-100 gets its own name; bad arguments are refused.
"$dlgn" data download cifar100 --md5 "$md5" --dir d9 --url "$base/good/a.tar.gz" > /dev/null 2> err ||
  fail "cifar100: $(cat err)"
same d9/cifar-100-binary.tar.gz
if "$dlgn" data download cifar7 2> err; then fail "cifar7 accepted"; fi
if dl --md5 xyz --dir d10 2> err; then fail "a bad md5 accepted"; fi
grep -q "expected 32 hexadecimal digits" err || fail "bad md5: $(cat err)"
[ ! -e d10 ] || fail "a refused command made its folder"

# 8. The demo, finding no archive, says how to get one before it trains.
(cd w && env -u DLGN_DATA "$dlgn" demo --epochs 1 --train-limit 128 --out demo > demo.txt 2>&1) ||
  fail "demo: $(cat w/demo.txt)"
head -3 w/demo.txt | grep -q '`dlgn data download cifar10` fetches the real one' ||
  fail "the demo does not say how to get the data: $(head -5 w/demo.txt)"
echo "cli_download: ok"
