#pragma once
// Lightning's hooks, detected at compile time. A hook is called only if the
// module (or callback) defines it; one defined with the wrong parameters, or
// under a name Lightning users often misspell, is a compile error that says
// what to write instead. Detection is by whether the *call* compiles, so
// templates, `auto` parameters and default arguments all work.
#include <type_traits>

#include "detail/fx.hpp"

namespace lightning::hooks {
namespace detail {
// True when T has any member called `name` (function, template, overload
// set or data): the probe's own `name` becomes ambiguous.
#define LIGHTNING_MEMBER_PROBE(name)                                                   \
  struct probe_base_##name {                                                          \
    int name;                                                                         \
  };                                                                                  \
  template <class T>                                                                  \
  struct probe_##name : T, probe_base_##name {};                                      \
  template <class T>                                                                  \
  inline constexpr bool has_member_##name = [] {                                      \
    if constexpr (std::is_class_v<T> && !std::is_final_v<T>)                          \
      return !requires { &probe_##name<T>::name; };                                   \
    else                                                                              \
      return false;                                                                   \
  }();
}  // namespace detail

// One hook: `module` checks/calls the LightningModule's version, `callback`
// the Callback's, which takes (trainer, module, ...) first.
#define LIGHTNING_HOOK(name, module_signature, callback_signature)                                   \
  namespace detail {                                                                                \
  LIGHTNING_MEMBER_PROBE(name)                                                                      \
  }                                                                                                 \
  struct name {                                                                                     \
    static constexpr ::lightning::detail::Fx fx = ::lightning::detail::Fx::name;                    \
    template <class T>                                                                              \
    static constexpr bool named = detail::has_member_##name<T>;                                     \
    template <class T, class... A>                                                                  \
    static constexpr bool callable = requires(T& t, A&&... a) { t.name(static_cast<A&&>(a)...); };  \
    template <class M, class... A>                                                                  \
    static constexpr bool check_module() {                                                          \
      static_assert(callable<M, A...> || !named<M>,                                                 \
                    "lightning: the module defines `" #name "` with parameters the Trainer cannot " \
                    "call it with; expected: " module_signature);                                   \
      return callable<M, A...>;                                                                     \
    }                                                                                               \
    template <class C, class... A>                                                                  \
    static constexpr bool check_callback() {                                                        \
      static_assert(callable<C, A...> || !named<C>,                                                 \
                    "lightning: a callback defines `" #name "` with parameters the Trainer cannot " \
                    "call it with; expected: " callback_signature);                                 \
      return callable<C, A...>;                                                                     \
    }                                                                                               \
    template <class T, class... A>                                                                  \
    static decltype(auto) call(T& t, A&&... a) {                                                    \
      return t.name(static_cast<A&&>(a)...);                                                        \
    }                                                                                               \
  };

// clang-format off
LIGHTNING_HOOK(setup, "void setup(L::Stage stage)", "void setup(auto& trainer, auto& module, L::Stage stage)")
LIGHTNING_HOOK(teardown, "void teardown(L::Stage stage)", "void teardown(auto& trainer, auto& module, L::Stage stage)")
LIGHTNING_HOOK(on_fit_start, "void on_fit_start()", "void on_fit_start(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_fit_end, "void on_fit_end()", "void on_fit_end(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_sanity_check_start, "(callbacks only)", "void on_sanity_check_start(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_sanity_check_end, "(callbacks only)", "void on_sanity_check_end(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_train_start, "void on_train_start()", "void on_train_start(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_train_end, "void on_train_end()", "void on_train_end(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_train_epoch_start, "void on_train_epoch_start()", "void on_train_epoch_start(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_train_epoch_end, "void on_train_epoch_end()", "void on_train_epoch_end(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_train_batch_start, "int on_train_batch_start(const auto& batch, int64_t batch_idx) (return -1 to end the epoch), or void",
               "void on_train_batch_start(auto& trainer, auto& module, const auto& batch, int64_t batch_idx)")
LIGHTNING_HOOK(on_train_batch_end, "void on_train_batch_end(const auto& outputs, const auto& batch, int64_t batch_idx)",
               "void on_train_batch_end(auto& trainer, auto& module, const auto& outputs, const auto& batch, int64_t batch_idx)")
LIGHTNING_HOOK(on_before_backward, "void on_before_backward(const torch::Tensor& loss)",
               "void on_before_backward(auto& trainer, auto& module, const torch::Tensor& loss)")
LIGHTNING_HOOK(on_after_backward, "void on_after_backward()", "void on_after_backward(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_before_optimizer_step, "void on_before_optimizer_step(auto& optimizer)",
               "void on_before_optimizer_step(auto& trainer, auto& module, auto& optimizer)")
LIGHTNING_HOOK(on_before_zero_grad, "void on_before_zero_grad(auto& optimizer)",
               "void on_before_zero_grad(auto& trainer, auto& module, auto& optimizer)")
LIGHTNING_HOOK(on_validation_start, "void on_validation_start()", "void on_validation_start(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_validation_end, "void on_validation_end()", "void on_validation_end(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_validation_epoch_start, "void on_validation_epoch_start()", "void on_validation_epoch_start(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_validation_epoch_end, "void on_validation_epoch_end()", "void on_validation_epoch_end(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_validation_batch_start, "void on_validation_batch_start(const auto& batch, int64_t batch_idx)",
               "void on_validation_batch_start(auto& trainer, auto& module, const auto& batch, int64_t batch_idx)")
LIGHTNING_HOOK(on_validation_batch_end, "void on_validation_batch_end(const auto& outputs, const auto& batch, int64_t batch_idx)",
               "void on_validation_batch_end(auto& trainer, auto& module, const auto& outputs, const auto& batch, int64_t batch_idx)")
LIGHTNING_HOOK(on_test_start, "void on_test_start()", "void on_test_start(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_test_end, "void on_test_end()", "void on_test_end(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_test_epoch_start, "void on_test_epoch_start()", "void on_test_epoch_start(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_test_epoch_end, "void on_test_epoch_end()", "void on_test_epoch_end(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_test_batch_start, "void on_test_batch_start(const auto& batch, int64_t batch_idx)",
               "void on_test_batch_start(auto& trainer, auto& module, const auto& batch, int64_t batch_idx)")
LIGHTNING_HOOK(on_test_batch_end, "void on_test_batch_end(const auto& outputs, const auto& batch, int64_t batch_idx)",
               "void on_test_batch_end(auto& trainer, auto& module, const auto& outputs, const auto& batch, int64_t batch_idx)")
LIGHTNING_HOOK(on_predict_start, "void on_predict_start()", "void on_predict_start(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_predict_end, "void on_predict_end()", "void on_predict_end(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_predict_epoch_start, "void on_predict_epoch_start()", "void on_predict_epoch_start(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_predict_epoch_end, "void on_predict_epoch_end()", "void on_predict_epoch_end(auto& trainer, auto& module)")
LIGHTNING_HOOK(on_predict_batch_start, "void on_predict_batch_start(const auto& batch, int64_t batch_idx)",
               "void on_predict_batch_start(auto& trainer, auto& module, const auto& batch, int64_t batch_idx)")
LIGHTNING_HOOK(on_predict_batch_end, "void on_predict_batch_end(const auto& outputs, const auto& batch, int64_t batch_idx)",
               "void on_predict_batch_end(auto& trainer, auto& module, const auto& outputs, const auto& batch, int64_t batch_idx)")
LIGHTNING_HOOK(on_exception, "void on_exception(const std::exception& error)",
               "void on_exception(auto& trainer, auto& module, const std::exception& error)")
LIGHTNING_HOOK(on_save_checkpoint, "void on_save_checkpoint(L::checkpoint::Dict& checkpoint)",
               "void on_save_checkpoint(auto& trainer, auto& module, L::checkpoint::Dict& checkpoint)")
LIGHTNING_HOOK(on_load_checkpoint, "void on_load_checkpoint(const L::checkpoint::Dict& checkpoint)",
               "void on_load_checkpoint(auto& trainer, auto& module, const L::checkpoint::Dict& checkpoint)")
LIGHTNING_HOOK(training_step, "auto training_step(Batch batch, int64_t batch_idx) returning the loss tensor (or a struct with a `loss` member)", "(modules only)")
LIGHTNING_HOOK(validation_step, "void validation_step(Batch batch, int64_t batch_idx)", "(modules only)")
LIGHTNING_HOOK(test_step, "void test_step(Batch batch, int64_t batch_idx)", "(modules only)")
LIGHTNING_HOOK(predict_step, "auto predict_step(Batch batch, int64_t batch_idx)", "(modules only)")
LIGHTNING_HOOK(configure_optimizers, "auto configure_optimizers() returning an optimizer", "(modules only)")
// clang-format on

namespace detail {
// Names Lightning users write that are not hooks (or were removed in
// Lightning 2.0): each would otherwise be silently never called.
#define LIGHTNING_MISSPELLING(wrong, message) \
  LIGHTNING_MEMBER_PROBE(wrong)               \
  template <class T>                          \
  constexpr bool check_##wrong() {            \
    static_assert(!has_member_##wrong<T>, "lightning: `" #wrong "` " message); \
    return true;                              \
  }
LIGHTNING_MISSPELLING(on_training_epoch_end, "is not a hook and would never be called; did you mean `on_train_epoch_end`?")
LIGHTNING_MISSPELLING(on_training_epoch_start, "is not a hook and would never be called; did you mean `on_train_epoch_start`?")
LIGHTNING_MISSPELLING(on_training_batch_start, "is not a hook and would never be called; did you mean `on_train_batch_start`?")
LIGHTNING_MISSPELLING(on_training_batch_end, "is not a hook and would never be called; did you mean `on_train_batch_end`?")
LIGHTNING_MISSPELLING(on_training_start, "is not a hook and would never be called; did you mean `on_train_start`?")
LIGHTNING_MISSPELLING(on_training_end, "is not a hook and would never be called; did you mean `on_train_end`?")
LIGHTNING_MISSPELLING(on_validation_epoch_ends, "is not a hook and would never be called; did you mean `on_validation_epoch_end`?")
LIGHTNING_MISSPELLING(on_train_epoch_ends, "is not a hook and would never be called; did you mean `on_train_epoch_end`?")
LIGHTNING_MISSPELLING(on_val_epoch_end, "is not a hook and would never be called; did you mean `on_validation_epoch_end`?")
LIGHTNING_MISSPELLING(on_val_epoch_start, "is not a hook and would never be called; did you mean `on_validation_epoch_start`?")
LIGHTNING_MISSPELLING(val_step, "is not a hook and would never be called; did you mean `validation_step`?")
LIGHTNING_MISSPELLING(train_step, "is not a hook and would never be called; did you mean `training_step`?")
LIGHTNING_MISSPELLING(training_epoch_end, "was removed in Lightning 2.0 and would never be called; use `on_train_epoch_end` and keep the step outputs you need in the module")
LIGHTNING_MISSPELLING(validation_epoch_end, "was removed in Lightning 2.0 and would never be called; use `on_validation_epoch_end`")
LIGHTNING_MISSPELLING(test_epoch_end, "was removed in Lightning 2.0 and would never be called; use `on_test_epoch_end`")
LIGHTNING_MISSPELLING(training_step_end, "was removed in Lightning 2.0 and would never be called; do the work in `training_step`")
LIGHTNING_MISSPELLING(validation_step_end, "was removed in Lightning 2.0 and would never be called; do the work in `validation_step`")
LIGHTNING_MISSPELLING(on_epoch_start, "was removed in Lightning 2.0 and would never be called; use `on_train_epoch_start`")
LIGHTNING_MISSPELLING(on_epoch_end, "was removed in Lightning 2.0 and would never be called; use `on_train_epoch_end`")
LIGHTNING_MISSPELLING(on_batch_start, "was removed in Lightning 2.0 and would never be called; use `on_train_batch_start`")
LIGHTNING_MISSPELLING(on_batch_end, "was removed in Lightning 2.0 and would never be called; use `on_train_batch_end`")
}  // namespace detail

/// Fails to compile, with a message, if T has a member named like a hook
/// that Lightning would never call.
template <class T>
constexpr bool check_no_misspelled_hooks() {
  using namespace detail;
  return check_on_training_epoch_end<T>() && check_on_training_epoch_start<T>() &&
         check_on_training_batch_start<T>() && check_on_training_batch_end<T>() && check_on_training_start<T>() &&
         check_on_training_end<T>() && check_on_validation_epoch_ends<T>() && check_on_train_epoch_ends<T>() &&
         check_on_val_epoch_end<T>() && check_on_val_epoch_start<T>() && check_val_step<T>() &&
         check_train_step<T>() && check_training_epoch_end<T>() && check_validation_epoch_end<T>() &&
         check_test_epoch_end<T>() && check_training_step_end<T>() && check_validation_step_end<T>() &&
         check_on_epoch_start<T>() && check_on_epoch_end<T>() && check_on_batch_start<T>() &&
         check_on_batch_end<T>();
}

}  // namespace lightning::hooks
