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
archive=$(find "$tmp/prefix" -name libdlgn.a)
shared=$(find "$tmp/prefix" -name libdlgn.so)
test -n "$archive" && test -n "$shared"
# the shared library exports the public API and nothing of the stages' insides
# (grep reads here-strings, not pipes: under pipefail a grep -q that stops
# early can fail the writer with SIGPIPE)
exports=$(nm -D --defined-only "$shared" | awk '{print $3}')
grep -qx dlgn_model_create <<< "$exports"
for internal in nn_model_forward conv2d_forward ocl_launch ocl_buffer_create ocl_gemm; do
  if grep -qx "$internal" <<< "$exports"; then
    echo "libdlgn.so exports the internal $internal" >&2
    exit 1
  fi
done
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
grep -q "libdlgn.so" <<< "$(ldd train_and_filters)" || { echo "not linked to libdlgn.so" >&2; exit 1; }
LD_LIBRARY_PATH="$(dirname "$shared")" ./train_and_filters "$tmp/run" | tee out.txt
# the archive too, for programs that want no shared dlgn
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror train_and_filters.c ${flags/-ldlgn/$archive} \
  -o train_and_filters_static
if grep -q libdlgn <<< "$(ldd train_and_filters_static)"; then
  echo "the static build still needs libdlgn.so" >&2
  exit 1
fi
grep -q "^filter-export check PASSED" out.txt
grep -q "^layer 3: 32 gates" out.txt
test -s "$tmp/run/filters_layer1.png"
test -s "$tmp/run/checkpoint.bin"
