#pragma once
// Options of LightningModule::log, with Lightning's names.
#include <cstdint>
#include <optional>

namespace lightning {

/// How values logged over an epoch combine into the epoch value.
/// Stored in checkpoints with logged values: the values never change.
enum class Reduce { mean = 0, sum = 1, max = 2, min = 3 };

/// `log(name, value, {.prog_bar = true})`. Unset `on_step`/`on_epoch` take
/// the defaults of the hook that logs (Lightning's rules).
struct LogOptions {
  bool prog_bar = false;
  bool logger = true;
  std::optional<bool> on_step{};
  std::optional<bool> on_epoch{};
  Reduce reduce_fx = Reduce::mean;
  bool sync_dist = false;
  std::optional<int64_t> batch_size{};
};

}  // namespace lightning
