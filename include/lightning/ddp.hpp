#pragma once
// lightning-cpp's DDP strategy, an opt-in include next to lightning.hpp:
//   #include <lightning/lightning.hpp>
//   #include <lightning/ddp.hpp>      // L::strategy::DDP
// It needs c10d with Gloo, which only the DDP dependency gives the compiler
// (the c10d defines, include/lightning/compat, -lgloo): in Meson
// dependency('lightning-cpp-ddp'), with pkg-config `lightning-cpp-ddp`.
// Programs that do not include this header never parse c10d.
#if !defined(LIGHTNING_HAVE_C10D)
#error "lightning: <lightning/ddp.hpp> needs c10d with Gloo: build this target with the lightning-cpp-ddp dependency (Meson: dependency('lightning-cpp-ddp'); pkg-config: lightning-cpp-ddp) instead of lightning-cpp; it exists only where libgloo-dev is installed (apt-get install libgloo-dev) and the distributed option is not disabled"
#else
#include "strategy/ddp.hpp"
#include "strategy/ddp_reducer.hpp"
#include "strategy/environment.hpp"
#include "strategy/launcher.hpp"
#endif
