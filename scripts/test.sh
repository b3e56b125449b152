#!/usr/bin/env bash
# From nothing to the test suite: installs what is missing, builds everything,
# runs every test, and ends with the line `N passed, M failed`.
#
# Two builds: build/ (the library, tests, examples) and build-fuzz/ (the
# readers of untrusted files under ASan+UBSan, fuzzed for a bounded time).
set -u
cd "$(dirname "$0")/.."
scripts/deps.sh || exit 1
scripts/configure.sh || exit 1

status=0
logs=()
if ninja -C build; then
  meson test -C build --print-errorlogs --num-processes 2 "$@" || status=1
  logs+=(build/meson-logs/testlog.json)
else
  echo "the build failed"
  status=1
  build_failed=1
fi

if [ ! -f build-fuzz/build.ninja ]; then
  # A unity build: the library compiled under ASan in a few large files
  # (the sanitizers make each of its files cost ~30 s otherwise).
  meson setup build-fuzz -Dfuzzing=true -Dtests=false -Dexamples=false -Dbenchmarks=false -Dunity=on -Dunity_size=8 \
    -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debugoptimized >/dev/null || status=1
fi
if ninja -C build-fuzz; then
  meson test -C build-fuzz --print-errorlogs || status=1
  logs+=(build-fuzz/meson-logs/testlog.json)
else
  echo "the fuzzing build failed"
  status=1
  build_failed=1
fi

# Counted from meson's own records of this run.
python3 - "${build_failed:-0}" "${logs[@]}" <<'PY'
import json, sys
failed = int(sys.argv[1])  # a build that failed counts as one failure
passed = 0
for path in sys.argv[2:]:
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r != "SKIP":
            failed += 1
print(f"{passed} passed, {failed} failed")
PY
exit $status
