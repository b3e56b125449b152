#pragma once
// What each policy kind must offer, checked when a Trainer is instantiated:
// a missing member is a static_assert that names it and its signature, not
// a feature silently switched off by an `if constexpr (requires ...)` probe.
#include <torch/torch.h>

#include <concepts>
#include <cstdint>
#include <exception>
#include <map>
#include <string>

#include "../log_options.hpp"
#include "../trainer_options.hpp"

namespace lightning::detail {

/// A precision policy (precision/f32.hpp documents each member).
template <class P, class Model>
constexpr bool check_precision() {
  static_assert(requires { { P::name } -> std::convertible_to<const char*>; },
                "lightning: a precision policy needs `static constexpr const char* name` (Lightning's string, "
                "e.g. \"32-true\")");
  static_assert(requires(P& p, const torch::Device& d) { p.setup(d); },
                "lightning: a precision policy needs `void setup(const torch::Device&)` (check the device can run it)");
  static_assert(requires(P& p) { p.forward_context(); },
                "lightning: a precision policy needs `auto forward_context()` (a guard around forward and loss)");
  static_assert(requires(P& p, Model& m) { p.convert_module(m); },
                "lightning: a precision policy needs `void convert_module(Module&)`");
  static_assert(requires(P& p, torch::Tensor t) { p.convert_input(t); },
                "lightning: a precision policy needs `auto convert_input(Batch)`");
  static_assert(requires(P& p, const torch::Tensor& loss) { p.backward(loss); },
                "lightning: a precision policy needs `void backward(const torch::Tensor& loss)`");
  static_assert(requires(P& p) { { p.state_dict() } -> std::convertible_to<c10::impl::GenericDict>; },
                "lightning: a precision policy needs `L::precision::StateDict state_dict()` (empty if stateless)");
  static_assert(requires(P& p, const c10::impl::GenericDict& d) { p.load_state_dict(d); },
                "lightning: a precision policy needs `void load_state_dict(const L::precision::StateDict&)`");
  return true;
}

/// The optimizer steps a precision policy takes for an optimizer type.
template <class P, class Opt>
constexpr bool check_precision_steps() {
  static_assert(requires(P& p, Opt& o) { p.unscale(o); },
                "lightning: a precision policy needs `void unscale(Optimizer&)` (true gradients before clipping)");
  static_assert(requires(P& p, Opt& o) { { p.optimizer_step(o) } -> std::convertible_to<bool>; },
                "lightning: a precision policy needs `bool optimizer_step(Optimizer&)` (false: the step was skipped)");
  return true;
}

/// A strategy policy: one process (strategy::Single, every collective the
/// identity) or several (strategy::DDP). Loops call these unconditionally.
template <class S, class Model>
constexpr bool check_strategy() {
  static_assert(requires(S& s, const TrainerOptions& o) { s.setup_environment(o); },
                "lightning: a strategy policy needs `void setup_environment(const L::TrainerOptions&)`");
  static_assert(requires(const S& s) { { s.root_device() } -> std::convertible_to<torch::Device>; },
                "lightning: a strategy policy needs `const torch::Device& root_device() const`");
  static_assert(requires(S& s, Model& m) { s.setup_module(m); },
                "lightning: a strategy policy needs `void setup_module(Module&)`");
  static_assert(requires(S& s, torch::Tensor t) { s.batch_to_device(t); },
                "lightning: a strategy policy needs `Batch batch_to_device(Batch)`");
  static_assert(requires(const S& s) {
                  { s.world_size() } -> std::convertible_to<int64_t>;
                  { s.global_rank() } -> std::convertible_to<int64_t>;
                  { s.local_rank() } -> std::convertible_to<int64_t>;
                  { s.node_rank() } -> std::convertible_to<int64_t>;
                  { s.is_global_zero() } -> std::convertible_to<bool>;
                },
                "lightning: a strategy policy needs world_size(), global_rank(), local_rank(), node_rank() and "
                "is_global_zero()");
  static_assert(requires(S& s) { s.barrier(); }, "lightning: a strategy policy needs `void barrier()`");
  static_assert(requires(S& s, const torch::Tensor& t) { { s.reduce(t, Reduce::mean) } -> std::convertible_to<torch::Tensor>; },
                "lightning: a strategy policy needs `torch::Tensor reduce(const torch::Tensor&, L::Reduce)` "
                "(the identity with one process)");
  static_assert(requires(S& s) { { s.reduce_boolean_decision(true, true) } -> std::convertible_to<bool>; },
                "lightning: a strategy policy needs `bool reduce_boolean_decision(bool decision, bool all)`");
  static_assert(requires(S& s, int64_t v) { { s.broadcast(v, int64_t{0}) } -> std::convertible_to<int64_t>; },
                "lightning: a strategy policy needs `int64_t broadcast(int64_t value, int64_t src)`");
  static_assert(requires(S& s, const torch::Tensor& t) { { s.all_gather(t) } -> std::convertible_to<torch::Tensor>; },
                "lightning: a strategy policy needs `torch::Tensor all_gather(const torch::Tensor&)`");
  static_assert(requires(S& s, Model& m, const torch::Tensor& loss) { s.backward(m, loss, true, [] {}); },
                "lightning: a strategy policy needs `void backward(Module&, const torch::Tensor& loss, bool sync, "
                "auto&& run_backward)`");
  static_assert(requires(S& s, Model& m) { s.after_manual_backward(m); },
                "lightning: a strategy policy needs `void after_manual_backward(Module&)`");
  static_assert(requires(S& s, const std::exception& e) { s.on_exception(e); },
                "lightning: a strategy policy needs `void on_exception(const std::exception&)`");
  return true;
}

/// The callback set: the Trainer's L::Callbacks<...>.
template <class Set>
constexpr bool check_callback_set_interface() {
  static_assert(requires(Set& s) { s.for_each([](auto&) {}); },
                "lightning: the callbacks policy must be L::Callbacks<...> (it needs for_each)");
  return true;
}

}  // namespace lightning::detail
