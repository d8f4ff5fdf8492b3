#!/usr/bin/env bash
# Compiles the native helpers into dist/native/ when their source is newer than the binary:
#   native/set-reader/set-reader.c -> dist/native/porttrigger-set-reader (libnftnl, libmnl; docs/architecture.md)
# Needs gcc, libnftnl-dev and libmnl-dev (scripts/ensure-deps.sh installs them). Run by scripts/bundle.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."

src=native/set-reader/set-reader.c
out=dist/native/porttrigger-set-reader
[ -x "$out" ] && [ "$out" -nt "$src" ] && exit 0
if ! command -v gcc >/dev/null 2>&1 || [ ! -f /usr/include/libnftnl/set.h ] || [ ! -f /usr/include/libmnl/libmnl.h ]; then
  echo "build-native.sh: gcc, libnftnl-dev and libmnl-dev are needed to build $out (npm run setup installs them)" >&2
  exit 1
fi
mkdir -p dist/native
# -Werror: a warning here is a bug in a program that parses what the kernel sends.
gcc -std=gnu11 -Wall -Wextra -Werror -O2 -o "$out.tmp" "$src" -lnftnl -lmnl
mv "$out.tmp" "$out"
