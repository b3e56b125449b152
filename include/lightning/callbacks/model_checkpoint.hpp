#pragma once
// ModelCheckpoint: saves the model during fit and keeps the best `save_top_k`
// checkpoints by a monitored metric, with Lightning 2.2's triggers
// (every N epochs, every N steps, every T seconds), file names
// ("{epoch}-{val_loss:.2f}" -> "epoch=0-val_loss=1.00.ckpt", "-v1" on a clash),
// `last.ckpt`, top-k bookkeeping and state. Writing a checkpoint is the
// Trainer's job (`trainer.save_checkpoint(path, weights_only)`); this decides
// when, under which name, and which older files go.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "../stage.hpp"
#include "order.hpp"
#include "detail/callback_state.hpp"
#include "detail/py_format.hpp"
#include "mode.hpp"

namespace lightning {

namespace detail {
template <class>
inline constexpr bool checkpoint_always_false = false;

/// `os.path.realpath(os.path.expanduser(p))`.
inline std::filesystem::path real_path(std::filesystem::path p) {
  const std::string s = p.string();
  if (!s.empty() && s[0] == '~' && (s.size() == 1 || s[1] == '/'))
    if (const char* home = std::getenv("HOME")) p = std::string(home) + s.substr(1);
  std::error_code ec;
  auto abs = std::filesystem::absolute(p, ec);
  if (ec) return p;
  auto real = std::filesystem::weakly_canonical(abs, ec);
  return ec ? abs.lexically_normal() : real;
}

/// Python's `repr()` of a list of str: `['a', 'b']`.
inline std::string py_str_list_repr(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + py_str_repr(items[i]);
  return out + "]";
}
}  // namespace detail

class ModelCheckpoint {
 public:
  struct Options {
    /// Unset: `trainer.default_checkpoint_dir()` (the first logger's `<log_dir>/checkpoints`,
    /// else `<default_root_dir>/checkpoints`), resolved in `setup`.
    std::optional<std::filesystem::path> dirpath{};
    /// Empty: "{epoch}-{step}". `{name}` / `{name:spec}` take a metric (Python format specs).
    std::string filename{};
    /// Empty: no metric; the latest checkpoint is kept (save_top_k = 1) or all (-1).
    std::string monitor{};
    bool verbose = false;
    /// true: also write `last.ckpt` each time a checkpoint is saved.
    std::optional<bool> save_last{};
    /// k best by `monitor`; 0: none; -1: all.
    int64_t save_top_k = 1;
    bool save_weights_only = false;
    Mode mode = Mode::min;
    /// "{epoch}" -> "epoch=3"; false leaves only the value.
    bool auto_insert_metric_name = true;
    /// 0: not by steps.
    int64_t every_n_train_steps = 0;
    std::optional<std::chrono::duration<double>> train_time_interval{};
    /// Unset: 1 when every_n_train_steps and train_time_interval are unset too, else 0.
    std::optional<int64_t> every_n_epochs{};
    /// Unset: at the end of the training epoch iff validation runs once per epoch (or never).
    std::optional<bool> save_on_train_epoch_end{};
    /// A name clash gets "-v1", "-v2"...; false overwrites.
    bool enable_version_counter = true;
  };

  /// Checkpoints run after every other callback and the module (they see `should_stop`).
  static constexpr CallbackOrder lightning_callback_order = CallbackOrder::checkpoint;

  static constexpr const char* CHECKPOINT_JOIN_CHAR = "-";
  static constexpr const char* CHECKPOINT_EQUALS_CHAR = "=";
  static constexpr const char* CHECKPOINT_NAME_LAST = "last";
  static constexpr const char* FILE_EXTENSION = ".ckpt";
  static constexpr int64_t STARTING_VERSION = 1;

  ModelCheckpoint();
  explicit ModelCheckpoint(Options o);

  // ---------------------------------------------------------------- hooks

  template <class T, class M>
  void setup(T& trainer, M&, Stage stage) {
    rank_zero_ = trainer.is_global_zero();
    if (!dirpath_) {
      if constexpr (requires { std::filesystem::path(trainer.default_checkpoint_dir()); })
        dirpath_ = std::filesystem::path(trainer.default_checkpoint_dir());
      else
        static_assert(detail::checkpoint_always_false<T>,
                      "lightning: ModelCheckpoint needs trainer.default_checkpoint_dir()");
    }
    if (trainer.is_global_zero() && stage == Stage::fit) warn_if_dir_not_empty();
  }

  template <class T, class M>
  void on_train_start(T&, M&) {
    last_time_checked_ = clock::now();
  }

  template <class T, class M, class O, class B>
  void on_train_batch_end(T& trainer, M&, const O&, const B&, int64_t) {
    if (skip_saving(trainer)) return;
    const bool skip_batch = every_n_train_steps_ < 1 || trainer.global_step() % every_n_train_steps_ != 0;
    bool skip_time = true;
    const auto now = time_interval_set() ? clock::now() : clock::time_point{};
    if (time_interval_set())
      skip_time = !last_time_checked_ || std::chrono::duration<double>(now - *last_time_checked_) < *opts_.train_time_interval;
    // Clocks differ across ranks: save when any rank's interval is up, on every rank (saving is collective).
    if (time_interval_set()) skip_time = trainer.strategy().reduce_boolean_decision(skip_time, /*all=*/true);
    if (skip_batch && skip_time) return;
    if (!skip_time) last_time_checked_ = now;
    save_now(host(trainer));
  }

  template <class T, class M>
  void on_train_epoch_end(T& trainer, M&) {
    if (skip_saving(trainer) || !save_on_train_epoch_end(trainer)) return;
    save_at_epoch_end(host(trainer));
  }

  template <class T, class M>
  void on_validation_end(T& trainer, M&) {
    if (skip_saving(trainer) || save_on_train_epoch_end(trainer)) return;
    save_at_epoch_end(host(trainer));
  }

  // A monitored key that is missing is an error only once validation has
  // really run (Lightning's `val_loop._has_run`); before, it is a warning.
  template <class T, class M>
  void on_validation_start(T& trainer, M&) {
    if (trainer.stage() == Stage::fit) val_has_run_ = false;
  }
  template <class T, class M, class O, class B>
  void on_validation_batch_end(T& trainer, M&, const O&, const B&, int64_t) {
    if (trainer.stage() == Stage::fit && !trainer.sanity_checking()) val_has_run_ = true;
  }

  // ---------------------------------------------------------------- state

  const Options& options() const noexcept { return opts_; }
  const std::optional<std::filesystem::path>& dirpath() const noexcept { return dirpath_; }
  const std::string& best_model_path() const noexcept { return best_model_path_; }
  const std::optional<double>& best_model_score() const noexcept { return best_model_score_; }
  const std::optional<double>& current_score() const noexcept { return current_score_; }
  const std::string& kth_best_model_path() const noexcept { return kth_best_model_path_; }
  double kth_value() const noexcept { return kth_value_; }
  const std::string& last_model_path() const noexcept { return last_model_path_; }
  int64_t every_n_epochs() const noexcept { return every_n_epochs_; }
  int64_t every_n_train_steps() const noexcept { return every_n_train_steps_; }
  /// The kept checkpoints and their scores.
  std::map<std::string, double> best_k_models() const { return {best_k_.begin(), best_k_.end()}; }

  /// Lightning's `ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min', 'every_n_train_steps': 0,
  /// 'every_n_epochs': 1, 'train_time_interval': None}`.
  std::string state_key() const;

  c10::impl::GenericDict state_dict() const;

  /// Restores the top-k bookkeeping when the checkpoint was written for this
  /// directory; from another directory only `best_model_path` (as Lightning).
  void load_state_dict(const c10::impl::GenericDict& state);

  /// The path a checkpoint with these metrics gets (Lightning's
  /// `format_checkpoint_name`): `filename` (else the template) with its fields
  /// filled, "-v<ver>" when given, ".ckpt", under `dirpath()`.
  std::string format_checkpoint_name(const std::map<std::string, detail::PyNumber>& metrics,
                                     const std::string& filename = {}, std::optional<int64_t> ver = std::nullopt) const;

 private:
  using clock = std::chrono::steady_clock;
  using Lookup = std::function<detail::PyNumber(const std::string&)>;
  static constexpr double inf() noexcept { return std::numeric_limits<double>::infinity(); }

  /// `trainer.callback_metrics` with `epoch` and `step`, in Lightning's order.
  struct Candidates {
    std::vector<std::pair<std::string, torch::Tensor>> items;
    const torch::Tensor* find(const std::string& key) const {
      for (const auto& [k, v] : items)
        if (k == key) return &v;
      return nullptr;
    }
    void set(const std::string& key, torch::Tensor v) {
      for (auto& [k, old] : items)
        if (k == key) {
          old = std::move(v);
          return;
        }
      items.emplace_back(key, std::move(v));
    }
    std::vector<std::string> keys() const {
      std::vector<std::string> out;
      for (const auto& kv : items) out.push_back(kv.first);
      return out;
    }
    detail::PyNumber number(const std::string& key) const {
      const auto* t = find(key);
      return t ? detail::py_number(*t) : detail::PyNumber(int64_t{0});  // a missing field reads 0
    }
  };

  void validate() const;

  /// A zero interval is falsy in Python: no time trigger.
  bool time_interval_set() const {
    if (!opts_.train_time_interval) return false;
    const detail::PyTimedelta td(*opts_.train_time_interval);
    return td.days || td.seconds || td.microseconds;
  }

  template <class T>
  bool skip_saving(T& trainer) const {
    return trainer.fast_dev_run() > 0 || trainer.stage() != Stage::fit || trainer.sanity_checking() ||
           last_global_step_saved_ == trainer.global_step();  // nothing new since the last save (or no step yet)
  }

  /// Lightning's `_should_save_on_train_epoch_end`.
  template <class T>
  bool save_on_train_epoch_end(T& trainer) const {
    if (opts_.save_on_train_epoch_end) return *opts_.save_on_train_epoch_end;
    const auto& o = trainer.options();
    // Validation not every epoch: when it runs is unknown, so save after it.
    if (!o.check_val_every_n_epoch || *o.check_val_every_n_epoch != 1) return false;
    if (trainer.num_val_batches() == 0) return true;
    const auto& v = o.val_check_interval;
    return v.is_count() ? v.count() == 1 : v.fraction() == 1.0;  // Python: 1 == 1.0
  }

  /// What the saving logic asks of the Trainer, type-erased: the logic below
  /// is compiled once into the library instead of once per Trainer type.
  struct Host {
    void* trainer;
    const std::map<std::string, torch::Tensor>* callback_metrics;
    int64_t current_epoch, global_step;
    bool is_global_zero;
    std::filesystem::path resumed_from;  // trainer.ckpt_path()
    bool (*all_ranks)(void*, bool);      // strategy().reduce_boolean_decision(b, /*all=*/true)
    bool (*exists)(void*, const std::string&);
    void (*save)(void*, const std::string&, bool weights_only);
    /// Removes the file through the checkpoint IO when the guard allows it then.
    void (*remove)(void*, const std::string&, std::function<bool()> only_if);
  };

  template <class T>
  static Host host(T& trainer) {
    if constexpr (!requires { trainer.save_checkpoint(std::string(), true); }) {
      static_assert(detail::checkpoint_always_false<T>,
                    "lightning: ModelCheckpoint needs trainer.save_checkpoint(path, weights_only)");
      return Host{};
    } else {
      return Host{
          &trainer,
          &trainer.callback_metrics(),
          trainer.current_epoch(),
          trainer.global_step(),
          trainer.is_global_zero(),
          std::filesystem::path(trainer.ckpt_path()),
          [](void* t, bool b) -> bool { return static_cast<T*>(t)->strategy().reduce_boolean_decision(b, true); },
          [](void* t, const std::string& p) -> bool { return file_exists(*static_cast<T*>(t), p); },
          [](void* t, const std::string& p, bool weights_only) { static_cast<T*>(t)->save_checkpoint(p, weights_only); },
          [](void* t, const std::string& p, std::function<bool()> only_if) {
            auto& trainer = *static_cast<T*>(t);
            if constexpr (requires { trainer.checkpoint_io().remove_checkpoint(p, only_if); }) {
              trainer.checkpoint_io().remove_checkpoint(p, std::move(only_if));
            } else if (only_if()) {
              std::error_code ec;
              std::filesystem::remove(p, ec);
            }
          }};
    }
  }

  /// A trigger fired mid-epoch: top-k and last.
  void save_now(const Host& h);
  void save_at_epoch_end(const Host& h);
  static Candidates monitor_candidates(const Host& h);
  void save_topk_checkpoint(const Host& h, const Candidates& c);
  void save_monitor_checkpoint(const Host& h, const Candidates& c);
  /// Better than the worst kept one (strictly), or fewer than k kept.
  bool check_monitor_top_k(const Host& h, const std::optional<double>& current) const;
  void update_best_and_save(double current, const Host& h, const Candidates& c);
  void save_none_monitor_checkpoint(const Host& h, const Candidates& c);
  void save_last_checkpoint(const Host& h, const Candidates& c);

  /// The formatted name, with "-v1", "-v2"... while another file has it
  /// (the one about to be replaced excepted).
  std::string interpolated_filepath(const Candidates& c, const std::optional<std::string>& del_filepath,
                                    const std::function<bool(const std::string&)>& exists) const;

  static Lookup lookup(const Candidates& c);

  std::string checkpoint_path(const Lookup& metrics, const std::string& filename, std::optional<int64_t> ver) const;

  /// Lightning's `_format_checkpoint_name`: every `{name` (up to `:` or `}`)
  /// becomes `name={name` (with auto_insert_metric_name), longest names
  /// first, then Python's str.format fills the fields. A '/' in a metric
  /// name thus makes a subdirectory, as in Lightning.
  static std::string format_name(std::string filename, const Lookup& metrics, bool auto_insert);

  /// On disk, or queued to be written by the trainer's checkpoint IO.
  template <class T>
  static bool file_exists(T& trainer, const std::string& path) {
    if constexpr (requires { trainer.checkpoint_io().exists(path); }) return trainer.checkpoint_io().exists(path);
    else return file_exists(path);
  }
  static bool file_exists(const std::string& path);

  /// Every rank calls it, as in Lightning: the Trainer writes on global
  /// rank 0 only and synchronizes the others; the bookkeeping stays the same everywhere.
  void save_checkpoint(const Host& h, const std::string& filepath);

  /// Removes `previous`, replaced by `current`, through the trainer's
  /// checkpoint IO (after `current` is durable, with the asynchronous one),
  /// on rank 0. Only if may_remove() allows it when the removal runs.
  void remove_checkpoint(const Host& h, const std::string& previous, const std::string& current) const;
  /// Not the file just written, not the one training resumed from, and only
  /// a checkpoint file inside `dirpath`: paths restored from a checkpoint are
  /// file content, so a path must name a regular file (not a link, not a
  /// directory) ending in `.ckpt`, strictly below dirpath, that starts as a
  /// torch.save archive does.
  static bool may_remove(const std::string& previous, const std::string& current,
                         const std::filesystem::path& resumed_from, const std::optional<std::filesystem::path>& dirpath);

  void insert_or_assign(const std::string& path, double score);

  void warn_if_dir_not_empty() const;

  static void warn(const std::string& m);

  static void info(const Host& h, const std::string& m);

  Options opts_;
  int64_t every_n_epochs_ = 1, every_n_train_steps_ = 0;
  std::optional<std::filesystem::path> dirpath_;
  bool rank_zero_ = true;  // warnings from load_state_dict (no trainer there) on rank 0 only
  std::optional<double> current_score_, best_model_score_;
  /// path -> score, in insertion order (ties resolve to the first inserted).
  std::vector<std::pair<std::string, double>> best_k_;
  std::string kth_best_model_path_, best_model_path_, last_model_path_, last_checkpoint_saved_;
  double kth_value_ = 0;
  int64_t last_global_step_saved_ = 0;  // no save before the first step
  std::optional<clock::time_point> last_time_checked_;
  bool val_has_run_ = false;
  std::set<std::string> warned_;
};

}  // namespace lightning
