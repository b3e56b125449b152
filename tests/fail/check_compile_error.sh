#!/usr/bin/env bash
# Compiles a file that must not compile and checks the compiler says what the
# file's `// expect: <text>` line says it must.
# usage: check_compile_error.sh FILE COMPILER [ARGS...]
set -u
file=$1; shift
expect=$(sed -n 's|^// expect: ||p' "$file" | head -n 1)
if [ -z "$expect" ]; then echo "no '// expect:' line in $file"; exit 2; fi
out=$("$@" -fsyntax-only "$file" 2>&1)
status=$?
if [ $status -eq 0 ]; then
  echo "FAIL: $file compiled, but it must not"; exit 1
fi
if ! grep -qF -- "$expect" <<<"$out"; then
  echo "FAIL: $file did not compile, but the error does not say: $expect"
  echo "$out" | grep -E "error" | head -n 20
  exit 1
fi
echo "ok: $(grep -F -- "$expect" <<<"$out" | head -n 1 | cut -c1-300)"
