#pragma once
// Mode: whether a monitored quantity improves by going down (a loss) or up
// (an accuracy); Lightning's `mode="min"` / `mode="max"`.
#include <ostream>
#include <string_view>

namespace lightning {

enum class Mode { min, max };

/// Lightning's spelling: "min", "max".
constexpr std::string_view to_string(Mode m) noexcept { return m == Mode::min ? "min" : "max"; }

inline std::ostream& operator<<(std::ostream& os, Mode m) { return os << to_string(m); }

}  // namespace lightning
