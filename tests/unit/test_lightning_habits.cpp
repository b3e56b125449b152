// What a Lightning user expects from the Trainer (issue 17): defaults kept,
// nothing silently wrong, the trainer reachable from the module, Lightning's
// messages.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "recorder.hpp"

namespace {
using namespace test;
namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() / ("lightning_habits_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

/// Collects what Lightning's messages print on std::cerr while it lives.
struct CaptureStderr {
  std::stringstream text;
  std::streambuf* old;
  CaptureStderr() : old(std::cerr.rdbuf(text.rdbuf())) {}
  ~CaptureStderr() { std::cerr.rdbuf(old); }
  std::string str() const { return text.str(); }
};

bool has_files(const fs::path& dir) { return fs::exists(dir) && !fs::is_empty(dir); }

/// Asks to stop at the end of epoch `at`, once (as EarlyStopping would).
struct StopAt {
  int64_t at = 1;
  bool fired = false;
  template <class T, class M>
  void on_train_epoch_end(T& trainer, M&) {
    if (!fired && trainer.current_epoch() == at) {
      trainer.should_stop = true;
      fired = true;
    }
  }
};
}  // namespace

TEST_CASE("a run resumed from a checkpoint saved after an early stop trains on (should_stop is not restored)") {
  TempDir dir;
  auto loader = make_loader(3);
  RecordingModule a;
  L::Trainer<RecordingModule, L::OnlyCallbacks<StopAt>, L::Loggers<>> first({.max_epochs = 10});
  first.fit(a, loader);
  REQUIRE(first.should_stop);
  REQUIRE(first.current_epoch() == 2);  // epochs 0 and 1 ran
  const auto ckpt = dir.path / "stopped.ckpt";
  first.save_checkpoint(ckpt);

  RecordingModule b;
  L::Trainer<RecordingModule, L::OnlyCallbacks<>, L::Loggers<>> second({.max_epochs = 5});
  second.fit(b, loader, {.ckpt_path = ckpt.string()});
  CHECK(second.current_epoch() == 5);
  CHECK(second.global_step() == 5 * 3);
}

TEST_CASE("L::Callbacks<...> keeps Lightning's default callbacks; L::OnlyCallbacks<...> is exactly the list") {
  using WithDefaults = L::Trainer<RecordingModule, L::Callbacks<L::EarlyStopping>>;
  static_assert(WithDefaults::callbacks_type::contains<L::ModelCheckpoint>);
  static_assert(WithDefaults::callbacks_type::contains<L::ProgressBar>);
  static_assert(WithDefaults::callbacks_type::contains<L::ModelSummary>);
  static_assert(WithDefaults::callbacks_type::contains<L::EarlyStopping>);
  using Exact = L::Trainer<RecordingModule, L::OnlyCallbacks<L::EarlyStopping>>;
  static_assert(!Exact::callbacks_type::contains<L::ModelCheckpoint>);
  static_assert(Exact::callbacks_type::size == 1);
  // A listed default is not added twice, and keeps the user's place in the order.
  using Listed = L::Trainer<RecordingModule, L::Callbacks<L::ModelCheckpoint, L::EarlyStopping>>;
  static_assert(Listed::callbacks_type::size == 4);
  static_assert(Listed::callbacks_type::index_of<L::ModelCheckpoint>() == 0);

  auto train = make_loader(3), val = make_loader(2);
  SUBCASE("the ported program writes its checkpoints") {
    TempDir dir;
    RecordingModule model;
    WithDefaults trainer({.max_epochs = 2, .enable_progress_bar = false, .default_root_dir = dir.path.string()},
                         L::EarlyStopping({.monitor = "val_loss", .patience = 5}));
    trainer.fit(model, train, val);
    CHECK(has_files(dir.path / "lightning_logs" / "version_0" / "checkpoints"));
    CHECK(trainer.checkpoint_callback().best_model_path() != "");
  }
  SUBCASE("enable_checkpointing = false: no checkpoint; logger = false: no logs") {
    TempDir dir;
    RecordingModule model;
    WithDefaults trainer({.logger = false, .max_epochs = 1, .enable_checkpointing = false, .enable_progress_bar = false,
                          .enable_model_summary = false, .default_root_dir = dir.path.string()},
                         L::EarlyStopping({.monitor = "val_loss"}));
    trainer.fit(model, train, val);
    CHECK_FALSE(fs::exists(dir.path / "lightning_logs"));
    CHECK_FALSE(fs::exists(dir.path / "checkpoints"));
    CHECK_FALSE(trainer.callbacks().is_on<L::ModelCheckpoint>());
    CHECK(trainer.callbacks().is_on<L::EarlyStopping>());
  }
  SUBCASE("logger = false: checkpoints go to default_root_dir/checkpoints, as Lightning's") {
    TempDir dir;
    RecordingModule model;
    WithDefaults trainer({.logger = false, .max_epochs = 1, .enable_progress_bar = false,
                          .default_root_dir = dir.path.string()},
                         L::EarlyStopping({.monitor = "val_loss"}));
    trainer.fit(model, train, val);
    CHECK_FALSE(fs::exists(dir.path / "lightning_logs"));
    CHECK(has_files(dir.path / "checkpoints"));
  }
  SUBCASE("a listed ModelCheckpoint with enable_checkpointing = false is Lightning's error") {
    using T = L::Trainer<RecordingModule, L::Callbacks<L::ModelCheckpoint>, L::Loggers<>>;
    CHECK_THROWS_WITH_AS(T({.enable_checkpointing = false}),
                         "Trainer was configured with `enable_checkpointing=False` but found `ModelCheckpoint` in "
                         "callbacks list.",
                         std::invalid_argument);
  }
}

TEST_CASE("the Trainer's own callback is the one to read after fit (trainer.checkpoint_callback())") {
  TempDir dir;
  RecordingModule model;
  auto train = make_loader(3), val = make_loader(2);
  L::ModelCheckpoint ckpt({.dirpath = (dir.path / "ck").string(), .monitor = "val_loss"});
  L::Trainer<RecordingModule, L::OnlyCallbacks<L::ModelCheckpoint>, L::Loggers<>> trainer({.max_epochs = 2},
                                                                                          std::move(ckpt));
  trainer.fit(model, train, val);
  CHECK(trainer.checkpoint_callback().best_model_path().find((dir.path / "ck").string()) == 0);
  // Passing `ckpt` without std::move does not compile: tests/fail/callback_lvalue.cpp.
}

namespace {
struct LogsVector : RecordingModule {
  torch::Tensor training_step(const L::Batch& b, int64_t i) {
    auto loss = RecordingModule::training_step(b, i);
    log("per_sample", (forward(b.data) - b.target).pow(2).squeeze(1));  // 4 values: not a scalar
    return loss;
  }
};
}  // namespace

TEST_CASE("log() of a tensor with more than one element fails at the call, naming the key") {
  LogsVector model;
  auto loader = make_loader(2);
  L::BareTrainer<LogsVector> trainer({.max_epochs = 1});
  try {
    trainer.fit(model, loader);
    FAIL("fit should have thrown");
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    CHECK(what.find("log(\"per_sample\", tensor of shape [4])") != std::string::npos);
    CHECK(what.find("must have a single element") != std::string::npos);
    CHECK(what.find(".mean()") != std::string::npos);
  }
}

namespace {
struct NoValidationStep : L::LightningModule<NoValidationStep> {
  torch::nn::Linear layer{nullptr};
  NoValidationStep() : layer(register_module("layer", torch::nn::Linear(2, 1))) {}
  torch::Tensor training_step(const L::Batch& b, int64_t) { return torch::mse_loss(layer(b.data), b.target); }
  void validation_stp(const L::Batch&, int64_t) {}  // misspelled: not a hook
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
};
}  // namespace

TEST_CASE("fit with a val loader but no validation_step warns as Lightning does") {
  NoValidationStep model;
  auto train = make_loader(2), val = make_loader(2);
  L::BareTrainer<NoValidationStep> trainer({.max_epochs = 1});
  CaptureStderr err;
  trainer.fit(model, train, val);
  CHECK(err.str().find("You passed in a `val_dataloader` but have no `validation_step`. Skipping val loop.") !=
        std::string::npos);
}

namespace {
struct ManualOne : L::LightningModule<ManualOne> {
  static constexpr bool automatic_optimization = false;
  torch::nn::Linear layer{nullptr};
  ManualOne() : layer(register_module("layer", torch::nn::Linear(2, 1))) {}
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
  void training_step(const L::Batch& b, int64_t) {
    auto opt = optimizers();
    opt.zero_grad();
    manual_backward(torch::mse_loss(layer(b.data), b.target));
    opt.step();
  }
};
}  // namespace

TEST_CASE("manual optimization refuses gradient_clip_val and accumulate_grad_batches, as Lightning") {
  ManualOne model;
  auto loader = make_loader(2);
  {
    L::BareTrainer<ManualOne> trainer({.max_epochs = 1, .gradient_clip_val = 0.5});
    CHECK_THROWS_WITH_AS(trainer.fit(model, loader),
                         doctest::Contains("Automatic gradient clipping is not supported for manual optimization. "
                                           "Remove `Trainer(gradient_clip_val=0.5)`"),
                         std::invalid_argument);
  }
  {
    L::BareTrainer<ManualOne> trainer({.max_epochs = 1, .accumulate_grad_batches = 2});
    CHECK_THROWS_WITH_AS(trainer.fit(model, loader),
                         doctest::Contains("Automatic gradient accumulation is not supported for manual optimization"),
                         std::invalid_argument);
  }
}

TEST_CASE("an empty training loader: fit stops with Lightning's message, no error") {
  RecordingModule model;
  auto x = torch::randn({0, 2});
  L::data::TensorLoader empty({x, x.sum(1, true)}, {.batch_size = 4});
  L::BareTrainer<RecordingModule> trainer({.max_epochs = 2});
  CaptureStderr err;
  trainer.fit(model, empty);
  CHECK(err.str().find("`Trainer.fit` stopped: No training batches.") != std::string::npos);
  CHECK(trainer.global_step() == 0);
}

namespace {
struct WithScheduler : RecordingModule {
  torch::Tensor training_step(const L::Batch& b, int64_t i) {
    auto loss = RecordingModule::training_step(b, i);
    log("loss", 1.0);
    return loss;
  }
  auto configure_optimizers() {
    torch::optim::SGD opt(parameters(), torch::optim::SGDOptions(0.1));
    L::optim::StepLR sched(opt, {.step_size = 1, .gamma = 0.5});
    return std::pair{std::move(opt), std::move(sched)};
  }
};
std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("metrics.csv: LearningRateMonitor's rows leave epoch empty, as Lightning's") {
  TempDir dir;
  WithScheduler model;
  auto loader = make_loader(2);
  L::Trainer<WithScheduler, L::OnlyCallbacks<L::LearningRateMonitor>, L::Loggers<L::CSVLogger>> trainer(
      {.max_epochs = 2, .log_every_n_steps = 1}, L::CSVLogger({.save_dir = dir.path.string()}));
  trainer.fit(model, loader);
  const auto csv = read_text(dir.path / "lightning_logs" / "version_0" / "metrics.csv");
  INFO(csv);
  // Columns are sorted: epoch, loss, lr-SGD, step. An lr row is ",,<lr>,<step>", a step row "<epoch>,1.0,,<step>".
  CHECK(csv.rfind("epoch,loss,lr-SGD,step\r\n", 0) == 0);
  CHECK(csv.find("\r\n,,0.1,0\r\n") != std::string::npos);
  CHECK(csv.find("\r\n,,0.05,2\r\n") != std::string::npos);
  CHECK(csv.find("\r\n1,1.0,,2\r\n") != std::string::npos);
}

TEST_CASE("a module without hyperparameters writes no hparams_name or hyper_parameters, as Lightning") {
  RecordingModule model;
  auto loader = make_loader(2);
  L::BareTrainer<RecordingModule> trainer({.max_epochs = 1});
  trainer.fit(model, loader);
  const auto ckpt = trainer.dump_checkpoint();
  CHECK_FALSE(ckpt.contains("hparams_name"));
  CHECK_FALSE(ckpt.contains("hyper_parameters"));
  CHECK(ckpt.contains("state_dict"));
}

TEST_CASE("fit() twice continues from the reached state: a no-op at max_epochs, with Lightning's message") {
  RecordingModule model;
  auto loader = make_loader(3);
  L::BareTrainer<RecordingModule> trainer({.max_epochs = 2});
  {
    CaptureStderr err;
    trainer.fit(model, loader);
    CHECK(err.str().find("`Trainer.fit` stopped: `max_epochs=2` reached.") != std::string::npos);
  }
  const auto w = model.layer->weight.clone();
  CaptureStderr err;
  trainer.fit(model, loader);
  CHECK(trainer.current_epoch() == 2);
  CHECK(trainer.global_step() == 6);
  CHECK(torch::equal(model.layer->weight, w));
  CHECK(err.str().find("`Trainer.fit` stopped: `max_epochs=2` reached.") != std::string::npos);
}

namespace {
struct ReadsTrainer : RecordingModule {
  int64_t stepping_batches = -1, max_epochs = -1, world_size = -1;
  bool global_zero = false, saw_sanity = false;
  std::string log_dir;
  auto configure_optimizers() {
    stepping_batches = trainer().estimated_stepping_batches();  // OneCycleLR's total_steps
    return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1));
  }
  void validation_step(const L::Batch& b, int64_t i) {
    if (trainer().sanity_checking()) saw_sanity = true;
    RecordingModule::validation_step(b, i);
  }
  torch::Tensor training_step(const L::Batch& b, int64_t i) {
    auto t = trainer();
    max_epochs = t.max_epochs();
    world_size = t.world_size();
    global_zero = t.is_global_zero();
    log_dir = t.log_dir();
    return RecordingModule::training_step(b, i);
  }
};
}  // namespace

TEST_CASE("module.trainer(): Lightning's self.trainer, read-only") {
  TempDir dir;
  ReadsTrainer model;
  auto train = make_loader(5), val = make_loader(2);
  L::Trainer<ReadsTrainer, L::OnlyCallbacks<>, L::Loggers<L::CSVLogger>> trainer(
      {.max_epochs = 3, .accumulate_grad_batches = 2}, L::CSVLogger({.save_dir = dir.path.string()}));
  trainer.fit(model, train, val);
  CHECK(model.stepping_batches == 9);  // ceil(5 / 2) * 3
  CHECK(model.max_epochs == 3);
  CHECK(model.world_size == 1);
  CHECK(model.global_zero);
  CHECK(model.saw_sanity);
  CHECK(model.log_dir == (dir.path / "lightning_logs" / "version_0").string());
  CHECK_THROWS_AS(model.trainer(), std::logic_error);  // no Trainer runs it now
}

TEST_CASE("metrics are callable as torchmetrics': acc(preds, target) updates and returns the batch's value") {
  L::metrics::Accuracy acc({.num_classes = 3});
  const auto target = torch::tensor({0, 1, 2, 0});
  const auto three_right = torch::tensor({0, 1, 2, 1});
  const auto one_right = torch::tensor({0, 0, 0, 1});
  CHECK(acc(three_right, target).item<double>() == doctest::Approx(0.75));
  CHECK(acc(one_right, target).item<double>() == doctest::Approx(0.25));
  CHECK(acc.compute().item<double>() == doctest::Approx(0.5));  // both batches
  L::metrics::MeanMetric mean;
  CHECK(mean(torch::tensor({1.0, 3.0})).item<double>() == doctest::Approx(2.0));
  CHECK(mean(torch::tensor({10.0})).item<double>() == doctest::Approx(10.0));
  CHECK(mean.compute().item<double>() == doctest::Approx(14.0 / 3));
}

TEST_CASE("random_split: PyTorch's split of the same seed, by counts or fractions") {
  auto x = torch::arange(10).unsqueeze(1).to(torch::kFloat), y = torch::arange(10);
  auto pieces = L::data::random_split({x, y}, {6, 4}, 42);
  REQUIRE(pieces.size() == 2);
  CHECK(pieces[0][0].size(0) == 6);
  CHECK(pieces[1][1].size(0) == 4);
  CHECK(torch::equal(pieces[0][0].squeeze(1).to(torch::kLong), pieces[0][1]));  // rows stay together
  auto all = torch::cat({pieces[0][1], pieces[1][1]});
  CHECK(torch::equal(std::get<0>(all.sort()), torch::arange(10)));
  CHECK(L::data::random_split({x, y}, {0.7, 0.3}, 42)[0][1].size(0) == 7);
  CHECK_THROWS_WITH_AS(L::data::random_split({x, y}, {6, 5}, 42),
                       "Sum of input lengths (11) does not equal the length of the input dataset (10)!",
                       std::invalid_argument);
  // The same indices as torch.utils.data.random_split with torch.Generator().manual_seed(42).
  const char* python = "/usr/bin/python3";
  if (!std::filesystem::exists(python)) {
    MESSAGE("skipped the comparison with PyTorch: no /usr/bin/python3");
    return;
  }
  const std::string cmd = std::string(python) +
                          " -c \"import torch; from torch.utils.data import random_split; "
                          "a, b = random_split(range(10), [6, 4], generator=torch.Generator().manual_seed(42)); "
                          "print(' '.join(map(str, list(a) + list(b))))\" 2>/dev/null";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    if (::pclose(p) != 0) out.clear();
  }
  if (out.empty()) {
    MESSAGE("skipped the comparison with PyTorch: python3-torch is not installed");
    return;
  }
  std::string mine;
  for (const auto& piece : pieces)
    for (int64_t i = 0; i < piece[1].size(0); ++i) mine += (mine.empty() ? "" : " ") + std::to_string(piece[1][i].item<int64_t>());
  CHECK(mine + "\n" == out);
}

TEST_CASE("accelerator and devices take Lightning's strings, with an error naming the valid ones") {
  L::TrainerOptions o{.accelerator = "cpu", .devices = "auto"};
  CHECK(o.accelerator == L::Accelerator::cpu);
  CHECK(o.devices == 1);
  CHECK(o.devices.is_auto());
  CHECK_THROWS_WITH_AS(L::TrainerOptions{.accelerator = "tpu"},
                       "You selected an invalid accelerator name: `accelerator='tpu'`. Available names are: auto, cpu, "
                       "cuda, gpu.",
                       std::invalid_argument);
  CHECK_THROWS_AS(L::TrainerOptions{.devices = "all"}, std::invalid_argument);
  RecordingModule model;
  auto loader = make_loader(2);
  L::BareTrainer<RecordingModule> trainer({.accelerator = "auto", .devices = "auto", .max_epochs = 1});
  trainer.fit(model, loader);
  CHECK(trainer.global_step() == 2);
}
