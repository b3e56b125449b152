#!/usr/bin/env bash
# What users compile, through the build they use: a consumer project that
# vendors this repository as subprojects/lightning-cpp (as tests/consumer
# does), at -O2, in CPU seconds (user + system, ninja and its children):
#   (a) the seed-sized program (benchmarks/compile_time/seed.cpp: Linear(10,1),
#       one log, the default Trainer): cold, then again after a one-line change;
#   (b) the same with the consumer precompiled header (lightning_pch);
#   (c) the DDP example (examples/ddp.cpp), with the lightning-cpp-ddp dependency;
#   (r) for reference, the same program written by hand against LibTorch alone
#       (benchmarks/compile_time/hand.cpp), after a one-line change, without and
#       with a precompiled <torch/torch.h>: the floor under (a) and (b).
# The library itself is built once first (reported apart). ccache is off.
#   compile_time.sh SOURCE_DIR
set -eu
src=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CCACHE_DISABLE=1

mkdir -p "$work/subprojects/lightning-cpp"
git -C "$src" ls-files -z --cached --others --exclude-standard |
  (cd "$src" && xargs -0 cp --parents -t "$work/subprojects/lightning-cpp/")
cp "$src/benchmarks/compile_time/seed.cpp" "$work/seed.cpp"
cp "$src/benchmarks/compile_time/seed.cpp" "$work/seed_pch.cpp"
cp "$src/benchmarks/compile_time/hand.cpp" "$work/hand.cpp"
cp "$src/benchmarks/compile_time/hand.cpp" "$work/hand_pch.cpp"
cp "$src/examples/ddp.cpp" "$src/examples/lit_classifier.hpp" "$src/examples/fashion_mnist.hpp" "$work/"
cat > "$work/meson.build" <<'EOF'
project('compile_time', 'cpp', default_options : ['cpp_std=c++20', 'buildtype=plain', 'optimization=2'])
lc = subproject('lightning-cpp', default_options : ['tests=false', 'examples=false', 'benchmarks=false'])
lightning = lc.get_variable('lightning_dep')
executable('seed', 'seed.cpp', dependencies : lightning)
executable('seed_pch', 'seed_pch.cpp', dependencies : lightning, cpp_pch : lc.get_variable('lightning_pch'))
executable('hand', 'hand.cpp', dependencies : lightning)
executable('hand_pch', 'hand_pch.cpp', dependencies : lightning, cpp_pch : lc.get_variable('torch_pch'))
ddp = lc.get_variable('lightning_ddp_dep')
if ddp.found()
  executable('ddp', 'ddp.cpp', dependencies : [ddp, dependency('zlib')])
endif
EOF
cd "$work"
meson setup build >setup.log 2>&1 || { cat setup.log; exit 1; }

# CPU seconds of building one ninja target.
cpu() {
  /usr/bin/time -f "%U %S" -o time.txt ninja -C build "$1" >build.log 2>&1 || { tail -n 30 build.log; exit 1; }
  awk '{ printf "%.1f", $1 + $2 }' time.txt
}
# A one-line change: the seed's data line, a new constant each time.
edit() { sed -i "s|x.sum(1, true).*EDIT-ME.*|x.sum(1, true) * $2;  // EDIT-ME|" "$1"; }

lib=$(cpu subprojects/lightning-cpp/src/liblightning-cpp.so)
echo "library (once): $lib s"
a_cold=$(cpu seed)
edit seed.cpp 2
a_edit=$(cpu seed)
echo "(a) seed program, default Trainer: cold $a_cold s, after a one-line change $a_edit s"
b_cold=$(cpu seed_pch)
edit seed_pch.cpp 2
b_edit=$(cpu seed_pch)
echo "(b) the same with the consumer PCH: cold (PCH included) $b_cold s, after a one-line change $b_edit s"
cpu hand >/dev/null
edit hand.cpp 2
r_edit=$(cpu hand)
cpu hand_pch >/dev/null
edit hand_pch.cpp 2
r_pch=$(cpu hand_pch)
echo "(r) reference, the same program by hand on LibTorch alone, after a one-line change: $r_edit s; with a precompiled <torch/torch.h>: $r_pch s"
if grep -q "ddp.p/ddp.cpp.o" build/build.ninja; then
  c=$(cpu ddp)
  echo "(c) examples/ddp.cpp (lightning-cpp-ddp): $c s"
else
  echo "(c) skipped: no c10d/Gloo (apt-get install libgloo-dev)"
fi
