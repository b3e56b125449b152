#pragma once
// The hook currently running (its id), and where Lightning allows `log()`
// in it: generated from the hook list (hook_list.hpp).
#include <cstdint>
#include <optional>
#include <string_view>

#include "hook_list.hpp"

namespace lightning::detail {

/// A hook's id. Stored in checkpoints (with each logged value): the values
/// are fixed in hook_list.hpp and never change.
enum class Fx : int64_t {
  none = 0,
#define LIGHTNING_FX_ENUM(name, id, rule, module_signature, callback_signature) name = id,
  LIGHTNING_HOOK_LIST(LIGHTNING_FX_ENUM)
#undef LIGHTNING_FX_ENUM
};

/// Whether `v` is the id of a hook (or none), as read from a file.
constexpr bool is_fx(int64_t v) noexcept { return v >= 0 && v < LIGHTNING_HOOK_ID_END; }

/// Where logging is allowed and what it defaults to (Lightning's _FxValidator).
struct FxLogRule {
  bool step_allowed;           // on_step=true allowed
  bool epoch_allowed;          // on_epoch=true allowed
  bool epoch_forbidden_false;  // on_epoch=false not allowed (epoch-only hooks)
  bool default_on_step;
  bool default_on_epoch;
};

namespace fx_rules {
inline constexpr std::optional<FxLogRule> step = FxLogRule{true, true, false, true, false};
inline constexpr std::optional<FxLogRule> eval_step = FxLogRule{true, true, false, false, true};
inline constexpr std::optional<FxLogRule> epoch = FxLogRule{false, true, true, false, true};
inline constexpr std::optional<FxLogRule> none = std::nullopt;
}  // namespace fx_rules

/// nullopt: `log()` is not allowed in this hook.
constexpr std::optional<FxLogRule> fx_log_rule(Fx fx) noexcept {
  switch (fx) {
#define LIGHTNING_FX_RULE(name, id, rule, module_signature, callback_signature) \
  case Fx::name: return fx_rules::rule;
    LIGHTNING_HOOK_LIST(LIGHTNING_FX_RULE)
#undef LIGHTNING_FX_RULE
    case Fx::none: break;
  }
  return std::nullopt;
}

constexpr std::string_view fx_name(Fx fx) noexcept {
  switch (fx) {
#define LIGHTNING_FX_NAME(name, id, rule, module_signature, callback_signature) \
  case Fx::name: return #name;
    LIGHTNING_HOOK_LIST(LIGHTNING_FX_NAME)
#undef LIGHTNING_FX_NAME
    case Fx::none: return "none";
  }
  return "?";
}

}  // namespace lightning::detail
