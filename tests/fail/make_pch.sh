#!/usr/bin/env bash
# The compile-error tests' precompiled header: HEADER is copied to OUT_HEADER
# and compiled to OUT_GCH next to it, where g++ looks for it when
# OUT_HEADER is force-included (-include) with the same flags.
#   make_pch.sh HEADER OUT_HEADER OUT_GCH COMPILER ARGS...
set -eu
in=$1 out=$2 gch=$3
shift 3
cp "$in" "$out"
"$@" -x c++-header "$out" -o "$gch"
