#pragma once
// CSVLogger: Lightning's CSV logger, byte for byte. Metrics go to
// `<save_dir>/<name>/version_<N>/metrics.csv` (header = every key logged so
// far, sorted; the file is rewritten when a key appears), hyperparameters to
// `hparams.yaml` next to it.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "detail/hparams.hpp"

namespace lightning {

/// Writes metrics to a CSV file and hyperparameters to a YAML file, as
/// `lightning.pytorch.loggers.CSVLogger` does. Move-only: the buffered rows
/// belong to one object, which writes them when destroyed.
class CSVLogger {
 public:
  struct Options {
    /// Parent of the `<name>` folder.
    std::filesystem::path save_dir = ".";
    /// Experiment folder under save_dir; empty: version folders go straight into save_dir.
    std::string name = "lightning_logs";
    /// Fixed version; unset: one more than the largest existing `version_N`.
    std::optional<int> version = std::nullopt;
    /// Rows are written when `(step + 1) % flush_logs_every_n_steps == 0`
    /// (Lightning's rule), and in save(), finalize() and the destructor.
    std::int64_t flush_logs_every_n_steps = 100;
  };

  CSVLogger() : CSVLogger(Options{}) {}
  explicit CSVLogger(Options o);
  CSVLogger(CSVLogger&&) noexcept;
  CSVLogger& operator=(CSVLogger&&) noexcept;
  /// Writes what is still buffered (nothing logged is lost, even in stack unwinding).
  ~CSVLogger();

  /// Buffers one row: the metrics (an `epoch` value as an integer, others as
  /// Python floats) plus `step`.
  void log_metrics(const std::map<std::string, double>& metrics, std::int64_t step);

  /// Records the members of a BOOST_HANA_ADAPT_STRUCT struct (other types
  /// add none) and saves, as Lightning's Trainer saves right after logging them.
  template <class HParams>
  void log_hyperparams(const HParams& hparams) {
    log_hyperparams(detail::reflect_hparams(hparams));
  }
  void log_hyperparams(const std::vector<detail::HParam>& hparams);

  /// Writes hparams.yaml and every buffered row.
  void save();

  /// End of a run ("success" or "failed"): writes what is buffered. Nothing
  /// happens when nothing was ever logged (Lightning).
  void finalize(std::string_view status);

  /// Only rank 0 writes; other ranks' calls do nothing (the Trainer already
  /// logs on rank 0 only).
  void set_rank_zero(bool is_global_zero);

  /// The save_dir option, as given.
  const std::filesystem::path& save_dir() const;
  /// The experiment name, as given.
  const std::string& name() const;
  /// The version, chosen on first use when not given.
  int version();
  /// Under DDP every rank uses the version rank 0 chose (the Trainer sets it).
  void set_version(int v);
  /// `<save_dir>/<name>/version_<N>`, created (on rank 0) on first call.
  std::filesystem::path log_dir();
  /// `<log_dir>/metrics.csv` (without creating anything).
  std::filesystem::path metrics_file();

 private:
  struct State;
  State& state() const;
  std::unique_ptr<State> s_;
};

}  // namespace lightning
