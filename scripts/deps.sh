#!/usr/bin/env bash
# Installs the Debian packages lightning-cpp builds, tests and runs with,
# only those that are missing (a second run installs nothing).
set -eu
packages=(
  g++ meson ninja-build pkg-config git
  libtorch-dev libgloo-dev libopenblas0-openmp
  libboost-dev libboost-serialization-dev
  doctest-dev libbenchmark-dev zlib1g-dev
  dataset-fashion-mnist
  python3 python3-yaml python3-torch
  python3-numpy python3-fsspec python3-tqdm python3-packaging  # PyTorch Lightning 2.2.5, when present, for the comparison tests
  iproute2  # ip netns: the two-machine DDP test across network namespaces
  libonnx-dev libprotobuf-dev python3-onnx python3-opencv
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
