// LightningCLI (issue 19): parsing, config files, overrides in order,
// --print_config round trip, errors, the saved config.yaml, and an optimizer
// and LR scheduler chosen at run time that train and resume.
#include <doctest/doctest.h>
#include <lightning/cli.hpp>

#include <fstream>
#include <sstream>
#include <unistd.h>

namespace cli_test {
namespace L = lightning;

struct Params {
  int64_t hidden = 4;
  double lr = 0.1;
  std::string tag = "x";
  std::optional<int64_t> extra{};
};
struct DataOptions {
  int64_t batch_size = 4;
  int64_t n = 16;
};
}  // namespace cli_test
BOOST_HANA_ADAPT_STRUCT(cli_test::Params, hidden, lr, tag, extra);
BOOST_HANA_ADAPT_STRUCT(cli_test::DataOptions, batch_size, n);
namespace cli_test {
namespace L = lightning;

class Data {
 public:
  using options_type = DataOptions;
  explicit Data(DataOptions o = {}) : o_(o), x_(torch::randn({o.n, 2})), y_(x_.sum(1, true)) {}
  auto train_dataloader() { return L::data::TensorLoader({x_, y_}, {.batch_size = o_.batch_size}); }
  auto val_dataloader() { return L::data::TensorLoader({x_, y_}, {.batch_size = o_.batch_size}); }
  auto test_dataloader() { return L::data::TensorLoader({x_, y_}, {.batch_size = o_.batch_size}); }

 private:
  DataOptions o_;
  torch::Tensor x_, y_;
};

/// No configure_optimizers(): the CLI's --optimizer chooses.
struct Net : L::LightningModule<Net, Params> {
  torch::nn::Linear fc;
  explicit Net(Params p = {}) : LightningModule(p), fc(register_module("fc", torch::nn::Linear(2, 1))) {}
  torch::Tensor training_step(L::Batch b, int64_t) {
    auto [x, y] = b;
    auto loss = torch::mse_loss(fc->forward(x), y);
    log("train_loss", loss);
    return loss;
  }
  void validation_step(L::Batch b, int64_t) {
    auto [x, y] = b;
    log("val_loss", torch::mse_loss(fc->forward(x), y));
  }
  void test_step(L::Batch b, int64_t) {
    auto [x, y] = b;
    log("test_loss", torch::mse_loss(fc->forward(x), y));
  }
};

/// Chooses its own optimizer: a concrete type, no runtime slot.
struct OwnOptimizer : L::LightningModule<OwnOptimizer, Params> {
  torch::nn::Linear fc;
  explicit OwnOptimizer(Params p = {}) : LightningModule(p), fc(register_module("fc", torch::nn::Linear(2, 1))) {}
  torch::Tensor training_step(L::Batch b, int64_t) {
    auto [x, y] = b;
    return torch::mse_loss(fc->forward(x), y);
  }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(hparams().lr)); }
};

using Policies = L::OnlyCallbacks<L::ModelCheckpoint, L::EarlyStopping, L::LearningRateMonitor>;
using CLI = L::cli::LightningCLI<Net, Data, Policies, L::Loggers<L::CSVLogger>>;

/// A fresh directory for one test.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() / ("lightning_cli_" + std::to_string(::getpid()) + "_" + name)) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

/// Runs the CLI on `args` (program name added), without running the subcommand unless `run`.
inline CLI make(std::vector<std::string> args, L::cli::Options o = {.run = false}) {
  args.insert(args.begin(), "prog");
  std::vector<const char*> argv;
  for (auto& a : args) argv.push_back(a.c_str());
  return CLI(static_cast<int>(argv.size()), argv.data(), o);
}

inline std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace cli_test

using namespace cli_test;
namespace D = lightning::cli::detail;

TEST_CASE("cli: a module with its own configure_optimizers keeps its concrete optimizer type (no runtime slot)") {
  using OwnCLI = L::cli::LightningCLI<OwnOptimizer, Data, L::BareTrainer<OwnOptimizer>>;
  static_assert(!OwnCLI::runtime_optimizer);
  static_assert(std::is_same_v<OwnCLI::trainer_type::optimizer_type, torch::optim::SGD>);
  static_assert(CLI::runtime_optimizer);
  static_assert(std::is_same_v<CLI::trainer_type::optimizer_type, L::optim::AnyOptimizer>);
  std::vector<const char*> argv = {"prog", "fit", "--optimizer=Adam"};
  OwnCLI cli(3, argv.data(), {.run = false});
  CHECK(cli.exit_code() == 2);
}

TEST_CASE("cli: keys from every section, both override spellings, class names for callbacks") {
  TempDir dir("sections");
  auto cli = make({"fit", "--trainer.max_epochs=3", "--model.lr", "0.5", "--model.tag=hello", "--data.n=8",
                   "--trainer.default_root_dir=" + dir.path.string(), "--trainer.callbacks.EarlyStopping.monitor=val_loss",
                   "--trainer.callbacks.EarlyStopping.mode=max", "--optimizer=SGD", "--optimizer.momentum=0.9",
                   "--seed_everything=3", "--trainer.limit_train_batches=0.5", "--trainer.fast_dev_run=2"});
  REQUIRE(cli.exit_code() == 0);
  CHECK(cli.trainer_options().max_epochs == 3);
  CHECK(cli.model_hparams().lr == 0.5);
  CHECK(cli.model_hparams().tag == "hello");
  CHECK(cli.data_options().n == 8);
  CHECK(!cli.trainer_options().limit_train_batches.is_count());
  CHECK(cli.trainer_options().fast_dev_run.batches() == 2);
  const std::string yaml = cli.config_yaml();
  CHECK(yaml.find("seed_everything: 3\n") == 0);
  CHECK(yaml.find("  - class_path: lightning.pytorch.callbacks.EarlyStopping\n    init_args:\n      monitor: val_loss\n") !=
        std::string::npos);
  CHECK(yaml.find("      mode: max\n") != std::string::npos);
  // The model's lr goes to the optimizer unless optimizer.lr is given.
  CHECK(yaml.find("optimizer:\n  class_path: torch.optim.SGD\n  init_args:\n    lr: 0.5\n    momentum: 0.9\n") !=
        std::string::npos);
}

TEST_CASE("cli: config files and overrides apply in order, later wins") {
  TempDir dir("order");
  const auto a = dir.file("a.yaml", "trainer:\n  max_epochs: 5\n  max_steps: 7\nmodel:\n  hidden: 9\n");
  const auto b = dir.file("b.yaml", "trainer: {max_epochs: 6}\n");
  auto cli = make({"fit", "--trainer.max_epochs=2", "--config", a, "--optimizer=Adam"});
  CHECK(cli.trainer_options().max_epochs == 5);  // the file came later
  auto cli2 = make({"fit", "--config", a, "--trainer.max_epochs=2", "--optimizer=Adam"});
  CHECK(cli2.trainer_options().max_epochs == 2);
  CHECK(cli2.trainer_options().max_steps == 7);
  CHECK(cli2.model_hparams().hidden == 9);
  auto cli3 = make({"fit", "--config", a, "--config=" + b, "--optimizer=Adam"});
  CHECK(cli3.trainer_options().max_epochs == 6);
  CHECK(cli3.trainer_options().max_steps == 7);
  // null resets an optional; a quoted 'null' is the string.
  const auto c = dir.file("c.yaml", "trainer:\n  max_epochs: null\nmodel:\n  tag: 'null'\n  extra: 3\n");
  auto cli4 = make({"fit", "--trainer.max_epochs=4", "--config", c, "--optimizer=Adam"});
  CHECK(!cli4.trainer_options().max_epochs);
  CHECK(cli4.model_hparams().tag == "null");
  CHECK(cli4.model_hparams().extra == 3);
}

TEST_CASE("cli: --print_config output read back with --config gives the same config") {
  TempDir dir("roundtrip");
  auto first = make({"fit", "--trainer.max_epochs=3", "--model.tag=a: b", "--optimizer=AdamW", "--optimizer.betas=[0.8, 0.9]",
                     "--lr_scheduler=MultiStepLR", "--lr_scheduler.milestones=[1, 2]", "--seed_everything=5",
                     "--trainer.callbacks.ModelCheckpoint.monitor=val_loss", "--ckpt_path=x.ckpt",
                     "--trainer.default_root_dir=" + dir.path.string()});
  REQUIRE(first.exit_code() == 0);
  const std::string yaml = first.config_yaml();
  const auto file = dir.file("printed.yaml", yaml);
  auto second = make({"fit", "--config", file});
  REQUIRE(second.exit_code() == 0);
  CHECK(second.config_yaml() == yaml);
  CHECK(second.model_hparams().tag == "a: b");
}

TEST_CASE("cli: errors name the key, the expected type, the text and the closest key") {
  using L::cli::CliError;
  L::TrainerOptions t;
  std::vector<D::Setting> bad_key = {{"trainer.max_epoch", "3", false, false, "command line"}};
  CHECK_THROWS_WITH_AS(L::cli::apply_settings(t, "trainer", bad_key),
                       doctest::Contains("unknown key 'trainer.max_epoch': did you mean 'trainer.max_epochs'?"), CliError);
  CHECK_THROWS_WITH_AS(L::cli::apply_settings(t, "trainer", bad_key), doctest::Contains("keys of 'trainer': accelerator,"),
                       CliError);
  std::vector<D::Setting> bad_type = {{"trainer.max_epochs", "abc", false, false, "c.yaml:2"}};
  CHECK_THROWS_WITH_AS(L::cli::apply_settings(t, "trainer", bad_type),
                       "error: c.yaml:2: trainer.max_epochs: expected Optional[int], got 'abc'", CliError);
  std::vector<D::Setting> bad_enum = {{"trainer.gradient_clip_algorithm", "nrom", false, false, "command line"}};
  CHECK_THROWS_WITH_AS(L::cli::apply_settings(t, "trainer", bad_enum),
                       doctest::Contains("expected Literal['norm', 'value'], got 'nrom'"), CliError);
  L::optim::StepLROptions step;
  CHECK_THROWS_WITH_AS(L::cli::check_required(step, "lr_scheduler", "StepLR has no default for it"),
                       "error: missing required value: lr_scheduler.step_size (StepLR has no default for it)", CliError);

  // The whole CLI: exit status 2, nothing built.
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"fit", "--trainer.max_epoch=2", "--optimizer=SGD"},
           {"fit", "--trainer.max_epochs=two", "--optimizer=Adam"},
           {"fit"},  // no optimizer for a module without configure_optimizers
           {"fit", "--optimizer=SGD", "--optimizer.lr=null"},  // SGD's lr is required
           {"fit", "--optimizer=Adam", "--lr_scheduler=StepLR"},
           {"fit", "--optimizer=Adam", "--trainer.callbacks.ModelSummary.max_depth=2"},  // not in the type
           {"fit", "--optimizer=Adamm"},
           {"fit", "--optimizer.lr=0.1"},
           {"fit", "--modle.lr=0.1"},
           {"fti"},
           {"fit", "--trainer.max_epochs"},
           {"fit", "--config", "/nonexistent.yaml"},
       }) {
    CAPTURE(args.back());
    auto cli = make(args);
    CHECK(cli.exit_code() == 2);
  }
}

TEST_CASE("cli: config files are untrusted: YAML errors, nesting and size are bounded and name the file and line") {
  CHECK_THROWS_WITH_AS(D::read_config_text("trainer:\n  max_epochs: [1, 2\n", "c.yaml"), doctest::Contains("error: c.yaml:"),
                       L::cli::CliError);
  CHECK_THROWS_WITH_AS(D::read_config_text("- 1\n- 2\n", "c.yaml"), doctest::Contains("must be a mapping"), L::cli::CliError);
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += std::string(static_cast<std::size_t>(2 * i), ' ') + "k" + std::to_string(i) + ":\n";
  CHECK_THROWS_WITH_AS(D::read_config_text(deep + std::string(80, ' ') + "x: 1\n", "d.yaml"),
                       doctest::Contains("nested more than 32"), L::cli::CliError);
  // Aliases cannot expand without bound (a "billion laughs"): 10^5 leaves from a few lines.
  std::string laughs = "a: &a {k0: 1, k1: 1, k2: 1, k3: 1, k4: 1, k5: 1, k6: 1, k7: 1, k8: 1, k9: 1}\n";
  for (char c = 'b'; c <= 'e'; ++c) {
    laughs += std::string(1, c) + ": &" + c + " {";
    for (int i = 0; i < 10; ++i) laughs += (i ? ", x" : "x") + std::to_string(i) + ": *" + char(c - 1);
    laughs += "}\n";
  }
  CHECK_THROWS_WITH_AS(D::read_config_text(laughs, "l.yaml"), doctest::Contains("more than 10000 nodes"), L::cli::CliError);
  TempDir dir("big");
  const auto big = dir.file("big.yaml", "# " + std::string(2 << 20, 'x') + "\n");
  CHECK_THROWS_WITH_AS(D::read_config_file(big), doctest::Contains("at most 1 MiB"), L::cli::CliError);
  // Lightning's forms: class_path/init_args, callbacks as a list.
  auto s = D::read_config_text(
      "optimizer:\n  class_path: torch.optim.SGD\n  init_args:\n    lr: 0.1\n"
      "trainer:\n  callbacks:\n  - class_path: lightning.pytorch.callbacks.EarlyStopping\n    init_args: {patience: 5}\n",
      "f.yaml");
  REQUIRE(s.size() == 4);
  CHECK(s[0].key == "optimizer");
  CHECK(s[0].text == "SGD");
  CHECK(s[1].key == "optimizer.lr");
  CHECK(s[3].key == "trainer.callbacks.EarlyStopping.patience");
  CHECK(s[3].origin == "f.yaml:8");
  CHECK(D::closest_match("max_epoch", {"max_steps", "max_epochs", "min_epochs"}) == "max_epochs");
  CHECK(D::closest_match("zzzzzzzzzz", {"max_steps"}).empty());
}

TEST_CASE("cli: fit with an optimizer and LR scheduler chosen at run time; config.yaml saved, never overwritten") {
  TempDir dir("fit");
  const std::vector<std::string> args = {"fit", "--trainer.max_epochs=2", "--trainer.default_root_dir=" + dir.path.string(),
                                         "--optimizer=SGD", "--optimizer.lr=0.2", "--lr_scheduler=StepLR",
                                         "--lr_scheduler.step_size=1", "--lr_scheduler.gamma=0.5",
                                         "--trainer.logger.CSVLogger.version=0", "--trainer.num_sanity_val_steps=0",
                                         "--trainer.callbacks.EarlyStopping.monitor=val_loss"};
  auto cli = make(args, {.run = true});
  REQUIRE(cli.exit_code() == 0);
  auto& opt = std::get<0>(cli.trainer().optimizer_slots()).optimizer;
  CHECK(opt.type_name() == "SGD");
  CHECK(opt.param_groups().at(0).options().get_lr() == doctest::Approx(0.2 * 0.25));
  const auto log_dir = dir.path / "lightning_logs" / "version_0";
  const std::string saved = read(log_dir / "config.yaml");
  CHECK(saved == cli.config_yaml());
  CHECK(saved.find("class_path: torch.optim.SGD") != std::string::npos);
  CHECK(read(log_dir / "metrics.csv").find("lr-SGD") != std::string::npos);
  // Same log dir again: Lightning's SaveConfigCallback refuses to overwrite (a failure, status 1) ...
  auto again = make(args, {.run = true});
  CHECK(again.exit_code() == 1);
  // ... unless asked; and resuming restores the runtime optimizer's and scheduler's state.
  std::vector<std::string> resume = args;
  resume[1] = "--trainer.max_epochs=3";
  resume.push_back("--ckpt_path=" + (log_dir / "checkpoints" / "epoch=1-step=8.ckpt").string());
  auto resumed = make(resume, {.run = true, .save_config_overwrite = true});
  REQUIRE(resumed.exit_code() == 0);
  auto& opt2 = std::get<0>(resumed.trainer().optimizer_slots()).optimizer;
  CHECK(opt2.param_groups().at(0).options().get_lr() == doctest::Approx(0.2 * 0.125));
  CHECK(resumed.trainer().current_epoch() == 3);
  // test with weights from the checkpoint.
  auto tested = make({"test", "--trainer.default_root_dir=" + dir.path.string(), "--ckpt_path=" + (log_dir / "checkpoints" / "epoch=1-step=8.ckpt").string()},
                     {.run = true, .save_config = false});
  REQUIRE(tested.exit_code() == 0);
  CHECK(tested.results().at(0).count("test_loss") == 1);
}

TEST_CASE("optim::AnyOptimizer outside the CLI: chosen by name from hyperparameters") {
  torch::nn::Linear fc(2, 1);
  L::optim::AnyOptimizer opt(fc->parameters(), L::optim::optimizer_args("RMSprop", 0.05));
  CHECK(opt.type_name() == "RMSprop");
  CHECK(opt.param_groups().at(0).options().get_lr() == doctest::Approx(0.05));
  L::optim::AnyScheduler sched(opt, L::optim::SchedulerArgs(L::optim::ExponentialLROptions{.gamma = 0.5}));
  sched.step();
  CHECK(opt.param_groups().at(0).options().get_lr() == doctest::Approx(0.025));
  CHECK_THROWS_WITH_AS(L::optim::optimizer_args("sgdd"), doctest::Contains("known: SGD, Adam"), std::invalid_argument);
}
