#pragma once
// TensorBoardLogger: Lightning's TensorBoard logger without TensorFlow. Writes
// `<save_dir>/<name>/version_<N>/events.out.tfevents.<time>.<host>.<pid>.<n>`
// (TFRecord-framed `Event` protos, encoded here) and `hparams.yaml`.
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


/// Writes scalars and hyperparameters for TensorBoard, as
/// `lightning.pytorch.loggers.TensorBoardLogger` does. Move-only.
class TensorBoardLogger {
 public:
  struct Options {
    /// Parent of the `<name>` folder.
    std::filesystem::path save_dir = ".";
    /// Experiment folder under save_dir; empty: version folders go straight into save_dir.
    std::string name = "lightning_logs";
    /// Fixed version; unset: one more than the largest existing `version_N`.
    std::optional<int> version = std::nullopt;
    /// log_hyperparams() without metrics logs `hp_metric = -1` at step 0, so
    /// the HPARAMS tab has a metric column (Lightning's default).
    bool default_hp_metric = true;
  };

  TensorBoardLogger() : TensorBoardLogger(Options{}) {}
  explicit TensorBoardLogger(Options o);
  TensorBoardLogger(TensorBoardLogger&&) noexcept;
  TensorBoardLogger& operator=(TensorBoardLogger&&) noexcept;
  ~TensorBoardLogger();

  /// One Event at `step` holding one scalar (`simple_value`, a float) per metric.
  void log_metrics(const std::map<std::string, double>& metrics, std::int64_t step);

  /// Hyperparameters (members of a BOOST_HANA_ADAPT_STRUCT struct; other types
  /// have none) for the HPARAMS tab, with `hp_metric = -1` as their metric.
  template <class HParams>
  void log_hyperparams(const HParams& hparams) {
    log_reflected_hyperparams(detail::reflect_hparams(hparams), nullptr);
  }

  /// Hyperparameters with the metrics the HPARAMS tab shows next to them; the
  /// metrics are logged at step 0. Saves afterwards (writing hparams.yaml), as
  /// Lightning's Trainer does right after logging them.
  template <class HParams>
  void log_hyperparams(const HParams& hparams, const std::map<std::string, double>& metrics) {
    log_reflected_hyperparams(detail::reflect_hparams(hparams), &metrics);
  }

  /// Flushes the event file and writes hparams.yaml if it is not there yet.
  void save();

  /// End of a run: closes the event file (a later write starts a new one);
  /// on "success" also saves.
  void finalize(std::string_view status);

  /// Only rank 0 writes; other ranks' calls do nothing.
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
  /// The event file written to last (empty before the first write).
  const std::filesystem::path& event_file() const;

 private:
  /// `metrics` null: the default hp_metric (if on).
  void log_reflected_hyperparams(const std::vector<detail::HParam>& params, const std::map<std::string, double>* metrics);

  struct State;
  State& state() const;
  std::unique_ptr<State> s_;
};

}  // namespace lightning
