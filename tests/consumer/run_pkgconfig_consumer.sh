#!/usr/bin/env bash
# The installed library as a user of `meson install` takes it: consumers built
# by g++ with nothing but `pkg-config --cflags --libs lightning-cpp` (the
# installed headers and library, nothing of this source tree), then run.
#   run_pkgconfig_consumer.sh ddp|no-ddp [BUILD_DIR]
# With BUILD_DIR (the test suite passes its own build): `meson install
# --destdir` of that build's library, headers and .pc files into a temporary
# directory, the .pc files' prefix pointed there (--define-variable), so the
# library is not compiled a second time. Without it: a fresh `meson setup
# --prefix=<temporary>` of this repository (-Dtests=false -Dexamples=false
# -Dbenchmarks=false, buildtype plain; -Ddistributed=disabled for no-ddp) and
# `meson install`, i.e. one more build of the library.
# Then tests/consumer/main.cpp is compiled at -O0 and run; with `ddp` (c10d
# found) the same program built with -DCONSUMER_DDP and lightning-cpp-ddp
# trains under strategy::DDP (one process, a real Gloo group), and
# <lightning/ddp.hpp> with the plain flags must fail with the #error naming
# lightning-cpp-ddp; with `no-ddp` there must be no lightning-cpp-ddp.pc.
set -eu
mode=${1:-ddp}
build=${2:-}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cxx=${CXX:-g++}

if [ -n "$build" ]; then
  build=$(cd "$build" && pwd)
  meson install -C "$build" --no-rebuild --destdir "$work/dest" >install.log 2>&1 || { tail -n 50 install.log; exit 1; }
  prefix=$(meson introspect "$build" --buildoptions |
    python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
  prefix=$work/dest$prefix
else
  dist=auto
  [ "$mode" = ddp ] || dist=disabled  # as the build that runs this test: no c10d
  prefix=$work/prefix
  meson setup build "$repo" --prefix="$prefix" --buildtype=plain -Ddistributed=$dist \
    -Dtests=false -Dexamples=false -Dbenchmarks=false >setup.log 2>&1 || { cat setup.log; exit 1; }
  meson install -C build >install.log 2>&1 || { tail -n 50 install.log; exit 1; }
fi

pc=$(find "$prefix" -name lightning-cpp.pc)
[ -n "$pc" ] || { echo "meson install wrote no lightning-cpp.pc under $prefix"; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
pkgconf() { pkg-config --define-variable=prefix="$prefix" "$@"; }
LD_LIBRARY_PATH=$(pkgconf --variable=libdir lightning-cpp)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
echo "lightning-cpp:     $(pkgconf --cflags --libs lightning-cpp)"
if pkgconf --cflags lightning-cpp | grep -q -e USE_DISTRIBUTED -e LIGHTNING_HAVE_C10D -e compat; then
  echo "lightning-cpp.pc carries the c10d flags: every single-process program would parse c10d"; exit 1
fi
cp "$repo/tests/consumer/main.cpp" .  # nothing of the source tree on the include path

# shellcheck disable=SC2046  # pkg-config's output is a list of flags
"$cxx" main.cpp -o consumer $(pkgconf --cflags --libs lightning-cpp)
./consumer

if [ "$mode" != ddp ]; then
  if pkgconf --exists lightning-cpp-ddp; then echo "lightning-cpp-ddp.pc installed without c10d"; exit 1; fi
  exit 0
fi
echo "lightning-cpp-ddp: $(pkgconf --cflags --libs lightning-cpp-ddp)"
# <lightning/ddp.hpp> with the plain flags: the #error that names the DDP dependency.
echo '#include <lightning/ddp.hpp>' >ddp_only.cpp
# shellcheck disable=SC2046
if "$cxx" -fsyntax-only ddp_only.cpp $(pkgconf --cflags lightning-cpp) 2>ddp_only.log; then
  echo "<lightning/ddp.hpp> compiled without lightning-cpp-ddp"; exit 1
fi
grep -q 'lightning-cpp-ddp' ddp_only.log || { cat ddp_only.log; echo "the #error does not name lightning-cpp-ddp"; exit 1; }
# shellcheck disable=SC2046
"$cxx" -DCONSUMER_DDP main.cpp -o consumer_ddp $(pkgconf --cflags --libs lightning-cpp-ddp)
./consumer_ddp
