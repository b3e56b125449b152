#pragma once
// CSVLogger: Lightning's CSV logger, byte for byte. Metrics go to
// `<save_dir>/<name>/version_<N>/metrics.csv` (header = every key logged so
// far, sorted; the file is rewritten when a key appears), hyperparameters to
// `hparams.yaml` next to it.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "detail/csv.hpp"
#include "detail/hparams.hpp"
#include "detail/log_dir.hpp"
#include "detail/py_repr.hpp"
#include "detail/yaml.hpp"

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
  explicit CSVLogger(Options o) : s_(std::make_unique<State>(std::move(o))) {
    if (s_->opts.flush_logs_every_n_steps < 1)
      throw std::invalid_argument("lightning: CSVLogger flush_logs_every_n_steps is " +
                                  std::to_string(s_->opts.flush_logs_every_n_steps) + "; expected 1 or more");
  }

  /// Buffers one row: the metrics (an `epoch` value as an integer, others as
  /// Python floats) plus `step`.
  void log_metrics(const std::map<std::string, double>& metrics, std::int64_t step) {
    State& s = state();
    if (!s.rank_zero) return;
    s.open();
    std::map<std::string, std::string> row;
    for (const auto& [k, v] : metrics) row[k] = k == "epoch" ? detail::py_int_or_float(v) : detail::py_float_repr(v);
    row["step"] = std::to_string(step);
    s.rows.push_back(std::move(row));
    if ((step + 1) % s.opts.flush_logs_every_n_steps == 0) s.save();
  }

  /// Records the members of a BOOST_HANA_ADAPT_STRUCT struct (other types
  /// add none) and saves, as Lightning's Trainer saves right after logging them.
  template <class HParams>
  void log_hyperparams(const HParams& hparams) {
    State& s = state();
    if (!s.rank_zero) return;
    detail::update_hparams(s.hparams, detail::reflect_hparams(hparams));
    s.save();
  }

  /// Writes hparams.yaml and every buffered row.
  void save() {
    State& s = state();
    if (s.rank_zero) s.save();
  }

  /// End of a run ("success" or "failed"): writes what is buffered. Nothing
  /// happens when nothing was ever logged (Lightning).
  void finalize(std::string_view status) {
    (void)status;
    State& s = state();
    if (s.rank_zero && s.opened) s.save();
  }

  /// Only rank 0 writes; other ranks' calls do nothing (the Trainer already
  /// logs on rank 0 only).
  void set_rank_zero(bool is_global_zero) { state().rank_zero = is_global_zero; }

  /// The save_dir option, as given.
  const std::filesystem::path& save_dir() const { return state().dir.save_dir(); }
  /// The experiment name, as given.
  const std::string& name() const { return state().dir.name(); }
  /// The version, chosen on first use when not given.
  int version() { return state().dir.version(); }
  /// Under DDP every rank uses the version rank 0 chose (the Trainer sets it).
  void set_version(int v) { state().dir.set_version(v); }
  /// `<save_dir>/<name>/version_<N>`, created (on rank 0) on first call.
  std::filesystem::path log_dir() {
    State& s = state();
    if (s.rank_zero) s.dir.create("CSVLogger");
    return s.dir.log_dir();
  }
  /// `<log_dir>/metrics.csv` (without creating anything).
  std::filesystem::path metrics_file() { return state().dir.log_dir() / "metrics.csv"; }

 private:
  struct State {
    Options opts;
    detail::VersionedDir dir;
    bool rank_zero = true;
    bool opened = false;                                  // log dir prepared
    std::vector<std::string> keys;                        // header of metrics.csv on disk
    std::vector<std::map<std::string, std::string>> rows;  // not yet on disk
    std::vector<detail::HParam> hparams;

    explicit State(Options o) : opts(std::move(o)), dir(opts.save_dir, opts.name, opts.version) {}
    State(const State&) = delete;
    State& operator=(const State&) = delete;

    // Nothing logged is lost, even when the logger dies in stack unwinding.
    ~State() {
      if (!opened || rows.empty()) return;
      try {
        write_rows();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "lightning: CSVLogger lost %zu metric rows: %s\n", rows.size(), e.what());
      }
    }

    // Lightning's ExperimentWriter: create the folder; a metrics.csv left in a
    // non-empty folder (a reused version) is deleted, with a warning.
    void open() {
      if (opened) return;
      dir.create("CSVLogger");
      const auto file = dir.log_dir() / "metrics.csv";
      std::error_code ec;
      if (std::filesystem::is_regular_file(file, ec)) {
        std::fprintf(stderr,
                     "lightning: warning: experiment logs directory %s exists and is not empty; "
                     "its metrics.csv is replaced by this run's\n",
                     dir.log_dir().c_str());
        std::filesystem::remove(file, ec);
      }
      opened = true;
    }

    void save() {
      open();
      detail::write_file_atomic(dir.log_dir() / "hparams.yaml", detail::yaml::dump(hparams));
      write_rows();
    }

    void write_rows() {
      if (rows.empty()) return;
      const auto path = dir.log_dir() / "metrics.csv";
      std::set<std::string> all(keys.begin(), keys.end());
      bool new_keys = false;
      for (const auto& r : rows)
        for (const auto& kv : r) new_keys = all.insert(kv.first).second || new_keys;
      const std::vector<std::string> header(all.begin(), all.end());  // sorted as strings
      std::error_code ec;
      const bool exists = std::filesystem::is_regular_file(path, ec);

      std::string out;
      std::vector<std::string> fields;
      auto add = [&](auto&& cell_of) {
        fields.clear();
        for (const auto& k : header) fields.push_back(cell_of(k));
        detail::csv::append_row(out, fields);
      };
      auto add_pending = [&] {
        for (const auto& r : rows)
          add([&](const std::string& k) {
            auto it = r.find(k);
            return it == r.end() ? std::string() : it->second;
          });
      };

      if (!exists || new_keys) {
        // A new file, or a new header: the whole file goes through a temp file.
        detail::csv::append_row(out, header);
        if (exists) {
          const auto old = detail::csv::parse(detail::read_file(path));
          if (!old.empty()) {
            const auto& old_header = old.front();
            for (std::size_t i = 1; i < old.size(); ++i)
              add([&](const std::string& k) {
                for (std::size_t j = 0; j < old_header.size(); ++j)
                  if (old_header[j] == k) return j < old[i].size() ? old[i][j] : std::string();
                return std::string();
              });
          }
        }
        add_pending();
        detail::write_file_atomic(path, out);
      } else {
        add_pending();
        append(path, out);
      }
      keys = header;
      rows.clear();
    }

    // Appends, or truncates back to the old size on failure: the rows already
    // on disk stay whole and the pending ones stay pending.
    static void append(const std::filesystem::path& path, const std::string& text) {
      std::error_code ec;
      const auto old_size = std::filesystem::file_size(path, ec);
      std::FILE* f = std::fopen(path.c_str(), "ab");
      if (!f) detail::throw_io("cannot open for appending", path, errno);
      const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0;
      const int err = errno;
      const bool closed = std::fclose(f) == 0;
      if (!ok || !closed) {
        if (!ec) std::filesystem::resize_file(path, old_size, ec);
        detail::throw_io("cannot append to", path, ok ? errno : err);
      }
    }
  };

  State& state() const {
    if (!s_) throw std::logic_error("lightning: use of a moved-from CSVLogger; expected a live logger");
    return *s_;
  }

  std::unique_ptr<State> s_;
};

}  // namespace lightning
