#!/usr/bin/env bash
# Builds tests/consumer with this repository vendored as
# subprojects/lightning-cpp, then runs its training program.
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$repo/tests/consumer/meson.build" "$repo/tests/consumer/main.cpp" "$work/"
mkdir -p "$work/subprojects"
# A copy of what is tracked (not the build tree), as a vendored checkout would be.
git -C "$repo" ls-files -z --cached --others --exclude-standard | (cd "$repo" && xargs -0 cp --parents -t "$work/subprojects/" 2>/dev/null) || true
mv "$work/subprojects" "$work/lc" && mkdir "$work/subprojects" && mv "$work/lc" "$work/subprojects/lightning-cpp"
cd "$work"
# The vendored library as a unity build (-Dunity=subprojects), as a consumer
# may choose: the same sources, a third of the compile time.
meson setup build -Dunity=subprojects -Dlightning-cpp:tests=false -Dlightning-cpp:examples=false >setup.log 2>&1 || { cat setup.log; exit 1; }
ninja -C build >build.log 2>&1 || { tail -n 50 build.log; exit 1; }
./build/consumer
