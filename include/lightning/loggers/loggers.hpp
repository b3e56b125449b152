#pragma once
// L::Loggers<A, B, ...>: where logged metrics are written. A logger is any
// type with `log_metrics(const std::map<std::string, double>&, int64_t step)`;
// optional `log_hyperparams(const auto& hparams)`, `save()`, `finalize(status)`.
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
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

  template <class F>
  void for_each(F&& f) {
    std::apply([&](auto&... lg) { (f(lg), ...); }, items_);
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
  [[no_unique_address]] std::tuple<Ls...> items_;
};

}  // namespace lightning
