#!/usr/bin/env bash
# From nothing to the test suite: installs what is missing, builds everything,
# runs every test, and ends with the line `N passed, M failed`.
set -u
cd "$(dirname "$0")/.."
scripts/deps.sh || exit 1
scripts/configure.sh || exit 1
if ! ninja -C build; then
  echo "the build failed"
  echo "0 passed, 1 failed"
  exit 1
fi
meson test -C build --print-errorlogs --num-processes 2 "$@"
status=$?
# Counted from meson's own record of this run.
python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = 0
for line in open(sys.argv[1]):
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
