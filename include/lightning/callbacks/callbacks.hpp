#pragma once
// L::Callbacks<A, B, ...>: the callback set of a Trainer. A callback is any
// type defining any subset of Lightning's callback hooks, taking
// (trainer, module, ...) first; no base class, no virtual calls.
//
// As a Trainer policy, `L::Callbacks<A, B>` is Lightning's `callbacks=[a, b]`:
// Lightning's default ModelSummary, ProgressBar and ModelCheckpoint are kept
// (each unless one of its type is listed) and the Trainer's
// `enable_model_summary`, `enable_progress_bar`, `enable_checkpointing`
// switch them off. `L::OnlyCallbacks<A, B>` is exactly A and B.
#include <cstddef>
#include <cstdint>
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

  static_assert(sizeof...(Cs) <= 64, "lightning: at most 64 callbacks in one L::Callbacks<...>");

  Callbacks() = default;

  /// Every callback sees every hook, in the listed order; nobody can cut the
  /// dispatch short (a callback stops training through `trainer.should_stop`).
  /// A callback switched off (a default the Trainer's options disabled) sees none.
  template <class F>
  void for_each(F&& f) {
    if constexpr (sizeof...(Cs) > 0) {
      std::size_t i = 0;
      std::apply([&](auto&... cb) { ((is_on(i++) ? (void)f(cb) : void()), ...); }, items_);
    }
  }

  template <class C>
  static constexpr std::size_t index_of() {
    std::size_t i = 0, found = sizeof...(Cs);
    ((std::is_same_v<C, Cs> && found == sizeof...(Cs) ? (found = i, ++i) : ++i), ...);
    return found;
  }

  /// The callback of type C no longer sees any hook (nor writes checkpoint state).
  template <class C>
  void switch_off() noexcept {
    static_assert(contains<C>);
    if constexpr (sizeof...(Cs) > 0) off_ |= uint64_t{1} << index_of<C>();
  }
  template <class C>
  bool is_on() const noexcept {
    return is_on(index_of<C>());
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
  struct NoMask {};
  bool is_on(std::size_t i) const noexcept {
    if constexpr (sizeof...(Cs) > 0) return !(off_ >> i & 1U);
    else return true;
  }

  [[no_unique_address]] std::tuple<Cs...> items_;
  [[no_unique_address]] std::conditional_t<(sizeof...(Cs) > 0), uint64_t, NoMask> off_{};
};

/// As a Trainer policy: exactly these callbacks, without Lightning's defaults
/// (`L::OnlyCallbacks<>`: none, as L::BareTrainer).
template <class... Cs>
struct OnlyCallbacks {
  using policy_kind = lightning::policy_kind::callbacks;
};

namespace detail {
template <class T> struct is_callbacks : std::false_type {};
template <class... Cs> struct is_callbacks<Callbacks<Cs...>> : std::true_type {};

/// Appends each of `Ds` that `Set` lacks.
template <class Set, class... Ds>
struct append_missing;
template <class... Cs>
struct append_missing<Callbacks<Cs...>> {
  using type = Callbacks<Cs...>;
};
template <class... Cs, class D, class... Ds>
struct append_missing<Callbacks<Cs...>, D, Ds...> {
  using type = typename append_missing<
      std::conditional_t<(std::is_same_v<D, Cs> || ...), Callbacks<Cs...>, Callbacks<Cs..., D>>, Ds...>::type;
};

/// The set a callbacks policy stands for, given the default set `Callbacks<Ds...>`.
template <class Policy, class Defaults>
struct resolve_callbacks;
template <class... Cs, class... Ds>
struct resolve_callbacks<Callbacks<Cs...>, Callbacks<Ds...>> {
  using type = typename append_missing<Callbacks<Cs...>, Ds...>::type;
};
template <class... Cs, class Defaults>
struct resolve_callbacks<OnlyCallbacks<Cs...>, Defaults> {
  using type = Callbacks<Cs...>;
};
/// Whether the user's policy itself lists C (as opposed to it being a default the Trainer added).
template <class C, class Policy>
inline constexpr bool names_callback = false;
template <class C, template <class...> class P, class... Cs>
inline constexpr bool names_callback<C, P<Cs...>> = (std::is_same_v<C, Cs> || ...);
}  // namespace detail

}  // namespace lightning
