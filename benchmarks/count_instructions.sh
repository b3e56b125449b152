#!/usr/bin/env bash
# Instructions per training step, hand-written loop vs bare Trainer, on
# workload A, counted by callgrind: each variant runs for two step counts and
# the difference is divided by the difference in steps, so start-up (loading
# LibTorch, building the model) cancels. Stable on a noisy machine.
#   count_instructions.sh LOOP_OVERHEAD_BINARY [EPOCHS_SHORT EPOCHS_LONG]
set -eu
bin=$1
short=${2:-2}
long=${3:-6}
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind"; exit 1; }
steps_per_epoch=32   # 1000 samples, batch 32
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Only the main thread is counted: the training loop runs there, while the
# instruction counts of LibTorch's pool threads depend on how long they spin.
count() {  # variant epochs -> instructions of the main thread
  local out="$work/cg.$1.$2"
  OMP_NUM_THREADS=1 valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out" \
    "$bin" --only "$1" --workload A --epochs "$2" >/dev/null 2>"$work/log.$1.$2" \
    || { cat "$work/log.$1.$2"; exit 1; }
  sed -n 's/^summary: *//p' "$out-01" | awk '{print $1}'
}

declare -A per_step
for v in hand bare; do
  a=$(count "$v" "$short")
  b=$(count "$v" "$long")
  per_step[$v]=$(( (b - a) / ((long - short) * steps_per_epoch) ))
  echo "$v: $a instructions at $((short * steps_per_epoch)) steps, $b at $((long * steps_per_epoch)) steps -> ${per_step[$v]} per step"
done
ratio=$(awk -v b="${per_step[bare]}" -v h="${per_step[hand]}" 'BEGIN { printf "%.4f", b / h }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.005 ? "met" : "MISSED") }')
echo "instructions per step: hand-written ${per_step[hand]}, bare Trainer ${per_step[bare]}, ratio $ratio (target <= 1.005: $verdict)"
