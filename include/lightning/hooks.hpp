#pragma once
// Lightning's hooks, detected at compile time. A hook is called only if the
// module (or callback) defines it; one defined with the wrong parameters, or
// under a name Lightning users often misspell, is a compile error that says
// what to write instead. Detection is by whether the *call* compiles, so
// templates, `auto` parameters and default arguments all work.
#include <type_traits>

#include "detail/fx.hpp"
#include "detail/hook_list.hpp"

namespace lightning::hooks {
namespace detail {
// True when T has any member called `name` (function, template, overload
// set or data): the probe's own `name` becomes ambiguous.
#define LIGHTNING_MEMBER_PROBE(name)                                                   \
  struct probe_base_##name {                                                          \
    int name;                                                                         \
  };                                                                                  \
  template <class T>                                                                  \
  struct probe_##name : T, probe_base_##name {};                                      \
  template <class T>                                                                  \
  inline constexpr bool has_member_##name = [] {                                      \
    if constexpr (std::is_class_v<T> && !std::is_final_v<T>)                          \
      return !requires { &probe_##name<T>::name; };                                   \
    else                                                                              \
      return false;                                                                   \
  }();
}  // namespace detail

// One hook: `module` checks/calls the LightningModule's version, `callback`
// the Callback's, which takes (trainer, module, ...) first.
#define LIGHTNING_HOOK(name, id, rule, module_signature, callback_signature)                         \
  namespace detail {                                                                                \
  LIGHTNING_MEMBER_PROBE(name)                                                                      \
  }                                                                                                 \
  struct name {                                                                                     \
    static constexpr ::lightning::detail::Fx fx = ::lightning::detail::Fx::name;                    \
    template <class T>                                                                              \
    static constexpr bool named = detail::has_member_##name<T>;                                     \
    template <class T, class... A>                                                                  \
    static constexpr bool callable = requires(T& t, A&&... a) { t.name(static_cast<A&&>(a)...); };  \
    template <class M, class... A>                                                                  \
    static constexpr bool check_module() {                                                          \
      static_assert(callable<M, A...> || !named<M>,                                                 \
                    "lightning: the module defines `" #name "` with parameters the Trainer cannot " \
                    "call it with; expected: " module_signature);                                   \
      return callable<M, A...>;                                                                     \
    }                                                                                               \
    template <class C, class... A>                                                                  \
    static constexpr bool check_callback() {                                                        \
      static_assert(callable<C, A...> || !named<C>,                                                 \
                    "lightning: a callback defines `" #name "` with parameters the Trainer cannot " \
                    "call it with; expected: " callback_signature);                                 \
      return callable<C, A...>;                                                                     \
    }                                                                                               \
    template <class T, class... A>                                                                  \
    static decltype(auto) call(T& t, A&&... a) {                                                    \
      return t.name(static_cast<A&&>(a)...);                                                        \
    }                                                                                               \
  };

LIGHTNING_HOOK_LIST(LIGHTNING_HOOK)

namespace detail {
#define LIGHTNING_MISSPELLING(wrong, message)                                   \
  LIGHTNING_MEMBER_PROBE(wrong)                                                 \
  template <class T>                                                            \
  constexpr bool check_##wrong() {                                              \
    static_assert(!has_member_##wrong<T>, "lightning: `" #wrong "` " message); \
    return true;                                                                \
  }
LIGHTNING_MISSPELLING_LIST(LIGHTNING_MISSPELLING)
#undef LIGHTNING_MISSPELLING
}  // namespace detail

/// Fails to compile, with a message, if T has a member named like a hook
/// that Lightning would never call.
template <class T>
constexpr bool check_no_misspelled_hooks() {
#define LIGHTNING_CHECK_MISSPELLING(wrong, message) detail::check_##wrong<T>() &&
  return LIGHTNING_MISSPELLING_LIST(LIGHTNING_CHECK_MISSPELLING) true;
#undef LIGHTNING_CHECK_MISSPELLING
}

}  // namespace lightning::hooks
