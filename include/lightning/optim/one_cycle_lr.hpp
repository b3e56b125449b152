#pragma once
// OneCycleLR: PyTorch's torch.optim.lr_scheduler.OneCycleLR (1.13), lrs and
// momentum (SGD/RMSprop `momentum`, Adam/AdamW `betas[0]`), value for value.
#include <torch/torch.h>

#include <numbers>
#include <optional>
#include <tuple>

#include "scheduler_base.hpp"

namespace lightning::optim {

class OneCycleLR;

/// How OneCycleLR moves between the ends of a phase.
enum class AnnealStrategy { cos, linear };

/// `OneCycleLR(opt, {.max_lr = {0.1}, .total_steps = 1000})`; `max_lr` and the
/// momenta take one value (every group) or one per param group, as PyTorch's.
struct OneCycleLROptions {
  using scheduler_type = OneCycleLR;
  std::vector<double> max_lr = {};          ///< peak lr; required
  std::optional<int64_t> total_steps = {};  ///< steps in the cycle, or give epochs and steps_per_epoch
  std::optional<int64_t> epochs = {};       ///< with steps_per_epoch: total_steps = their product
  std::optional<int64_t> steps_per_epoch = {};
  double pct_start = 0.3;  ///< fraction of the cycle spent raising the lr
  AnnealStrategy anneal_strategy = AnnealStrategy::cos;
  bool cycle_momentum = true;                  ///< move momentum inversely to the lr
  std::vector<double> base_momentum = {0.85};  ///< momentum at the lr's peak
  std::vector<double> max_momentum = {0.95};   ///< momentum at the lr's ends
  double div_factor = 25.;                     ///< initial lr = max_lr / div_factor
  double final_div_factor = 1e4;               ///< min lr = initial lr / final_div_factor
  bool three_phase = false;                    ///< up, symmetric down, then annihilate (fastai-style)
};

namespace detail {
/// Where an optimizer keeps the momentum OneCycleLR cycles (PyTorch: 'momentum'
/// or 'betas' in the optimizer's defaults).
enum class MomentumSlot { none, momentum, beta1 };

inline MomentumSlot momentum_slot(const torch::optim::OptimizerOptions& o) {
  if (dynamic_cast<const torch::optim::SGDOptions*>(&o) || dynamic_cast<const torch::optim::RMSpropOptions*>(&o))
    return MomentumSlot::momentum;
  if (dynamic_cast<const torch::optim::AdamOptions*>(&o) || dynamic_cast<const torch::optim::AdamWOptions*>(&o))
    return MomentumSlot::beta1;
  return MomentumSlot::none;
}

/// Sets a group's momentum (SGD, RMSprop) or beta1 (Adam, AdamW, keeping beta2).
inline void set_momentum(torch::optim::OptimizerOptions& o, double m) {
  if (auto* sgd = dynamic_cast<torch::optim::SGDOptions*>(&o))
    sgd->momentum(m);
  else if (auto* rms = dynamic_cast<torch::optim::RMSpropOptions*>(&o))
    rms->momentum(m);
  else if (auto* adam = dynamic_cast<torch::optim::AdamOptions*>(&o))
    adam->betas(std::make_tuple(m, std::get<1>(adam->betas())));
  else if (auto* adamw = dynamic_cast<torch::optim::AdamWOptions*>(&o))
    adamw->betas(std::make_tuple(m, std::get<1>(adamw->betas())));
}
}  // namespace detail

/// The 1cycle policy: each group's lr rises from max_lr/div_factor to max_lr
/// over pct_start of `total_steps`, then anneals to initial/final_div_factor.
class OneCycleLR : public detail::LRScheduler<OneCycleLR> {
 public:
  using options_type = OneCycleLROptions;

  /// Sets each group's momentum to max_momentum (when cycling it), then
  /// last_epoch = 0 and the initial lrs, as PyTorch's constructor.
  /// `initial_lr`: see detail::LRScheduler; OneCycleLR overwrites it, as PyTorch.
  OneCycleLR(torch::optim::Optimizer& optimizer, OneCycleLROptions options, std::vector<double>* initial_lr = nullptr)
      : OneCycleLR(plan(optimizer, options), optimizer, initial_lr) {}

  static constexpr const char* name() noexcept { return "OneCycleLR"; }
  int64_t total_steps() const noexcept { return s_.total_steps; }
  bool cycle_momentum() const noexcept { return s_.cycle_momentum; }

  /// PyTorch's keys (total_steps, _schedule_phases, cycle_momentum, use_beta1,
  /// base_lrs, last_epoch, _step_count, _last_lr) plus `anneal_strategy` for
  /// PyTorch's unpicklable anneal_func, and the per-group values PyTorch keeps
  /// in param groups (LibTorch's cannot): initial_lrs, max_lrs, min_lrs,
  /// max_momentums, base_momentums.
  StateDict state_dict() const {
    auto d = detail::make_state_dict();
    d.insert_or_assign("total_steps", s_.total_steps);
    c10::impl::GenericList phases(c10::DictType::create(c10::StringType::get(), c10::AnyType::get()));
    for (const auto& p : s_.phases) {
      auto pd = detail::make_state_dict();
      pd.insert_or_assign("end_step", p.end_step);
      pd.insert_or_assign("start_lr", key_name(p.start_lr));
      pd.insert_or_assign("end_lr", key_name(p.end_lr));
      pd.insert_or_assign("start_momentum", key_name(p.start_momentum));
      pd.insert_or_assign("end_momentum", key_name(p.end_momentum));
      phases.push_back(pd);
    }
    d.insert_or_assign("_schedule_phases", phases);
    d.insert_or_assign("anneal_strategy", s_.anneal == AnnealStrategy::cos ? "cos" : "linear");
    d.insert_or_assign("cycle_momentum", s_.cycle_momentum);
    d.insert_or_assign("use_beta1", s_.use_beta1);
    d.insert_or_assign("initial_lrs", detail::to_list(s_.initial_lrs));
    d.insert_or_assign("max_lrs", detail::to_list(s_.max_lrs));
    d.insert_or_assign("min_lrs", detail::to_list(s_.min_lrs));
    d.insert_or_assign("max_momentums", detail::to_list(s_.max_momentums));
    d.insert_or_assign("base_momentums", detail::to_list(s_.base_momentums));
    save_base(d);
    return d;
  }

 private:
  friend class detail::LRScheduler<OneCycleLR>;

  // load_state_dict's reading part; the returned commit applies it.
  auto read_state(const detail::StateReader& r) {
    const auto n = static_cast<int64_t>(num_groups());
    State s;
    s.total_steps = r.integer("total_steps");
    if (s.total_steps < 1) throw r.invalid("total_steps", "must be >= 1, got " + std::to_string(s.total_steps));
    const auto& phases = r.get("_schedule_phases");
    if (!phases.isList() || phases.toListRef().empty())
      throw r.ill_typed("_schedule_phases", "a non-empty list of dicts", phases);
    for (const auto& p : phases.toListRef()) {
      if (!p.isGenericDict()) throw r.ill_typed("_schedule_phases", "a non-empty list of dicts", p);
      detail::StateReader pr(p.toGenericDict(), name(), " (in _schedule_phases)");
      auto key = [&](const char* k) {
        auto v = pr.string(k);
        if (auto parsed = parse_key(v)) return *parsed;
        throw r.invalid("_schedule_phases",
                        std::string("has ") + k + " = '" + v +
                            "', expected initial_lr, max_lr, min_lr, max_momentum or base_momentum");
      };
      s.phases.push_back(
          {pr.real("end_step"), key("start_lr"), key("end_lr"), key("start_momentum"), key("end_momentum")});
    }
    auto anneal = r.string("anneal_strategy");
    if (anneal != "cos" && anneal != "linear")
      throw r.invalid("anneal_strategy", "is '" + anneal + "', expected 'cos' or 'linear'");
    s.anneal = anneal == "cos" ? AnnealStrategy::cos : AnnealStrategy::linear;
    s.cycle_momentum = r.boolean("cycle_momentum");
    s.use_beta1 = r.boolean("use_beta1");
    s.initial_lrs = r.reals("initial_lrs", n);
    s.max_lrs = r.reals("max_lrs", n);
    s.min_lrs = r.reals("min_lrs", n);
    s.max_momentums = r.reals("max_momentums", n);
    s.base_momentums = r.reals("base_momentums", n);
    return [this, s = std::move(s)]() mutable { s_ = std::move(s); };
  }
  // After a load: each group's momentum as the last step set it (LibTorch's
  // Optimizer::load does not restore it).
  void sync_momentum() {
    if (s_.cycle_momentum && last_epoch() >= 0 && last_epoch() <= s_.total_steps) (void)compute(last_epoch(), true);
  }

  // The group values a phase moves between (PyTorch's param-group keys).
  enum class Key { initial_lr, max_lr, min_lr, max_momentum, base_momentum };
  struct Phase {
    double end_step;
    Key start_lr, end_lr, start_momentum, end_momentum;
  };
  struct State {
    int64_t total_steps = 0;
    std::vector<Phase> phases;
    AnnealStrategy anneal = AnnealStrategy::cos;
    bool cycle_momentum = false;
    bool use_beta1 = false;
    std::vector<double> initial_lrs, max_lrs, min_lrs, max_momentums, base_momentums;
  };

  // Private; the State comes first so no braced options can pick this overload.
  OneCycleLR(State s, torch::optim::Optimizer& optimizer, std::vector<double>* initial_lr)
      : LRScheduler(optimizer, initial_lr, &s.initial_lrs), s_(std::move(s)) {
    if (s_.cycle_momentum) {
      auto& groups = optimizer.param_groups();
      for (std::size_t i = 0; i < groups.size(); ++i) detail::set_momentum(groups[i].options(), s_.max_momentums[i]);
    }
    initial_step();
  }

  static const char* key_name(Key k) noexcept {
    switch (k) {
      case Key::initial_lr:
        return "initial_lr";
      case Key::max_lr:
        return "max_lr";
      case Key::min_lr:
        return "min_lr";
      case Key::max_momentum:
        return "max_momentum";
      case Key::base_momentum:
        return "base_momentum";
    }
    return "";
  }
  static std::optional<Key> parse_key(const std::string& s) {
    for (auto k : {Key::initial_lr, Key::max_lr, Key::min_lr, Key::max_momentum, Key::base_momentum})
      if (s == key_name(k)) return k;
    return std::nullopt;
  }

  // PyTorch's constructor checks, in its order, and its derived values.
  static State plan(const torch::optim::Optimizer& optimizer, const OneCycleLROptions& o) {
    State s;
    auto positive = [](const char* what, const std::optional<int64_t>& v) {
      if (!v)
        throw std::invalid_argument(std::string("OneCycleLR: ") + what +
                                    " is missing; without total_steps, give both epochs and steps_per_epoch");
      if (*v <= 0)
        throw std::invalid_argument(std::string("OneCycleLR: expected positive integer ") + what + ", but got " +
                                    std::to_string(*v));
      return *v;
    };
    if (!o.total_steps && !o.epochs && !o.steps_per_epoch)
      throw std::invalid_argument("OneCycleLR: you must define either total_steps OR (epochs AND steps_per_epoch)");
    if (o.total_steps) {
      s.total_steps = positive("total_steps", o.total_steps);
    } else {
      const auto epochs = positive("epochs", o.epochs);
      s.total_steps = epochs * positive("steps_per_epoch", o.steps_per_epoch);
    }
    const auto T = static_cast<double>(s.total_steps);
    const auto last = static_cast<double>(s.total_steps - 1);
    if (o.three_phase) {
      s.phases = {{o.pct_start * T - 1, Key::initial_lr, Key::max_lr, Key::max_momentum, Key::base_momentum},
                  {2 * o.pct_start * T - 2, Key::max_lr, Key::initial_lr, Key::base_momentum, Key::max_momentum},
                  {last, Key::initial_lr, Key::min_lr, Key::max_momentum, Key::max_momentum}};
    } else {
      s.phases = {{o.pct_start * T - 1, Key::initial_lr, Key::max_lr, Key::max_momentum, Key::base_momentum},
                  {last, Key::max_lr, Key::min_lr, Key::base_momentum, Key::max_momentum}};
    }
    if (!(o.pct_start >= 0 && o.pct_start <= 1))
      throw std::invalid_argument("OneCycleLR: expected float between 0 and 1 pct_start, but got " +
                                  std::to_string(o.pct_start));
    s.anneal = o.anneal_strategy;
    const auto groups = optimizer.param_groups().size();
    if (o.max_lr.empty()) throw std::invalid_argument("OneCycleLR: max_lr is required (the peak lr)");
    s.max_lrs = detail::per_group(o.max_lr, groups, "OneCycleLR", "max_lr");
    for (double m : s.max_lrs) {
      s.initial_lrs.push_back(m / o.div_factor);
      s.min_lrs.push_back(s.initial_lrs.back() / o.final_div_factor);
    }
    s.cycle_momentum = o.cycle_momentum;
    if (s.cycle_momentum) {
      const auto slot = detail::momentum_slot(optimizer.defaults());
      if (slot == detail::MomentumSlot::none)
        throw std::invalid_argument(
            "OneCycleLR: optimizer must support momentum with `cycle_momentum` option enabled "
            "(SGD, RMSprop: momentum; Adam, AdamW: betas); set .cycle_momentum = false");
      s.use_beta1 = slot == detail::MomentumSlot::beta1;
      s.max_momentums = detail::per_group(o.max_momentum, groups, "OneCycleLR", "max_momentum");
      s.base_momentums = detail::per_group(o.base_momentum, groups, "OneCycleLR", "base_momentum");
    } else {  // unused, and unchecked as in PyTorch; kept one per group for state_dict
      s.max_momentums.assign(groups, o.max_momentum.empty() ? 0.0 : o.max_momentum.front());
      s.base_momentums.assign(groups, o.base_momentum.empty() ? 0.0 : o.base_momentum.front());
    }
    return s;
  }

  double value(Key k, std::size_t i) const {
    switch (k) {
      case Key::initial_lr:
        return s_.initial_lrs[i];
      case Key::max_lr:
        return s_.max_lrs[i];
      case Key::min_lr:
        return s_.min_lrs[i];
      case Key::max_momentum:
        return s_.max_momentums[i];
      case Key::base_momentum:
        return s_.base_momentums[i];
    }
    return 0;
  }
  double anneal(double start, double end, double pct) const {
    if (s_.anneal == AnnealStrategy::cos) {
      const double cos_out = std::cos(std::numbers::pi * pct) + 1;
      return end + (start - end) / 2.0 * cos_out;
    }
    return (end - start) * pct + start;
  }

  // PyTorch's get_lr(): also sets each group's momentum as it goes.
  std::vector<double> chainable_lr() { return compute(last_epoch(), s_.cycle_momentum); }

  std::vector<double> compute(int64_t step_num, bool set_momentum) {
    if (step_num > s_.total_steps)
      throw std::out_of_range("OneCycleLR: tried to step " + std::to_string(step_num + 1) +
                              " times. The specified number of total steps is " + std::to_string(s_.total_steps));
    auto& groups = optimizer().param_groups();
    std::vector<double> lrs;
    for (std::size_t i = 0; i < groups.size(); ++i) {
      double start_step = 0;
      double lr = 0, momentum = 0;
      for (std::size_t k = 0; k < s_.phases.size(); ++k) {
        const auto& phase = s_.phases[k];
        if (static_cast<double>(step_num) <= phase.end_step || k == s_.phases.size() - 1) {
          if (phase.end_step == start_step)  // PyTorch raises ZeroDivisionError
            throw std::invalid_argument("OneCycleLR: phase " + std::to_string(k) +
                                        " of the schedule is empty at step " + std::to_string(step_num) +
                                        " (total_steps = " + std::to_string(s_.total_steps) +
                                        "); choose pct_start so that every phase has steps");
          const double pct = (static_cast<double>(step_num) - start_step) / (phase.end_step - start_step);
          lr = anneal(value(phase.start_lr, i), value(phase.end_lr, i), pct);
          if (s_.cycle_momentum) momentum = anneal(value(phase.start_momentum, i), value(phase.end_momentum, i), pct);
          break;
        }
        start_step = phase.end_step;
      }
      lrs.push_back(lr);
      if (set_momentum) detail::set_momentum(groups[i].options(), momentum);
    }
    return lrs;
  }

  State s_;
};

}  // namespace lightning::optim
