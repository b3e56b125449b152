#pragma once
// Every hook, once: name, its id (stored in checkpoints with logged values:
// never renumber), where `log()` may be called in it, and the signatures
// a module and a callback define it with. fx.hpp (ids, names, log rules) and
// hooks.hpp (detection, signature checks) are generated from this list.
//
// Log rules (Lightning's _FxValidator): step (on_step by default), eval_step
// (on_epoch by default), epoch (on_epoch only), none (log() refused).

// clang-format off
#define LIGHTNING_HOOK_LIST(X) \
  X(setup, 1, none, "void setup(L::Stage stage)", "void setup(auto& trainer, auto& module, L::Stage stage)") \
  X(teardown, 2, none, "void teardown(L::Stage stage)", "void teardown(auto& trainer, auto& module, L::Stage stage)") \
  X(configure_optimizers, 3, none, "auto configure_optimizers() returning an optimizer", "(modules only)") \
  X(configure_callbacks, 4, none, "auto configure_callbacks() returning a callback or a std::tuple of them", "(modules only)") \
  X(prepare_data, 5, none, "void prepare_data()", "(modules and datamodules only)") \
  X(on_fit_start, 6, none, "void on_fit_start()", "void on_fit_start(auto& trainer, auto& module)") \
  X(on_fit_end, 7, none, "void on_fit_end()", "void on_fit_end(auto& trainer, auto& module)") \
  X(on_sanity_check_start, 8, none, "(callbacks only)", "void on_sanity_check_start(auto& trainer, auto& module)") \
  X(on_sanity_check_end, 9, none, "(callbacks only)", "void on_sanity_check_end(auto& trainer, auto& module)") \
  X(on_train_start, 10, epoch, "void on_train_start()", "void on_train_start(auto& trainer, auto& module)") \
  X(on_train_end, 11, none, "void on_train_end()", "void on_train_end(auto& trainer, auto& module)") \
  X(on_train_epoch_start, 12, epoch, "void on_train_epoch_start()", "void on_train_epoch_start(auto& trainer, auto& module)") \
  X(on_train_epoch_end, 13, epoch, "void on_train_epoch_end()", "void on_train_epoch_end(auto& trainer, auto& module)") \
  X(on_train_batch_start, 14, step, "int on_train_batch_start(const auto& batch, int64_t batch_idx) (return -1 to end the epoch), or void", \
    "void on_train_batch_start(auto& trainer, auto& module, const auto& batch, int64_t batch_idx)") \
  X(on_train_batch_end, 15, step, "void on_train_batch_end(const auto& outputs, const auto& batch, int64_t batch_idx)", \
    "void on_train_batch_end(auto& trainer, auto& module, const auto& outputs, const auto& batch, int64_t batch_idx)") \
  X(training_step, 16, step, "auto training_step(Batch batch, int64_t batch_idx) returning the loss tensor (or a struct with a `loss` member)", "(modules only)") \
  X(on_before_backward, 17, step, "void on_before_backward(const torch::Tensor& loss)", \
    "void on_before_backward(auto& trainer, auto& module, const torch::Tensor& loss)") \
  X(on_after_backward, 18, step, "void on_after_backward()", "void on_after_backward(auto& trainer, auto& module)") \
  X(on_before_optimizer_step, 19, step, "void on_before_optimizer_step(auto& optimizer)", \
    "void on_before_optimizer_step(auto& trainer, auto& module, auto& optimizer)") \
  X(on_before_zero_grad, 20, step, "void on_before_zero_grad(auto& optimizer)", \
    "void on_before_zero_grad(auto& trainer, auto& module, auto& optimizer)") \
  X(on_validation_start, 21, epoch, "void on_validation_start()", "void on_validation_start(auto& trainer, auto& module)") \
  X(on_validation_end, 22, none, "void on_validation_end()", "void on_validation_end(auto& trainer, auto& module)") \
  X(on_validation_epoch_start, 23, epoch, "void on_validation_epoch_start()", "void on_validation_epoch_start(auto& trainer, auto& module)") \
  X(on_validation_epoch_end, 24, epoch, "void on_validation_epoch_end()", "void on_validation_epoch_end(auto& trainer, auto& module)") \
  X(on_validation_batch_start, 25, eval_step, "void on_validation_batch_start(const auto& batch, int64_t batch_idx)", \
    "void on_validation_batch_start(auto& trainer, auto& module, const auto& batch, int64_t batch_idx)") \
  X(on_validation_batch_end, 26, eval_step, "void on_validation_batch_end(const auto& outputs, const auto& batch, int64_t batch_idx)", \
    "void on_validation_batch_end(auto& trainer, auto& module, const auto& outputs, const auto& batch, int64_t batch_idx)") \
  X(validation_step, 27, eval_step, "void validation_step(Batch batch, int64_t batch_idx)", "(modules only)") \
  X(on_test_start, 28, epoch, "void on_test_start()", "void on_test_start(auto& trainer, auto& module)") \
  X(on_test_end, 29, none, "void on_test_end()", "void on_test_end(auto& trainer, auto& module)") \
  X(on_test_epoch_start, 30, epoch, "void on_test_epoch_start()", "void on_test_epoch_start(auto& trainer, auto& module)") \
  X(on_test_epoch_end, 31, epoch, "void on_test_epoch_end()", "void on_test_epoch_end(auto& trainer, auto& module)") \
  X(on_test_batch_start, 32, eval_step, "void on_test_batch_start(const auto& batch, int64_t batch_idx)", \
    "void on_test_batch_start(auto& trainer, auto& module, const auto& batch, int64_t batch_idx)") \
  X(on_test_batch_end, 33, eval_step, "void on_test_batch_end(const auto& outputs, const auto& batch, int64_t batch_idx)", \
    "void on_test_batch_end(auto& trainer, auto& module, const auto& outputs, const auto& batch, int64_t batch_idx)") \
  X(test_step, 34, eval_step, "void test_step(Batch batch, int64_t batch_idx)", "(modules only)") \
  X(on_predict_start, 35, none, "void on_predict_start()", "void on_predict_start(auto& trainer, auto& module)") \
  X(on_predict_end, 36, none, "void on_predict_end()", "void on_predict_end(auto& trainer, auto& module)") \
  X(on_predict_epoch_start, 37, none, "void on_predict_epoch_start()", "void on_predict_epoch_start(auto& trainer, auto& module)") \
  X(on_predict_epoch_end, 38, none, "void on_predict_epoch_end()", "void on_predict_epoch_end(auto& trainer, auto& module)") \
  X(on_predict_batch_start, 39, none, "void on_predict_batch_start(const auto& batch, int64_t batch_idx)", \
    "void on_predict_batch_start(auto& trainer, auto& module, const auto& batch, int64_t batch_idx)") \
  X(on_predict_batch_end, 40, none, "void on_predict_batch_end(const auto& outputs, const auto& batch, int64_t batch_idx)", \
    "void on_predict_batch_end(auto& trainer, auto& module, const auto& outputs, const auto& batch, int64_t batch_idx)") \
  X(predict_step, 41, none, "auto predict_step(Batch batch, int64_t batch_idx)", "(modules only)") \
  X(on_exception, 42, none, "void on_exception(const std::exception& error)", \
    "void on_exception(auto& trainer, auto& module, const std::exception& error)") \
  X(on_save_checkpoint, 43, none, "void on_save_checkpoint(L::checkpoint::Dict& checkpoint)", \
    "void on_save_checkpoint(auto& trainer, auto& module, L::checkpoint::Dict& checkpoint)") \
  X(on_load_checkpoint, 44, none, "void on_load_checkpoint(const L::checkpoint::Dict& checkpoint)", \
    "void on_load_checkpoint(auto& trainer, auto& module, const L::checkpoint::Dict& checkpoint)")
// clang-format on

/// The hook id after the last: ids are below it.
#define LIGHTNING_HOOK_ID_END 45

// Names Lightning users write that are not hooks (or were removed in
// Lightning 2.0): each would otherwise silently never be called.
// X(wrong name, what to say)
// clang-format off
#define LIGHTNING_MISSPELLING_LIST(X) \
  X(on_training_epoch_end, "is not a hook and would never be called; did you mean `on_train_epoch_end`?") \
  X(on_training_epoch_start, "is not a hook and would never be called; did you mean `on_train_epoch_start`?") \
  X(on_training_batch_start, "is not a hook and would never be called; did you mean `on_train_batch_start`?") \
  X(on_training_batch_end, "is not a hook and would never be called; did you mean `on_train_batch_end`?") \
  X(on_training_start, "is not a hook and would never be called; did you mean `on_train_start`?") \
  X(on_training_end, "is not a hook and would never be called; did you mean `on_train_end`?") \
  X(on_validation_epoch_ends, "is not a hook and would never be called; did you mean `on_validation_epoch_end`?") \
  X(on_train_epoch_ends, "is not a hook and would never be called; did you mean `on_train_epoch_end`?") \
  X(on_val_epoch_end, "is not a hook and would never be called; did you mean `on_validation_epoch_end`?") \
  X(on_val_epoch_start, "is not a hook and would never be called; did you mean `on_validation_epoch_start`?") \
  X(val_step, "is not a hook and would never be called; did you mean `validation_step`?") \
  X(train_step, "is not a hook and would never be called; did you mean `training_step`?") \
  X(training_epoch_end, "was removed in Lightning 2.0 and would never be called; use `on_train_epoch_end` and keep the step outputs you need in the module") \
  X(validation_epoch_end, "was removed in Lightning 2.0 and would never be called; use `on_validation_epoch_end`") \
  X(test_epoch_end, "was removed in Lightning 2.0 and would never be called; use `on_test_epoch_end`") \
  X(training_step_end, "was removed in Lightning 2.0 and would never be called; do the work in `training_step`") \
  X(validation_step_end, "was removed in Lightning 2.0 and would never be called; do the work in `validation_step`") \
  X(on_epoch_start, "was removed in Lightning 2.0 and would never be called; use `on_train_epoch_start`") \
  X(on_epoch_end, "was removed in Lightning 2.0 and would never be called; use `on_train_epoch_end`") \
  X(on_batch_start, "was removed in Lightning 2.0 and would never be called; use `on_train_batch_start`") \
  X(on_batch_end, "was removed in Lightning 2.0 and would never be called; use `on_train_batch_end`")
// clang-format on
