#pragma once
// LightningCLI: `fit`/`validate`/`test`/`predict` subcommands, YAML configs
// and `--section.key=value` overrides for a module, a datamodule and a
// Trainer's type, as Lightning's `LightningCLI(Model, DataModule)`.
//
//   int main(int argc, char** argv) {
//     return L::cli::LightningCLI<LitClassifier, MNISTData>(argc, argv).exit_code();
//   }
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <variant>
#include <vector>

#include "../lightning.hpp"
#include "../optim/any_optimizer.hpp"
#include "fields.hpp"
#include "reflect_options.hpp"

namespace lightning::cli {

/// What LightningCLI does besides parsing (Lightning's constructor arguments).
struct Options {
  /// false: parse, build the model, datamodule and Trainer, run nothing (Lightning's `run=False`).
  bool run = true;
  /// Lightning's SaveConfigCallback: the resolved config to `<log_dir>/<config_filename>`.
  bool save_config = true;
  /// An existing config file there is overwritten instead of being an error.
  bool save_config_overwrite = false;
  std::string config_filename = "config.yaml";
  /// A module whose hyperparameters have an `lr` gives it to the runtime
  /// optimizer unless `optimizer.lr` is set (Lightning's `link_arguments("model.lr", "optimizer.init_args.lr")`).
  bool link_model_lr = true;
  /// `seed_everything`'s default: true draws a seed (then saved in config.yaml), false does not seed.
  bool seed_everything_default = true;
};

/// The options struct a datamodule is built from: `D::options_type`, else `D::Options`;
/// specialize for another. `void`: built with `D()`.
template <class D>
struct datamodule_options {
  using type = void;
};
template <class D>
  requires requires { typename D::Options; }
struct datamodule_options<D> {
  using type = typename D::Options;
};
template <class D>
  requires requires { typename D::options_type; }
struct datamodule_options<D> {
  using type = typename D::options_type;
};

namespace detail {

/// A section without keys (a module without hyperparameters, a datamodule without options).
struct NoKeys {};

template <class T>
using options_or_none_t = std::conditional_t<std::is_void_v<T>, NoKeys, T>;

template <class... Ts>
struct type_list {};

template <class C>
struct configurable_component : std::false_type {};
template <class C>
  requires(Reflectable<typename C::Options> && std::is_constructible_v<C, typename C::Options>)
struct configurable_component<C> : std::true_type {};

/// Lightning's class name of a callback or logger type (`lightning::ModelCheckpoint` -> `ModelCheckpoint`).
template <class C>
std::string class_name() {
  std::string n = c10::demangle(typeid(C).name());
  if (auto p = n.rfind("::"); p != std::string::npos) n = n.substr(p + 2);
  return n;
}

template <class Model, class... Ps>
struct cli_trainer {
  using optimizer_policy = lightning::detail::find_policy_t<policy_kind::optimizer, NoOptimizerPolicy, Ps...>;
  static constexpr bool runtime_optimizer =
      !hooks::configure_optimizers::named<Model> && std::is_same_v<optimizer_policy, NoOptimizerPolicy>;
  using type = std::conditional_t<runtime_optimizer, Trainer<Model, Ps..., optim::RuntimeOptimizer>, Trainer<Model, Ps...>>;
  using callbacks = lightning::detail::find_policy_t<policy_kind::callbacks, DefaultCallbacks, Ps...>;
};
/// A Trainer type given instead of policies: its policies.
template <class Model, class M, class... Ps>
struct cli_trainer<Model, Trainer<M, Ps...>> : cli_trainer<Model, Ps...> {
  static_assert(std::is_same_v<M, Model>, "lightning::cli::LightningCLI<Model, DataModule, Trainer<...>>: the Trainer's model must be Model");
};

template <class L>
struct list_of;
template <class... Cs>
struct list_of<Callbacks<Cs...>> {
  using type = type_list<Cs...>;
};
template <class... Ls>
struct list_of<Loggers<Ls...>> {
  using type = type_list<Ls...>;
};

/// The configurable components (callbacks or loggers) of a Trainer, each with its options.
template <class List>
class Components;
template <class... Cs>
class Components<type_list<Cs...>> {
 public:
  template <class C>
  using options_t = std::conditional_t<configurable_component<C>::value, typename C::Options, NoKeys>;

  Components(const std::string& section, const std::string& class_prefix) : section_(section), prefix_(class_prefix) {}

  static std::vector<std::string> names() { return {class_name<Cs>()...}; }

  /// Routes `section.Name[.key]` to the component called Name.
  void add(const Setting& s) {
    const std::string rest = s.key.substr(section_.size() + 1);
    const std::string name = rest.substr(0, rest.find('.'));
    const auto all = names();
    if (std::find(all.begin(), all.end(), name) == all.end()) {
      std::string msg = "error: " + s.origin + ": " + section_ + ": '" + name +
                        "' is not in this Trainer's type; its " + (section_ == "trainer.logger" ? "loggers" : "callbacks") +
                        " are: " + join(all);
      if (auto m = closest_match(name, all); !m.empty()) msg += " (did you mean '" + m + "'?)";
      throw CliError(msg);
    }
    if (rest.size() == name.size()) return;  // only names the class
    settings_[name].push_back(s);
  }

  /// Applies the settings; `prepare(options)` runs first on each (e.g. a logger's save_dir).
  template <class Prepare>
  void resolve(Prepare&& prepare) {
    (resolve_one<Cs>(prepare), ...);
  }

  /// The components to hand to the Trainer (the configurable ones).
  auto make() const {
    return std::tuple_cat([&] {
      if constexpr (configurable_component<Cs>::value) return std::tuple<Cs>(Cs(std::get<options_t<Cs>>(options_)));
      else return std::tuple<>();
    }()...);
  }

  PrintNode print(const std::string& key) const {
    PrintNode list{key, std::nullopt, {}, true};
    (print_one<Cs>(list), ...);
    return list;
  }
  void help(std::vector<HelpLine>& out) const {
    (lightning::cli::help_lines(std::get<options_t<Cs>>(options_), section_ + "." + class_name<Cs>(), out), ...);
  }

 private:
  static std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
  }
  template <class C, class Prepare>
  void resolve_one(Prepare& prepare) {
    auto& o = std::get<options_t<C>>(options_);
    prepare(o);
    if (auto it = settings_.find(class_name<C>()); it != settings_.end())
      apply_settings(o, section_ + "." + class_name<C>(), it->second);
  }
  template <class C>
  void print_one(PrintNode& list) const {
    if constexpr (configurable_component<C>::value) {
      PrintNode item{"", std::nullopt, {}, false};
      item.children.push_back(PrintNode{"class_path", HParamValue(prefix_ + class_name<C>()), {}, false});
      item.children.push_back(PrintNode{"init_args", std::nullopt, print_fields(std::get<options_t<C>>(options_)), false});
      list.children.push_back(std::move(item));
    }
  }

  std::string section_, prefix_;
  std::tuple<options_t<Cs>...> options_{};
  std::map<std::string, std::vector<Setting>> settings_;
};

}  // namespace detail

template <>
struct field_list<detail::NoKeys> {
  static auto get() { return std::tuple<>{}; }
};

/// `LightningCLI<Model, DataModule, Policies...>(argc, argv)`: parses the
/// command line, builds the module from its hyperparameters, the datamodule
/// from its options and the Trainer from `trainer:`, and runs the subcommand.
/// Usage errors print a message and give exit_code() 2 before anything runs.
/// A module without configure_optimizers() gets its optimizer and LR
/// scheduler from `--optimizer=NAME` / `--lr_scheduler=NAME`.
template <class Model, class DataModule, class... Policies>
class LightningCLI {
  using selection = detail::cli_trainer<Model, Policies...>;

 public:
  using trainer_type = typename selection::type;
  using hparams_type = detail::options_or_none_t<
      std::conditional_t<std::is_same_v<typename Model::hparams_type, NoHParams>, void, typename Model::hparams_type>>;
  using data_options_type = detail::options_or_none_t<typename datamodule_options<DataModule>::type>;
  static constexpr bool runtime_optimizer = selection::runtime_optimizer;

  static_assert(std::is_same_v<hparams_type, detail::NoKeys> || Reflectable<hparams_type>,
                "lightning::cli: the module's HParams must be adapted with BOOST_HANA_ADAPT_STRUCT (its members are "
                "the `model.` keys)");
  static_assert(std::is_same_v<data_options_type, detail::NoKeys> || Reflectable<data_options_type>,
                "lightning::cli: the datamodule's options must be adapted with BOOST_HANA_ADAPT_STRUCT (or specialize "
                "lightning::cli::field_list) to be the `data.` keys");

  LightningCLI(int argc, const char* const* argv, Options options = {}) : opts_(std::move(options)) {
    program_ = argc > 0 ? std::filesystem::path(argv[0]).filename().string() : "lightning";
    try {
      parse(argc, argv);
    } catch (const CliError& e) {
      std::fprintf(stderr, "%s\n", e.what());
      exit_code_ = 2;
      return;
    }
    if (done_) return;
    try {
      instantiate();
      if (opts_.run) run();
    } catch (const CliError& e) {
      std::fprintf(stderr, "%s\n", e.what());
      exit_code_ = 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      exit_code_ = 1;
    }
  }
  LightningCLI(int argc, char** argv, Options options = {})
      : LightningCLI(argc, const_cast<const char* const*>(argv), std::move(options)) {}

  /// 0 after a run (or --help, --print_config), 2 after a usage error, 1 after a failure while running.
  int exit_code() const noexcept { return exit_code_; }
  const std::string& subcommand() const noexcept { return command_.subcommand; }
  /// The resolved config as YAML (what --print_config prints and config.yaml holds).
  std::string config_yaml() const { return detail::print_config(print_tree()); }

  trainer_type& trainer() { return *trainer_; }
  Model& model() { return *model_; }
  DataModule& datamodule() { return *datamodule_; }
  const TrainerOptions& trainer_options() const noexcept { return trainer_opts_; }
  const hparams_type& model_hparams() const noexcept { return hparams_; }
  const data_options_type& data_options() const noexcept { return data_; }
  /// validate/test results (one map per loader).
  const std::vector<std::map<std::string, double>>& results() const noexcept { return results_; }

 private:
  using callbacks_t = detail::Components<typename detail::list_of<typename trainer_type::callbacks_type>::type>;
  using loggers_t = detail::Components<typename detail::list_of<typename trainer_type::loggers_type>::type>;

  // ------------------------------------------------------------ parsing
  void parse(int argc, const char* const* argv) {
    command_ = detail::parse_command_line(argc, argv);
    if (command_.help || command_.subcommand.empty()) {
      std::vector<detail::HelpLine> lines;
      if (!command_.subcommand.empty()) help(lines);
      std::fputs(detail::format_help(program_, command_.subcommand, lines, help_notes()).c_str(), stdout);
      if (command_.subcommand.empty() && !command_.help) {
        std::fprintf(stderr, "error: missing a subcommand: fit, validate, test or predict\n");
        exit_code_ = 2;
      }
      done_ = true;
      return;
    }
    const std::string& cmd = command_.subcommand;
    if ((cmd == "fit" && !HasTrainDataloader<DataModule>) || (cmd == "validate" && !HasValDataloader<DataModule>) ||
        (cmd == "test" && !HasTestDataloader<DataModule>) || (cmd == "predict" && !HasPredictDataloader<DataModule>))
      throw CliError("error: " + cmd + ": the datamodule has no " +
                     (cmd == "fit" ? "train" : cmd == "validate" ? "val" : cmd) + "_dataloader()");
    if ((cmd == "validate" && !hooks::validation_step::named<Model>) || (cmd == "test" && !hooks::test_step::named<Model>))
      throw CliError("error: " + cmd + ": the module has no " + (cmd == "test" ? "test" : "validation") + "_step()");
    std::vector<detail::Setting> trainer, model, data, optimizer, lr_scheduler;
    for (const auto& s : command_.settings) {
      const std::string head = s.key.substr(0, s.key.find('.'));
      const bool nested = s.key.size() > head.size();
      if (head == "trainer" && nested && s.key.starts_with("trainer.callbacks.")) callbacks_.add(s);
      else if (head == "trainer" && nested && s.key.starts_with("trainer.logger.")) loggers_.add(s);
      else if (head == "trainer" && nested) trainer.push_back(s);
      else if (head == "model" && nested) model.push_back(s);
      else if (head == "data" && nested) data.push_back(s);
      else if (head == "optimizer" && runtime_optimizer) (nested ? optimizer.push_back(s) : choose_optimizer(s));
      else if (head == "lr_scheduler" && runtime_optimizer) (nested ? lr_scheduler.push_back(s) : choose_scheduler(s));
      else if ((head == "optimizer" || head == "lr_scheduler") && !runtime_optimizer)
        throw CliError("error: " + s.origin + ": " + s.key + ": this module defines configure_optimizers(), which " +
                       "chooses its optimizer and scheduler; --optimizer/--lr_scheduler are for modules without it");
      else if (s.key == "ckpt_path") ckpt_path_ = detail::parse_value<std::optional<std::string>>(s);
      else if (s.key == "seed_everything") seed_ = parse_seed(s);
      else detail::unknown_key(s, "", top_keys());
    }
    apply_settings(trainer_opts_, "trainer", trainer);
    apply_settings(hparams_, "model", model);
    apply_settings(data_, "data", data);
    callbacks_.resolve([](auto&) {});
    loggers_.resolve([&](auto& o) {
      if constexpr (requires { o.save_dir = trainer_opts_.default_root_dir; }) o.save_dir = trainer_opts_.default_root_dir;
    });
    if constexpr (runtime_optimizer) {
      if (!optimizer.empty() && !optimizer_)
        detail::missing_value("optimizer", "--" + optimizer.front().key + " was given: choose the class with --optimizer=NAME, one of " + names(optim::optimizer_names));
      if (!lr_scheduler.empty() && lr_scheduler_.index() == 0)
        detail::missing_value("lr_scheduler", "--" + lr_scheduler.front().key + " was given: choose the class with --lr_scheduler=NAME, one of " + names(optim::scheduler_names));
      if (optimizer_) {
        std::visit([&](auto& a) {
          if constexpr (requires { a.lr = hparams_.lr; })
            if (opts_.link_model_lr) a.lr = hparams_.lr;
          apply_settings(a, "optimizer", optimizer);
          check_required(a, "optimizer", optimizer_name() + " has no default for it");
        }, *optimizer_);
      }
      std::visit([&](auto& a) {
        if constexpr (!std::is_same_v<std::remove_cvref_t<decltype(a)>, std::monostate>) {
          apply_settings(a, "lr_scheduler", lr_scheduler);
          check_required(a, "lr_scheduler", std::string(optim::scheduler_names[lr_scheduler_.index()]) + " has no default for it");
        }
      }, lr_scheduler_);
      if (command_.subcommand == "fit" && !optimizer_)
        detail::missing_value("optimizer", "the module has no configure_optimizers(): give --optimizer=NAME, one of " +
                                               names(optim::optimizer_names));
    }
    if (std::holds_alternative<bool>(seed_) && std::get<bool>(seed_) && !command_.print_config) {
      std::random_device rd;
      seed_ = static_cast<int64_t>(rd() % 4294967296ULL);  // Lightning draws from the uint32 range
    }
    if (command_.print_config) {
      std::fputs(config_yaml().c_str(), stdout);
      done_ = true;
    }
  }

  template <std::size_t N>
  static std::string names(const std::string_view (&all)[N]) {
    std::string out;
    for (auto n : all)
      if (!n.empty()) out += (out.empty() ? "" : ", ") + std::string(n);
    return out;
  }
  template <std::size_t N>
  static std::vector<std::string> name_list(const std::string_view (&all)[N]) {
    std::vector<std::string> out;
    for (auto n : all)
      if (!n.empty()) out.emplace_back(n);
    return out;
  }
  static std::vector<std::string> top_keys() {
    std::vector<std::string> keys = {"trainer", "model", "data"};
    if (runtime_optimizer) keys.insert(keys.end(), {"optimizer", "lr_scheduler"});
    keys.insert(keys.end(), {"ckpt_path", "seed_everything"});
    return keys;
  }
  template <std::size_t N>
  static void bad_class(const detail::Setting& s, const std::string_view (&all)[N]) {
    std::string msg = "error: " + s.origin + ": " + s.key + ": unknown class '" + s.text + "'";
    if (auto m = detail::closest_match(s.text, name_list(all)); !m.empty()) msg += ": did you mean '" + m + "'?";
    throw CliError(msg + "\n  choose from: " + names(all));
  }
  void choose_optimizer(const detail::Setting& s) {
    if (s.null) {
      optimizer_.reset();
      return;
    }
    try {
      optimizer_ = optim::optimizer_args(s.text);
    } catch (const std::invalid_argument&) {
      bad_class(s, optim::optimizer_names);
    }
  }
  void choose_scheduler(const detail::Setting& s) {
    if (s.null) {
      lr_scheduler_ = std::monostate{};
      return;
    }
    try {
      lr_scheduler_ = optim::scheduler_args(s.text);
    } catch (const std::invalid_argument&) {
      bad_class(s, optim::scheduler_names);
    }
  }
  std::string optimizer_name() const { return optimizer_ ? std::string(optim::optimizer_names[optimizer_->index()]) : ""; }

  static std::variant<bool, int64_t> parse_seed(const detail::Setting& s) {
    if (auto b = detail::parse_bool(s.text)) return *b;
    if (auto i = detail::parse_int(s.text); i && *i >= 0 && *i <= 4294967295LL) return *i;
    detail::bad_value(s, "Union[bool, int] (an int in [0, 4294967295])");
  }

  // ------------------------------------------------------------ printing
  std::vector<detail::PrintNode> print_tree() const {
    using detail::PrintNode;
    std::vector<PrintNode> top;
    top.push_back(PrintNode{"seed_everything", std::visit([](auto v) { return detail::HParamValue(v); }, seed_), {}, false});
    PrintNode trainer{"trainer", std::nullopt, print_fields(trainer_opts_), false};
    trainer.children.push_back(callbacks_.print("callbacks"));
    trainer.children.push_back(loggers_.print("logger"));
    top.push_back(std::move(trainer));
    top.push_back(PrintNode{"model", std::nullopt, print_fields(hparams_), false});
    top.push_back(PrintNode{"data", std::nullopt, print_fields(data_), false});
    if constexpr (runtime_optimizer) {
      if (optimizer_) {
        top.push_back(class_node("optimizer", "torch.optim." + optimizer_name(),
                                 std::visit([](const auto& a) { return print_fields(a); }, *optimizer_)));
      } else {
        top.push_back(PrintNode{"optimizer", detail::HParamValue{}, {}, false});
      }
      if (lr_scheduler_.index() != 0) {
        auto fields = std::visit([](const auto& a) {
          if constexpr (std::is_same_v<std::remove_cvref_t<decltype(a)>, std::monostate>) return std::vector<PrintNode>{};
          else return print_fields(a);
        }, lr_scheduler_);
        top.push_back(class_node("lr_scheduler",
                                 "torch.optim.lr_scheduler." + std::string(optim::scheduler_names[lr_scheduler_.index()]),
                                 std::move(fields)));
      } else {
        top.push_back(PrintNode{"lr_scheduler", detail::HParamValue{}, {}, false});
      }
    }
    top.push_back(PrintNode{"ckpt_path", detail::print_value(ckpt_path_), {}, false});
    return top;
  }
  static detail::PrintNode class_node(const std::string& key, const std::string& class_path,
                                      std::vector<detail::PrintNode> fields) {
    detail::PrintNode n{key, std::nullopt, {}, false};
    n.children.push_back(detail::PrintNode{"class_path", detail::HParamValue(class_path), {}, false});
    n.children.push_back(detail::PrintNode{"init_args", std::nullopt, std::move(fields), false});
    return n;
  }

  void help(std::vector<detail::HelpLine>& lines) const {
    lines.push_back({"seed_everything", "Union[bool, int]", opts_.seed_everything_default ? "true" : "false", false});
    lines.push_back({"ckpt_path", "Optional[str]", "null", false});
    help_lines(TrainerOptions{}, "trainer", lines);
    callbacks_t("trainer.callbacks", "").help(lines);
    loggers_t("trainer.logger", "").help(lines);
    help_lines(hparams_type{}, "model", lines);
    help_lines(data_options_type{}, "data", lines);
    if constexpr (runtime_optimizer) {
      lines.push_back({"optimizer", "Optional[" + names(optim::optimizer_names) + "]", "null", false});
      for (std::size_t i = 0; i < std::size(optim::optimizer_names); ++i) {
        auto args = optim::optimizer_args(optim::optimizer_names[i]);
        std::visit([&](const auto& a) { help_lines(a, "optimizer.(" + std::string(optim::optimizer_names[i]) + ")", lines); }, args);
      }
      lines.push_back({"lr_scheduler", "Optional[" + names(optim::scheduler_names) + "]", "null", false});
      for (std::size_t i = 1; i < std::size(optim::scheduler_names); ++i) {
        auto args = optim::scheduler_args(optim::scheduler_names[i]);
        std::visit([&](const auto& a) {
          if constexpr (!std::is_same_v<std::remove_cvref_t<decltype(a)>, std::monostate>)
            help_lines(a, "lr_scheduler.(" + std::string(optim::scheduler_names[i]) + ")", lines);
        }, args);
      }
    }
  }
  static std::vector<std::string> help_notes() {
    std::vector<std::string> notes = {
        "Callbacks and loggers are named by class: --trainer.callbacks.ModelCheckpoint.monitor=val_loss, or in YAML\n"
        "Lightning's list form (trainer: {callbacks: [{class_path: ModelCheckpoint, init_args: {monitor: val_loss}}]})."};
    if (runtime_optimizer)
      notes.push_back("The module has no configure_optimizers(): --optimizer=NAME --optimizer.KEY=VALUE (and likewise\n"
                      "--lr_scheduler) choose them; keys marked (NAME) apply to that class.");
    return notes;
  }

  // ------------------------------------------------------------ running
  void instantiate() {
    if (std::holds_alternative<int64_t>(seed_)) seed_everything(static_cast<uint64_t>(std::get<int64_t>(seed_)));
    if constexpr (std::is_same_v<hparams_type, detail::NoKeys>) model_.emplace();
    else model_.emplace(hparams_);
    if constexpr (std::is_same_v<data_options_type, detail::NoKeys>) datamodule_.emplace();
    else datamodule_.emplace(data_);
    auto components = std::tuple_cat(callbacks_.make(), loggers_.make());
    if constexpr (runtime_optimizer) {
      optim::RuntimeOptimizer policy;
      if (optimizer_) policy.optimizer = *optimizer_;
      policy.lr_scheduler = lr_scheduler_;
      std::apply([&](auto&&... c) { trainer_.emplace(trainer_opts_, std::move(c)..., std::move(policy)); },
                 std::move(components));
    } else {
      std::apply([&](auto&&... c) { trainer_.emplace(trainer_opts_, std::move(c)...); }, std::move(components));
    }
  }

  /// Lightning's `trainer.log_dir`: the first logger's log_dir, else default_root_dir.
  std::filesystem::path log_dir() {
    std::optional<std::filesystem::path> dir;
    using Ls = typename detail::list_of<typename trainer_type::loggers_type>::type;
    for_each_logger(Ls{}, [&](auto& lg) {
      if constexpr (requires { lg.log_dir(); })
        if (!dir) dir = std::filesystem::path(lg.log_dir());
    });
    return dir ? *dir : std::filesystem::path(trainer_opts_.default_root_dir);
  }
  template <class... Ls, class F>
  void for_each_logger(detail::type_list<Ls...>, F&& f) {
    (f(trainer_->template logger<Ls>()), ...);
  }

  void run() {
    if (opts_.save_config && trainer_->is_global_zero())
      detail::save_config(log_dir(), opts_.config_filename, config_yaml(), opts_.save_config_overwrite);
    const std::string& cmd = command_.subcommand;
    if (cmd == "fit") {
      trainer_->fit(*model_, *datamodule_, FitOptions{.ckpt_path = ckpt_path_.value_or("")});
      return;
    }
    if (ckpt_path_) {
      // validate/test/predict with weights from a checkpoint (Lightning's ckpt_path).
      hparams_type h = hparams_;
      if constexpr (std::is_same_v<hparams_type, detail::NoKeys>) model_.emplace(Model::load_from_checkpoint(*ckpt_path_));
      else model_.emplace(Model::load_from_checkpoint(*ckpt_path_, [&](auto& stored) { stored = h; }));
    }
    if constexpr (HasValDataloader<DataModule> && hooks::validation_step::named<Model>)
      if (cmd == "validate") results_ = trainer_->validate(*model_, *datamodule_);
    if constexpr (HasTestDataloader<DataModule> && hooks::test_step::named<Model>)
      if (cmd == "test") results_ = trainer_->test(*model_, *datamodule_);
    if constexpr (HasPredictDataloader<DataModule>)
      if (cmd == "predict") (void)trainer_->predict(*model_, *datamodule_);
  }

  Options opts_;
  std::string program_;
  detail::Command command_;
  bool done_ = false;
  int exit_code_ = 0;

  TrainerOptions trainer_opts_{};
  hparams_type hparams_{};
  data_options_type data_{};
  callbacks_t callbacks_{"trainer.callbacks", "lightning.pytorch.callbacks."};
  loggers_t loggers_{"trainer.logger", "lightning.pytorch.loggers."};
  std::optional<optim::OptimizerArgs> optimizer_{};
  optim::SchedulerArgs lr_scheduler_{};
  std::optional<std::string> ckpt_path_{};
  std::variant<bool, int64_t> seed_{opts_.seed_everything_default};

  std::optional<Model> model_;
  std::optional<DataModule> datamodule_;
  std::optional<trainer_type> trainer_;
  std::vector<std::map<std::string, double>> results_;
};

}  // namespace lightning::cli
