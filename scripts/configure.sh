#!/usr/bin/env bash
# Configures build/ once; later runs reuse it (incremental builds).
set -eu
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=release
fi
