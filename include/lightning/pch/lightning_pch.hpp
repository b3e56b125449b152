// A precompiled header for programs that use lightning-cpp: LibTorch and the
// library, parsed once. In Meson:
//   lc = subproject('lightning-cpp')
//   executable('train', 'train.cpp', dependencies : lc.get_variable('lightning_dep'),
//              cpp_pch : lc.get_variable('lightning_pch'))
// (Meson wants a precompiled header in a folder of its own: this one is.)
#include <lightning/lightning.hpp>
