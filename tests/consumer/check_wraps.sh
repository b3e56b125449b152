#!/usr/bin/env bash
# subprojects/*.wrap (WrapDB) are fallbacks only: the default build takes
# Debian's packages and configures offline. Two configures of this repository
# in scratch build dirs, both with --wrap-mode=nodownload and the tests on
# (tests/meson.build holds the dependency('doctest', fallback : ...) lookup;
# -Dtests=false would never reach it):
#   1. plain: succeeds, and doctest comes from the system, not a subproject;
#   2. --force-fallback-for=doctest: Meson takes subprojects/doctest.wrap and
#      stops only because downloading is off (or, where subprojects/doctest-*/
#      was already downloaded, configures with it): the fallback is wired.
# Configuring only: nothing is compiled.
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
opts=(--wrap-mode=nodownload -Dtests=true -Dexamples=false -Dbenchmarks=false)

meson setup "$work/plain" "$repo" "${opts[@]}" >"$work/plain.log" 2>&1 || {
  cat "$work/plain.log"; echo "FAIL: meson setup --wrap-mode=nodownload did not configure"; exit 1; }
grep -E "Run-time dependency doctest found: YES" "$work/plain.log" || {
  cat "$work/plain.log"; echo "FAIL: doctest not found on the system"; exit 1; }
if grep -E "Executing subproject|Subproject .* is buildable" "$work/plain.log"; then
  echo "FAIL: the default configure used a subproject"; exit 1
fi

# A checkout whose subprojects/doctest-*/ was already downloaded configures;
# one without stops where the download would start. Without the wrap Meson
# would say that neither a subproject directory nor doctest.wrap exists.
if meson setup "$work/forced" "$repo" "${opts[@]}" --force-fallback-for=doctest >"$work/forced.log" 2>&1; then
  grep -q "Dependency doctest from subproject" "$work/forced.log" || {
    cat "$work/forced.log"; echo "FAIL: the forced fallback did not use subprojects/doctest.wrap"; exit 1; }
elif ! grep -q "fallback subproject for the dependency doctest" "$work/forced.log" ||
     ! grep -q "wrap-based subproject downloading is disabled" "$work/forced.log"; then
  cat "$work/forced.log"; echo "FAIL: the forced fallback did not reach subprojects/doctest.wrap"; exit 1
fi
echo "wraps: offline configure uses the system packages; doctest falls back to subprojects/doctest.wrap"
