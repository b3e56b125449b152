#!/usr/bin/env bash
# The compile-error tests' precompiled header: HEADER is copied to OUT_HEADER
# and compiled to OUT_GCH next to it, where g++ looks for it when
# OUT_HEADER is force-included (-include) with the same flags. DEPFILE lists
# the headers it read (LibTorch's), so that a new LibTorch rebuilds it.
#   make_pch.sh HEADER OUT_HEADER OUT_GCH DEPFILE COMPILER ARGS...
set -eu
in=$1 out=$2 gch=$3 dep=$4
shift 4
cp "$in" "$out"
# Compiled from HEADER itself: the copy is an output, it cannot also be a dependency.
"$@" -MD -MF "$dep" -MT "$out" -x c++-header "$in" -o "$gch"
