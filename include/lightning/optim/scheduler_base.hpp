#pragma once
// Shared machinery of the LR schedulers in lightning::optim: PyTorch 1.13's
// `_LRScheduler` (base_lrs, last_epoch, _step_count, _last_lr and the initial
// step done by the constructor) as a CRTP base, so stepping costs no virtual
// call, plus the state-dict helpers that name a missing or ill-typed key.
#include <torch/torch.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace lightning::optim {

// Declared here so the base can befriend it: it rewinds its schedulers the way
// PyTorch's SequentialLR does (last_epoch -= 1, then `_initial_step()`).
template <class... Schedulers>
class SequentialLR;

/// A scheduler's state for checkpoints: string keys (PyTorch's names) to
/// values; picklable with torch::pickle_save, so torch.load in Python reads it.
using StateDict = c10::impl::GenericDict;

namespace detail {

/// The lr of each param group, in order.
inline std::vector<double> group_lrs(const torch::optim::Optimizer& optimizer) {
  std::vector<double> lrs;
  lrs.reserve(optimizer.param_groups().size());
  for (const auto& g : optimizer.param_groups()) lrs.push_back(g.options().get_lr());
  return lrs;
}

/// An empty state dict (str -> Any, as PyTorch's `__dict__` copy).
inline StateDict make_state_dict() { return StateDict(c10::StringType::get(), c10::AnyType::get()); }

inline c10::List<double> to_list(const std::vector<double>& v) { return c10::List<double>(v); }
inline c10::List<int64_t> to_list(const std::vector<int64_t>& v) { return c10::List<int64_t>(v); }

/// `v` as given (one value per param group) or one value repeated for every
/// group, as PyTorch's "float or list" arguments; `who`/`name` for the error.
inline std::vector<double> per_group(const std::vector<double>& v, std::size_t groups, const std::string& who,
                                     const std::string& name) {
  if (v.size() == groups) return v;
  if (v.size() == 1) return std::vector<double>(groups, v.front());
  throw std::invalid_argument(who + ": expected " + std::to_string(groups) + " values for " + name +
                              " (one per param group) or a single value, got " + std::to_string(v.size()));
}

/// Reads one key of a state dict, throwing std::invalid_argument that names
/// the key when it is missing or of the wrong type.
class StateReader {
 public:
  /// Messages start "<who>::load_state_dict<context>: ".
  StateReader(const StateDict& dict, const std::string& who, const std::string& context = "")
      : dict_(dict), who_(who + "::load_state_dict" + context) {}

  const c10::IValue& get(const std::string& key) const {
    auto it = dict_.find(c10::IValue(key));
    if (it == dict_.end()) throw std::invalid_argument(who_ + ": missing key '" + key + "'");
    return it->value();
  }
  bool has(const std::string& key) const { return dict_.find(c10::IValue(key)) != dict_.end(); }

  int64_t integer(const std::string& key) const {
    const auto& v = get(key);
    if (!v.isInt()) throw ill_typed(key, "an int", v);
    return v.toInt();
  }
  // Python writes whole numbers as int (e.g. eta_min=0), so ints are accepted.
  double real(const std::string& key) const {
    const auto& v = get(key);
    if (v.isDouble()) return v.toDouble();
    if (v.isInt()) return static_cast<double>(v.toInt());
    throw ill_typed(key, "a float", v);
  }
  bool boolean(const std::string& key) const {
    const auto& v = get(key);
    if (!v.isBool()) throw ill_typed(key, "a bool", v);
    return v.toBool();
  }
  std::string string(const std::string& key) const {
    const auto& v = get(key);
    if (!v.isString()) throw ill_typed(key, "a str", v);
    return v.toStringRef();
  }
  /// A list of floats; `size` (when not -1) is the length it must have.
  std::vector<double> reals(const std::string& key, int64_t size = -1) const {
    const auto& v = get(key);
    if (!v.isList()) throw ill_typed(key, "a list of floats", v);
    std::vector<double> out;
    for (const auto& e : v.toListRef()) {
      if (e.isDouble())
        out.push_back(e.toDouble());
      else if (e.isInt())
        out.push_back(static_cast<double>(e.toInt()));
      else
        throw ill_typed(key, "a list of floats", e);
    }
    check_size(key, out.size(), size);
    return out;
  }
  std::vector<int64_t> integers(const std::string& key, int64_t size = -1) const {
    const auto& v = get(key);
    if (!v.isList()) throw ill_typed(key, "a list of ints", v);
    std::vector<int64_t> out;
    for (const auto& e : v.toListRef()) {
      if (!e.isInt()) throw ill_typed(key, "a list of ints", e);
      out.push_back(e.toInt());
    }
    check_size(key, out.size(), size);
    return out;
  }
  /// A nested dict (str -> Any).
  StateDict dict(const std::string& key) const {
    const auto& v = get(key);
    if (!v.isGenericDict()) throw ill_typed(key, "a dict", v);
    return v.toGenericDict();
  }
  std::invalid_argument ill_typed(const std::string& key, const std::string& expected, const c10::IValue& got) const {
    return std::invalid_argument(who_ + ": key '" + key + "' must be " + expected + ", got " + got.tagKind());
  }
  std::invalid_argument invalid(const std::string& key, const std::string& why) const {
    return std::invalid_argument(who_ + ": key '" + key + "' " + why);
  }
  const std::string& who() const noexcept { return who_; }

 private:
  void check_size(const std::string& key, std::size_t got, int64_t size) const {
    if (size >= 0 && got != static_cast<std::size_t>(size))
      throw invalid(
          key, "has " + std::to_string(got) + " values, expected " + std::to_string(size) + " (one per param group)");
  }
  StateDict dict_;  // a handle: copying shares the dict
  std::string who_;
};

/// Python's `//` (floor division), for epochs PyTorch divides with it.
constexpr int64_t floor_div(int64_t a, int64_t b) noexcept {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/// PyTorch's `_LRScheduler`, shared by the chainable schedulers through CRTP.
/// `Derived` provides `name()`, `chainable_lr()` (PyTorch's `get_lr()`),
/// `read_state(reader)` (parses its own keys, returns the commit), and
/// optionally `closed_form_lr()` and `sync_momentum()`.
template <class Derived>
class LRScheduler {
 public:
  /// One step (PyTorch's `step()`): last_epoch += 1 and every param group's
  /// lr from the recursive (chainable) form.
  void step() {
    ++step_count_;
    ++last_epoch_;
    apply(self().chainable_lr());
  }

  /// PyTorch's deprecated `step(epoch)`: jump to `epoch`, using the closed
  /// form where PyTorch has one (SequentialLR uses `step_to(0)` at milestones).
  void step_to(int64_t epoch) {
    ++step_count_;
    last_epoch_ = epoch;
    if constexpr (requires(Derived & d) { d.closed_form_lr(); })
      apply(self().closed_form_lr());
    else
      apply(self().chainable_lr());
  }

  /// Restores state_dict()'s output exactly (std::invalid_argument naming a
  /// missing or ill-typed key, the scheduler left unchanged), then sets the
  /// groups' lrs to `_last_lr` (and OneCycleLR's momenta): LibTorch 1.13's
  /// Optimizer::load drops param-group options that PyTorch's restores.
  void load_state_dict(const StateDict& d) {
    load_state(d);
    sync_optimizer();
  }

  /// The lrs this scheduler set last, one per param group.
  std::vector<double> get_last_lr() const { return last_lr_; }
  /// Steps taken since the start of the schedule (0 after construction).
  int64_t last_epoch() const noexcept { return last_epoch_; }
  /// Each group's `initial_lr`, the lr the schedule starts from.
  const std::vector<double>& base_lrs() const noexcept { return base_lrs_; }
  /// PyTorch's `_step_count`: calls of step() including the constructor's.
  int64_t step_count() const noexcept { return step_count_; }
  /// The optimizer whose lrs this scheduler sets.
  torch::optim::Optimizer& optimizer() const noexcept { return *optimizer_; }
  /// Points the scheduler at `optimizer` after the one it was built with
  /// moved (the Trainer stores what configure_optimizers returns).
  void rebind(torch::optim::Optimizer& optimizer) noexcept { optimizer_ = &optimizer; }

 protected:
  /// `initial_lr` emulates PyTorch's `group['initial_lr']`, which LibTorch's
  /// param groups cannot hold: empty, it is filled with the current lrs
  /// (PyTorch's setdefault); set, it gives base_lrs. `override_initial`
  /// replaces it, as OneCycleLR overwrites `initial_lr`.
  LRScheduler(torch::optim::Optimizer& optimizer, std::vector<double>* initial_lr,
              const std::vector<double>* override_initial = nullptr)
      : optimizer_(&optimizer) {
    const auto groups = optimizer.param_groups().size();
    if (override_initial) {
      base_lrs_ = *override_initial;
      if (initial_lr) *initial_lr = base_lrs_;
    } else if (initial_lr && !initial_lr->empty()) {
      if (initial_lr->size() != groups)
        throw std::invalid_argument(std::string(Derived::name()) + ": initial_lr has " +
                                    std::to_string(initial_lr->size()) + " values, expected " + std::to_string(groups) +
                                    " (one per param group)");
      base_lrs_ = *initial_lr;
    } else {
      base_lrs_ = group_lrs(optimizer);
      if (initial_lr) *initial_lr = base_lrs_;
    }
  }

  /// PyTorch's `_initial_step()`: the constructor's step to last_epoch = 0.
  void initial_step() {
    step_count_ = 0;
    step();
  }

  /// The current lr of param group `i` (PyTorch's `group['lr']`).
  double group_lr(std::size_t i) const { return optimizer_->param_groups()[i].options().get_lr(); }
  std::size_t num_groups() const noexcept { return optimizer_->param_groups().size(); }

  /// Appends the `_LRScheduler` fields, after the scheduler's own, in PyTorch's order.
  void save_base(StateDict& d) const {
    d.insert_or_assign("base_lrs", to_list(base_lrs_));
    d.insert_or_assign("last_epoch", last_epoch_);
    d.insert_or_assign("_step_count", step_count_);
    d.insert_or_assign("_last_lr", to_list(last_lr_));
  }

 private:
  template <class...>
  friend class lightning::optim::SequentialLR;

  Derived& self() { return static_cast<Derived&>(*this); }

  struct BaseState {
    std::vector<double> base_lrs, last_lr;
    int64_t last_epoch, step_count;
  };
  BaseState read_base(const StateReader& r) const {
    const auto n = static_cast<int64_t>(num_groups());
    return {r.reals("base_lrs", n), r.reals("_last_lr", n), r.integer("last_epoch"), r.integer("_step_count")};
  }
  void restore_base(BaseState s) {
    base_lrs_ = std::move(s.base_lrs);
    last_lr_ = std::move(s.last_lr);
    last_epoch_ = s.last_epoch;
    step_count_ = s.step_count;
  }

  // Everything is read (Derived::read_state returns the commit) before
  // anything changes, so a bad dict leaves the scheduler unchanged.
  void load_state(const StateDict& d) {
    StateReader r(d, Derived::name());
    auto commit = self().read_state(r);
    auto base = read_base(r);
    commit();
    restore_base(std::move(base));
  }
  void sync_optimizer() {
    auto& groups = optimizer_->param_groups();
    for (std::size_t i = 0; i < groups.size() && i < last_lr_.size(); ++i) groups[i].options().set_lr(last_lr_[i]);
    sync_derived_momentum();
  }
  // OneCycleLR's momenta as its last step set them (a no-op for the others).
  void sync_derived_momentum() {
    if constexpr (requires(Derived & d) { d.sync_momentum(); }) self().sync_momentum();
  }

  // As PyTorch: each group's lr is set, then _last_lr read back from the groups.
  void apply(const std::vector<double>& lrs) {
    auto& groups = optimizer_->param_groups();
    for (std::size_t i = 0; i < groups.size() && i < lrs.size(); ++i) groups[i].options().set_lr(lrs[i]);
    last_lr_ = group_lrs(*optimizer_);
  }

  torch::optim::Optimizer* optimizer_;
  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
  int64_t last_epoch_ = -1;
  int64_t step_count_ = 0;
};

}  // namespace detail
}  // namespace lightning::optim
