#!/bin/bash
# expect_exit.sh [--within <seconds>] <code> <text> <command...>: passes if the
# command exits with exactly <code> and its stderr contains <text>; with
# --within, also if it ends (every process of it) within <seconds>.
within=
if [ "$1" = --within ]; then within=$2; shift 2; fi
want=$1 text=$2
shift 2
err=$(mktemp)
start=$(date +%s.%N)
if [ -n "$within" ]; then
  # timeout signals the command's whole process group, so launched ranks go too.
  timeout -k 2 "$within" "$@" 2> >(tee "$err" >&2)
else
  "$@" 2> >(tee "$err" >&2)
fi
rc=$?
secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
sleep 0.2  # let tee finish
if [ -n "$within" ] && { [ "$rc" = 124 ] || [ "$rc" = 137 ]; } && [ "$want" != "$rc" ]; then
  echo "FAIL: still running after $within s (deadline): killed"; rm -f "$err"; exit 1
fi
if [ "$rc" != "$want" ]; then echo "FAIL: exit status $rc, expected $want"; rm -f "$err"; exit 1; fi
if ! grep -qF -- "$text" "$err"; then echo "FAIL: stderr lacks: $text"; rm -f "$err"; exit 1; fi
echo "ok: exit status $rc and stderr names the failure, after $secs s${within:+ (deadline $within s)}"
rm -f "$err"
