#pragma once
// Trainer options: Lightning's names and defaults, set with designated
// initializers (`{.max_epochs = 10}`) and resolved once before a run.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>

namespace lightning {

/// A batch count (`5`) or a fraction of the loader (`0.25`), like Lightning's
/// `limit_train_batches` and `val_check_interval`.
class BatchCount {
 public:
  constexpr BatchCount(double fraction) : value_(fraction) {}
  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
  constexpr BatchCount(I count) : value_(static_cast<int64_t>(count)) {}

  constexpr bool is_count() const noexcept { return std::holds_alternative<int64_t>(value_); }
  constexpr int64_t count() const { return std::get<int64_t>(value_); }
  constexpr double fraction() const { return std::get<double>(value_); }

 private:
  std::variant<int64_t, double> value_;
};

/// `fast_dev_run`: false, true (= 1) or N batches of each stage.
class FastDevRun {
 public:
  constexpr FastDevRun(bool on = false) : batches_(on ? 1 : 0) {}
  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
  constexpr FastDevRun(I batches) : batches_(static_cast<int64_t>(batches)) {}
  constexpr int64_t batches() const noexcept { return batches_; }
  constexpr explicit operator bool() const noexcept { return batches_ > 0; }

 private:
  int64_t batches_;
};

enum class Accelerator { automatic, cpu, gpu };

/// `accelerator`: an Accelerator, or Lightning's strings "auto", "cpu", "gpu"
/// (and "cuda"); another string is an error listing the valid ones.
class AcceleratorChoice {
 public:
  constexpr AcceleratorChoice(Accelerator a = Accelerator::automatic) noexcept : value_(a) {}
  AcceleratorChoice(const char* name) : value_(parse(name)) {}
  AcceleratorChoice(const std::string& name) : value_(parse(name)) {}
  constexpr operator Accelerator() const noexcept { return value_; }
  constexpr Accelerator value() const noexcept { return value_; }

 private:
  static Accelerator parse(const std::string& name) {
    if (name == "auto") return Accelerator::automatic;
    if (name == "cpu") return Accelerator::cpu;
    if (name == "gpu" || name == "cuda") return Accelerator::gpu;
    throw std::invalid_argument("You selected an invalid accelerator name: `accelerator='" + name +
                                "'`. Available names are: auto, cpu, cuda, gpu.");
  }
  Accelerator value_;
};

/// `devices`: a count, or Lightning's "auto" (1 here: one process per
/// Trainer unless a count is given to strategy::DDP).
class Devices {
 public:
  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
  constexpr Devices(I n) noexcept : count_(static_cast<int64_t>(n)) {}
  constexpr Devices() noexcept = default;
  Devices(const char* name) : Devices(std::string(name)) {}
  Devices(const std::string& name) : count_(1), auto_(true) {
    if (name != "auto")
      throw std::invalid_argument("devices = '" + name + "': give a number of devices or \"auto\"");
  }
  constexpr operator int64_t() const noexcept { return count_; }
  constexpr int64_t count() const noexcept { return count_; }
  constexpr bool is_auto() const noexcept { return auto_; }

 private:
  int64_t count_ = 1;
  bool auto_ = false;
};

/// How `gradient_clip_val` clips: by the total L2 norm, or each value.
enum class GradClipAlgorithm { norm, value };

/// In the order Lightning's documentation lists `Trainer`'s arguments (the
/// ones that are template policies here, strategy, precision and callbacks,
/// left out), so designated initializers follow Lightning's order.
struct TrainerOptions {
  AcceleratorChoice accelerator = Accelerator::automatic;
  Devices devices = 1;
  int64_t num_nodes = 1;
  /// false: no logger (Lightning's `logger=False`); the default CSVLogger's
  /// or those of the Trainer's L::Loggers<...>.
  bool logger = true;
  FastDevRun fast_dev_run = false;
  /// Unset: 1000 when `max_steps` is -1, else unlimited (Lightning's rule).
  std::optional<int64_t> max_epochs{};
  std::optional<int64_t> min_epochs{};
  int64_t max_steps = -1;
  std::optional<int64_t> min_steps{};
  BatchCount limit_train_batches = 1.0;
  BatchCount limit_val_batches = 1.0;
  BatchCount limit_test_batches = 1.0;
  BatchCount limit_predict_batches = 1.0;
  BatchCount val_check_interval = 1.0;
  /// Unset: validation every `val_check_interval` batches across epochs.
  std::optional<int64_t> check_val_every_n_epoch = 1;
  int64_t num_sanity_val_steps = 2;  // -1: all
  int64_t log_every_n_steps = 50;
  /// Lightning's switches for its default callbacks (kept by L::Callbacks<...>).
  bool enable_checkpointing = true;
  bool enable_progress_bar = true;
  bool enable_model_summary = true;
  int64_t accumulate_grad_batches = 1;
  /// 0: no clipping.
  double gradient_clip_val = 0.0;
  GradClipAlgorithm gradient_clip_algorithm = GradClipAlgorithm::norm;
  bool deterministic = false;
  std::string default_root_dir = ".";
};

/// Options of `fit`: `{.ckpt_path = "last"}` resumes.
struct FitOptions {
  std::string ckpt_path{};
};

namespace detail {

inline constexpr int64_t kUnbounded = INT64_MAX;

/// Options with every default and fast_dev_run applied: nothing downstream
/// sees an unresolved state.
struct ResolvedOptions {
  TrainerOptions user;
  int64_t max_epochs = 1000;  // -1: unlimited
  int64_t max_steps = -1;
  int64_t min_epochs = 0;
  int64_t min_steps = 0;
  int64_t num_sanity_val_steps = 2;
  BatchCount limit_train = 1.0, limit_val = 1.0, limit_test = 1.0, limit_predict = 1.0;
  BatchCount val_check_interval = 1.0;
  std::optional<int64_t> check_val_every_n_epoch = 1;
  int64_t fast_dev_run = 0;
  int64_t accumulate = 1;
  int64_t log_every_n_steps = 50;
};

void require(bool ok, const std::string& message);

ResolvedOptions resolve(const TrainerOptions& o);

}  // namespace detail
}  // namespace lightning
