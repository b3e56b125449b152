#pragma once
// Stand-in for a LibTorch header that Debian's libtorch-dev (1.13.1) does not
// ship but c10d/reducer.hpp includes (lightning/strategy/ddp_reducer.hpp
// needs reducer.hpp). When the real header exists it is used instead.
// reducer.hpp only needs the two names below, and only as
// shared_ptr<DistAutogradContext> / a std::function type, so the Reducer's
// layout is the same as in libtorch_cpu.so.
#if __has_include_next(<torch/csrc/distributed/autograd/context/context.h>)
#include_next <torch/csrc/distributed/autograd/context/context.h>
#else
#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

namespace torch::distributed::autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};
using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace torch::distributed::autograd
#endif
