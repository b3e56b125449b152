#pragma once
// The hook currently running, and where Lightning allows `log()` in it.
#include <optional>
#include <string_view>

namespace lightning::detail {

enum class Fx {
  none,
  setup, teardown, configure_optimizers, configure_callbacks, prepare_data,
  on_fit_start, on_fit_end, on_sanity_check_start, on_sanity_check_end,
  on_train_start, on_train_end, on_train_epoch_start, on_train_epoch_end,
  on_train_batch_start, on_train_batch_end, training_step,
  on_before_backward, on_after_backward, on_before_optimizer_step, on_before_zero_grad,
  on_validation_start, on_validation_end, on_validation_epoch_start, on_validation_epoch_end,
  on_validation_batch_start, on_validation_batch_end, validation_step,
  on_test_start, on_test_end, on_test_epoch_start, on_test_epoch_end,
  on_test_batch_start, on_test_batch_end, test_step,
  on_predict_start, on_predict_end, on_predict_epoch_start, on_predict_epoch_end,
  on_predict_batch_start, on_predict_batch_end, predict_step,
  on_exception, on_save_checkpoint, on_load_checkpoint,
};

/// Where logging is allowed and what it defaults to (Lightning's _FxValidator).
struct FxLogRule {
  bool step_allowed;      // on_step=true allowed
  bool epoch_allowed;     // on_epoch=true allowed
  bool epoch_forbidden_false;  // on_epoch=false not allowed (epoch-only hooks)
  bool default_on_step;
  bool default_on_epoch;
};

/// nullopt: `log()` is not allowed in this hook.
constexpr std::optional<FxLogRule> fx_log_rule(Fx fx) noexcept {
  constexpr FxLogRule step{true, true, false, true, false};
  constexpr FxLogRule eval_step{true, true, false, false, true};
  constexpr FxLogRule epoch_only{false, true, true, false, true};
  switch (fx) {
    case Fx::training_step: case Fx::on_train_batch_start: case Fx::on_train_batch_end:
    case Fx::on_before_backward: case Fx::on_after_backward:
    case Fx::on_before_optimizer_step: case Fx::on_before_zero_grad:
      return step;
    case Fx::validation_step: case Fx::test_step:
    case Fx::on_validation_batch_start: case Fx::on_validation_batch_end:
    case Fx::on_test_batch_start: case Fx::on_test_batch_end:
      return eval_step;
    case Fx::on_train_start: case Fx::on_train_epoch_start: case Fx::on_train_epoch_end:
    case Fx::on_validation_start: case Fx::on_validation_epoch_start: case Fx::on_validation_epoch_end:
    case Fx::on_test_start: case Fx::on_test_epoch_start: case Fx::on_test_epoch_end:
      return epoch_only;
    default:
      return std::nullopt;
  }
}

inline std::string_view fx_name(Fx fx) noexcept {
  switch (fx) {
#define LIGHTNING_FX_CASE(n) case Fx::n: return #n;
    LIGHTNING_FX_CASE(none) LIGHTNING_FX_CASE(setup) LIGHTNING_FX_CASE(teardown)
    LIGHTNING_FX_CASE(configure_optimizers) LIGHTNING_FX_CASE(configure_callbacks)
    LIGHTNING_FX_CASE(prepare_data) LIGHTNING_FX_CASE(on_fit_start) LIGHTNING_FX_CASE(on_fit_end)
    LIGHTNING_FX_CASE(on_sanity_check_start) LIGHTNING_FX_CASE(on_sanity_check_end)
    LIGHTNING_FX_CASE(on_train_start) LIGHTNING_FX_CASE(on_train_end)
    LIGHTNING_FX_CASE(on_train_epoch_start) LIGHTNING_FX_CASE(on_train_epoch_end)
    LIGHTNING_FX_CASE(on_train_batch_start) LIGHTNING_FX_CASE(on_train_batch_end)
    LIGHTNING_FX_CASE(training_step) LIGHTNING_FX_CASE(on_before_backward)
    LIGHTNING_FX_CASE(on_after_backward) LIGHTNING_FX_CASE(on_before_optimizer_step)
    LIGHTNING_FX_CASE(on_before_zero_grad) LIGHTNING_FX_CASE(on_validation_start)
    LIGHTNING_FX_CASE(on_validation_end) LIGHTNING_FX_CASE(on_validation_epoch_start)
    LIGHTNING_FX_CASE(on_validation_epoch_end) LIGHTNING_FX_CASE(on_validation_batch_start)
    LIGHTNING_FX_CASE(on_validation_batch_end) LIGHTNING_FX_CASE(validation_step)
    LIGHTNING_FX_CASE(on_test_start) LIGHTNING_FX_CASE(on_test_end)
    LIGHTNING_FX_CASE(on_test_epoch_start) LIGHTNING_FX_CASE(on_test_epoch_end)
    LIGHTNING_FX_CASE(on_test_batch_start) LIGHTNING_FX_CASE(on_test_batch_end)
    LIGHTNING_FX_CASE(test_step) LIGHTNING_FX_CASE(on_predict_start) LIGHTNING_FX_CASE(on_predict_end)
    LIGHTNING_FX_CASE(on_predict_epoch_start) LIGHTNING_FX_CASE(on_predict_epoch_end)
    LIGHTNING_FX_CASE(on_predict_batch_start) LIGHTNING_FX_CASE(on_predict_batch_end)
    LIGHTNING_FX_CASE(predict_step) LIGHTNING_FX_CASE(on_exception)
    LIGHTNING_FX_CASE(on_save_checkpoint) LIGHTNING_FX_CASE(on_load_checkpoint)
#undef LIGHTNING_FX_CASE
  }
  return "?";
}

}  // namespace lightning::detail
