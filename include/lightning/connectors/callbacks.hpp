#pragma once
// The Trainer's callback set: the callbacks named in its policies plus those
// the module's configure_callbacks() returns (merged into the set's type at
// compile time: one of a type the set has replaces it, as in Lightning).
#include <tuple>
#include <type_traits>
#include <utility>

#include "../callbacks/callbacks.hpp"
#include "../hooks.hpp"

namespace lightning::connectors {

namespace detail {
/// The callbacks a module's `configure_callbacks()` returns (one, or a std::tuple of them).
template <class M>
struct module_callbacks {
  using type = std::tuple<>;
};
template <class T>
struct as_tuple {
  using type = std::tuple<T>;
};
template <class... Ts>
struct as_tuple<std::tuple<Ts...>> {
  using type = std::tuple<Ts...>;
};
template <class M>
  requires requires(M& m) { m.configure_callbacks(); }
struct module_callbacks<M> {
  using type = typename as_tuple<std::remove_cvref_t<decltype(std::declval<M&>().configure_callbacks())>>::type;
};

template <class Set, class Tuple>
struct merge_callbacks;
template <class... Cs>
struct merge_callbacks<Callbacks<Cs...>, std::tuple<>> {
  using type = Callbacks<Cs...>;
};
template <class... Cs, class M, class... Ms>
struct merge_callbacks<Callbacks<Cs...>, std::tuple<M, Ms...>> {
  using type = typename merge_callbacks<
      std::conditional_t<(std::is_same_v<M, Cs> || ...), Callbacks<Cs...>, Callbacks<Cs..., M>>, std::tuple<Ms...>>::type;
};

/// A ModelCheckpoint-like callback: one Lightning calls `checkpoint_callback`.
template <class C>
concept CheckpointCallback = requires(C& c) {
  c.best_model_path();
  c.last_model_path();
};
template <class Tuple>
struct first_checkpoint_callback {
  using type = void;
};
template <class C, class... Rest>
struct first_checkpoint_callback<std::tuple<C, Rest...>> {
  using type = std::conditional_t<CheckpointCallback<C>, C, typename first_checkpoint_callback<std::tuple<Rest...>>::type>;
};
}  // namespace detail

/// The policies' callback set (`Set`) plus the module's callback types it lacks.
template <class Set, class Model>
using merged_callbacks_t = typename detail::merge_callbacks<Set, typename detail::module_callbacks<Model>::type>::type;

/// The first ModelCheckpoint-like type of a callback set (void: none).
template <class Set>
using checkpoint_callback_t = typename detail::first_checkpoint_callback<typename Set::types>::type;

/// Every callback type of the set, checked for misspelled hooks.
template <class... Cs>
constexpr bool check_callback_set(Callbacks<Cs...>*) {
  return (hooks::check_no_misspelled_hooks<Cs>() && ...);
}

/// Places the module's configure_callbacks() instances into the set.
template <class T, class Model>
void attach_module_callbacks(T& t, Model& model) {
  if constexpr (requires { model.configure_callbacks(); }) {
    t.enter(lightning::detail::Fx::configure_callbacks);
    auto callbacks = model.configure_callbacks();
    if constexpr (requires { std::tuple_size<decltype(callbacks)>::value; })
      std::apply([&](auto&... cb) { (t.callbacks_.set(std::move(cb)), ...); }, callbacks);
    else
      t.callbacks_.set(std::move(callbacks));
  }
}

}  // namespace lightning::connectors
