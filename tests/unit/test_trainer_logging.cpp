// What the Trainer sends to loggers: Lightning's rows in metrics.csv.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "recorder.hpp"

namespace {
using namespace test;

struct Logged : RecordingModule {
  torch::Tensor training_step(const L::Batch& b, int64_t i) {
    log("idx", static_cast<double>(i), {.on_step = true, .on_epoch = true});
    return RecordingModule::training_step(b, i);
  }
  void validation_step(const L::Batch&, int64_t) { log("seven", 7.0); }
};

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() / ("lightning_test_" + std::to_string(::getpid()) + "_" +
                                                     std::to_string(counter()++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  static int& counter() {
    static int c = 0;
    return c;
  }
};
}  // namespace

TEST_CASE("metrics.csv: step rows every log_every_n_steps, the validation row after its batch's step row, then the train-epoch row") {
  TempDir dir;
  Logged model;
  L::Trainer<Logged, L::OnlyCallbacks<>, L::Loggers<L::CSVLogger>> trainer(
      {.max_epochs = 2, .num_sanity_val_steps = 1, .log_every_n_steps = 2}, L::CSVLogger({.save_dir = dir.path}));
  auto train = make_loader(5), val = make_loader(2);
  trainer.fit(model, train, val);
  const auto csv = read_file(dir.path / "lightning_logs" / "version_0" / "metrics.csv");
  // The sanity check logs nothing; in the last batch of epoch 1 the step row
  // comes before the validation row, as Lightning's training_epoch_loop logs
  // the step in advance() and validates in on_advance_end().
  CHECK(csv ==
        "epoch,idx_epoch,idx_step,seven,step\r\n"
        "0,,1.0,,1\r\n"
        "0,,3.0,,3\r\n"
        "0,,,7.0,4\r\n"
        "0,2.0,,,4\r\n"
        "1,,0.0,,5\r\n"
        "1,,2.0,,7\r\n"
        "1,,4.0,,9\r\n"
        "1,,,7.0,9\r\n"
        "1,2.0,,,9\r\n");
  CHECK(std::filesystem::exists(dir.path / "lightning_logs" / "version_0" / "hparams.yaml"));
}

TEST_CASE("the default logger is a CSVLogger under default_root_dir; fast_dev_run writes no logs") {
  TempDir dir;
  Logged model;
  auto train = make_loader(3);
  {
    L::Trainer<Logged, L::OnlyCallbacks<>> trainer({.max_epochs = 1, .log_every_n_steps = 1, .default_root_dir = dir.path.string()});
    trainer.fit(model, train);
  }
  const auto csv = read_file(dir.path / "lightning_logs" / "version_0" / "metrics.csv");
  CHECK(csv.rfind("epoch,idx_epoch,idx_step,step\r\n0,,0.0,0\r\n", 0) == 0);
  {
    L::Trainer<Logged, L::OnlyCallbacks<>> trainer(
        {.fast_dev_run = true, .log_every_n_steps = 1, .default_root_dir = dir.path.string()});
    trainer.fit(model, train);
  }
  CHECK_FALSE(std::filesystem::exists(dir.path / "lightning_logs" / "version_1" / "metrics.csv"));
}

namespace {
/// Logs a meta-device tensor: reading it to the host (`item()`) throws, so a
/// run that finishes shows nothing read the logged value.
struct LogsMeta : RecordingModule {
  torch::Tensor training_step(const L::Batch& b, int64_t i) {
    log("meta", torch::zeros({}, torch::TensorOptions().device(torch::kMeta)),
        {.prog_bar = true, .on_step = true, .on_epoch = true});
    return RecordingModule::training_step(b, i);
  }
};
}  // namespace

TEST_CASE("log() adds no host sync when nothing consumes the value (and a consumer does read it)") {
  auto train = make_loader(4);
  LogsMeta model;
  L::BareTrainer<LogsMeta> bare({.max_epochs = 2});
  CHECK_NOTHROW(bare.fit(model, train));
  CHECK(bare.callback_metrics().at("meta_epoch").device().is_meta());

  TempDir dir;
  L::Trainer<LogsMeta, L::OnlyCallbacks<>, L::Loggers<L::CSVLogger>> logged(
      {.max_epochs = 1, .log_every_n_steps = 2}, L::CSVLogger({.save_dir = dir.path}));
  CHECK_THROWS(logged.fit(model, train));  // the logger reads it at step 2
}

TEST_CASE("a logged value is what detach() gives: same storage and version, no autograd history") {
  auto w = torch::ones({1}, torch::requires_grad());
  auto loss = (w * 3).sum();  // a non-leaf with a graph, as a training_step's loss
  auto d = L::detail::detached(loss);
  auto ref = loss.detach();
  CHECK(!d.requires_grad());
  CHECK(!d.grad_fn());
  CHECK(d.is_leaf());
  CHECK(d.data_ptr() == loss.data_ptr());
  CHECK(d.sizes() == ref.sizes());
  CHECK(d.strides() == ref.strides());
  CHECK(d.dtype() == ref.dtype());
  loss.add_(1);  // an in-place change: both see it, and share the version counter as detach() does
  CHECK(d.item<float>() == doctest::Approx(4.0));
  CHECK(d._version() == loss._version());
  CHECK(ref._version() == loss._version());
  // The loss's own graph is untouched: backward through it still works.
  loss.backward();
  CHECK(w.grad().item<float>() == doctest::Approx(3.0));
  // A view keeps its offset and strides.
  auto m = torch::arange(12, torch::kFloat).reshape({3, 4}).t();
  auto dv = L::detail::detached(m.select(0, 1));
  CHECK(dv.storage_offset() == 1);
  CHECK(torch::equal(dv, m.select(0, 1)));
  // Other kinds take the dispatched detach() and come out the same.
  torch::Tensor inference;
  {
    c10::InferenceMode guard;
    inference = torch::ones({2});
  }
  CHECK(L::detail::detached(inference).is_inference());
  auto sparse = torch::eye(2).to_sparse();
  CHECK(L::detail::detached(sparse).is_sparse());
}
