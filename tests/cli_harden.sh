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
