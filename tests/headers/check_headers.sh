#!/usr/bin/env bash
# Every public header compiles on its own, included twice, with nothing
# before it that could hide a missing include. The list is read when the test
# runs, so a new header is checked without reconfiguring. Syntax only
# (-fsyntax-only): nothing is generated.
#
# A header whose first directive (after #pragma once) is
# `#include <torch/torch.h>`, or includes a header of this library whose
# first directive is (followed to any depth), is compiled after a precompiled
# <torch/torch.h>: that is the same program, since the first thing the
# preprocessor does either way is read <torch/torch.h> (and its guards make
# every later include of it empty), and it saves ~7 s of parsing per header.
# Every other header is compiled with no precompiled header at all.
#   check_headers.sh INCLUDE_DIR DDP(yes|no) ONNX_FLAGS(text or "") -- COMPILER ARGS...
# DDP headers get the c10d defines (as the lightning-cpp-ddp dependency
# gives them) and are skipped when this build has no c10d; export/onnx.hpp
# gets ONNX_FLAGS and is skipped when they are empty.
set -u
inc=$1 ddp=$2 onnx=$3
shift 4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$inc" || exit 1

# Whether the first preprocessor directive other than `#pragma once` includes
# torch/torch.h, directly or through this library's headers' first directives.
torch_first() {
  local h=$1 first target depth=0
  while [ $depth -lt 16 ]; do
    first=$(grep -E '^[[:space:]]*#' "$h" | grep -v -E '^[[:space:]]*#[[:space:]]*pragma[[:space:]]+once' | head -n 1)
    grep -q -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*<torch/torch\.h>' <<<"$first" && return 0
    if target=$(sed -n -E 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*|\1|p' <<<"$first") && [ -n "$target" ]; then
      h=$(dirname "$h")/$target  # quoted: relative to the including header first
    elif target=$(sed -n -E 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*<(lightning/[^>]+)>.*|\1|p' <<<"$first") &&
      [ -n "$target" ]; then
      h=$target  # the checks run in the include directory
    else
      return 1
    fi
    [ -f "$h" ] || return 1
    depth=$((depth + 1))
  done
  return 1
}

check_one() {  # header, then extra flags
  local h=$1 tu log pch=()
  shift
  tu="$work/$(echo "$h" | tr '/.' '__').cpp"
  log="$tu.log"
  printf '#include <%s>\n#include <%s>  // and twice\n' "$h" "$h" >"$tu"
  # Only for the plain flag set the PCH was built with (DDP and ONNX headers add defines).
  if [ $# -eq 0 ] && [ -f "$work/pch/torch_first.hpp.gch" ] && torch_first "$h"; then
    pch=(-include "$work/pch/torch_first.hpp" -Winvalid-pch)
  fi
  if "${compiler[@]}" "$@" "${pch[@]}" -fsyntax-only "$tu" >"$log" 2>&1 && ! grep -q "warning:" "$log"; then
    echo "ok   $h"
  else
    echo "FAIL $h"
    head -n 40 "$log" | sed 's/^/     /'
  fi
}
export -f check_one torch_first
export work
compiler=("$@")

mkdir -p "$work/pch"
echo '#include <torch/torch.h>' >"$work/pch/torch_first.hpp"
"${compiler[@]}" -x c++-header "$work/pch/torch_first.hpp" -o "$work/pch/torch_first.hpp.gch" ||
  rm -f "$work/pch/torch_first.hpp.gch"  # then every header is parsed in full

jobs=$(nproc 2>/dev/null || echo 2)
list=$(find lightning -name '*.hpp' | LC_ALL=C sort)
[ -n "$list" ] || { echo "no headers under $inc"; exit 1; }
results="$work/results"
: >"$results"
for h in $list; do
  case $h in
    lightning/ddp.hpp | lightning/strategy/ddp*)
      [ "$ddp" = yes ] || { echo "skip $h (no c10d in this build)" >>"$results"; continue; }
      echo "$h -DUSE_DISTRIBUTED -DUSE_C10D_GLOO -DLIGHTNING_HAVE_C10D=1 -I$inc/lightning/compat" ;;
    lightning/export/onnx.hpp | lightning/export/onnx_rules.hpp)
      [ -n "$onnx" ] || { echo "skip $h (no ONNX library in this build)" >>"$results"; continue; }
      echo "$h $onnx" ;;
    *) echo "$h" ;;
  esac
done | {
  # One header per line; `compiler` travels as a declared array.
  decl=$(declare -p compiler)
  xargs -P "$jobs" -L 1 bash -c "$decl; check_one \"\$@\"" _ >>"$results"
}
grep -v '^ok ' "$results"
ok=$(grep -c '^ok ' "$results")
bad=$(grep -c '^FAIL ' "$results")
echo "$ok headers compile alone, $bad do not"
[ "$bad" -eq 0 ] && [ "$ok" -gt 0 ]
