// The step path: configure_optimizers' forms, scheduler stepping, clipping,
// manual optimization.
#include <lightning/optim/schedulers.hpp>

#include "recorder.hpp"

namespace {
using namespace test;
namespace F = torch::nn::functional;

double lr_of(torch::optim::Optimizer& opt) { return opt.param_groups().at(0).options().get_lr(); }

struct WithStepLR : RecordingModule {
  auto configure_optimizers() {
    torch::optim::SGD opt(parameters(), torch::optim::SGDOptions(0.1));
    L::optim::StepLR sched(opt, {.step_size = 1, .gamma = 0.5});
    return std::pair{std::move(opt), std::move(sched)};
  }
};

struct WithStepInterval : RecordingModule {
  auto configure_optimizers() {
    torch::optim::SGD opt(parameters(), torch::optim::SGDOptions(0.1));
    L::optim::StepLR sched(opt, {.step_size = 1, .gamma = 0.5});
    return L::OptimizerConfig{.optimizer = std::move(opt),
                              .lr_scheduler = L::LRSchedulerConfig{.scheduler = std::move(sched),
                                                                   .interval = L::Interval::step,
                                                                   .frequency = 2}};
  }
};

struct WithPlateau : RecordingModule {
  std::string monitor = "constant";
  torch::Tensor training_step(const L::Batch& b, int64_t i) {
    log("constant", 1.0, {.on_step = false, .on_epoch = true});
    return RecordingModule::training_step(b, i);
  }
  auto configure_optimizers() {
    torch::optim::SGD opt(parameters(), torch::optim::SGDOptions(0.1));
    L::optim::ReduceLROnPlateau sched(opt, {.factor = 0.5, .patience = 0});
    return L::OptimizerConfig{.optimizer = std::move(opt),
                              .lr_scheduler = L::LRSchedulerConfig{.scheduler = std::move(sched), .monitor = monitor}};
  }
};
}  // namespace

TEST_CASE("configure_optimizers returning (optimizer, scheduler): the epoch scheduler steps after every epoch") {
  WithStepLR model;
  L::BareTrainer<WithStepLR> trainer({.max_epochs = 3});
  auto loader = make_loader(4);
  trainer.fit(model, loader);
  CHECK(lr_of(trainer.optimizer()) == doctest::Approx(0.1 * 0.125));
  auto& slot = std::get<0>(trainer.optimizer_slots());
  CHECK(slot.lr_scheduler.scheduler.last_epoch() == 3);
}

TEST_CASE("an OptimizerConfig with interval = step and frequency = 2") {
  WithStepInterval model;
  L::BareTrainer<WithStepInterval> trainer({.max_epochs = 1});
  auto loader = make_loader(10);
  trainer.fit(model, loader);
  CHECK(trainer.global_step() == 10);
  CHECK(lr_of(trainer.optimizer()) == doctest::Approx(0.1 * std::pow(0.5, 5)));
}

TEST_CASE("ReduceLROnPlateau steps with the monitored metric; a missing one names the available metrics") {
  WithPlateau model;
  L::BareTrainer<WithPlateau> trainer({.max_epochs = 4});
  auto loader = make_loader(2);
  trainer.fit(model, loader);
  // best = 1.0 after epoch 0; epochs 1, 2, 3 do not improve: three halvings.
  CHECK(lr_of(trainer.optimizer()) == doctest::Approx(0.1 * 0.125));

  WithPlateau missing;
  missing.monitor = "val_loss";
  L::BareTrainer<WithPlateau> t2({.max_epochs = 1});
  CHECK_THROWS_WITH_AS(t2.fit(missing, loader), doctest::Contains("`val_loss` which is not available. Available metrics are: `constant`"),
                       std::runtime_error);
}

namespace {
/// One weight, loss = k * w: the gradient is k, so SGD(lr = 1) moves w by exactly the clipped gradient.
struct Linear1 : L::LightningModule<Linear1> {
  torch::Tensor w;
  double k = 100.0;
  std::vector<std::string> clip_calls;
  Linear1() { w = register_parameter("w", torch::zeros({2})); }
  torch::Tensor training_step(const L::Batch&, int64_t) { return (w * torch::tensor({k, -k / 2})).sum(); }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(1.0)); }
};
struct CustomClip : Linear1 {
  void configure_gradient_clipping(torch::optim::SGD& opt, double val, L::GradClipAlgorithm algo) {
    clip_calls.push_back(std::to_string(val) + (algo == L::GradClipAlgorithm::value ? " value" : " norm"));
    clip_gradients(opt, 1.0, L::GradClipAlgorithm::value);
  }
};
}  // namespace

TEST_CASE("gradient clipping by norm and by value, applied before the step") {
  auto loader = make_loader(1);
  SUBCASE("norm: scaled by c / (total + 1e-6)") {
    Linear1 model;
    L::BareTrainer<Linear1> trainer({.max_epochs = 1, .gradient_clip_val = 5.0});
    trainer.fit(model, loader);
    const double total = std::sqrt(100.0 * 100.0 + 50.0 * 50.0);
    const double coef = 5.0 / (total + 1e-6);
    CHECK(model.w[0].item<double>() == doctest::Approx(-100.0 * coef));
    CHECK(model.w[1].item<double>() == doctest::Approx(50.0 * coef));
  }
  SUBCASE("value: clamped to [-c, c]") {
    Linear1 model;
    L::BareTrainer<Linear1> trainer(
        {.max_epochs = 1, .gradient_clip_val = 5.0, .gradient_clip_algorithm = L::GradClipAlgorithm::value});
    trainer.fit(model, loader);
    CHECK(model.w[0].item<double>() == doctest::Approx(-5.0));
    CHECK(model.w[1].item<double>() == doctest::Approx(5.0));
  }
  SUBCASE("no clipping by default") {
    Linear1 model;
    L::BareTrainer<Linear1> trainer({.max_epochs = 1});
    trainer.fit(model, loader);
    CHECK(model.w[0].item<double>() == doctest::Approx(-100.0));
  }
  SUBCASE("the module's configure_gradient_clipping overrides the built-in one") {
    CustomClip model;
    L::BareTrainer<CustomClip> trainer({.max_epochs = 1, .gradient_clip_val = 5.0});
    trainer.fit(model, loader);
    CHECK(model.clip_calls == std::vector<std::string>{"5.000000 norm"});
    CHECK(model.w[0].item<double>() == doctest::Approx(-1.0));
  }
}

namespace {
/// Manual optimization with two optimizers, as a GAN does it.
struct TwoOpt : L::LightningModule<TwoOpt> {
  static constexpr bool automatic_optimization = false;
  torch::nn::Linear a{nullptr}, b{nullptr};
  std::vector<std::string> calls;
  bool a_grad_while_b_toggled = true;
  TwoOpt() {
    a = register_module("a", torch::nn::Linear(2, 1));
    b = register_module("b", torch::nn::Linear(2, 1));
  }
  auto configure_optimizers() {
    torch::optim::SGD opt_a(a->parameters(), torch::optim::SGDOptions(0.1));
    torch::optim::Adam opt_b(b->parameters(), torch::optim::AdamOptions(0.01));
    L::optim::StepLR sched(opt_a, {.step_size = 1, .gamma = 0.5});
    return std::tuple{std::pair{std::move(opt_a), std::move(sched)}, std::move(opt_b)};
  }
  void training_step(const L::Batch& batch, int64_t) {
    auto [opt_a, opt_b] = optimizers();
    auto loss_a = F::mse_loss(a(batch.data), batch.target);
    opt_a.zero_grad();
    manual_backward(loss_a);
    opt_a.step();

    toggle_optimizer(opt_b);
    a_grad_while_b_toggled = a->weight.requires_grad();
    auto loss_b = F::mse_loss(b(batch.data) + a(batch.data), batch.target);
    opt_b.zero_grad();
    manual_backward(loss_b);
    clip_gradients(opt_b, 0.5);
    opt_b.step();
    untoggle_optimizer(opt_b);
    log("loss_b", loss_b);
  }
  void on_before_backward(const torch::Tensor&) { calls.push_back("backward"); }
  void on_before_optimizer_step(auto&) { calls.push_back("step"); }
};
}  // namespace

TEST_CASE("manual optimization: optimizers(), manual_backward, toggling, global_step counts every step") {
  TwoOpt model;
  L::BareTrainer<TwoOpt> trainer({.max_epochs = 2});
  auto loader = make_loader(3);
  auto a0 = model.a->weight.clone(), b0 = model.b->weight.clone();
  trainer.fit(model, loader);
  CHECK(trainer.global_step() == 12);  // 2 optimizers x 3 batches x 2 epochs
  CHECK_FALSE(model.a_grad_while_b_toggled);
  CHECK(model.a->weight.requires_grad());  // restored by untoggle
  CHECK_FALSE(torch::equal(model.a->weight, a0));
  CHECK_FALSE(torch::equal(model.b->weight, b0));
  CHECK(model.calls.size() == 24);
  CHECK(model.calls[0] == "backward");
  CHECK(model.calls[1] == "step");
  // In manual optimization the module steps its schedulers itself: the Trainer did not.
  CHECK(lr_of(std::get<0>(trainer.optimizer_slots()).optimizer) == doctest::Approx(0.1));
  CHECK(trainer.callback_metrics().count("loss_b") == 1);
}

TEST_CASE("LearningRateMonitor: Lightning's keys, per scheduler interval") {
  auto loader = make_loader(3);
  SUBCASE("an epoch scheduler is logged at each epoch start") {
    WithStepLR model;
    L::Trainer<WithStepLR, L::OnlyCallbacks<L::LearningRateMonitor>, L::Loggers<>> trainer({.max_epochs = 3});
    trainer.fit(model, loader);
    const auto& last = trainer.callback<L::LearningRateMonitor>().last();
    REQUIRE(last.count("lr-SGD") == 1);
    CHECK(last.at("lr-SGD") == doctest::Approx(0.025));  // epoch 2 starts after two halvings
  }
  SUBCASE("several optimizers, momentum") {
    TwoOpt model;
    L::Trainer<TwoOpt, L::OnlyCallbacks<L::LearningRateMonitor>, L::Loggers<>> trainer(
        {.max_epochs = 1}, L::LearningRateMonitor({.logging_interval = L::Interval::epoch, .log_momentum = true}));
    trainer.fit(model, loader);
    const auto& last = trainer.callback<L::LearningRateMonitor>().last();
    CHECK(last.at("lr-SGD") == doctest::Approx(0.1));
    CHECK(last.at("lr-Adam") == doctest::Approx(0.01));
    CHECK(last.at("lr-SGD-momentum") == doctest::Approx(0.0));
    CHECK(last.at("lr-Adam-momentum") == doctest::Approx(0.9));
  }
}

namespace {
struct Bf16Probe : L::LightningModule<Bf16Probe> {
  torch::nn::Linear layer{nullptr};
  torch::ScalarType out_dtype = torch::kFloat;
  Bf16Probe() : layer(register_module("layer", torch::nn::Linear(10, 1))) {}
  torch::Tensor training_step(const L::Batch& b, int64_t) {
    auto out = layer(b.data);
    out_dtype = out.scalar_type();
    return F::mse_loss(out, b.target);
  }
  auto configure_optimizers() { return torch::optim::Adam(parameters(), torch::optim::AdamOptions(1e-2)); }
};
}  // namespace

TEST_CASE("precision policies in the Trainer") {
  torch::manual_seed(0);
  auto x = torch::randn({256, 10});
  auto y = x.mm(torch::linspace(-1, 1, 10).unsqueeze(1));
  L::data::TensorLoader loader({x, y}, {.batch_size = 32});
  SUBCASE("bf16-mixed: matmuls in training_step run in bfloat16, weights and grads stay float32, and it converges") {
    Bf16Probe model;
    const double before = F::mse_loss(model.layer(x), y).item<double>();
    L::BareTrainer<Bf16Probe, L::precision::BF16Mixed> trainer({.max_epochs = 20});
    trainer.fit(model, loader);
    CHECK((model.out_dtype == torch::kBFloat16));
    CHECK((model.layer->weight.scalar_type() == torch::kFloat));
    CHECK((model.layer->weight.grad().scalar_type() == torch::kFloat));
    CHECK(F::mse_loss(model.layer(x), y).item<double>() < before / 10);
  }
  SUBCASE("64-true: module and floating batches in double") {
    Bf16Probe model;
    L::BareTrainer<Bf16Probe, L::precision::F64> trainer({.max_epochs = 1});
    trainer.fit(model, loader);
    CHECK((model.out_dtype == torch::kDouble));
    CHECK((model.layer->weight.scalar_type() == torch::kDouble));
  }
  SUBCASE("16-mixed on CPU is refused when the Trainer is built, recommending bf16-mixed") {
    CHECK_THROWS_WITH_AS((L::BareTrainer<Bf16Probe, L::precision::F16Mixed>(L::TrainerOptions{})), doctest::Contains("bf16-mixed"),
                         std::invalid_argument);
  }
}

namespace {
/// A precision whose loss scaler skips every other step (as an inf gradient would).
struct SkipEveryOther : L::precision::F32 {
  int calls = 0;
  template <class Opt>
  bool optimizer_step(Opt& opt) {
    if (calls++ % 2 == 1) return false;
    opt.step();
    return true;
  }
};
struct StepSched : RecordingModule {
  auto configure_optimizers() {
    torch::optim::SGD opt(parameters(), torch::optim::SGDOptions(0.1));
    L::optim::StepLR sched(opt, {.step_size = 1, .gamma = 0.5});
    return L::OptimizerConfig{.optimizer = std::move(opt),
                              .lr_scheduler = L::LRSchedulerConfig{.scheduler = std::move(sched),
                                                                   .interval = L::Interval::step}};
  }
};
}  // namespace

TEST_CASE("a step the loss scaler skipped does not step the scheduler (it still counts in global_step)") {
  StepSched model;
  L::BareTrainer<StepSched, SkipEveryOther> trainer({.max_epochs = 1});
  auto loader = make_loader(6);
  trainer.fit(model, loader);
  CHECK(trainer.global_step() == 6);
  CHECK(std::get<0>(trainer.optimizer_slots()).lr_scheduler.scheduler.last_epoch() == 3);
  CHECK(lr_of(trainer.optimizer()) == doctest::Approx(0.1 * 0.125));
}

namespace {
struct TwoGroups : RecordingModule {
  torch::nn::Linear extra{nullptr};
  TwoGroups() { extra = register_module("extra", torch::nn::Linear(2, 1)); }
  auto configure_optimizers() {
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(layer->parameters(), std::make_unique<torch::optim::SGDOptions>(0.1));
    groups.emplace_back(extra->parameters(), std::make_unique<torch::optim::SGDOptions>(0.2));
    torch::optim::SGD opt(std::move(groups), torch::optim::SGDOptions(0.1));
    L::optim::StepLR sched(opt, {.step_size = 1, .gamma = 0.5});
    return L::OptimizerConfig{.optimizer = std::move(opt),
                              .lr_scheduler = L::LRSchedulerConfig{.scheduler = std::move(sched), .name = "my_lr"}};
  }
};
}  // namespace

TEST_CASE("LearningRateMonitor: /pgN per parameter group, the scheduler config's name overriding") {
  TwoGroups model;
  L::Trainer<TwoGroups, L::OnlyCallbacks<L::LearningRateMonitor>, L::Loggers<>> trainer({.max_epochs = 2});
  auto loader = make_loader(2);
  trainer.fit(model, loader);
  const auto& last = trainer.callback<L::LearningRateMonitor>().last();
  CHECK(last.size() == 2);
  CHECK(last.at("my_lr/pg1") == doctest::Approx(0.05));
  CHECK(last.at("my_lr/pg2") == doctest::Approx(0.1));
}
