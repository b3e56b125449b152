#!/usr/bin/env bash
# Every ```cpp block of README.md compiles (tests/readme/snippets.py says how
# each kind is wrapped): syntax only, against this checkout's headers.
#   check_snippets.sh REPO DDP(yes|no) ONNX_FLAGS(text or "") -- COMPILER ARGS...
set -u
repo=$1 ddp=$2 onnx=$3
shift 4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$repo/tests/readme/snippets.py" "$repo/README.md" "$work" || exit 1
flags=(-I"$repo/include" -I"$repo/examples")
[ "$ddp" = yes ] && flags+=(-DLIGHTNING_SNIPPETS_DDP=1 -DUSE_DISTRIBUTED -DUSE_C10D_GLOO -DLIGHTNING_HAVE_C10D=1
                            -I"$repo/include/lightning/compat")
# shellcheck disable=SC2206
[ -n "$onnx" ] && flags+=(-DLIGHTNING_SNIPPETS_ONNX=1 $onnx)
status=0
for f in "$work"/*.cpp; do
  if "$@" "${flags[@]}" -fsyntax-only "$f" >"$f.log" 2>&1; then
    echo "ok   $(basename "$f")"
  else
    echo "FAIL $(basename "$f")"
    head -n 60 "$f.log"
    status=1
  fi
done
exit $status
