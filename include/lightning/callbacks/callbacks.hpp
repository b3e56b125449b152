#pragma once
// L::Callbacks<A, B, ...>: the callback set of a Trainer. A callback is any
// type defining any subset of Lightning's callback hooks, taking
// (trainer, module, ...) first; no base class, no virtual calls.
#include <tuple>
#include <type_traits>
#include <utility>

#include "../policies/kinds.hpp"
#include "order.hpp"

namespace lightning {

template <class... Cs>
class Callbacks {
 public:
  using policy_kind = lightning::policy_kind::callbacks;
  static constexpr std::size_t size = sizeof...(Cs);
  using types = std::tuple<Cs...>;

  Callbacks() = default;

  /// Every callback sees every hook, in the listed order; nobody can cut the
  /// dispatch short (a callback stops training through `trainer.should_stop`).
  template <class F>
  void for_each(F&& f) {
    std::apply([&](auto&... cb) { (f(cb), ...); }, items_);
  }

  template <class C>
  static constexpr bool contains = (std::is_same_v<C, Cs> || ...);

  template <class C>
  C& get() noexcept {
    static_assert(contains<C>, "lightning: trainer.callback<C>(): C is not in the Trainer's L::Callbacks<...>");
    return std::get<C>(items_);
  }

  /// Replaces the callback of type C (an instance passed to the Trainer).
  template <class C>
  void set(C&& c) {
    std::get<std::remove_cvref_t<C>>(items_) = std::forward<C>(c);
  }

 private:
  [[no_unique_address]] std::tuple<Cs...> items_;
};

namespace detail {
template <class T> struct is_callbacks : std::false_type {};
template <class... Cs> struct is_callbacks<Callbacks<Cs...>> : std::true_type {};
}  // namespace detail

}  // namespace lightning
