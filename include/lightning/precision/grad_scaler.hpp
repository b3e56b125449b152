#pragma once
// GradScaler: dynamic loss scaling for float16 mixed precision, PyTorch's
// torch.cuda.amp.GradScaler (1.13) in C++ and usable on its own, as in
// Fabric: scale(loss).backward(); unscale(opt) (optional, before clipping);
// step(opt) skips the step when a gradient is inf/NaN; update() backs the
// scale off after a skip or grows it after `growth_interval` good steps.
//
// On CUDA tensors it calls ATen's fused kernels
// (at::_amp_foreach_non_finite_check_and_unscale_, at::_amp_update_scale_).
// LibTorch 1.13 registers those for CUDA only, so on every other device the
// same arithmetic runs as tensor ops (isfinite + mul_) and a scalar update
// with the CUDA kernel's exact rule.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "f32.hpp"  // StateDict

namespace lightning::precision {

/// GradScaler's settings, PyTorch's defaults:
/// `GradScaler({.init_scale = 1024.0, .growth_interval = 10})`.
struct GradScalerOptions {
  double init_scale = 65536.0;   ///< the first scale (2^16)
  double growth_factor = 2.0;    ///< scale *= this after growth_interval steps without inf/NaN
  double backoff_factor = 0.5;   ///< scale *= this after a step with inf/NaN gradients
  int64_t growth_interval = 2000;
  bool enabled = true;           ///< false: every call passes through (scale 1, always steps)
};

/// An optimizer the scaler can unscale and step: LibTorch's optimizers.
template <class Opt>
concept ScalableOptimizer = requires(Opt& o) {
  o.param_groups();
  o.step();
};

/// Dynamic loss scaler (see the top of this file). One scaler may serve
/// several optimizers; per optimizer, unscale() and step() once between updates.
class GradScaler {
 public:
  using Options = GradScalerOptions;

  GradScaler() = default;  // PyTorch's defaults
  explicit GradScaler(Options options) : opts_(options) {
    check_options(opts_.init_scale, opts_.growth_factor, opts_.backoff_factor, opts_.growth_interval, "GradScaler");
  }

  // Copies hold their own scale (the tensors are cloned, not shared).
  GradScaler(const GradScaler& o) : opts_(o.opts_), init_growth_tracker_(o.init_growth_tracker_),
                                    skipped_steps_(o.skipped_steps_), states_(o.states_) {
    if (o.scale_.defined()) scale_ = o.scale_.clone();
    if (o.growth_tracker_.defined()) growth_tracker_ = o.growth_tracker_.clone();
  }
  GradScaler& operator=(const GradScaler& o) {
    if (this != &o) *this = GradScaler(o);
    return *this;
  }
  GradScaler(GradScaler&&) noexcept = default;
  GradScaler& operator=(GradScaler&&) noexcept = default;

  /// `outputs * scale` (the loss to call backward on). The scale tensor is
  /// created on the first call, on the loss's device, as PyTorch does.
  torch::Tensor scale(const torch::Tensor& outputs) {
    if (!opts_.enabled) return outputs;
    if (!outputs.defined()) throw std::invalid_argument("GradScaler::scale: the loss is an undefined tensor");
    if (!scale_.defined()) lazy_init(outputs.device());
    // A 0-dim view keeps the loss's shape (PyTorch's (1,)-shaped scale would make it (1,)).
    return outputs * scale_.to(outputs.device(), /*non_blocking=*/true).reshape({});
  }

  /// Divides `optimizer`'s gradients by the scale in place and records
  /// whether any is inf/NaN. Once per optimizer between update()s: a second
  /// call throws std::logic_error, as PyTorch's unscale_() does.
  template <ScalableOptimizer Opt>
  void unscale(Opt& optimizer) {
    if (!opts_.enabled) return;
    check_initialized("unscale");
    PerOptimizer& st = state_of(&optimizer);
    if (st.stage == Stage::unscaled)
      throw std::logic_error(
          "GradScaler::unscale: unscale() has already been called on this optimizer since the last update()");
    if (st.stage == Stage::stepped)
      throw std::logic_error("GradScaler::unscale: unscale() is being called after step(); call update() first");
    // PyTorch: the reciprocal in double, then float32.
    const auto inv_scale = scale_.to(torch::kDouble).reciprocal().to(torch::kFloat);
    st.found_inf = unscale_grads(optimizer, inv_scale);
    st.stage = Stage::unscaled;
  }

  /// Whether unscale() (or step()) already ran for `optimizer` since the last
  /// update(): lets a caller unscale exactly once per step.
  template <class Opt>
  bool is_unscaled(const Opt& optimizer) const noexcept {
    for (const auto& [key, st] : states_)
      if (key == static_cast<const void*>(&optimizer)) return st.stage != Stage::ready;
    return false;
  }

  /// Unscales (unless unscale() was called) and steps `optimizer` unless a
  /// gradient is inf/NaN. Returns whether it stepped; skips are counted.
  template <ScalableOptimizer Opt>
  bool step(Opt& optimizer) {
    static_assert(!std::is_base_of_v<torch::optim::LBFGS, Opt>,
                  "lightning: GradScaler (16-mixed): AMP and the LBFGS optimizer are not compatible "
                  "(LBFGS re-evaluates the loss in its closure, which the scaler cannot skip)");
    if (!opts_.enabled) {
      optimizer.step();
      return true;
    }
    check_initialized("step");
    PerOptimizer& st = state_of(&optimizer);
    if (st.stage == Stage::stepped)
      throw std::logic_error("GradScaler::step: step() has already been called since the last update()");
    if (st.stage == Stage::ready) unscale(optimizer);
    const std::vector<torch::Tensor>& found = state_of(&optimizer).found_inf;  // unscale() may have added the entry
    if (found.empty())
      throw std::logic_error(
          "GradScaler::step: no inf checks were recorded for this optimizer: none of its parameters has a "
          "gradient (call backward() on scale(loss) first)");
    double any = 0.0;
    for (const auto& f : found) any += f.item<double>();  // the one host sync of a step, as in PyTorch
    if (any != 0.0) {
      state_of(&optimizer).stage = Stage::stepped;
      ++skipped_steps_;
      return false;
    }
    optimizer.step();
    state_of(&optimizer).stage = Stage::stepped;
    return true;
  }

  /// Ends the iteration: scale *= backoff_factor if any optimizer saw inf/NaN
  /// (growth tracker reset), else after growth_interval consecutive good
  /// updates scale *= growth_factor (kept if still finite in float32).
  void update() {
    if (!opts_.enabled) return;
    check_initialized("update");
    torch::Tensor found;
    for (const auto& [key, st] : states_)
      for (const auto& f : st.found_inf) {
        auto here = f.to(scale_.device(), /*non_blocking=*/true);
        found = found.defined() ? found + here : here;
      }
    if (!found.defined())
      throw std::logic_error(
          "GradScaler::update: no inf checks were recorded prior to update(); call step(optimizer) (or "
          "unscale(optimizer)) after backward() first");
    if (scale_.is_cuda()) {
      at::_amp_update_scale_(scale_, growth_tracker_, found, opts_.growth_factor, opts_.backoff_factor,
                             opts_.growth_interval);
    } else {
      update_scale_host(found.item<float>() != 0.0f);
    }
    states_.clear();
  }

  /// Ends the iteration with the scale set to `new_scale` (PyTorch's
  /// `update(new_scale)`; the growth tracker is left as it is).
  void update(double new_scale) {
    if (!opts_.enabled) return;
    check_initialized("update");
    if (!(std::isfinite(new_scale) && new_scale > 0.0))
      throw std::invalid_argument("GradScaler::update(new_scale): expected a finite scale > 0, got " +
                                  std::to_string(new_scale));
    scale_.fill_(new_scale);
    states_.clear();
  }

  /// The current scale (init_scale before the first scale(); 1 when disabled).
  double get_scale() const {
    if (!opts_.enabled) return 1.0;
    return scale_.defined() ? scale_.item<double>() : opts_.init_scale;
  }
  double get_growth_factor() const noexcept { return opts_.growth_factor; }
  double get_backoff_factor() const noexcept { return opts_.backoff_factor; }
  int64_t get_growth_interval() const noexcept { return opts_.growth_interval; }
  /// Consecutive good updates counted towards the next growth.
  int64_t get_growth_tracker() const {
    return growth_tracker_.defined() ? growth_tracker_.item<int64_t>() : init_growth_tracker_;
  }
  bool is_enabled() const noexcept { return opts_.enabled; }
  /// Steps step() skipped for inf/NaN gradients since construction (not saved).
  int64_t skipped_steps() const noexcept { return skipped_steps_; }

  /// PyTorch's keys: scale, growth_factor, backoff_factor, growth_interval,
  /// _growth_tracker; empty when disabled (as PyTorch).
  StateDict state_dict() const {
    auto d = detail::empty_state_dict();
    if (!opts_.enabled) return d;
    d.insert_or_assign("scale", get_scale());
    d.insert_or_assign("growth_factor", opts_.growth_factor);
    d.insert_or_assign("backoff_factor", opts_.backoff_factor);
    d.insert_or_assign("growth_interval", opts_.growth_interval);
    d.insert_or_assign("_growth_tracker", get_growth_tracker());
    return d;
  }

  /// Restores state_dict()'s output (also one saved by PyTorch). Ignored when
  /// disabled; std::invalid_argument for an empty dict or a missing/ill-typed
  /// key, leaving the scaler unchanged.
  void load_state_dict(const StateDict& d) {
    if (!opts_.enabled) return;
    if (d.size() == 0)
      throw std::invalid_argument(
          "GradScaler::load_state_dict: the source state dict is empty, possibly because it was saved from a "
          "disabled GradScaler");
    const double scale = real(d, "scale");
    const double growth_factor = real(d, "growth_factor");
    const double backoff_factor = real(d, "backoff_factor");
    const int64_t growth_interval = integer(d, "growth_interval");
    const int64_t tracker = integer(d, "_growth_tracker");
    check_options(scale, growth_factor, backoff_factor, growth_interval, "GradScaler::load_state_dict");
    if (tracker < 0 || tracker >= growth_interval)
      throw std::invalid_argument("GradScaler::load_state_dict: _growth_tracker must be in [0, growth_interval), got " +
                                  std::to_string(tracker));
    opts_.init_scale = scale;
    opts_.growth_factor = growth_factor;
    opts_.backoff_factor = backoff_factor;
    opts_.growth_interval = growth_interval;
    init_growth_tracker_ = tracker;
    if (scale_.defined()) scale_.fill_(scale);
    if (growth_tracker_.defined()) growth_tracker_.fill_(tracker);
  }

 private:
  enum class Stage { ready, unscaled, stepped };  // PyTorch's OptState
  struct PerOptimizer {
    Stage stage = Stage::ready;
    std::vector<torch::Tensor> found_inf;  // one per device holding gradients
  };

  static void check_options(double init_scale, double growth_factor, double backoff_factor, int64_t growth_interval,
                            const char* who) {
    auto fail = [&](const std::string& what) { throw std::invalid_argument(std::string(who) + ": " + what); };
    if (!(std::isfinite(init_scale) && init_scale > 0.0))
      fail("init_scale (scale) must be finite and > 0, got " + std::to_string(init_scale));
    if (!(growth_factor > 1.0 && std::isfinite(growth_factor)))
      fail("growth_factor must be > 1.0, got " + std::to_string(growth_factor));
    if (!(backoff_factor > 0.0 && backoff_factor < 1.0))
      fail("backoff_factor must be in (0, 1), got " + std::to_string(backoff_factor));
    // The CUDA kernel counts in int32.
    if (growth_interval < 1 || growth_interval > std::numeric_limits<int32_t>::max())
      fail("growth_interval must be in [1, 2^31), got " + std::to_string(growth_interval));
  }

  void lazy_init(const torch::Device& device) {
    scale_ = torch::full({1}, opts_.init_scale, torch::TensorOptions().dtype(torch::kFloat).device(device));
    growth_tracker_ = torch::full({1}, init_growth_tracker_, torch::TensorOptions().dtype(torch::kInt).device(device));
  }

  void check_initialized(const char* fn) const {
    if (!scale_.defined())
      throw std::logic_error(std::string("GradScaler::") + fn +
                             ": the scale is not initialized; call scale(loss) (and backward on it) earlier in the "
                             "iteration");
  }

  PerOptimizer& state_of(const void* key) {
    for (auto& [k, st] : states_)
      if (k == key) return st;
    return states_.emplace_back(key, PerOptimizer{}).second;
  }

  // Unscales every gradient of `optimizer` by `inv_scale`; returns one
  // found_inf flag (float32, shape (1,), 1 = inf/NaN seen) per device.
  template <class Opt>
  static std::vector<torch::Tensor> unscale_grads(Opt& optimizer, const torch::Tensor& inv_scale) {
    torch::NoGradGuard no_grad;
    struct Group {
      torch::Device device;
      torch::ScalarType dtype;
      std::vector<torch::Tensor> grads;
    };
    std::vector<Group> groups;  // the fused kernel wants one device and dtype per call
    for (auto& group : optimizer.param_groups())
      for (auto& p : group.params()) {
        const auto& g = p.grad();
        if (!g.defined()) continue;
        if (g.scalar_type() == torch::kHalf)
          throw std::invalid_argument(
              "GradScaler::unscale: attempting to unscale float16 gradients; keep the parameters float32 (16-mixed "
              "casts inside autocast, the master weights stay float32)");
        auto t = g.is_sparse() ? g._values() : g;
        auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& gr) {
          return gr.device == t.device() && gr.dtype == t.scalar_type();
        });
        if (it == groups.end()) groups.push_back({t.device(), t.scalar_type(), {t}});
        else it->grads.push_back(t);
      }

    std::vector<std::pair<torch::Device, torch::Tensor>> found;  // per device
    for (auto& gr : groups) {
      auto f = std::find_if(found.begin(), found.end(), [&](const auto& e) { return e.first == gr.device; });
      if (f == found.end()) {
        found.emplace_back(gr.device, torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat).device(gr.device)));
        f = std::prev(found.end());
      }
      auto& flag = f->second;
      const auto inv = inv_scale.to(gr.device, /*non_blocking=*/true);
      if (gr.device.is_cuda()) {
        at::_amp_foreach_non_finite_check_and_unscale_(gr.grads, flag, inv);
      } else {
        // The CUDA kernel's arithmetic: flag any non-finite value, multiply
        // every value (inf/NaN stay so), float32 inv_scale.
        const auto inv0 = inv.reshape({});
        for (auto& t : gr.grads) {
          flag.add_(torch::isfinite(t).logical_not().any());
          t.mul_(inv0);
        }
        flag.clamp_max_(1.0);
      }
    }
    std::vector<torch::Tensor> out;
    out.reserve(found.size());
    for (auto& [device, flag] : found) out.push_back(std::move(flag));
    return out;
  }

  // at::_amp_update_scale_'s rule (aten/src/ATen/native/cuda/AmpKernels.cu),
  // in float32 scale / int32 tracker arithmetic like the kernel.
  void update_scale_host(bool found_inf) {
    float scale = scale_.item<float>();
    int32_t tracker = growth_tracker_.item<int32_t>();
    if (found_inf) {
      scale = static_cast<float>(scale * opts_.backoff_factor);
      tracker = 0;
    } else {
      const int32_t successful = tracker + 1;
      if (successful == opts_.growth_interval) {
        const float grown = static_cast<float>(scale * opts_.growth_factor);
        if (std::isfinite(grown)) scale = grown;  // never grow past float32's range to inf
        tracker = 0;
      } else {
        tracker = successful;
      }
    }
    scale_.fill_(scale);
    growth_tracker_.fill_(tracker);
  }

  static const c10::IValue& get(const StateDict& d, const char* key) {
    auto it = d.find(c10::IValue(std::string(key)));
    if (it == d.end())
      throw std::invalid_argument(std::string("GradScaler::load_state_dict: missing key '") + key + "'");
    return it->value();
  }
  // Python writes whole numbers as int (e.g. growth_factor=2), so ints are accepted.
  static double real(const StateDict& d, const char* key) {
    const auto& v = get(d, key);
    if (v.isDouble()) return v.toDouble();
    if (v.isInt()) return static_cast<double>(v.toInt());
    throw std::invalid_argument(std::string("GradScaler::load_state_dict: key '") + key + "' must be a float, got " +
                                v.tagKind());
  }
  static int64_t integer(const StateDict& d, const char* key) {
    const auto& v = get(d, key);
    if (v.isInt()) return v.toInt();
    throw std::invalid_argument(std::string("GradScaler::load_state_dict: key '") + key + "' must be an int, got " +
                                v.tagKind());
  }

  Options opts_;
  int64_t init_growth_tracker_ = 0;
  int64_t skipped_steps_ = 0;
  torch::Tensor scale_;           // float32, shape (1,), on the loss's device
  torch::Tensor growth_tracker_;  // int32, shape (1,)
  std::vector<std::pair<const void*, PerOptimizer>> states_;  // keyed by optimizer address, as PyTorch's id()
};

}  // namespace lightning::precision
