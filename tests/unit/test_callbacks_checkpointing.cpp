// ModelCheckpoint and EarlyStopping: their decisions (file names, top-k,
// triggers, stopping rules, messages, state) against Lightning 2.2's, first
// driven by a small stand-in for the Trainer so each rule is tested on its
// own, then end to end with the Trainer (files written, stopping epoch, resume).
#include <torch/torch.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <lightning/callbacks/early_stopping.hpp>
#include <lightning/callbacks/model_checkpoint.hpp>
#include <lightning/trainer_options.hpp>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "recorder.hpp"

namespace test_checkpointing {
namespace L = lightning;
namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("lightning_ckpt_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

/// What the callbacks read from a Trainer, set by hand; save_checkpoint writes a small file.
struct FakeTrainer {
  std::map<std::string, torch::Tensor> metrics;
  int64_t epoch = 0, step = 0;
  bool sanity = false;
  int64_t fdr = 0;
  bool should_stop = false;
  bool global_zero = true;
  int64_t val_batches = 0;
  L::TrainerOptions opts{};
  L::Stage fn = L::Stage::fit;
  fs::path root;
  std::vector<std::string> saved;
  int64_t save_calls = 0;
  L::strategy::Single single;  // one process: every collective the identity
  fs::path resumed_from;

  L::strategy::Single& strategy() { return single; }
  const fs::path& ckpt_path() const { return resumed_from; }

  const std::map<std::string, torch::Tensor>& callback_metrics() { return metrics; }
  int64_t current_epoch() const { return epoch; }
  int64_t global_step() const { return step; }
  bool sanity_checking() const { return sanity; }
  int64_t fast_dev_run() const { return fdr; }
  bool is_global_zero() const { return global_zero; }
  int64_t world_size() const { return 1; }
  int64_t global_rank() const { return 0; }
  int64_t num_val_batches() const { return val_batches; }
  const L::TrainerOptions& options() const { return opts; }
  L::Stage stage() const { return fn; }
  fs::path default_checkpoint_dir() const { return root / "checkpoints"; }
  /// Like the Trainer's: every rank calls it, rank 0 writes.
  void save_checkpoint(const fs::path& p, bool weights_only) {
    ++save_calls;
    if (!global_zero) return;
    fs::create_directories(p.parent_path());
    // Starts as a torch.save archive does: ModelCheckpoint deletes nothing else.
    std::ofstream(p) << "PK\x03\x04 step=" << step << (weights_only ? " weights" : "");
    saved.push_back(p.string());
  }
  void log(const std::string& k, double v) { metrics[k] = torch::tensor(static_cast<float>(v)); }
};

struct NoModule {};
struct NoOutput {};

/// The names of the files under `dir` (recursively, relative), sorted.
inline std::vector<std::string> files(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string name_of(const std::string& path) { return fs::path(path).filename().string(); }

/// One training epoch as the Trainer runs it with validation once per epoch:
/// `steps` optimizer steps, then `val_loss` logged, then on_train_epoch_end.
inline void epoch_end(FakeTrainer& t, L::ModelCheckpoint& cb, std::optional<double> val_loss, int64_t steps = 1) {
  NoModule m;
  t.step += steps;
  if (val_loss) t.log("val_loss", *val_loss);
  cb.on_train_epoch_end(t, m);
  ++t.epoch;
}

inline FakeTrainer trainer_in(const TempDir& d) {
  FakeTrainer t;
  t.root = d.path;
  return t;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace test_checkpointing

using namespace test_checkpointing;

// ---------------------------------------------------------------- Python formatting

TEST_CASE("Python formatting helpers match CPython") {
  using namespace lightning::detail;

  CHECK(py_format_int(1, "02.0f") == "01");
  CHECK(py_format_float(1.12, "02.0f") == "01");
  CHECK(py_format_float(5.0, ".1") == "5e+00");
  CHECK(py_format_float(123.0, ".3") == "1.23e+02");
  CHECK(py_format_float(12.0, ".3") == "12.0");
  CHECK(py_format_float(0.5, ".2") == "0.5");
  CHECK(py_format_int(1234567, ",") == "1,234,567");
  CHECK(py_format_int(-3, "05d") == "-0003");
  CHECK(py_format_float(3.14159, "+.2f") == "+3.14");
  CHECK(py_format_int(3, "x<5") == "3xxxx");
  CHECK(py_format_int(3, "^5") == "  3  ");
  CHECK(py_format_float(0.5, "0.5f") == "0.50000");
  CHECK(py_format_float(static_cast<double>(0.03f), "") == "0.029999999329447746");
  CHECK(error_of([] { py_format_float(0.5, "d"); }) == "Unknown format code 'd' for object of type 'float'");

  CHECK(py_str_repr("it's") == "\"it's\"");
  CHECK(py_str_repr("a\"b") == "'a\"b'");
  CHECK(py_str_repr("a'b\"c") == "'a\\'b\"c'");

  using namespace std::chrono_literals;
  CHECK(PyTimedelta(3600s).repr() == "datetime.timedelta(seconds=3600)");
  CHECK(PyTimedelta(3600s).str() == "1:00:00");
  CHECK(PyTimedelta(std::chrono::duration<double>(86400 + 5 + 10e-6)).repr() ==
        "datetime.timedelta(days=1, seconds=5, microseconds=10)");
  CHECK(PyTimedelta(std::chrono::duration<double>(2 * 86400 + 1.5)).str() == "2 days, 0:00:01.500000");
  CHECK(PyTimedelta(0s).repr() == "datetime.timedelta(0)");
}

// ---------------------------------------------------------------- file names

TEST_CASE("ModelCheckpoint.format_checkpoint_name: Lightning's documented examples") {
  using M = std::map<std::string, L::detail::PyNumber>;
  auto name = [](L::ModelCheckpoint::Options o, const M& m, const std::string& f = {}, std::optional<int64_t> v = {}) {
    return L::ModelCheckpoint(std::move(o)).format_checkpoint_name(m, f, v);
  };
  // The docstring of format_checkpoint_name.
  CHECK(name({.filename = "{epoch}"}, {{"epoch", 0}}) == "epoch=0.ckpt");
  CHECK(name({.filename = "{epoch:03d}"}, {{"epoch", 5}}) == "epoch=005.ckpt");
  CHECK(name({.filename = "{epoch}-{val_loss:.2f}"}, {{"epoch", 2}, {"val_loss", 0.123456}}) == "epoch=2-val_loss=0.12.ckpt");
  CHECK(name({.filename = "{epoch}-{val_loss:.2f}"}, {{"epoch", 2}, {"val_loss", 0.12}}, "{epoch:d}") == "epoch=2.ckpt");
  CHECK(name({.filename = "epoch={epoch}-validation_loss={val_loss:.2f}", .auto_insert_metric_name = false},
             {{"epoch", 2}, {"val_loss", 0.123456}}) == "epoch=2-validation_loss=0.12.ckpt");
  CHECK(name({.filename = "{missing:d}"}, {}) == "missing=0.ckpt");
  CHECK(name({.filename = "{step}"}, {{"step", 0}}) == "step=0.ckpt");
  // The semantics page.
  CHECK(name({}, {{"epoch", 0}, {"step", 5}}) == "epoch=0-step=5.ckpt");
  CHECK(name({.filename = "{epoch}-{val_loss:.2f}"}, {{"epoch", 0}, {"val_loss", 1.0}}) == "epoch=0-val_loss=1.00.ckpt");
  CHECK(name({.filename = "e{epoch:02d}_v{val_loss:.3f}", .auto_insert_metric_name = false},
             {{"epoch", 0}, {"val_loss", 1.0}}) == "e00_v1.000.ckpt");
  // The class docstring and Lightning's tests.
  CHECK(name({.filename = "checkpoint_{epoch:02d}-{acc:02.0f}"}, {{"epoch", 1}, {"acc", 1.12}}) ==
        "checkpoint_epoch=01-acc=01.ckpt");
  CHECK(name({.filename = "sample-mnist-epoch{epoch:02d}-val_loss{val/loss:.2f}", .auto_insert_metric_name = false},
             {{"epoch", 2}, {"val/loss", 0.32}}) == "sample-mnist-epoch02-val_loss0.32.ckpt");
  CHECK(name({.filename = "{epoch:03d}-{acc}"}, {{"epoch", 3}, {"acc", 0.03}}) == "epoch=003-acc=0.03.ckpt");
  CHECK(name({.filename = "{epoch:03d}-{epoch_test:03d}"}, {{"epoch", 3}, {"epoch_test", 3}}) ==
        "epoch=003-epoch_test=003.ckpt");
  CHECK(name({.filename = "epoch={epoch:03d}-val_acc={val/acc}", .auto_insert_metric_name = false},
             {{"epoch", 3}, {"val/acc", 0.03}}) == "epoch=003-val_acc=0.03.ckpt");
  CHECK(name({.filename = "mAP@0.50={val/mAP@0.50:.4f}", .auto_insert_metric_name = false}, {{"val/mAP@0.50", 0.2}}) ==
        "mAP@0.50=0.2000.ckpt");
  CHECK(name({.filename = "ckpt"}, {}) == "ckpt.ckpt");
  // A '/' in a metric name with auto_insert_metric_name makes a folder, as in Lightning.
  CHECK(name({.filename = "{val/loss:.2f}"}, {{"val/loss", 0.32}}) == "val/loss=0.32.ckpt");
  // Versions, literal braces, and the directory.
  CHECK(name({}, {{"epoch", 1}, {"step", 2}}, {}, 1) == "epoch=1-step=2-v1.ckpt");
  CHECK(name({.filename = "{epoch}-{epoch}"}, {{"epoch", 1}}) == "epoch=1-epoch=1.ckpt");
  // Lightning's regex turns "{{x}}" into a broken field; Python's format then fails, and so does this.
  CHECK_THROWS_AS(name({.filename = "{{x}}-{epoch}"}, {{"epoch", 1}}), std::invalid_argument);
  TempDir d;
  CHECK(name({.dirpath = d.path, .filename = "{epoch}"}, {{"epoch", 4}}) == (fs::canonical(d.path) / "epoch=4.ckpt").string());
}

TEST_CASE("ModelCheckpoint: option checks with Lightning's messages") {
  using namespace std::chrono_literals;
  CHECK(error_of([] { L::ModelCheckpoint({.every_n_train_steps = 5, .every_n_epochs = 2}); }) ==
        "Combination of parameters every_n_train_steps=5, every_n_epochs=2 and train_time_interval=None should be "
        "mutually exclusive.");
  CHECK(error_of([] { L::ModelCheckpoint({.train_time_interval = 3600s, .every_n_epochs = 1}); }) ==
        "Combination of parameters every_n_train_steps=0, every_n_epochs=1 and train_time_interval=1:00:00 should "
        "be mutually exclusive.");
  CHECK_THROWS_AS(L::ModelCheckpoint({.every_n_train_steps = 5, .every_n_epochs = 2}), std::invalid_argument);
  CHECK(error_of([] { L::ModelCheckpoint({.save_top_k = -2}); }) == "Invalid value for save_top_k=-2. Must be >= -1");
  CHECK(error_of([] { L::ModelCheckpoint({.save_top_k = 3}); }) ==
        "ModelCheckpoint(save_top_k=3, monitor=None) is not a valid configuration. No quantity for top_k to track.");
  CHECK(error_of([] { L::ModelCheckpoint({.every_n_train_steps = -1}); }) ==
        "Invalid value for every_n_train_steps=-1. Must be >= 0");
  CHECK(error_of([] { L::ModelCheckpoint({.every_n_epochs = -1}); }) == "Invalid value for every_n_epochs=-1. Must be >= 0");
  CHECK_NOTHROW(L::ModelCheckpoint({.monitor = "val_loss", .save_top_k = 3}));
  // Triggers: once per epoch by default; another trigger turns the epoch one off.
  CHECK(L::ModelCheckpoint().every_n_epochs() == 1);
  CHECK(L::ModelCheckpoint({.every_n_train_steps = 3}).every_n_epochs() == 0);
  CHECK(L::ModelCheckpoint({.train_time_interval = 10s}).every_n_epochs() == 0);
}

TEST_CASE("ModelCheckpoint and EarlyStopping state keys are Lightning's") {
  using namespace std::chrono_literals;
  CHECK(L::ModelCheckpoint({.monitor = "val_loss"}).state_key() ==
        "ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min', 'every_n_train_steps': 0, 'every_n_epochs': 1, "
        "'train_time_interval': None}");
  CHECK(L::ModelCheckpoint({.mode = L::Mode::max, .train_time_interval = 90s}).state_key() ==
        "ModelCheckpoint{'monitor': None, 'mode': 'max', 'every_n_train_steps': 0, 'every_n_epochs': 0, "
        "'train_time_interval': datetime.timedelta(seconds=90)}");
  CHECK(L::EarlyStopping({.monitor = "val_loss"}).state_key() == "EarlyStopping{'monitor': 'val_loss', 'mode': 'min'}");
  CHECK(L::EarlyStopping({.monitor = "acc", .mode = L::Mode::max}).state_key() ==
        "EarlyStopping{'monitor': 'acc', 'mode': 'max'}");
  CHECK(L::to_string(L::Mode::max) == "max");
}

// ---------------------------------------------------------------- saving

TEST_CASE("ModelCheckpoint: the default directory comes from the trainer; default names count steps after the epoch") {
  TempDir d;
  auto t = trainer_in(d);
  NoModule m;
  L::ModelCheckpoint cb;
  cb.setup(t, m, L::Stage::fit);
  REQUIRE(cb.dirpath().has_value());
  CHECK(*cb.dirpath() == d.path / "checkpoints");
  epoch_end(t, cb, std::nullopt, 3);
  epoch_end(t, cb, std::nullopt, 3);
  // No monitor, save_top_k = 1: only the latest is kept.
  CHECK(files(d.path / "checkpoints") == std::vector<std::string>{"epoch=1-step=6.ckpt"});
  CHECK(name_of(cb.best_model_path()) == "epoch=1-step=6.ckpt");
  CHECK_FALSE(cb.best_model_score().has_value());
  CHECK(t.saved.size() == 2);
}

TEST_CASE("ModelCheckpoint: top-k keeps the k best, deletes the one that falls out, and ties keep the first") {
  TempDir d;
  auto t = trainer_in(d);
  NoModule m;
  L::ModelCheckpoint cb({.dirpath = d.path, .filename = "{epoch}", .monitor = "val_loss", .save_top_k = 2});
  cb.setup(t, m, L::Stage::fit);
  auto names = [&] { return files(d.path); };
  using V = std::vector<std::string>;

  epoch_end(t, cb, 0.5);
  epoch_end(t, cb, 0.4);
  CHECK(names() == V{"epoch=0.ckpt", "epoch=1.ckpt"});
  CHECK(name_of(cb.kth_best_model_path()) == "epoch=0.ckpt");
  CHECK(cb.kth_value() == doctest::Approx(0.5));
  epoch_end(t, cb, 0.45);  // better than the worst kept (0.5): replaces it
  CHECK(names() == V{"epoch=1.ckpt", "epoch=2.ckpt"});
  epoch_end(t, cb, 0.45);  // a tie with the worst kept is not better
  CHECK(names() == V{"epoch=1.ckpt", "epoch=2.ckpt"});
  CHECK(t.saved.size() == 3);
  epoch_end(t, cb, 0.4);  // replaces epoch 2; epochs 1 and 4 now tie at 0.4
  CHECK(names() == V{"epoch=1.ckpt", "epoch=4.ckpt"});
  CHECK(name_of(cb.kth_best_model_path()) == "epoch=1.ckpt");  // the first inserted of the tied
  CHECK(name_of(cb.best_model_path()) == "epoch=1.ckpt");
  epoch_end(t, cb, 0.39);  // the kth (epoch 1) goes
  CHECK(names() == V{"epoch=4.ckpt", "epoch=5.ckpt"});
  CHECK(name_of(cb.best_model_path()) == "epoch=5.ckpt");
  CHECK(*cb.best_model_score() == doctest::Approx(0.39));
  CHECK(*cb.current_score() == doctest::Approx(0.39));
  CHECK(name_of(cb.kth_best_model_path()) == "epoch=4.ckpt");
  const auto best_k = cb.best_k_models();
  CHECK(best_k.size() == 2);
  CHECK(best_k.at((fs::canonical(d.path) / "epoch=4.ckpt").string()) == doctest::Approx(0.4));
}

TEST_CASE("ModelCheckpoint: mode max keeps the largest; NaN is kept as the worst value") {
  TempDir d;
  auto t = trainer_in(d);
  L::ModelCheckpoint cb(
      {.dirpath = d.path, .filename = "{epoch}", .monitor = "val_loss", .save_top_k = 2, .mode = L::Mode::max});
  NoModule m;
  cb.setup(t, m, L::Stage::fit);
  epoch_end(t, cb, std::nan(""));  // fewer than k kept: saved, as -inf
  CHECK(*cb.current_score() == -std::numeric_limits<double>::infinity());
  epoch_end(t, cb, 0.5);
  epoch_end(t, cb, 0.7);
  epoch_end(t, cb, 0.6);
  CHECK(files(d.path) == std::vector<std::string>{"epoch=2.ckpt", "epoch=3.ckpt"});
  CHECK(name_of(cb.best_model_path()) == "epoch=2.ckpt");
  CHECK(cb.kth_value() == doctest::Approx(0.6));
}

TEST_CASE("ModelCheckpoint: save_top_k 0 saves nothing, -1 keeps every checkpoint") {
  TempDir d;
  auto t = trainer_in(d);
  NoModule m;
  L::ModelCheckpoint none({.dirpath = d.path / "none", .monitor = "val_loss", .save_top_k = 0});
  L::ModelCheckpoint all({.dirpath = d.path / "all", .filename = "{epoch}", .monitor = "val_loss", .save_top_k = -1});
  L::ModelCheckpoint all_unmonitored({.dirpath = d.path / "plain", .save_top_k = -1});
  for (double v : {0.3, 0.5, 0.1}) {
    t.step += 1;
    t.log("val_loss", v);
    none.on_train_epoch_end(t, m);
    all.on_train_epoch_end(t, m);
    all_unmonitored.on_train_epoch_end(t, m);
    ++t.epoch;
  }
  CHECK(files(d.path / "none").empty());
  CHECK(none.best_model_path().empty());
  CHECK(files(d.path / "all") == std::vector<std::string>{"epoch=0.ckpt", "epoch=1.ckpt", "epoch=2.ckpt"});
  CHECK(name_of(all.best_model_path()) == "epoch=2.ckpt");
  CHECK(all.best_k_models().size() == 3);
  CHECK(files(d.path / "plain") ==
        std::vector<std::string>{"epoch=0-step=1.ckpt", "epoch=1-step=2.ckpt", "epoch=2-step=3.ckpt"});
}

TEST_CASE("ModelCheckpoint: a name clash gets -v1, -v2 (unless the version counter is off)") {
  TempDir d;
  auto t = trainer_in(d);
  NoModule m;
  NoOutput out;
  auto make = [&](const char* sub, bool counter, const char* monitor) {
    return L::ModelCheckpoint({.dirpath = d.path / sub,
                               .filename = "{epoch}",
                               .monitor = monitor,
                               .save_top_k = -1,
                               .every_n_train_steps = 1,
                               .enable_version_counter = counter});
  };
  auto versioned = make("a", true, "val_loss");
  auto overwrite = make("b", false, "val_loss");
  // Without a monitor the latest path is reused: the file is overwritten, as in Lightning.
  auto unmonitored = make("c", true, "");
  for (int i = 0; i < 3; ++i) {
    ++t.step;
    t.log("val_loss", 1.0 - 0.1 * i);
    versioned.on_train_batch_end(t, m, out, out, i);
    overwrite.on_train_batch_end(t, m, out, out, i);
    unmonitored.on_train_batch_end(t, m, out, out, i);
  }
  CHECK(files(d.path / "a") == std::vector<std::string>{"epoch=0-v1.ckpt", "epoch=0-v2.ckpt", "epoch=0.ckpt"});
  CHECK(versioned.best_k_models().size() == 3);
  CHECK(name_of(versioned.best_model_path()) == "epoch=0-v2.ckpt");
  CHECK(files(d.path / "b") == std::vector<std::string>{"epoch=0.ckpt"});
  CHECK(overwrite.best_k_models().size() == 1);
  CHECK(*overwrite.best_model_score() == doctest::Approx(0.8));
  CHECK(files(d.path / "c") == std::vector<std::string>{"epoch=0.ckpt"});
  CHECK(t.saved.size() == 9);
}

TEST_CASE("ModelCheckpoint: save_last writes last.ckpt with every save, and respects an existing one") {
  TempDir d;
  auto t = trainer_in(d);
  NoModule m;
  // A last.ckpt from an earlier run is left alone: this run's is last-v1.
  fs::create_directories(d.path / "run");
  std::ofstream(d.path / "run" / "last.ckpt") << "old";
  L::ModelCheckpoint cb({.dirpath = d.path / "run", .filename = "{epoch}", .monitor = "val_loss", .save_last = true});
  cb.setup(t, m, L::Stage::fit);
  epoch_end(t, cb, 0.5);
  epoch_end(t, cb, 0.6);  // not in the top 1, but last is still written
  CHECK(files(d.path / "run") == std::vector<std::string>{"epoch=0.ckpt", "last-v1.ckpt", "last.ckpt"});
  CHECK(name_of(cb.last_model_path()) == "last-v1.ckpt");
  CHECK(t.saved.size() == 3);
  std::ifstream f(d.path / "run" / "last-v1.ckpt");
  std::string content;
  std::getline(f, content);
  CHECK(content == std::string("PK\x03\x04 step=2"));

  L::ModelCheckpoint only_last({.dirpath = d.path / "k0", .save_last = true, .save_top_k = 0});
  epoch_end(t, only_last, 0.1);
  CHECK(files(d.path / "k0") == std::vector<std::string>{"last.ckpt"});
}

TEST_CASE("ModelCheckpoint: every_n_train_steps saves on those steps only, never twice for one step") {
  TempDir d;
  auto t = trainer_in(d);
  NoModule m;
  NoOutput out;
  L::ModelCheckpoint cb({.dirpath = d.path, .save_top_k = -1, .every_n_train_steps = 2});
  cb.on_train_batch_end(t, m, out, out, 0);  // step 0: nothing trained yet
  for (int i = 0; i < 5; ++i) {
    ++t.step;
    cb.on_train_batch_end(t, m, out, out, i);
    cb.on_train_batch_end(t, m, out, out, i);  // same step again: skipped
  }
  cb.on_train_epoch_end(t, m);  // every_n_epochs is 0 with a step trigger
  CHECK(files(d.path) == std::vector<std::string>{"epoch=0-step=2.ckpt", "epoch=0-step=4.ckpt"});
}

TEST_CASE("ModelCheckpoint: train_time_interval saves at the first step after the interval has passed") {
  using namespace std::chrono_literals;
  TempDir d;
  auto t = trainer_in(d);
  NoModule m;
  NoOutput out;
  L::ModelCheckpoint soon({.dirpath = d.path / "soon", .save_top_k = -1, .train_time_interval = 1us});
  L::ModelCheckpoint late({.dirpath = d.path / "late", .save_top_k = -1, .train_time_interval = 1h});
  t.step = 1;
  soon.on_train_batch_end(t, m, out, out, 0);  // before on_train_start: no time checked yet
  soon.on_train_start(t, m);
  late.on_train_start(t, m);
  std::this_thread::sleep_for(2ms);
  t.step = 2;
  soon.on_train_batch_end(t, m, out, out, 1);
  late.on_train_batch_end(t, m, out, out, 1);
  soon.on_train_epoch_end(t, m);  // every_n_epochs is 0 with a time trigger
  CHECK(files(d.path / "soon") == std::vector<std::string>{"epoch=0-step=2.ckpt"});
  CHECK(files(d.path / "late").empty());
}

TEST_CASE("ModelCheckpoint: every_n_epochs, and no saving in the sanity check, fast_dev_run, other stages or off rank 0") {
  TempDir d;
  auto t = trainer_in(d);
  L::ModelCheckpoint cb({.dirpath = d.path, .save_top_k = -1, .every_n_epochs = 2});
  for (int e = 0; e < 4; ++e) epoch_end(t, cb, std::nullopt);
  CHECK(files(d.path) == std::vector<std::string>{"epoch=1-step=2.ckpt", "epoch=3-step=4.ckpt"});

  TempDir d2;
  auto t2 = trainer_in(d2);
  L::ModelCheckpoint cb2({.dirpath = d2.path, .save_top_k = -1});
  t2.sanity = true;
  epoch_end(t2, cb2, std::nullopt);
  t2.sanity = false;
  t2.fdr = 1;
  epoch_end(t2, cb2, std::nullopt);
  t2.fdr = 0;
  t2.fn = L::Stage::validate;
  epoch_end(t2, cb2, std::nullopt);
  t2.fn = L::Stage::fit;
  t2.global_zero = false;
  epoch_end(t2, cb2, std::nullopt);
  CHECK(files(d2.path).empty());
  CHECK(t2.save_calls == 1);  // only off rank 0, where the Trainer writes nothing
  CHECK(name_of(cb2.best_model_path()) == "epoch=3-step=4.ckpt");  // the bookkeeping runs on every rank
}

TEST_CASE("ModelCheckpoint: with validation several times an epoch it saves after validation") {
  TempDir d;
  auto t = trainer_in(d);
  NoModule m;
  t.val_batches = 2;
  t.opts.val_check_interval = 0.5;
  L::ModelCheckpoint cb({.dirpath = d.path, .save_top_k = -1});
  t.step = 1;
  cb.on_train_epoch_end(t, m);
  CHECK(files(d.path).empty());
  cb.on_validation_end(t, m);
  CHECK(files(d.path) == std::vector<std::string>{"epoch=0-step=1.ckpt"});
  // Without validation, on train epoch end whatever val_check_interval says.
  t.val_batches = 0;
  t.step = 2;
  cb.on_validation_end(t, m);
  cb.on_train_epoch_end(t, m);
  CHECK(files(d.path).size() == 2);
  // check_val_every_n_epoch != 1: after validation.
  t.opts.check_val_every_n_epoch = 2;
  t.step = 3;
  cb.on_train_epoch_end(t, m);
  CHECK(files(d.path).size() == 2);
}

TEST_CASE("ModelCheckpoint: a monitored key never logged is an error once validation has run") {
  TempDir d;
  auto t = trainer_in(d);
  NoModule m;
  NoOutput out;
  t.log("b", 1.0);
  t.log("a", 2.0);
  L::ModelCheckpoint cb({.dirpath = d.path, .monitor = "val_loss"});
  // Before any validation batch: only a warning, and nothing saved.
  t.step = 1;
  CHECK_NOTHROW(cb.on_train_epoch_end(t, m));
  CHECK(files(d.path).empty());
  // A sanity-check batch does not count as validation having run.
  t.sanity = true;
  cb.on_validation_start(t, m);
  cb.on_validation_batch_end(t, m, out, out, 0);
  t.sanity = false;
  t.step = 2;
  CHECK_NOTHROW(cb.on_train_epoch_end(t, m));
  cb.on_validation_start(t, m);
  cb.on_validation_batch_end(t, m, out, out, 0);
  t.step = 3;
  CHECK(error_of([&] { cb.on_train_epoch_end(t, m); }) ==
        "`ModelCheckpoint(monitor='val_loss')` could not find the monitored key in the returned metrics: "
        "['a', 'b', 'epoch', 'step']. HINT: Did you call `log(\"val_loss\", value)` in the `LightningModule`?");
}

TEST_CASE("ModelCheckpoint: state_dict has Lightning's keys and round-trips") {
  TempDir d;
  auto t = trainer_in(d);
  NoModule m;
  L::ModelCheckpoint cb({.dirpath = d.path, .filename = "{epoch}", .monitor = "val_loss", .save_last = true, .save_top_k = 2});
  cb.setup(t, m, L::Stage::fit);
  epoch_end(t, cb, 0.5);
  epoch_end(t, cb, 0.25);
  epoch_end(t, cb, 0.75);
  const auto s = cb.state_dict();
  std::vector<std::string> keys;
  for (const auto& e : s) keys.push_back(e.key().toStringRef());
  CHECK(keys == std::vector<std::string>{"monitor", "best_model_score", "best_model_path", "current_score", "dirpath",
                                         "best_k_models", "kth_best_model_path", "kth_value", "last_model_path"});
  CHECK(s.at("monitor").toStringRef() == "val_loss");
  CHECK(s.at("best_model_score").toTensor().item<double>() == 0.25);  // 0-dim float32 tensors, as Lightning's
  CHECK(s.at("current_score").toTensor().item<double>() == 0.25);  // 0.75 was not in the top 2
  CHECK(s.at("best_k_models").toGenericDict().size() == 2);

  L::ModelCheckpoint restored({.dirpath = d.path, .filename = "{epoch}", .monitor = "val_loss", .save_top_k = 2});
  restored.load_state_dict(s);
  CHECK(restored.best_model_path() == cb.best_model_path());
  CHECK(restored.best_model_score() == cb.best_model_score());
  CHECK(restored.best_k_models() == cb.best_k_models());
  CHECK(restored.kth_best_model_path() == cb.kth_best_model_path());
  CHECK(restored.kth_value() == cb.kth_value());
  CHECK(restored.last_model_path() == cb.last_model_path());
  // The restored one carries on: 0.3 beats the kth (0.5), whose file goes.
  auto t2 = trainer_in(d);
  t2.epoch = 3, t2.step = 3;
  epoch_end(t2, restored, 0.3);
  CHECK(files(d.path) == std::vector<std::string>{"epoch=1.ckpt", "epoch=3.ckpt", "last.ckpt"});

  // Another directory: only best_model_path comes back.
  TempDir other;
  L::ModelCheckpoint elsewhere({.dirpath = other.path, .monitor = "val_loss"});
  elsewhere.load_state_dict(s);
  CHECK(elsewhere.best_model_path() == cb.best_model_path());
  CHECK(elsewhere.best_k_models().empty());
  CHECK_FALSE(elsewhere.best_model_score().has_value());

  // No monitor, no score: None values.
  L::ModelCheckpoint plain;
  CHECK(plain.state_dict().at("monitor").isNone());
  CHECK(plain.state_dict().at("best_model_score").isNone());
  CHECK(plain.state_dict().at("dirpath").isNone());

  auto missing = cb.state_dict();
  (void)missing.erase("kth_value");
  CHECK(error_of([&] { restored.load_state_dict(missing); }) ==
        "ModelCheckpoint.load_state_dict: the state has no key 'kth_value'");
  auto wrong = cb.state_dict();
  wrong.insert_or_assign("best_model_path", int64_t{3});
  CHECK(error_of([&] { restored.load_state_dict(wrong); }) ==
        "ModelCheckpoint.load_state_dict: 'best_model_path' should be a str, got Int");
}

// ---------------------------------------------------------------- EarlyStopping

namespace test_checkpointing {
/// One check of `es` at the end of training epoch `t.epoch` with `value` logged.
inline void es_epoch(FakeTrainer& t, L::EarlyStopping& es, double value) {
  NoModule m;
  t.log("val_loss", value);
  es.on_train_epoch_end(t, m);
  ++t.epoch;
}
inline int64_t epochs_until_stop(L::EarlyStopping& es, const std::vector<double>& values, FakeTrainer& t) {
  for (double v : values) {
    es_epoch(t, es, v);
    if (t.should_stop) return t.epoch - 1;
  }
  return -1;
}
}  // namespace test_checkpointing

TEST_CASE("EarlyStopping: patience counts checks without improvement") {
  FakeTrainer t;
  L::EarlyStopping es({.monitor = "val_loss"});
  CHECK(epochs_until_stop(es, {1.0, 0.9, 0.95, 0.95, 0.9, 0.5}, t) == 4);
  CHECK(es.stopped_epoch() == 4);
  CHECK(es.wait_count() == 3);
  CHECK(es.best_score() == doctest::Approx(0.9));
  CHECK(es.stopping_reason() ==
        "Monitored metric val_loss did not improve in the last 3 records. Best score: 0.900. Signaling Trainer to stop.");
}

TEST_CASE("EarlyStopping: an improvement resets the wait; mode max") {
  FakeTrainer t;
  L::EarlyStopping es({.monitor = "val_loss", .patience = 2, .mode = L::Mode::max});
  CHECK(epochs_until_stop(es, {0.5, 0.5, 0.6, 0.6, 0.55, 0.7}, t) == 4);
  CHECK(es.best_score() == doctest::Approx(0.6));
  CHECK(es.stopping_reason() ==
        "Monitored metric val_loss did not improve in the last 2 records. Best score: 0.600. Signaling Trainer to stop.");
}

TEST_CASE("EarlyStopping: min_delta is compared in float32, as Lightning's tensors") {
  // 0.9f + 0.1f rounds to 1.0f: not an improvement on 1.0 (in double it would be).
  FakeTrainer t;
  L::EarlyStopping es({.monitor = "val_loss", .min_delta = 0.1, .patience = 1});
  es_epoch(t, es, 1.0);
  es_epoch(t, es, 0.9);
  CHECK(t.should_stop);
  CHECK(es.best_score() == 1.0);

  FakeTrainer t2;
  L::EarlyStopping es2({.monitor = "val_loss", .min_delta = 0.1, .patience = 1});
  es_epoch(t2, es2, 1.0);
  es_epoch(t2, es2, 0.89);
  CHECK_FALSE(t2.should_stop);
  CHECK(es2.best_score() == doctest::Approx(0.89));

  FakeTrainer t3;
  L::EarlyStopping es3({.monitor = "val_loss", .min_delta = 0.1, .patience = 1, .mode = L::Mode::max});
  es_epoch(t3, es3, 0.5);
  es_epoch(t3, es3, 0.55);
  CHECK(t3.should_stop);
}

TEST_CASE("EarlyStopping: the order of checks is non-finite, stopping threshold, divergence threshold") {
  {
    FakeTrainer t;
    L::EarlyStopping es({.monitor = "val_loss", .stopping_threshold = 0.5});
    es_epoch(t, es, 0.7);
    CHECK_FALSE(t.should_stop);
    es_epoch(t, es, std::nan(""));
    CHECK(t.should_stop);
    CHECK(es.stopping_reason() ==
          "Monitored metric val_loss = nan is not finite. Previous best value was 0.700. Signaling Trainer to stop.");
  }
  {
    FakeTrainer t;
    L::EarlyStopping es({.monitor = "val_loss", .stopping_threshold = 0.5, .divergence_threshold = 0.1});
    es_epoch(t, es, 0.4);  // both thresholds hold: the stopping one is reported
    CHECK(t.should_stop);
    CHECK(es.stopping_reason() == "Stopping threshold reached: val_loss = 0.4000000059604645 < 0.5. Signaling Trainer to stop.");
    CHECK(es.stopped_epoch() == 0);
  }
  {
    FakeTrainer t;
    L::EarlyStopping es({.monitor = "val_loss", .divergence_threshold = 5});
    es_epoch(t, es, 4.0);
    CHECK_FALSE(t.should_stop);
    es_epoch(t, es, 6.0);
    CHECK(t.should_stop);
    // Lightning prints the mode's order sign here, even though the value went the other way.
    CHECK(es.stopping_reason() == "Divergence threshold reached: val_loss = 6.0 < 5.0. Signaling Trainer to stop.");
  }
  {
    FakeTrainer t;
    L::EarlyStopping es({.monitor = "val_loss", .mode = L::Mode::max, .stopping_threshold = 0.9});
    es_epoch(t, es, 0.9);  // not strictly beyond
    CHECK_FALSE(t.should_stop);
    es_epoch(t, es, 0.95);
    CHECK(es.stopping_reason() == "Stopping threshold reached: val_loss = 0.949999988079071 > 0.9. Signaling Trainer to stop.");
  }
  {
    // check_finite off: NaN is just not an improvement.
    FakeTrainer t;
    L::EarlyStopping es({.monitor = "val_loss", .patience = 2, .check_finite = false});
    es_epoch(t, es, 1.0);
    es_epoch(t, es, std::nan(""));
    CHECK_FALSE(t.should_stop);
    CHECK(es.wait_count() == 1);
    es_epoch(t, es, std::nan(""));
    CHECK(t.should_stop);
  }
  {
    // Infinite from the start: the best is still inf.
    FakeTrainer t;
    L::EarlyStopping es({.monitor = "val_loss"});
    es_epoch(t, es, INFINITY);
    CHECK(es.stopping_reason() ==
          "Monitored metric val_loss = inf is not finite. Previous best value was inf. Signaling Trainer to stop.");
  }
}

TEST_CASE("EarlyStopping: a missing metric is an error with strict, else the check is skipped") {
  FakeTrainer t;
  NoModule m;
  t.log("b", 1.0);
  t.log("a", 2.0);
  L::EarlyStopping es({.monitor = "val_loss"});
  CHECK(error_of([&] { es.on_train_epoch_end(t, m); }) ==
        "Early stopping conditioned on metric `val_loss` which is not available. Pass in or modify your "
        "`EarlyStopping` callback to use any of the following: `a`, `b`");
  CHECK_THROWS_AS(es.on_train_epoch_end(t, m), std::runtime_error);
  L::EarlyStopping lax({.monitor = "val_loss", .strict = false});
  CHECK_NOTHROW(lax.on_train_epoch_end(t, m));
  CHECK_FALSE(t.should_stop);
  CHECK(lax.wait_count() == 0);
}

TEST_CASE("EarlyStopping: skipped in the sanity check, under fast_dev_run and outside fit") {
  FakeTrainer t;
  NoModule m;
  L::EarlyStopping es({.monitor = "missing", .patience = 0});
  t.sanity = true;
  CHECK_NOTHROW(es.on_train_epoch_end(t, m));
  t.sanity = false;
  t.fdr = 2;
  CHECK_NOTHROW(es.on_train_epoch_end(t, m));
  t.fdr = 0;
  t.fn = L::Stage::validate;
  CHECK_NOTHROW(es.on_validation_end(t, m));
  CHECK_NOTHROW(es.on_train_epoch_end(t, m));
  t.fn = L::Stage::fit;
  CHECK_THROWS(es.on_train_epoch_end(t, m));
}

TEST_CASE("EarlyStopping: where it checks follows val_check_interval and check_val_every_n_epoch") {
  NoModule m;
  auto count_checks = [&](FakeTrainer& t, L::EarlyStopping& es) {
    t.log("val_loss", 1.0);
    es.setup(t, m, L::Stage::fit);
    int64_t before = es.wait_count();
    es.on_validation_end(t, m);
    const bool at_val = es.wait_count() != before;
    before = es.wait_count();
    es.on_train_epoch_end(t, m);
    const bool at_epoch = es.wait_count() != before;
    return std::pair{at_val, at_epoch};
  };
  auto make = [] {
    L::EarlyStopping es({.monitor = "val_loss", .patience = 100});
    return es;
  };
  {
    FakeTrainer t;
    auto es = make();
    t.log("val_loss", 0.5);
    es_epoch(t, es, 0.5);  // a best to compare with
    CHECK(count_checks(t, es) == std::pair{false, true});
  }
  {
    FakeTrainer t;
    t.opts.val_check_interval = 0.25;
    t.log("val_loss", 0.5);
    auto es = make();
    es.setup(t, m, L::Stage::fit);
    es.on_validation_end(t, m);
    CHECK(count_checks(t, es) == std::pair{true, false});
  }
  {
    FakeTrainer t;
    t.opts.check_val_every_n_epoch = std::nullopt;
    t.log("val_loss", 0.5);
    auto es = make();
    es.setup(t, m, L::Stage::fit);
    es.on_validation_end(t, m);
    CHECK(count_checks(t, es) == std::pair{true, false});
  }
  {
    FakeTrainer t;
    t.opts.val_check_interval = 0.25;
    t.log("val_loss", 0.5);
    L::EarlyStopping es({.monitor = "val_loss", .patience = 100, .check_on_train_epoch_end = true});
    es.setup(t, m, L::Stage::fit);
    es.on_train_epoch_end(t, m);
    CHECK(count_checks(t, es) == std::pair{false, true});
  }
}

TEST_CASE("EarlyStopping: state_dict has Lightning's keys and round-trips") {
  FakeTrainer t;
  L::EarlyStopping es({.monitor = "val_loss", .patience = 2});
  for (double v : {0.5, 0.25, 0.3, 0.4}) es_epoch(t, es, v);
  CHECK(t.should_stop);
  const auto s = es.state_dict();
  std::vector<std::string> keys;
  for (const auto& e : s) keys.push_back(e.key().toStringRef());
  CHECK(keys == std::vector<std::string>{"wait_count", "stopped_epoch", "best_score", "patience"});
  CHECK(s.at("wait_count").toInt() == 2);
  CHECK(s.at("stopped_epoch").toInt() == 3);
  CHECK(s.at("best_score").toTensor().item<double>() == 0.25);
  CHECK(s.at("patience").toInt() == 2);

  L::EarlyStopping restored({.monitor = "val_loss", .patience = 7});
  restored.load_state_dict(s);
  CHECK(restored.wait_count() == 2);
  CHECK(restored.stopped_epoch() == 3);
  CHECK(restored.best_score() == 0.25);
  CHECK(restored.patience() == 2);
  // A fresh one starts from +inf (min) / -inf (max).
  CHECK(L::EarlyStopping({.monitor = "x"}).state_dict().at("best_score").toTensor().item<double>() == INFINITY);
  CHECK(L::EarlyStopping({.monitor = "x", .mode = L::Mode::max}).best_score() == -INFINITY);

  auto missing = es.state_dict();
  (void)missing.erase("patience");
  CHECK(error_of([&] { restored.load_state_dict(missing); }) ==
        "EarlyStopping.load_state_dict: the state has no key 'patience'");
  auto wrong = es.state_dict();
  wrong.insert_or_assign("wait_count", std::string("two"));
  CHECK(error_of([&] { restored.load_state_dict(wrong); }) ==
        "EarlyStopping.load_state_dict: 'wait_count' should be an int, got String");
  CHECK(restored.patience() == 2);  // a failed load changes nothing
}

// ---------------------------------------------------------------- with the Trainer

namespace test_checkpointing {
/// Logs a scripted val_loss per epoch (the same for every batch).
struct Scripted : test::RecordingModule {
  std::vector<double> val_losses;
  explicit Scripted(std::vector<double> v = {}) : val_losses(std::move(v)) {}
  void validation_step(const L::Batch&, int64_t) {
    log("val_loss", val_losses.at(static_cast<std::size_t>(current_epoch())));
  }
};
using CkptTrainer = L::Trainer<Scripted, L::OnlyCallbacks<L::ModelCheckpoint, L::EarlyStopping>, L::Loggers<>>;
}  // namespace test_checkpointing

TEST_CASE("Trainer + ModelCheckpoint: top-k files and last.ckpt under <default_root_dir>/checkpoints") {
  TempDir d;
  Scripted model({0.5, 0.4, 0.45, 0.3, 0.6});
  auto train = test::make_loader(3), val = test::make_loader(2);
  CkptTrainer trainer({.max_epochs = 5, .default_root_dir = d.path.string()},
                      L::ModelCheckpoint({.filename = "{epoch}-{val_loss:.2f}",
                                          .monitor = "val_loss",
                                          .save_last = true,
                                          .save_top_k = 2}),
                      L::EarlyStopping({.monitor = "val_loss", .patience = 10}));
  trainer.fit(model, train, val);
  CHECK(files(d.path) == std::vector<std::string>{"checkpoints/epoch=1-val_loss=0.40.ckpt",
                                                   "checkpoints/epoch=3-val_loss=0.30.ckpt", "checkpoints/last.ckpt"});
  auto& cb = trainer.callback<L::ModelCheckpoint>();
  CHECK(cb.best_model_path() == (d.path / "checkpoints" / "epoch=3-val_loss=0.30.ckpt").string());
  CHECK(*cb.best_model_score() == static_cast<double>(0.3f));
  CHECK(cb.kth_value() == static_cast<double>(0.4f));
  CHECK(trainer.current_epoch() == 5);

  // The checkpoint holds both callbacks' states under their state keys, as Lightning's does.
  namespace ck = L::checkpoint;
  const auto ckpt = ck::read(cb.best_model_path());
  const auto callbacks = ck::get<ck::Dict>(ckpt, "callbacks", "test");
  const auto mc = ck::get<ck::Dict>(callbacks, cb.state_key(), "test");
  CHECK(ck::get<std::string>(mc, "best_model_path", "test") == cb.best_model_path());  // set before the save
  CHECK(ck::get<int64_t>(ckpt, "global_step", "test") == 12);
  const auto es = ck::get<ck::Dict>(callbacks, "EarlyStopping{'monitor': 'val_loss', 'mode': 'min'}", "test");
  CHECK(ck::get<torch::Tensor>(es, "best_score", "test").item<double>() == static_cast<double>(0.3f));
}

TEST_CASE("Trainer + EarlyStopping: stops after `patience` epochs without improvement; checkpoints go to the logger's dir") {
  TempDir d;
  Scripted model({1.0, 0.9, 0.95, 0.95, 0.95, 0.1, 0.1, 0.1});
  auto train = test::make_loader(3), val = test::make_loader(2);
  L::Trainer<Scripted, L::OnlyCallbacks<L::ModelCheckpoint, L::EarlyStopping>, L::Loggers<L::CSVLogger>> trainer(
      {.max_epochs = 8}, L::EarlyStopping({.monitor = "val_loss"}), L::CSVLogger({.save_dir = d.path}));
  trainer.fit(model, train, val);
  const auto& es = trainer.callback<L::EarlyStopping>();
  CHECK(es.stopped_epoch() == 4);
  CHECK(trainer.current_epoch() == 5);  // Lightning: e + 1 after stopping in 0-based epoch e
  CHECK(es.stopping_reason() ==
        "Monitored metric val_loss did not improve in the last 3 records. Best score: 0.900. Signaling Trainer to stop.");
  // No monitor: only the latest checkpoint, named after the epoch and the steps done.
  const auto dir = d.path / "lightning_logs" / "version_0" / "checkpoints";
  CHECK(files(dir) == std::vector<std::string>{"epoch=4-step=15.ckpt"});
  CHECK(trainer.callback<L::ModelCheckpoint>().best_model_path() == (dir / "epoch=4-step=15.ckpt").string());
}

TEST_CASE("Trainer: fast_dev_run writes no checkpoint and stops nothing early; the sanity check saves nothing") {
  TempDir d;
  Scripted model({0.5, 0.5, 0.5});
  auto train = test::make_loader(3), val = test::make_loader(2);
  CkptTrainer quick({.fast_dev_run = true, .default_root_dir = d.path.string()},
                    L::EarlyStopping({.monitor = "not_logged", .patience = 0}));
  CHECK_NOTHROW(quick.fit(model, train, val));
  CHECK(files(d.path).empty());
  CHECK(quick.current_epoch() == 1);

  // validation-end checks (validation twice an epoch): the sanity check's results never count.
  CkptTrainer twice({.max_epochs = 1, .val_check_interval = 0.5, .default_root_dir = d.path.string()},
                    L::ModelCheckpoint({.monitor = "val_loss", .save_top_k = -1}),
                    L::EarlyStopping({.monitor = "val_loss", .patience = 1}));
  auto train4 = test::make_loader(4);
  twice.fit(model, train4, val);
  // Saved after each of the two validations (steps 2 and 4); the second one did not improve: stop.
  CHECK(files(d.path) == std::vector<std::string>{"checkpoints/epoch=0-step=2.ckpt", "checkpoints/epoch=0-step=4.ckpt"});
  CHECK(twice.should_stop);
}

TEST_CASE("Trainer: a monitored metric nobody logs is an error naming the logged ones") {
  TempDir d;
  Scripted model({0.5, 0.5});
  auto train = test::make_loader(2), val = test::make_loader(2);
  L::Trainer<Scripted, L::OnlyCallbacks<L::ModelCheckpoint>, L::Loggers<>> trainer(
      {.max_epochs = 2, .default_root_dir = d.path.string()}, L::ModelCheckpoint({.monitor = "val_acc"}));
  CHECK(error_of([&] { trainer.fit(model, train, val); }) ==
        "`ModelCheckpoint(monitor='val_acc')` could not find the monitored key in the returned metrics: "
        "['val_loss', 'epoch', 'step']. HINT: Did you call `log(\"val_acc\", value)` in the `LightningModule`?");
  CkptTrainer es_trainer({.max_epochs = 2, .default_root_dir = d.path.string()},
                         L::EarlyStopping({.monitor = "val_acc"}));
  CHECK(error_of([&] { es_trainer.fit(model, train, val); }) ==
        "Early stopping conditioned on metric `val_acc` which is not available. Pass in or modify your "
        "`EarlyStopping` callback to use any of the following: `val_loss`");
}

TEST_CASE("Trainer: resuming from last.ckpt carries the top-k and early-stopping state on") {
  TempDir d;
  const std::vector<double> losses{0.5, 0.4, 0.45, 0.42, 0.6, 0.35};
  auto train = test::make_loader(3), val = test::make_loader(2);
  auto callbacks = [] {
    return std::pair{L::ModelCheckpoint({.filename = "{epoch}", .monitor = "val_loss", .save_last = true, .save_top_k = 2}),
                     L::EarlyStopping({.monitor = "val_loss", .patience = 2})};
  };
  {
    Scripted model(losses);
    auto [mc, es] = callbacks();
    CkptTrainer first({.max_epochs = 3, .default_root_dir = d.path.string()}, std::move(mc), std::move(es));
    first.fit(model, train, val);
    CHECK(files(d.path / "checkpoints") == std::vector<std::string>{"epoch=1.ckpt", "epoch=2.ckpt", "last.ckpt"});
    CHECK(first.callback<L::EarlyStopping>().wait_count() == 1);
  }
  Scripted model(losses);
  auto [mc, es] = callbacks();
  CkptTrainer second({.max_epochs = 6, .default_root_dir = d.path.string()}, std::move(mc), std::move(es));
  second.fit(model, train, val, {.ckpt_path = (d.path / "checkpoints" / "last.ckpt").string()});
  // Epoch 3 (0.42) replaces epoch 2 (0.45, the restored kth) but does not beat the restored best
  // (0.4): the restored wait of 1 reaches the patience of 2 there. Fresh callbacks would go on.
  CHECK(files(d.path / "checkpoints") == std::vector<std::string>{"epoch=1.ckpt", "epoch=3.ckpt", "last.ckpt"});
  CHECK(second.callback<L::EarlyStopping>().stopped_epoch() == 3);
  CHECK(second.current_epoch() == 4);
  CHECK(second.callback<L::ModelCheckpoint>().best_model_path() == (d.path / "checkpoints" / "epoch=1.ckpt").string());
}

namespace {
struct CountEpochs {
  int* epochs = nullptr;
  void on_train_epoch_end(auto&, auto&) { ++*epochs; }
};
/// A module that brings its own callbacks: one the Trainer lacks, and an
/// EarlyStopping that replaces the Trainer's.
struct WithCallbacks : test::RecordingModule {
  int epochs = 0;
  torch::Tensor training_step(const L::Batch& b, int64_t i) {
    auto loss = RecordingModule::training_step(b, i);
    log("train_loss", loss);
    return loss;
  }
  auto configure_callbacks() {
    return std::make_tuple(CountEpochs{&epochs}, L::EarlyStopping({.monitor = "train_loss", .patience = 0,
                                                                   .stopping_threshold = 1e9}));
  }
};
}  // namespace

TEST_CASE("configure_callbacks adds the module's callbacks and replaces same-typed ones") {
  WithCallbacks model;
  L::Trainer<WithCallbacks, L::OnlyCallbacks<L::EarlyStopping>, L::Loggers<>> trainer(
      {.max_epochs = 5}, L::EarlyStopping({.monitor = "never_logged"}));
  static_assert(decltype(trainer)::callbacks_type::contains<CountEpochs>);
  auto loader = test::make_loader(3);
  trainer.fit(model, loader);
  // The module's EarlyStopping (stopping threshold far above the loss) ran, not the Trainer's
  // (its key was never logged and it would have thrown).
  CHECK(model.epochs == 1);
  CHECK(trainer.callback<L::EarlyStopping>().options().stopping_threshold == std::optional<double>(1e9));
}
