#pragma once
// The stage a Trainer entry point runs: what `setup(stage)` and `teardown(stage)` receive.
#include <ostream>
#include <string_view>

namespace lightning {

enum class Stage { fit, validate, test, predict };

/// Lightning's spelling of a stage: "fit", "validate", "test", "predict".
constexpr std::string_view to_string(Stage s) noexcept {
  switch (s) {
    case Stage::fit: return "fit";
    case Stage::validate: return "validate";
    case Stage::test: return "test";
    case Stage::predict: return "predict";
  }
  return "?";
}

inline std::ostream& operator<<(std::ostream& os, Stage s) { return os << to_string(s); }

}  // namespace lightning
