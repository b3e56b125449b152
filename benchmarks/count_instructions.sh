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
  if ! OMP_NUM_THREADS=1 valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out" \
    "$bin" --only "$1" --workload A --epochs "$2" >/dev/null 2>"$work/log.$1.$2"; then
    # On stderr: this function's stdout is captured by its caller.
    {
      echo "count_instructions: valgrind failed on '$1' ($2 epochs):"
      tail -n 20 "$work/log.$1.$2"
      if grep -q -E "SIGILL|unhandled instruction" "$work/log.$1.$2"; then
        echo "valgrind cannot run an instruction of this CPU build (Debian's libtorch_cpu loads libhwy through"
        echo "OpenCV and ffmpeg, whose initializer uses RDTSCP; valgrind 3.19 stops there). Run this on a"
        echo "machine whose valgrind decodes it (valgrind >= 3.20), or with a LibTorch that does not link OpenCV."
      fi
    } >&2
    return 1
  fi
  sed -n 's/^summary: *//p' "$out-01" | awk '{print $1}'
}

declare -A per_step
for v in hand bare; do
  a=$(count "$v" "$short") || exit 1
  b=$(count "$v" "$long") || exit 1
  [ -n "$a" ] && [ -n "$b" ] || { echo "count_instructions: callgrind wrote no summary for '$v'" >&2; exit 1; }
  per_step[$v]=$(( (b - a) / ((long - short) * steps_per_epoch) ))
  echo "$v: $a instructions at $((short * steps_per_epoch)) steps, $b at $((long * steps_per_epoch)) steps -> ${per_step[$v]} per step"
done
ratio=$(awk -v b="${per_step[bare]}" -v h="${per_step[hand]}" 'BEGIN { printf "%.4f", b / h }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.005 ? "met" : "MISSED") }')
echo "instructions per step: hand-written ${per_step[hand]}, bare Trainer ${per_step[bare]}, ratio $ratio (target <= 1.005: $verdict)"
