#!/usr/bin/env bash
# Compile time of (a) the hand-written loop with <torch/torch.h>, (b) the same
# model with the bare Trainer and <lightning/lightning.hpp>, (c) a Trainer
# using every policy that exists; each compiled twice, the faster kept.
#   compile_time.sh SOURCE_DIR [COMPILER]
set -eu
src=$1
cxx=${2:-c++}
flags=(-std=c++20 -O2 -I"$src/include" -isystem /usr/include/torch/csrc/api/include -isystem /usr/include/torch -c -o /dev/null)
best() {
  local best_t=
  for _ in 1 2; do
    local t0 t1
    t0=$(date +%s.%N)
    "$cxx" "${flags[@]}" "$1"
    t1=$(date +%s.%N)
    best_t=$(awk -v a="$t0" -v b="$t1" -v m="$best_t" 'BEGIN { t = b - a; if (m == "" || t < m) m = t; printf "%.2f", m }')
  done
  echo "$best_t"
}
a=$(best "$src/benchmarks/compile_time/hand_written.cpp")
b=$(best "$src/benchmarks/compile_time/bare_trainer.cpp")
c=$(best "$src/benchmarks/compile_time/all_policies.cpp")
echo "compile seconds: (a) hand-written $a, (b) bare Trainer $b, (c) all policies $c"
awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN {
  printf "b/a = %.3f (target <= 1.30: %s), c/a = %.3f\n", b / a, (b / a <= 1.3 ? "met" : "MISSED"), c / a }'
