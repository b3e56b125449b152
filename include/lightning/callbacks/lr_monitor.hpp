#pragma once
// LearningRateMonitor: logs each optimizer's learning rate (and momentum) to
// the loggers with Lightning's keys: `lr-Adam`, `lr-Adam-1` for a second Adam,
// `lr-Adam/pg1`, `lr-Adam/pg2` for parameter groups, `lr-Adam-momentum`; the
// scheduler config's `name` replaces `lr-Adam`.
#include <torch/torch.h>

#include <c10/util/Type.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <typeinfo>

#include "../optim/configure.hpp"

namespace lightning {

class LearningRateMonitor {
 public:
  struct Options {
    /// Unset: every logged step for step-interval schedulers, else per epoch.
    std::optional<Interval> logging_interval{};
    bool log_momentum = false;
  };

  LearningRateMonitor() = default;
  explicit LearningRateMonitor(Options o) : opts_(o) {}

  template <class T, class M>
  void on_train_batch_start(T& trainer, M&, const auto&, int64_t) {
    if (opts_.logging_interval == Interval::epoch) return;
    // Lightning logs on the steps the loggers write: every log_every_n_steps.
    if ((trainer.global_step() + 1) % trainer.options().log_every_n_steps != 0) return;
    log(trainer, Interval::step);
  }

  template <class T, class M>
  void on_train_epoch_start(T& trainer, M&) {
    if (opts_.logging_interval == Interval::step) return;
    log(trainer, Interval::epoch);
  }

  /// The values logged last, by key.
  const std::map<std::string, double>& last() const noexcept { return last_; }

 private:
  template <class T>
  void log(T& trainer, Interval when) {
    std::map<std::string, double> stats;
    std::map<std::string, int> seen;  // optimizer type name -> how many so far
    std::apply([&](auto&... slot) { (add(slot, when, stats, seen), ...); }, trainer.optimizer_slots());
    if (stats.empty()) return;
    last_ = stats;
    trainer.log_metrics(stats, trainer.global_step());
  }

  template <class Slot>
  void add(Slot& slot, Interval when, std::map<std::string, double>& stats, std::map<std::string, int>& seen) {
    using O = typename Slot::optimizer_type;
    // Which interval this optimizer's lr changes on: its scheduler's, else every step.
    Interval changes = Interval::step;
    std::string name;
    if constexpr (Slot::has_scheduler) {
      changes = slot.lr_scheduler.interval;
      name = slot.lr_scheduler.name;
    }
    if (!opts_.logging_interval && changes != when) return;
    std::string type;
    if constexpr (requires { slot.optimizer.type_name(); }) {  // chosen at run time (optim::AnyOptimizer)
      type = std::string(slot.optimizer.type_name());
    } else {
      type = c10::demangle(typeid(O).name());
      if (auto p = type.rfind("::"); p != std::string::npos) type = type.substr(p + 2);
    }
    if (name.empty()) {
      const int n = seen[type]++;
      name = "lr-" + type + (n ? "-" + std::to_string(n) : "");
    }
    const auto& groups = slot.optimizer.param_groups();
    for (size_t g = 0; g < groups.size(); ++g) {
      const std::string key = groups.size() > 1 ? name + "/pg" + std::to_string(g + 1) : name;
      stats[key] = groups[g].options().get_lr();
      if (opts_.log_momentum) stats[key + "-momentum"] = momentum(groups[g].options());
    }
  }

  static double momentum(const torch::optim::OptimizerOptions& o) {
    if (auto* sgd = dynamic_cast<const torch::optim::SGDOptions*>(&o)) return sgd->momentum();
    if (auto* adam = dynamic_cast<const torch::optim::AdamOptions*>(&o)) return std::get<0>(adam->betas());
    if (auto* adamw = dynamic_cast<const torch::optim::AdamWOptions*>(&o)) return std::get<0>(adamw->betas());
    if (auto* rms = dynamic_cast<const torch::optim::RMSpropOptions*>(&o)) return rms->momentum();
    return 0.0;
  }

  Options opts_{};
  std::map<std::string, double> last_;
};

}  // namespace lightning
