#pragma once
// The library's option structs as config sections, without touching their
// headers: explicit field lists (cli::field_list) for TrainerOptions, the
// callbacks', the loggers' and the LR schedulers' options and the runtime
// optimizers' arguments, and the names of their enums.
#include <optional>
#include <string_view>
#include <tuple>
#include <utility>

#include "../callbacks/early_stopping.hpp"
#include "../callbacks/lr_monitor.hpp"
#include "../callbacks/model_checkpoint.hpp"
#include "../callbacks/model_summary.hpp"
#include "../callbacks/progress_bar.hpp"
#include "../loggers/csv_logger.hpp"
#include "../loggers/tensorboard_logger.hpp"
#include "../optim/any_optimizer.hpp"
#include "../trainer_options.hpp"
#include "fields.hpp"

namespace lightning::cli {

template <>
struct enum_names<Mode> {
  static constexpr std::pair<Mode, std::string_view> values[] = {{Mode::min, "min"}, {Mode::max, "max"}};
};
template <>
struct enum_names<Accelerator> {
  static constexpr std::pair<Accelerator, std::string_view> values[] = {
      {Accelerator::automatic, "auto"}, {Accelerator::cpu, "cpu"}, {Accelerator::gpu, "gpu"}};
};
template <>
struct enum_names<GradClipAlgorithm> {
  static constexpr std::pair<GradClipAlgorithm, std::string_view> values[] = {{GradClipAlgorithm::norm, "norm"},
                                                                              {GradClipAlgorithm::value, "value"}};
};
template <>
struct enum_names<Interval> {
  static constexpr std::pair<Interval, std::string_view> values[] = {{Interval::step, "step"}, {Interval::epoch, "epoch"}};
};

/// `accelerator: cpu` (Lightning's names).
template <>
struct value_codec<AcceleratorChoice> {
  static std::string name() { return detail::type_name<Accelerator>(); }
  static std::optional<AcceleratorChoice> parse(const detail::Setting& s) {
    for (const auto& [v, n] : enum_names<Accelerator>::values)
      if (s.text == n) return AcceleratorChoice(v);
    if (s.text == "cuda") return AcceleratorChoice(Accelerator::gpu);
    return std::nullopt;
  }
  static detail::HParamValue print(const AcceleratorChoice& a) { return detail::print_value(a.value()); }
};
/// `devices: 2` or `devices: auto`.
template <>
struct value_codec<Devices> {
  static std::string name() { return "Union[int, Literal['auto']]"; }
  static std::optional<Devices> parse(const detail::Setting& s) {
    if (s.text == "auto") return Devices("auto");
    if (auto i = detail::parse_int(s.text); i && *i >= 1) return Devices(*i);
    return std::nullopt;
  }
  static detail::HParamValue print(const Devices& d) {
    if (d.is_auto()) return std::string("auto");
    return d.count();
  }
};

/// `limit_train_batches: 10` (batches) or `0.25` (a fraction), as Lightning.
template <>
struct value_codec<BatchCount> {
  static std::string name() { return "Union[int, float]"; }
  static std::optional<BatchCount> parse(const detail::Setting& s) {
    if (auto i = detail::parse_int(s.text)) return BatchCount(*i);
    if (auto f = detail::parse_float(s.text)) return BatchCount(*f);
    return std::nullopt;
  }
  static detail::HParamValue print(const BatchCount& b) {
    if (b.is_count()) return b.count();
    return b.fraction();
  }
};
/// `fast_dev_run: true` or a number of batches.
template <>
struct value_codec<FastDevRun> {
  static std::string name() { return "Union[bool, int]"; }
  static std::optional<FastDevRun> parse(const detail::Setting& s) {
    if (auto b = detail::parse_bool(s.text)) return FastDevRun(*b);
    if (auto i = detail::parse_int(s.text); i && *i >= 0) return FastDevRun(*i);
    return std::nullopt;
  }
  static detail::HParamValue print(const FastDevRun& f) {
    if (f.batches() <= 1) return f.batches() == 1;
    return f.batches();
  }
};

/// `m` as a key when `S` has such a member (options that newer headers add).
#define LIGHTNING_CLI_FIELD_IF(S, m)                                               \
  []<class T>(T*) {                                                               \
    if constexpr (requires(T& t) { t.m; }) return std::make_tuple(LIGHTNING_CLI_FIELD(m)); \
    else return std::tuple<>();                                                   \
  }(static_cast<S*>(nullptr))

template <>
struct field_list<TrainerOptions> {
  static auto fields() {
    return std::make_tuple(
        LIGHTNING_CLI_FIELD(accelerator), LIGHTNING_CLI_FIELD(devices), LIGHTNING_CLI_FIELD(num_nodes),
        LIGHTNING_CLI_FIELD(fast_dev_run), LIGHTNING_CLI_FIELD(max_epochs), LIGHTNING_CLI_FIELD(min_epochs),
        LIGHTNING_CLI_FIELD(max_steps), LIGHTNING_CLI_FIELD(min_steps), LIGHTNING_CLI_FIELD(limit_train_batches),
        LIGHTNING_CLI_FIELD(limit_val_batches), LIGHTNING_CLI_FIELD(limit_test_batches),
        LIGHTNING_CLI_FIELD(limit_predict_batches), LIGHTNING_CLI_FIELD(val_check_interval),
        LIGHTNING_CLI_FIELD(check_val_every_n_epoch), LIGHTNING_CLI_FIELD(num_sanity_val_steps),
        LIGHTNING_CLI_FIELD(log_every_n_steps), LIGHTNING_CLI_FIELD(accumulate_grad_batches),
        LIGHTNING_CLI_FIELD(gradient_clip_val), LIGHTNING_CLI_FIELD(gradient_clip_algorithm),
        LIGHTNING_CLI_FIELD(deterministic), LIGHTNING_CLI_FIELD(default_root_dir));
  }
  static auto get() {
    return std::tuple_cat(fields(), LIGHTNING_CLI_FIELD_IF(TrainerOptions, logger),
                          LIGHTNING_CLI_FIELD_IF(TrainerOptions, enable_checkpointing),
                          LIGHTNING_CLI_FIELD_IF(TrainerOptions, enable_progress_bar),
                          LIGHTNING_CLI_FIELD_IF(TrainerOptions, enable_model_summary));
  }
};

template <>
struct field_list<ModelCheckpoint::Options> {
  static auto get() {
    return std::make_tuple(LIGHTNING_CLI_FIELD(dirpath), LIGHTNING_CLI_FIELD(filename), LIGHTNING_CLI_FIELD(monitor),
                           LIGHTNING_CLI_FIELD(verbose), LIGHTNING_CLI_FIELD(save_last), LIGHTNING_CLI_FIELD(save_top_k),
                           LIGHTNING_CLI_FIELD(save_weights_only), LIGHTNING_CLI_FIELD(mode),
                           LIGHTNING_CLI_FIELD(auto_insert_metric_name), LIGHTNING_CLI_FIELD(every_n_train_steps),
                           LIGHTNING_CLI_FIELD(train_time_interval), LIGHTNING_CLI_FIELD(every_n_epochs),
                           LIGHTNING_CLI_FIELD(save_on_train_epoch_end), LIGHTNING_CLI_FIELD(enable_version_counter));
  }
};
template <>
struct field_list<EarlyStopping::Options> {
  static auto get() {
    return std::make_tuple(LIGHTNING_CLI_FIELD(monitor), LIGHTNING_CLI_FIELD(min_delta), LIGHTNING_CLI_FIELD(patience),
                           LIGHTNING_CLI_FIELD(verbose), LIGHTNING_CLI_FIELD(mode), LIGHTNING_CLI_FIELD(strict),
                           LIGHTNING_CLI_FIELD(check_finite), LIGHTNING_CLI_FIELD(stopping_threshold),
                           LIGHTNING_CLI_FIELD(divergence_threshold), LIGHTNING_CLI_FIELD(check_on_train_epoch_end),
                           LIGHTNING_CLI_FIELD(log_rank_zero_only));
  }
};
template <>
struct field_list<LearningRateMonitor::Options> {
  static auto get() { return std::make_tuple(LIGHTNING_CLI_FIELD(logging_interval), LIGHTNING_CLI_FIELD(log_momentum)); }
};
template <>
struct field_list<ModelSummary::Options> {
  static auto get() { return std::make_tuple(LIGHTNING_CLI_FIELD(max_depth)); }
};
template <>
struct field_list<ProgressBar::Options> {
  static auto get() { return std::make_tuple(LIGHTNING_CLI_FIELD(refresh_interval), LIGHTNING_CLI_FIELD(in_place)); }
};
template <>
struct field_list<CSVLogger::Options> {
  static auto get() {
    return std::make_tuple(LIGHTNING_CLI_FIELD(save_dir), LIGHTNING_CLI_FIELD(name), LIGHTNING_CLI_FIELD(version),
                           LIGHTNING_CLI_FIELD(flush_logs_every_n_steps));
  }
};
template <>
struct field_list<TensorBoardLogger::Options> {
  static auto get() {
    return std::make_tuple(LIGHTNING_CLI_FIELD(save_dir), LIGHTNING_CLI_FIELD(name), LIGHTNING_CLI_FIELD(version),
                           LIGHTNING_CLI_FIELD(default_hp_metric));
  }
};

// Runtime optimizers (PyTorch's argument names) and schedulers.
template <>
struct field_list<optim::SGDArgs> {
  static auto get() {
    return std::make_tuple(LIGHTNING_CLI_REQUIRED_FIELD(lr), LIGHTNING_CLI_FIELD(momentum), LIGHTNING_CLI_FIELD(dampening),
                           LIGHTNING_CLI_FIELD(weight_decay), LIGHTNING_CLI_FIELD(nesterov));
  }
};
template <>
struct field_list<optim::AdamArgs> {
  static auto get() {
    return std::make_tuple(LIGHTNING_CLI_FIELD(lr), LIGHTNING_CLI_FIELD(betas), LIGHTNING_CLI_FIELD(eps),
                           LIGHTNING_CLI_FIELD(weight_decay), LIGHTNING_CLI_FIELD(amsgrad));
  }
};
template <>
struct field_list<optim::AdamWArgs> : field_list<optim::AdamArgs> {};
template <>
struct field_list<optim::RMSpropArgs> {
  static auto get() {
    return std::make_tuple(LIGHTNING_CLI_FIELD(lr), LIGHTNING_CLI_FIELD(alpha), LIGHTNING_CLI_FIELD(eps),
                           LIGHTNING_CLI_FIELD(weight_decay), LIGHTNING_CLI_FIELD(momentum), LIGHTNING_CLI_FIELD(centered));
  }
};
template <>
struct field_list<optim::AdagradArgs> {
  static auto get() {
    return std::make_tuple(LIGHTNING_CLI_FIELD(lr), LIGHTNING_CLI_FIELD(lr_decay), LIGHTNING_CLI_FIELD(weight_decay),
                           LIGHTNING_CLI_FIELD(initial_accumulator_value), LIGHTNING_CLI_FIELD(eps));
  }
};
template <>
struct field_list<optim::StepLROptions> {
  static auto get() { return std::make_tuple(LIGHTNING_CLI_REQUIRED_FIELD(step_size), LIGHTNING_CLI_FIELD(gamma)); }
};
template <>
struct field_list<optim::MultiStepLROptions> {
  static auto get() { return std::make_tuple(LIGHTNING_CLI_FIELD(milestones), LIGHTNING_CLI_FIELD(gamma)); }
};
template <>
struct field_list<optim::ExponentialLROptions> {
  static auto get() { return std::make_tuple(LIGHTNING_CLI_REQUIRED_FIELD(gamma)); }
};
template <>
struct field_list<optim::CosineAnnealingLROptions> {
  static auto get() { return std::make_tuple(LIGHTNING_CLI_REQUIRED_FIELD(T_max), LIGHTNING_CLI_FIELD(eta_min)); }
};
template <>
struct field_list<optim::LinearLROptions> {
  static auto get() {
    return std::make_tuple(LIGHTNING_CLI_FIELD(start_factor), LIGHTNING_CLI_FIELD(end_factor),
                           LIGHTNING_CLI_FIELD(total_iters));
  }
};

}  // namespace lightning::cli
