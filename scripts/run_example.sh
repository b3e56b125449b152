#!/usr/bin/env bash
# From nothing to the main job: installs what is missing, builds, and trains
# the example classifier on Fashion-MNIST with a progress bar.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/configure.sh
ninja -C build examples/lit_classifier
exec ./build/examples/lit_classifier "$@"
