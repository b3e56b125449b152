#pragma once
// L::Optimizer<Opt>: an optimizer given to the Trainer as a policy, for
// modules that do not define `configure_optimizers()`.
#include <torch/torch.h>

#include <utility>

#include "../policies/kinds.hpp"

namespace lightning {
namespace detail {
template <class Opt> struct optimizer_options;
template <> struct optimizer_options<torch::optim::SGD> { using type = torch::optim::SGDOptions; };
template <> struct optimizer_options<torch::optim::Adam> { using type = torch::optim::AdamOptions; };
template <> struct optimizer_options<torch::optim::AdamW> { using type = torch::optim::AdamWOptions; };
template <> struct optimizer_options<torch::optim::RMSprop> { using type = torch::optim::RMSpropOptions; };
template <> struct optimizer_options<torch::optim::Adagrad> { using type = torch::optim::AdagradOptions; };
template <> struct optimizer_options<torch::optim::LBFGS> { using type = torch::optim::LBFGSOptions; };
}  // namespace detail

/// `Trainer<Model, L::Optimizer<torch::optim::SGD>> t({...}, L::Optimizer<torch::optim::SGD>({0.1}))`.
/// For another optimizer type, name its options type: `L::Optimizer<MyOpt, MyOptions>`.
template <class Opt, class Options = typename detail::optimizer_options<Opt>::type>
class Optimizer {
 public:
  using policy_kind = lightning::policy_kind::optimizer;
  using optimizer_type = Opt;

  explicit Optimizer(Options options) : options_(std::move(options)) {}

  template <class Module>
  Opt make(Module& module) const {
    return Opt(module.parameters(), options_);
  }
  const Options& options() const noexcept { return options_; }

 private:
  Options options_;
};

/// No optimizer policy: the module defines `configure_optimizers()`, the Lightning way.
struct NoOptimizerPolicy {
  using policy_kind = lightning::policy_kind::optimizer;
};

}  // namespace lightning
