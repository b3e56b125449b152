#!/usr/bin/env bash
# A feature nobody named is not in the binary: the bare-Trainer program must
# contain no symbol and no string of the optional components, and the
# positive control (which uses them) must contain each, proving the probes
# can find them. Also reports binary sizes.
#   check_compile_away.sh BARE FULL HAND_WRITTEN
set -u
bare=$1 full=$2 hand=$3
# component | probe (a symbol-name fragment: defined in the binary, or
# referenced from it when the component's code is in liblightning-cpp, whose
# strings are then not the binary's)
probes=(
  "progress bar|lightning::ProgressBar"
  "model summary|lightning::ModelSummary"
  "CSV logger|lightning::CSVLogger"
  "TensorBoard logger|lightning::TensorBoardLogger"
  "LR monitor|lightning::LearningRateMonitor"
  "autocast|lightning::precision::Autocast"
  "loss scaler|lightning::precision::GradScaler"
)
fail=0
for p in "${probes[@]}"; do
  what=${p%%|*}
  probe=${p#*|}
  in_bare=$( { nm -C "$bare" 2>/dev/null; strings -a "$bare"; } | grep -cF -- "$probe")
  in_full=$( { nm -C "$full" 2>/dev/null; strings -a "$full"; } | grep -cF -- "$probe")
  if [ "$in_full" -eq 0 ]; then
    echo "FAIL: positive control lacks '$probe' ($what): the probe cannot see this component"; fail=1
  fi
  if [ "$in_bare" -ne 0 ]; then
    echo "FAIL: the bare Trainer binary contains '$probe' ($what)"; fail=1
  else
    echo "ok: no '$probe' ($what) in the bare binary; $in_full hit(s) in the positive control"
  fi
done
size_of() { stat -c %s "$1"; }
echo "binary size: hand-written $(size_of "$hand") bytes, bare Trainer $(size_of "$bare") bytes, with components $(size_of "$full") bytes"
exit $fail
