#!/bin/bash
# expect_exit.sh <code> <text> <command...>: passes if the command exits with
# exactly <code> and its stderr contains <text>.
want=$1 text=$2
shift 2
err=$(mktemp)
"$@" 2> >(tee "$err" >&2)
rc=$?
sleep 0.2  # let tee finish
if [ "$rc" != "$want" ]; then echo "FAIL: exit status $rc, expected $want"; rm -f "$err"; exit 1; fi
if ! grep -qF -- "$text" "$err"; then echo "FAIL: stderr lacks: $text"; rm -f "$err"; exit 1; fi
echo "ok: exit status $rc and stderr names the failure"
rm -f "$err"
