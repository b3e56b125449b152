#pragma once
// L::Loggers<A, B, ...>: where logged metrics are written. A logger is any
// type with `log_metrics(const std::map<std::string, double>&, int64_t step)`;
// optional `log_hyperparams(const auto& hparams)`, `save()`, `finalize(status)`.
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "../policies/kinds.hpp"

namespace lightning {

template <class Lg>
concept Logger = requires(Lg& l, const std::map<std::string, double>& m, int64_t step) { l.log_metrics(m, step); };

template <class... Ls>
class Loggers {
  static_assert((Logger<Ls> && ...),
                "lightning: every type in L::Loggers<...> needs "
                "`void log_metrics(const std::map<std::string, double>& metrics, int64_t step)`");

 public:
  using policy_kind = lightning::policy_kind::loggers;
  static constexpr std::size_t size = sizeof...(Ls);

  Loggers() = default;

  /// Every logger, unless the Trainer's `logger = false` switched them off.
  template <class F>
  void for_each(F&& f) {
    if constexpr (sizeof...(Ls) > 0) {
      if (off_) return;
      std::apply([&](auto&... lg) { (f(lg), ...); }, items_);
    }
  }

  void switch_off() noexcept {
    if constexpr (sizeof...(Ls) > 0) off_ = true;
  }
  bool any_on() const noexcept {
    if constexpr (sizeof...(Ls) > 0) return !off_;
    else return false;
  }

  template <class Lg>
  static constexpr bool contains = (std::is_same_v<Lg, Ls> || ...);

  template <class Lg>
  Lg& get() noexcept {
    return std::get<Lg>(items_);
  }
  template <class Lg>
  void set(Lg&& l) {
    std::get<std::remove_cvref_t<Lg>>(items_) = std::forward<Lg>(l);
  }

 private:
  struct NoSwitch {};
  [[no_unique_address]] std::tuple<Ls...> items_;
  [[no_unique_address]] std::conditional_t<(sizeof...(Ls) > 0), bool, NoSwitch> off_{};
};

}  // namespace lightning
