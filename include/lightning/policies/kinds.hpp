#pragma once
// Policy kinds, and how Trainer<Model, Policies...> finds each one: by the
// `policy_kind` tag a policy type declares, in any order, with a default
// for a kind nobody named and a static_assert when two claim the same kind.
#include <type_traits>

namespace lightning::policy_kind {
struct precision {};
struct strategy {};
struct callbacks {};
struct loggers {};
struct optimizer {};
struct checkpoint_io {};
}  // namespace lightning::policy_kind

namespace lightning::detail {

template <class P>
concept HasPolicyKind = requires { typename P::policy_kind; };

template <class P, class Kind>
inline constexpr bool is_kind = [] {
  if constexpr (HasPolicyKind<P>) return std::is_same_v<typename P::policy_kind, Kind>;
  else return false;
}();

template <class Kind, class... Ps>
inline constexpr int count_kind = (0 + ... + (is_kind<Ps, Kind> ? 1 : 0));

template <class Kind, class Default, class... Ps>
struct find_policy {
  using type = Default;
};
template <class Kind, class Default, class P, class... Ps>
struct find_policy<Kind, Default, P, Ps...> {
  using type = std::conditional_t<is_kind<P, Kind>, P, typename find_policy<Kind, Default, Ps...>::type>;
};

/// The policy of `Kind` among `Ps...`, or `Default`.
template <class Kind, class Default, class... Ps>
using find_policy_t = typename find_policy<Kind, Default, Ps...>::type;

template <class... Ps>
constexpr bool check_policies() {
  static_assert((HasPolicyKind<Ps> && ...),
                "lightning: a Trainer policy must be a precision (L::precision::F32, ...), a strategy "
                "(L::strategy::Single, L::strategy::DDP), L::Callbacks<...>, L::Loggers<...>, "
                "L::Optimizer<...> or a checkpoint IO (L::AsyncCheckpointIO, L::TorchCheckpointIO); another type "
                "was given");
  static_assert(count_kind<policy_kind::precision, Ps...> <= 1,
                "lightning: two precision policies given to Trainer; name one (e.g. L::precision::BF16Mixed)");
  static_assert(count_kind<policy_kind::strategy, Ps...> <= 1,
                "lightning: two strategy policies given to Trainer; name one (L::strategy::Single or L::strategy::DDP)");
  static_assert(count_kind<policy_kind::callbacks, Ps...> <= 1,
                "lightning: L::Callbacks<...> given twice to Trainer; list every callback in one L::Callbacks<...>");
  static_assert(count_kind<policy_kind::loggers, Ps...> <= 1,
                "lightning: L::Loggers<...> given twice to Trainer; list every logger in one L::Loggers<...>");
  static_assert(count_kind<policy_kind::optimizer, Ps...> <= 1,
                "lightning: two optimizer policies given to Trainer; name one");
  static_assert(count_kind<policy_kind::checkpoint_io, Ps...> <= 1,
                "lightning: two checkpoint IO policies given to Trainer; name one (L::AsyncCheckpointIO or "
                "L::TorchCheckpointIO)");
  return true;
}

}  // namespace lightning::detail
