// What training computes: losses, steps, optimizers, logged values.
#include "recorder.hpp"

namespace {
using namespace test;
namespace F = torch::nn::functional;

struct Regressor : L::LightningModule<Regressor> {
  torch::nn::Linear layer{nullptr};
  std::vector<int64_t> seen_steps, seen_epochs;
  Regressor() : layer(register_module("layer", torch::nn::Linear(10, 1))) {}
  torch::Tensor training_step(const L::Batch& b, int64_t) {
    seen_steps.push_back(global_step());
    seen_epochs.push_back(current_epoch());
    auto loss = F::mse_loss(layer(b.data), b.target);
    log("train_loss", loss, {.prog_bar = true, .on_step = true, .on_epoch = true});
    return loss;
  }
  auto configure_optimizers() { return torch::optim::Adam(parameters(), torch::optim::AdamOptions(1e-2)); }
};

std::pair<torch::Tensor, torch::Tensor> regression_data(int64_t n = 256) {
  torch::manual_seed(0);
  auto x = torch::randn({n, 10});
  auto w = torch::linspace(-1, 1, 10).unsqueeze(1);
  return {x, x.mm(w) + 0.5};
}
}  // namespace

TEST_CASE("loss goes down on a learnable problem") {
  auto [x, y] = regression_data();
  L::data::TensorLoader loader({x, y}, {.batch_size = 32, .shuffle = true, .seed = 1});
  torch::manual_seed(0);
  Regressor model;
  auto before = F::mse_loss(model.layer(x), y).item<double>();
  L::Trainer<Regressor, L::OnlyCallbacks<>> trainer({.max_epochs = 20});
  trainer.fit(model, loader);
  auto after = F::mse_loss(model.layer(x), y).item<double>();
  CHECK(after < before / 10);
  CHECK(trainer.global_step() == 160);
}

TEST_CASE("the module sees global_step (steps before this one) and current_epoch") {
  auto [x, y] = regression_data(64);
  L::data::TensorLoader loader({x, y}, {.batch_size = 32});
  Regressor model;
  L::Trainer<Regressor, L::OnlyCallbacks<>> trainer({.max_epochs = 2});
  trainer.fit(model, loader);
  CHECK(model.seen_steps == std::vector<int64_t>{0, 1, 2, 3});
  CHECK(model.seen_epochs == std::vector<int64_t>{0, 0, 1, 1});
  CHECK(model.current_epoch() == 0);  // detached after fit: no trainer
}

TEST_CASE("the bare Trainer computes exactly what the hand-written loop computes") {
  auto [x, y] = regression_data();
  torch::manual_seed(5);
  Regressor by_trainer;
  torch::manual_seed(5);
  Regressor by_hand;
  L::data::TensorLoader loader({x, y}, {.batch_size = 32, .shuffle = true, .seed = 9});
  L::BareTrainer<Regressor> trainer({.max_epochs = 3});
  trainer.fit(by_trainer, loader);

  torch::optim::Adam opt(by_hand.parameters(), torch::optim::AdamOptions(1e-2));
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    loader.set_epoch(epoch);
    for (auto batch : loader) {
      opt.zero_grad();
      auto loss = F::mse_loss(by_hand.layer(batch.data), batch.target);
      loss.backward();
      opt.step();
    }
  }
  CHECK(torch::equal(by_trainer.layer->weight, by_hand.layer->weight));
  CHECK(torch::equal(by_trainer.layer->bias, by_hand.layer->bias));
}

TEST_CASE("accumulating 4 batches of 8 equals one batch of 32 (mean loss, SGD)") {
  struct Sgd : L::LightningModule<Sgd> {
    torch::nn::Linear layer{nullptr};
    Sgd() : layer(register_module("layer", torch::nn::Linear(10, 1))) {}
    torch::Tensor training_step(const L::Batch& b, int64_t) { return F::mse_loss(layer(b.data), b.target); }
    auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
  };
  auto [x, y] = regression_data(64);
  torch::manual_seed(3);
  Sgd accumulated;
  torch::manual_seed(3);
  Sgd whole;
  L::data::TensorLoader small({x, y}, {.batch_size = 8});
  L::data::TensorLoader big({x, y}, {.batch_size = 32});
  L::BareTrainer<Sgd> t1({.max_epochs = 2, .accumulate_grad_batches = 4});
  L::BareTrainer<Sgd> t2({.max_epochs = 2});
  t1.fit(accumulated, small);
  t2.fit(whole, big);
  CHECK(t1.global_step() == 4);
  CHECK(t2.global_step() == 4);
  CHECK(torch::allclose(accumulated.layer->weight, whole.layer->weight, 0, 1e-6));
  CHECK(torch::allclose(accumulated.layer->bias, whole.layer->bias, 0, 1e-6));
}

TEST_CASE("training_step may return a struct or a map holding the loss; outputs reach on_train_batch_end") {
  struct Out {
    torch::Tensor loss;
    int64_t extra;
  };
  struct StructModule : L::LightningModule<StructModule> {
    torch::nn::Linear layer{nullptr};
    std::vector<int64_t> extras;
    std::vector<double> losses;
    StructModule() : layer(register_module("layer", torch::nn::Linear(2, 1))) {}
    Out training_step(const L::Batch& b, int64_t i) { return {torch::mse_loss(layer(b.data), b.target), 10 + i}; }
    void on_train_batch_end(const Out& out, const L::Batch&, int64_t) {
      extras.push_back(out.extra);
      losses.push_back(out.loss.item<double>());
    }
    auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.0)); }
  };
  StructModule model;
  L::BareTrainer<StructModule> trainer({.max_epochs = 1, .accumulate_grad_batches = 2});
  auto loader = make_loader(3);
  trainer.fit(model, loader);
  CHECK(model.extras == std::vector<int64_t>{10, 11, 12});
  // Lightning passes loss / K to on_train_batch_end.
  L::Batch first = *loader.begin();
  CHECK(model.losses[0] == doctest::Approx(torch::mse_loss(model.layer(first.data), first.target).item<double>() / 2));

  struct MapModule : RecordingModule {
    std::map<std::string, torch::Tensor> training_step(const L::Batch& b, int64_t) {
      return {{"loss", torch::mse_loss(forward(b.data), b.target)}, {"other", torch::ones({1})}};
    }
  };
  MapModule m2;
  L::BareTrainer<MapModule> t2({.max_epochs = 1});
  t2.fit(m2, loader);
  CHECK(t2.global_step() == 3);
}

TEST_CASE("an undefined loss skips the optimizer step, as returning None does") {
  struct Skipper : RecordingModule {
    torch::Tensor training_step(const L::Batch& b, int64_t i) {
      if (i % 2 == 1) return {};
      return torch::mse_loss(forward(b.data), b.target);
    }
  };
  Skipper model;
  L::BareTrainer<Skipper> trainer({.max_epochs = 1});
  auto loader = make_loader(5);
  trainer.fit(model, loader);
  CHECK(trainer.global_step() == 3);
}

TEST_CASE("an optimizer given as a Trainer policy") {
  struct NoOpt : L::LightningModule<NoOpt> {
    torch::nn::Linear layer{nullptr};
    NoOpt() : layer(register_module("layer", torch::nn::Linear(10, 1))) {}
    torch::Tensor training_step(const L::Batch& b, int64_t) { return F::mse_loss(layer(b.data), b.target); }
  };
  auto [x, y] = regression_data();
  L::data::TensorLoader loader({x, y}, {.batch_size = 32});
  NoOpt model;
  auto before = F::mse_loss(model.layer(x), y).item<double>();
  using Sgd = L::Optimizer<torch::optim::SGD>;
  L::Trainer<NoOpt, Sgd, L::OnlyCallbacks<>> trainer({.max_epochs = 10}, Sgd(torch::optim::SGDOptions(0.05)));
  trainer.fit(model, loader);
  CHECK(F::mse_loss(model.layer(x), y).item<double>() < before / 10);
  CHECK(trainer.optimizer().param_groups().at(0).options().get_lr() == doctest::Approx(0.05));
}

TEST_CASE("log: keys, epoch means weighted by batch size, metric objects") {
  struct Logs : L::LightningModule<Logs> {
    torch::nn::Linear layer{nullptr};
    L::metrics::Accuracy acc{{.num_classes = 3}};
    Logs() : layer(register_module("layer", torch::nn::Linear(1, 1))) {}
    torch::Tensor training_step(const L::Batch& b, int64_t) {
      auto v = b.target.to(torch::kFloat).mean();
      log("both", v, {.prog_bar = true, .on_step = true, .on_epoch = true});
      log("step_only", v);
      log("sum", v, {.on_epoch = true, .reduce_fx = L::Reduce::sum});
      log("maximum", v, {.on_step = false, .on_epoch = true, .reduce_fx = L::Reduce::max});
      return (layer(b.data) * 0).sum();
    }
    void validation_step(const L::Batch& b, int64_t) {
      log("val_mean", b.target.to(torch::kFloat).mean());
      acc.update(torch::nn::functional::one_hot(b.target % 3, 3).to(torch::kFloat), b.target % 2);
      log("val_acc", acc);
    }
    auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
  };
  // 10 samples in batches of 4, 4, 2: batch means 1.5, 5.5, 8.5; weighted mean 4.5 (not 5.1666).
  auto x = torch::zeros({10, 1});
  auto y = torch::arange(10);
  L::data::TensorLoader loader({x, y}, {.batch_size = 4});
  Logs model;
  L::Trainer<Logs, L::OnlyCallbacks<>> trainer({.max_epochs = 1, .num_sanity_val_steps = 0});
  trainer.fit(model, loader, loader);
  const auto& cm = trainer.callback_metrics();
  CHECK(cm.at("both_step").item<double>() == doctest::Approx(8.5));
  CHECK(cm.at("both_epoch").item<double>() == doctest::Approx(4.5));
  CHECK(cm.at("both").item<double>() == doctest::Approx(4.5));
  CHECK(cm.at("step_only").item<double>() == doctest::Approx(8.5));
  CHECK(cm.at("sum_step").item<double>() == doctest::Approx(8.5));
  CHECK(cm.at("sum_epoch").item<double>() == doctest::Approx(15.5));
  CHECK(cm.at("maximum").item<double>() == doctest::Approx(8.5));
  CHECK(cm.at("val_mean").item<double>() == doctest::Approx(4.5));
  // Predicted y % 3 against target y % 2: hits at y = 0, 1, 6, 7. Batches score 2/4, 2/4, 0/2: the
  // metric's epoch value is 4/10 from its state, not the 0.333 mean of batch values.
  CHECK(cm.at("val_acc").item<double>() == doctest::Approx(4.0 / 10.0));
  const auto& pb = trainer.progress_bar_metrics();
  CHECK(pb.count("both_step") == 1);
  CHECK(pb.count("both_epoch") == 1);
  CHECK(pb.count("step_only") == 0);
  CHECK(trainer.logged_metrics().count("both") == 0);
  CHECK(trainer.logged_metrics().count("both_epoch") == 1);
}

TEST_CASE("log where Lightning forbids it, or twice with different options, is an error naming the hook") {
  struct LogsInSetup : RecordingModule {
    void setup(L::Stage) { log("x", 1.0); }
  };
  LogsInSetup a;
  L::BareTrainer<LogsInSetup> t1({.max_epochs = 1});
  auto loader = make_loader(2);
  CHECK_THROWS_WITH_AS(t1.fit(a, loader), doctest::Contains("`setup`"), std::logic_error);
  CHECK(a.current_epoch() == 0);  // detached even after an error

  struct Twice : RecordingModule {
    torch::Tensor training_step(const L::Batch& b, int64_t) {
      auto loss = torch::mse_loss(forward(b.data), b.target);
      log("loss", loss);
      log("loss", loss, {.prog_bar = true});
      return loss;
    }
  };
  Twice b;
  L::BareTrainer<Twice> t2({.max_epochs = 1});
  CHECK_THROWS_WITH_AS(t2.fit(b, loader), doctest::Contains("twice in `training_step`"), std::logic_error);

  struct EpochEndStep : RecordingModule {
    void on_train_epoch_end() { log("x", 1.0, {.on_step = true}); }
  };
  EpochEndStep c;
  L::BareTrainer<EpochEndStep> t3({.max_epochs = 1});
  CHECK_THROWS_WITH_AS(t3.fit(c, loader), doctest::Contains("on_train_epoch_end"), std::logic_error);
}

namespace {
struct Watch {
  std::string seen;
  void on_exception(auto&, auto&, const std::exception& e) { seen = e.what(); }
};
}  // namespace

TEST_CASE("an exception reaches on_exception of callbacks and module, then the caller") {
  struct Boom : RecordingModule {
    std::string seen;
    torch::Tensor training_step(const L::Batch&, int64_t i) {
      if (i == 1) throw std::runtime_error("boom at 1");
      return torch::zeros({}, torch::requires_grad());
    }
    void on_exception(const std::exception& e) { seen = e.what(); }
  };
  Boom model;
  L::Trainer<Boom, L::OnlyCallbacks<Watch>> trainer({.max_epochs = 1});
  auto loader = make_loader(3);
  CHECK_THROWS_WITH_AS(trainer.fit(model, loader), "boom at 1", std::runtime_error);
  CHECK(model.seen == "boom at 1");
  CHECK(trainer.callback<Watch>().seen == "boom at 1");
}

TEST_CASE("test returns the logged epoch metrics; validation and test run in eval mode without autograd") {
  struct Modes : RecordingModule {
    bool val_training = true, val_grad = true;
    void validation_step(const L::Batch& b, int64_t i) {
      val_training = is_training();
      val_grad = torch::GradMode::is_enabled();
      RecordingModule::validation_step(b, i);
    }
  };
  Modes model;
  L::BareTrainer<Modes> trainer({.max_epochs = 1});
  auto loader = make_loader(2);
  trainer.fit(model, loader, loader);
  CHECK_FALSE(model.val_training);
  CHECK_FALSE(model.val_grad);
  CHECK(model.is_training());  // back to train mode after fit's validation
  auto res = trainer.test(model, loader);
  REQUIRE(res.size() == 1);
  CHECK(res[0].count("test_loss") == 1);
  CHECK(res[0].at("test_loss") > 0.0);
}

TEST_CASE("deterministic = true turns on LibTorch's deterministic algorithms") {
  at::globalContext().setDeterministicAlgorithms(false, false);
  L::BareTrainer<Regressor> trainer({.deterministic = true});
  CHECK(at::globalContext().deterministicAlgorithms());
  at::globalContext().setDeterministicAlgorithms(false, false);
}

TEST_CASE("ModelSummary prints each top-level submodule and the parameter totals") {
  struct Frozen : RecordingModule {
    torch::nn::Sequential body{nullptr};
    Frozen() {
      body = register_module("body", torch::nn::Sequential(torch::nn::Linear(4, 8), torch::nn::ReLU()));
      layer->weight.set_requires_grad(false);
    }
  };
  std::FILE* f = std::tmpfile();
  Frozen model;
  L::Trainer<Frozen, L::OnlyCallbacks<L::ModelSummary>> trainer({.max_epochs = 1}, L::ModelSummary({.stream = f}));
  auto loader = make_loader(1);
  trainer.fit(model, loader);
  std::rewind(f);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), f));
  std::fclose(f);
  CHECK(trainer.callback<L::ModelSummary>().trainable_params() == 1 + 40);  // layer.bias + body
  CHECK(trainer.callback<L::ModelSummary>().non_trainable_params() == 2);  // layer.weight
  CHECK(text.find("0 | layer | Linear") != std::string::npos);
  CHECK(text.find("1 | body  | Sequential | 40") != std::string::npos);
  CHECK(text.find("41         Trainable params") != std::string::npos);
  CHECK(text.find("2          Non-trainable params") != std::string::npos);
  CHECK(text.find("43         Total params") != std::string::npos);
  CHECK(text.find("0.000      Total estimated model params size (MB)") != std::string::npos);
}
