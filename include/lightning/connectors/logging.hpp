#pragma once
// What reaches the loggers: step rows every log_every_n_steps, epoch rows,
// the hyperparameters, the run's end; loggers write on rank 0 only, into the
// version_N rank 0 chose. Also the step values published to
// callback_metrics / logged_metrics / progress_bar_metrics.
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "../detail/results.hpp"

namespace lightning::connectors {

template <class T>
class Logging {
 public:
  explicit Logging(T& t) : t_(t) {}

  /// Default loggers write under default_root_dir, as Lightning's do; ones
  /// the user passed keep their own options.
  void use_default_root_dir() {
    t_.loggers_.for_each([&](auto& lg) {
      using Lg = std::remove_cvref_t<decltype(lg)>;
      if constexpr (requires(typename Lg::Options o) {
                      o.save_dir = t_.opts_.user.default_root_dir;
                      Lg(std::move(o));
                    }) {
        typename Lg::Options o;
        o.save_dir = t_.opts_.user.default_root_dir;
        lg = Lg(std::move(o));
      }
    });
  }

  /// Loggers write on rank 0 only, and every rank uses the version_N rank 0
  /// chose (checkpoint paths derive from it). One process: nothing to share.
  void share_run_directory() {
    if constexpr (T::loggers_type::size > 0) {
      if (t_.strategy_.world_size() == 1) return;
      t_.loggers_.for_each([&](auto& lg) {
        if constexpr (requires { lg.set_rank_zero(true); }) lg.set_rank_zero(t_.strategy_.is_global_zero());
        if constexpr (requires { lg.version(); lg.set_version(0); }) {
          const int64_t v = t_.strategy_.is_global_zero() ? lg.version() : 0;
          lg.set_version(static_cast<int>(t_.strategy_.broadcast(v, 0)));
        }
      });
    }
  }

  /// Logged values reduced across ranks (sync_dist, metric states) with several processes.
  void sync_results() {
    if (t_.strategy_.world_size() > 1) {
      t_.train_results_.set_sync({&t_, &Logging::sync}, /*steps=*/true);
      t_.eval_results_.set_sync({&t_, &Logging::sync}, /*steps=*/false);
    }
  }

  /// Sends `metrics` (with the epoch, as Lightning's logger connector adds
  /// it; not for a callback's direct call) to every logger at `step`: rank 0
  /// only, not under fast_dev_run.
  void log_metrics(std::map<std::string, double> metrics, int64_t step, bool with_epoch = true) {
    if constexpr (T::loggers_type::size > 0) {
      if (metrics.empty() || t_.opts_.fast_dev_run > 0 || !t_.strategy_.is_global_zero()) return;
      if (with_epoch) metrics["epoch"] = static_cast<double>(t_.module_link_.progress.current_epoch);
      t_.loggers_.for_each([&](auto& lg) { lg.log_metrics(metrics, step); });
    } else {
      (void)metrics, (void)step, (void)with_epoch;
    }
  }

  template <class Model>
  void log_hyperparams(Model& model) {
    if constexpr (T::loggers_type::size > 0) {
      if (t_.opts_.fast_dev_run > 0 || !t_.strategy_.is_global_zero()) return;
      t_.loggers_.for_each([&](auto& lg) {
        if constexpr (requires { lg.log_hyperparams(model.hparams()); }) lg.log_hyperparams(model.hparams());
      });
    }
  }

  /// The row of a step: values logged with on_step.
  void log_step() {
    if constexpr (T::loggers_type::size > 0) {
      std::map<std::string, double> row;
      for (auto& e : t_.train_results_.entries())
        if (e.on_step && e.logger && e.step_value.defined())
          row[e.on_epoch ? e.name + "_step" : e.name] = e.step_value.template item<double>();
      log_metrics(std::move(row), t_.module_link_.progress.global_step - 1);
    }
  }

  /// The row of an epoch (training, validation or test): the epoch values.
  void log_epoch(const lightning::detail::ResultCollection& results) {
    if constexpr (T::loggers_type::size > 0)
      log_metrics(to_host(results.epoch_values(/*logger_only=*/true)), t_.module_link_.progress.global_step - 1);
  }

  /// Tells every logger the run ended ("success" or "failed").
  void finalize(const char* status) {
    t_.loggers_.for_each([&](auto& lg) {
      if constexpr (requires { lg.finalize(status); }) lg.finalize(status);
    });
  }

  static std::map<std::string, double> to_host(const std::map<std::string, torch::Tensor>& m) {
    std::map<std::string, double> out;
    for (const auto& [k, v] : m) out[k] = v.template item<double>();
    return out;
  }

 private:
  static torch::Tensor sync(void* trainer, const torch::Tensor& t, Reduce r) {
    return static_cast<T*>(trainer)->strategy_.reduce(t, r);
  }

  T& t_;
};

}  // namespace lightning::connectors
