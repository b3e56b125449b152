#pragma once
// EarlyStopping: stops training when a monitored metric stops improving,
// reaches a threshold, diverges or stops being finite; Lightning 2.2's rules
// and messages. Comparisons are made in the metric's dtype (float32 for
// everything `log()` produces), as Lightning compares tensors; messages show
// the value as Python prints `f"{tensor}"` of a 0-dim tensor (its float).
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "../stage.hpp"
#include "order.hpp"
#include "detail/callback_state.hpp"
#include "detail/py_format.hpp"
#include "mode.hpp"

namespace lightning {

class EarlyStopping {
 public:
  struct Options {
    std::string monitor{};
    /// Smallest change that counts as an improvement.
    double min_delta = 0;
    /// Checks without improvement before stopping.
    int64_t patience = 3;
    bool verbose = false;
    Mode mode = Mode::min;
    /// A missing monitored metric is an error (else the check is skipped).
    bool strict = true;
    /// Stop when the metric becomes NaN or infinite.
    bool check_finite = true;
    /// Stop once the metric is better than `stopping_threshold`, or worse than `divergence_threshold`.
    std::optional<double> stopping_threshold{}, divergence_threshold{};
    /// Unset: at the end of the training epoch iff validation runs once per epoch.
    std::optional<bool> check_on_train_epoch_end{};
    bool log_rank_zero_only = false;
  };

  /// Runs after the module's on_train_epoch_end, before checkpoints (which see `should_stop`).
  static constexpr CallbackOrder lightning_callback_order = CallbackOrder::monitoring;

  EarlyStopping();
  explicit EarlyStopping(Options o);

  // ---------------------------------------------------------------- hooks

  template <class T, class M>
  void setup(T& trainer, M&, Stage) {
    // Validation more than once per epoch, or not every epoch: check after
    // each validation instead (Lightning compares the raw options).
    if (!opts_.check_on_train_epoch_end) check_on_train_epoch_end_ = validates_once_per_epoch(trainer);
  }

  template <class T, class M>
  void on_train_epoch_end(T& trainer, M&) {
    if (!check_on_train_epoch_end(trainer) || skip_check(trainer)) return;
    run_check(trainer);
  }

  template <class T, class M>
  void on_validation_end(T& trainer, M&) {
    if (check_on_train_epoch_end(trainer) || skip_check(trainer)) return;
    run_check(trainer);
  }

  // ---------------------------------------------------------------- state

  const Options& options() const noexcept { return opts_; }
  int64_t wait_count() const noexcept { return wait_count_; }
  /// The 0-based epoch in which this callback stopped training (0 if it did not).
  int64_t stopped_epoch() const noexcept { return stopped_epoch_; }
  double best_score() const noexcept { return best_score_; }
  int64_t patience() const noexcept { return opts_.patience; }
  /// Why training was stopped, in Lightning's words (empty while it was not).
  const std::string& stopping_reason() const noexcept { return stopping_reason_; }

  /// Lightning's `EarlyStopping{'monitor': 'val_loss', 'mode': 'min'}`.
  std::string state_key() const;

  c10::impl::GenericDict state_dict() const;

  void load_state_dict(const c10::impl::GenericDict& state);

 private:
  static constexpr double inf() noexcept { return std::numeric_limits<double>::infinity(); }

  template <class T>
  static bool validates_once_per_epoch(T& trainer) {
    const auto& o = trainer.options();
    const auto& v = o.val_check_interval;
    const bool interval_is_one = v.is_count() ? v.count() == 1 : v.fraction() == 1.0;  // Python: 1 == 1.0
    return interval_is_one && o.check_val_every_n_epoch && *o.check_val_every_n_epoch == 1;
  }

  template <class T>
  bool check_on_train_epoch_end(T& trainer) const {
    if (opts_.check_on_train_epoch_end) return *opts_.check_on_train_epoch_end;
    if (check_on_train_epoch_end_) return *check_on_train_epoch_end_;
    return validates_once_per_epoch(trainer);  // setup() was not called
  }

  template <class T>
  static bool skip_check(T& trainer) {
    return trainer.stage() != Stage::fit || trainer.sanity_checking();
  }

  template <class T>
  void run_check(T& trainer) {
    if (trainer.fast_dev_run() > 0) return;  // no early stopping under fast_dev_run
    const auto& logs = trainer.callback_metrics();
    auto it = logs.find(opts_.monitor);
    if (it == logs.end()) {
      std::string keys;
      for (const auto& kv : logs) keys += (keys.empty() ? "" : "`, `") + kv.first;
      const std::string msg = "Early stopping conditioned on metric `" + opts_.monitor +
                              "` which is not available. Pass in or modify your `EarlyStopping` callback to use "
                              "any of the following: `" + keys + "`";
      if (opts_.strict) throw std::runtime_error(msg);
      if (opts_.verbose && trainer.is_global_zero()) std::fprintf(stderr, "lightning: warning: %s\n", msg.c_str());
      return;
    }
    const torch::Tensor current = it->second.detach().squeeze();
    auto [stop, reason] = current.scalar_type() == torch::kDouble ? evaluate<double>(current.item<double>())
                                                                  : evaluate<float>(current.item<float>());
    // Every process stops if any does.
    stop = trainer.strategy().reduce_boolean_decision(stop, false);
    trainer.should_stop = trainer.should_stop || stop;
    if (stop) {
      stopped_epoch_ = trainer.current_epoch();
      stopping_reason_ = reason;
    }
    if (!reason.empty() && opts_.verbose) log_info(trainer, reason);
  }

  /// Lightning's `_evaluate_stopping_criteria`, in the metric's precision F.
  template <class F>
  std::pair<bool, std::string> evaluate(F current) {
    const bool lower = opts_.mode == Mode::min;
    auto better = [lower](F a, F b) { return lower ? a < b : a > b; };
    const std::string order = lower ? "<" : ">";
    const std::string& m = opts_.monitor;
    if (opts_.check_finite && !std::isfinite(current))
      return {true, "Monitored metric " + m + " = " + detail::py_float_repr(static_cast<double>(current)) +
                        " is not finite. Previous best value was " + detail::py_fixed(best_score_, 3) +
                        ". Signaling Trainer to stop."};
    if (opts_.stopping_threshold && better(current, static_cast<F>(*opts_.stopping_threshold)))
      return {true, "Stopping threshold reached: " + m + " = " + detail::py_float_repr(static_cast<double>(current)) + " " + order +
                        " " + detail::py_float_repr(*opts_.stopping_threshold) + ". Signaling Trainer to stop."};
    if (opts_.divergence_threshold && better(-current, static_cast<F>(-*opts_.divergence_threshold)))
      return {true, "Divergence threshold reached: " + m + " = " + detail::py_float_repr(static_cast<double>(current)) + " " +
                        order + " " + detail::py_float_repr(*opts_.divergence_threshold) +
                        ". Signaling Trainer to stop."};
    // `current - min_delta` is a tensor op: rounded to F, as is the scalar.
    if (better(static_cast<F>(current - static_cast<F>(min_delta_)), static_cast<F>(best_score_))) {
      std::string msg;
      if (std::isfinite(best_score_))
        msg = "Metric " + m + " improved by " +
              detail::py_fixed(std::fabs(static_cast<F>(static_cast<F>(best_score_) - current)), 3) +
              " >= min_delta = " + detail::py_float_repr(std::fabs(min_delta_)) +
              ". New best score: " + detail::py_fixed(current, 3);
      else
        msg = "Metric " + m + " improved. New best score: " + detail::py_fixed(current, 3);
      best_score_ = static_cast<double>(current);
      wait_count_ = 0;
      return {false, msg};
    }
    ++wait_count_;
    if (wait_count_ >= opts_.patience)
      return {true, "Monitored metric " + m + " did not improve in the last " + std::to_string(wait_count_) +
                        " records. Best score: " + detail::py_fixed(best_score_, 3) + ". Signaling Trainer to stop."};
    return {false, {}};
  }

  template <class T>
  void log_info(T& trainer, const std::string& message) const {
    // Lightning prefixes the rank when several processes run.
    const bool distributed = trainer.world_size() > 1;
    const int64_t rank = trainer.global_rank();
    if (distributed && opts_.log_rank_zero_only && rank != 0) return;
    const std::string text = distributed ? "[rank: " + std::to_string(rank) + "] " + message : message;
    std::fprintf(stderr, "%s\n", text.c_str());
  }

  Options opts_;
  double min_delta_ = 0;
  double best_score_ = 0;
  int64_t wait_count_ = 0;
  int64_t stopped_epoch_ = 0;
  std::optional<bool> check_on_train_epoch_end_;
  std::string stopping_reason_;
};

}  // namespace lightning
