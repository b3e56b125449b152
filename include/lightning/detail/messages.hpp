#pragma once
// What Lightning prints through rank_zero_info / rank_zero_warn: one line on
// stderr (std::cerr, so a program or a test can redirect it), from global
// rank 0 only.
#include <string>
#include <string_view>

namespace lightning::detail {

/// An informational line ("`Trainer.fit` stopped: `max_epochs=3` reached.").
void rank_zero_info(bool global_zero, std::string_view message);

/// A warning ("UserWarning: ..."), for a setting that is probably a mistake.
void rank_zero_warn(bool global_zero, std::string_view message);

/// A float as Python's repr writes it (0.5, 1.0, 1e-05), for messages
/// quoting a setting back to the user.
std::string py_float(double x);

}  // namespace lightning::detail
