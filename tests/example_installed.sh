#!/usr/bin/env bash
# The library as a user gets it: install the build into a temporary prefix,
# compile examples/train_and_filters.c against the installed headers and
# libdlgn with `pkg-config --cflags --libs dlgn` alone (no path into the
# source tree), run it, and check what it prints.
#   bash tests/example_installed.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(realpath "$1")
src=$(realpath "$2")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log"
test -f "$tmp/prefix/lib/libdlgn.a" || test -n "$(find "$tmp/prefix" -name libdlgn.a)"
test -x "$tmp/prefix/bin/dlgn"
test -f "$tmp/prefix/include/dlgn/model.h"
for internal in ops.h ops_ref.h gemm.h tune.h; do
  if [ -e "$tmp/prefix/include/dlgn/$internal" ]; then
    echo "internal header $internal was installed" >&2
    exit 1
  fi
done
pc=$(dirname "$(find "$tmp/prefix" -name dlgn.pc)")

cp "$src/examples/train_and_filters.c" "$tmp/"
cd "$tmp"
flags=$(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs dlgn)
echo "cc -std=c11 -Wall -Wextra -Werror train_and_filters.c $flags"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror train_and_filters.c $flags -o train_and_filters
./train_and_filters "$tmp/run" | tee out.txt
grep -q "^filter-export check PASSED" out.txt
grep -q "^layer 3: 32 gates" out.txt
test -s "$tmp/run/filters_layer1.png"
test -s "$tmp/run/checkpoint.bin"
