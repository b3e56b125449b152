// Precision policies (F32, F64, BF16Mixed, F16Mixed, BF16True, F16True),
// the Autocast / DefaultDtype guards and the GradScaler, all on CPU.
// LibTorch before doctest: Debian's c10 pulls in glog, whose CHECK(cond)
// would otherwise replace doctest's.
#include <ATen/autocast_mode.h>
#include <lightning/data/batch.hpp>
#include <lightning/policies/kinds.hpp>
#include <lightning/precision/precision.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {
namespace L = lightning;
namespace P = lightning::precision;

// A deterministic tiny regression: 8 samples, 3 features.
struct Problem {
  torch::Tensor x = torch::linspace(-1.0, 1.0, 24).reshape({8, 3});
  torch::Tensor y = torch::linspace(0.5, -0.5, 8).reshape({8, 1});
};

torch::nn::Linear make_linear() {
  torch::nn::Linear lin(3, 1);
  torch::NoGradGuard no_grad;
  lin->weight.copy_(torch::tensor({{0.25, -0.5, 0.75}}));
  lin->bias.fill_(0.125);
  return lin;
}

// Dtype/device-type names, so a failed comparison prints them (doctest's
// toString would find c10::toString by ADL and fail to compile).
std::string name_of(c10::ScalarType t) { return c10::toString(t); }
std::string name_of(c10::DeviceType t) { return c10::DeviceTypeName(t); }

torch::Tensor loss_of(torch::nn::Linear& lin, const Problem& p) { return torch::mse_loss(lin(p.x), p.y); }

// One scaler iteration on `lin`: backward on the scaled loss, step, update.
bool scaler_iteration(P::GradScaler& scaler, torch::nn::Linear& lin, torch::optim::SGD& opt, const Problem& p) {
  opt.zero_grad();
  scaler.scale(loss_of(lin, p)).backward();
  const bool stepped = scaler.step(opt);
  scaler.update();
  return stepped;
}

template <class T>
bool throws_with(T&& f, const std::string& needle) {
  try {
    f();
  } catch (const std::exception& e) {
    return std::string(e.what()).find(needle) != std::string::npos;
  }
  return false;
}
}  // namespace

// ------------------------------------------------------------------ interface

TEST_CASE("precision policies: kind tag and Lightning's names") {
  static_assert(L::detail::is_kind<P::F32, L::policy_kind::precision>);
  static_assert(L::detail::is_kind<P::F64, L::policy_kind::precision>);
  static_assert(L::detail::is_kind<P::BF16Mixed, L::policy_kind::precision>);
  static_assert(L::detail::is_kind<P::F16Mixed, L::policy_kind::precision>);
  static_assert(L::detail::is_kind<P::BF16True, L::policy_kind::precision>);
  static_assert(L::detail::is_kind<P::F16True, L::policy_kind::precision>);
  CHECK(std::string(P::F32::name) == "32-true");
  CHECK(std::string(P::F64::name) == "64-true");
  CHECK(std::string(P::BF16Mixed::name) == "bf16-mixed");
  CHECK(std::string(P::F16Mixed::name) == "16-mixed");
  CHECK(std::string(P::BF16True::name) == "bf16-true");
  CHECK(std::string(P::F16True::name) == "16-true");
  // F32 stays an empty type: nothing of it is stored in the Trainer.
  static_assert(std::is_empty_v<P::F32>);
  CHECK(P::F32::state_dict().size() == 0);
}

// ------------------------------------------------------------------ GradScaler

TEST_CASE("GradScaler: PyTorch's defaults and option checks") {
  P::GradScaler s;
  CHECK(s.get_scale() == 65536.0);
  CHECK(s.get_growth_factor() == 2.0);
  CHECK(s.get_backoff_factor() == 0.5);
  CHECK(s.get_growth_interval() == 2000);
  CHECK(s.get_growth_tracker() == 0);
  CHECK(s.is_enabled());
  CHECK_THROWS_AS(P::GradScaler({.growth_factor = 0.5}), std::invalid_argument);
  CHECK_THROWS_AS(P::GradScaler({.backoff_factor = 1.0}), std::invalid_argument);
  CHECK_THROWS_AS(P::GradScaler({.growth_interval = 0}), std::invalid_argument);
  CHECK_THROWS_AS(P::GradScaler({.init_scale = -1.0}), std::invalid_argument);
}

TEST_CASE("GradScaler: finite gradients are unscaled exactly and the step is taken") {
  Problem p;
  // Reference: plain float32 backward and SGD step.
  auto ref = make_linear();
  torch::optim::SGD ref_opt(ref->parameters(), 0.1);
  ref_opt.zero_grad();
  loss_of(ref, p).backward();
  const auto ref_wgrad = ref->weight.grad().clone();
  const auto ref_bgrad = ref->bias.grad().clone();
  ref_opt.step();

  auto lin = make_linear();
  torch::optim::SGD opt(lin->parameters(), 0.1);
  P::GradScaler scaler({.init_scale = 1024.0});
  auto loss = loss_of(lin, p);
  auto scaled = scaler.scale(loss);
  CHECK(scaled.sizes() == loss.sizes());
  CHECK(scaled.item<double>() == doctest::Approx(loss.item<double>() * 1024.0));
  scaled.backward();
  // Before unscaling the gradients carry the scale.
  CHECK(torch::allclose(lin->weight.grad(), ref_wgrad * 1024.0));
  CHECK_FALSE(scaler.is_unscaled(opt));
  scaler.unscale(opt);
  CHECK(scaler.is_unscaled(opt));
  // Power-of-two scale: the unscaled gradients match the reference bit for bit.
  CHECK(torch::equal(lin->weight.grad(), ref_wgrad));
  CHECK(torch::equal(lin->bias.grad(), ref_bgrad));
  CHECK(throws_with([&] { scaler.unscale(opt); }, "already been called"));

  CHECK(scaler.step(opt));  // no second unscale: step uses the recorded check
  CHECK(torch::equal(lin->weight, ref->weight));
  CHECK(torch::equal(lin->bias, ref->bias));
  CHECK_THROWS_AS(scaler.step(opt), std::logic_error);  // twice before update()
  scaler.update();
  CHECK(scaler.get_scale() == 1024.0);  // one good step of 2000: no growth yet
  CHECK(scaler.get_growth_tracker() == 1);
  CHECK(scaler.skipped_steps() == 0);
  CHECK_FALSE(scaler.is_unscaled(opt));
}

TEST_CASE("GradScaler: the scale grows after growth_interval good steps") {
  Problem p;
  auto lin = make_linear();
  torch::optim::SGD opt(lin->parameters(), 0.01);
  P::GradScaler scaler({.init_scale = 256.0, .growth_interval = 3});
  CHECK(scaler_iteration(scaler, lin, opt, p));
  CHECK(scaler_iteration(scaler, lin, opt, p));
  CHECK(scaler.get_scale() == 256.0);
  CHECK(scaler.get_growth_tracker() == 2);
  CHECK(scaler_iteration(scaler, lin, opt, p));
  CHECK(scaler.get_scale() == 512.0);
  CHECK(scaler.get_growth_tracker() == 0);
  for (int i = 0; i < 3; ++i) CHECK(scaler_iteration(scaler, lin, opt, p));
  CHECK(scaler.get_scale() == 1024.0);
}

TEST_CASE("GradScaler: growth never takes the scale past float32's range") {
  Problem p;
  auto lin = make_linear();
  torch::optim::SGD opt(lin->parameters(), 0.0);
  const double big = 3.0e38;  // * 2 overflows float32
  P::GradScaler scaler({.init_scale = big, .growth_interval = 1});
  opt.zero_grad();
  scaler.scale(loss_of(lin, p) * 1e-30).backward();  // a tiny loss keeps the scaled gradients finite
  (void)scaler.step(opt);
  scaler.update();
  CHECK(std::isfinite(scaler.get_scale()));
  CHECK(scaler.get_scale() == doctest::Approx(static_cast<double>(static_cast<float>(big))));
  CHECK(scaler.get_growth_tracker() == 0);
}

TEST_CASE("GradScaler: an inf or NaN gradient skips the step and halves the scale") {
  Problem p;
  auto lin = make_linear();
  torch::optim::SGD opt(lin->parameters(), 0.1);
  P::GradScaler scaler({.init_scale = 1024.0, .growth_interval = 3});
  CHECK(scaler_iteration(scaler, lin, opt, p));
  CHECK(scaler_iteration(scaler, lin, opt, p));
  CHECK(scaler.get_growth_tracker() == 2);

  for (double bad : {std::numeric_limits<double>::infinity(), std::nan("")}) {
    const double scale_before = scaler.get_scale();
    const auto w = lin->weight.clone();
    const auto b = lin->bias.clone();
    opt.zero_grad();
    scaler.scale(loss_of(lin, p)).backward();
    {
      torch::NoGradGuard no_grad;
      lin->weight.grad()[0][1] = bad;  // only one parameter is non-finite
    }
    CHECK_FALSE(scaler.step(opt));
    scaler.update();
    CHECK(torch::equal(lin->weight, w));  // neither parameter moved
    CHECK(torch::equal(lin->bias, b));
    CHECK(scaler.get_scale() == scale_before * 0.5);
    CHECK(scaler.get_growth_tracker() == 0);
  }
  CHECK(scaler.skipped_steps() == 2);
  CHECK(scaler.get_scale() == 256.0);

  // Good steps afterwards step again and count towards growth from zero.
  CHECK(scaler_iteration(scaler, lin, opt, p));
  CHECK(scaler.get_growth_tracker() == 1);
  CHECK(scaler.skipped_steps() == 2);
}

TEST_CASE("GradScaler: misuse is reported") {
  auto lin = make_linear();
  torch::optim::SGD opt(lin->parameters(), 0.1);
  P::GradScaler scaler;
  CHECK(throws_with([&] { scaler.step(opt); }, "scale(loss)"));  // before any scale()
  CHECK(throws_with([&] { scaler.update(); }, "scale(loss)"));
  scaler.scale(torch::tensor(1.0f));
  CHECK(throws_with([&] { scaler.update(); }, "no inf checks"));  // nothing unscaled or stepped yet
  CHECK(throws_with([&] { scaler.step(opt); }, "no inf checks"));  // no parameter has a gradient
  // float16 gradients: master weights must stay float32.
  auto h = torch::ones({2}, torch::kHalf).requires_grad_();
  h.mutable_grad() = torch::ones({2}, torch::kHalf);
  torch::optim::SGD hopt(std::vector<torch::Tensor>{h}, 0.1);
  CHECK(throws_with([&] { scaler.unscale(hopt); }, "float16"));
}

TEST_CASE("GradScaler: state_dict round trip with PyTorch's keys") {
  Problem p;
  auto lin = make_linear();
  torch::optim::SGD opt(lin->parameters(), 0.01);
  P::GradScaler scaler({.init_scale = 512.0, .growth_factor = 4.0, .backoff_factor = 0.25, .growth_interval = 5});
  for (int i = 0; i < 7; ++i) scaler_iteration(scaler, lin, opt, p);  // one growth, tracker 2
  CHECK(scaler.get_scale() == 2048.0);
  CHECK(scaler.get_growth_tracker() == 2);

  const auto d = scaler.state_dict();
  CHECK(d.size() == 5);
  CHECK(d.at("scale").toDouble() == 2048.0);
  CHECK(d.at("growth_factor").toDouble() == 4.0);
  CHECK(d.at("backoff_factor").toDouble() == 0.25);
  CHECK(d.at("growth_interval").toInt() == 5);
  CHECK(d.at("_growth_tracker").toInt() == 2);

  // Into a fresh scaler (scale not created yet) ...
  P::GradScaler fresh;
  fresh.load_state_dict(d);
  CHECK(fresh.get_scale() == 2048.0);
  CHECK(fresh.get_growth_factor() == 4.0);
  CHECK(fresh.get_backoff_factor() == 0.25);
  CHECK(fresh.get_growth_interval() == 5);
  CHECK(fresh.get_growth_tracker() == 2);
  // ... which continues where the saved one was: 3 more good steps grow it.
  auto lin2 = make_linear();
  torch::optim::SGD opt2(lin2->parameters(), 0.01);
  for (int i = 0; i < 3; ++i) scaler_iteration(fresh, lin2, opt2, p);
  CHECK(fresh.get_scale() == 8192.0);
  CHECK(fresh.get_growth_tracker() == 0);

  // Into one already in use: its live tensors are overwritten.
  fresh.load_state_dict(d);
  CHECK(fresh.get_scale() == 2048.0);
  CHECK(fresh.get_growth_tracker() == 2);

  // A dict from Python may hold whole floats as ints.
  auto py = d.copy();
  py.insert_or_assign("growth_factor", int64_t{2});
  fresh.load_state_dict(py);
  CHECK(fresh.get_growth_factor() == 2.0);

  auto missing = d.copy();
  REQUIRE(missing.erase("_growth_tracker") == 1);
  P::GradScaler other;
  CHECK(throws_with([&] { other.load_state_dict(missing); }, "_growth_tracker"));
  CHECK(other.get_scale() == 65536.0);  // unchanged by the failed load
  CHECK(throws_with([&] { other.load_state_dict(P::detail::empty_state_dict()); }, "empty"));
}

TEST_CASE("GradScaler: disabled, every call passes through") {
  Problem p;
  auto lin = make_linear();
  torch::optim::SGD opt(lin->parameters(), 0.1);
  P::GradScaler scaler({.enabled = false});
  auto loss = loss_of(lin, p);
  CHECK(scaler.scale(loss).is_same(loss));
  loss.backward();
  const auto w = lin->weight.clone();
  CHECK(scaler.step(opt));
  scaler.update();
  CHECK_FALSE(torch::equal(lin->weight, w));
  CHECK(scaler.get_scale() == 1.0);
  CHECK(scaler.state_dict().size() == 0);
}

TEST_CASE("GradScaler: a copy has its own scale") {
  P::GradScaler a({.init_scale = 8.0});
  a.scale(torch::tensor(1.0f));
  P::GradScaler b = a;
  b.update(2.0);  // update(new_scale)
  CHECK(b.get_scale() == 2.0);
  CHECK(a.get_scale() == 8.0);
}

// ------------------------------------------------------------------ Autocast / BF16Mixed

TEST_CASE("BF16Mixed: bfloat16 forward, float32 parameters and gradients") {
  Problem p;
  auto lin = make_linear();
  P::BF16Mixed prec;
  prec.setup(torch::kCPU);
  CHECK(name_of(prec.device_type()) == name_of(torch::kCPU));
  REQUIRE_FALSE(at::autocast::is_cpu_enabled());
  torch::Tensor out, loss;
  {
    auto scope = prec.forward_context();
    CHECK(at::autocast::is_cpu_enabled());
    CHECK(name_of(at::autocast::get_autocast_cpu_dtype()) == name_of(torch::kBFloat16));
    out = lin(p.x);
    loss = torch::mse_loss(out, p.y);
  }
  CHECK_FALSE(at::autocast::is_cpu_enabled());
  CHECK(name_of(out.scalar_type()) == name_of(torch::kBFloat16));
  CHECK(name_of(loss.scalar_type()) == name_of(torch::kFloat));  // mse_loss runs in float32 under autocast
  CHECK(name_of(lin->weight.scalar_type()) == name_of(torch::kFloat));
  prec.backward(loss);
  CHECK(name_of(lin->weight.grad().scalar_type()) == name_of(torch::kFloat));
  CHECK(name_of(lin->bias.grad().scalar_type()) == name_of(torch::kFloat));
  // The bf16 gradient is close to the float32 one.
  auto ref = make_linear();
  loss_of(ref, p).backward();
  CHECK(torch::allclose(lin->weight.grad(), ref->weight.grad(), 0.05, 0.01));
  CHECK(prec.state_dict().size() == 0);
}

TEST_CASE("Autocast: restores the state on exceptions, nests, clears the cast cache") {
  REQUIRE_FALSE(at::autocast::is_cpu_enabled());
  P::BF16Mixed prec;
  try {
    auto scope = prec.forward_context();
    REQUIRE(at::autocast::is_cpu_enabled());
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  CHECK_FALSE(at::autocast::is_cpu_enabled());

  auto x = torch::ones({1, 3});
  auto lin = make_linear();
  {
    auto outer = prec.forward_context();
    {
      auto inner = prec.forward_context();
      CHECK(name_of(lin(x).scalar_type()) == name_of(torch::kBFloat16));
    }
    CHECK(at::autocast::is_cpu_enabled());  // the inner exit left the outer region on
    CHECK(name_of(lin(x).scalar_type()) == name_of(torch::kBFloat16));
    {
      P::Autocast off(torch::kCPU, torch::kBFloat16, /*enabled=*/false);
      CHECK(name_of(lin(x).scalar_type()) == name_of(torch::kFloat));
    }
    CHECK(name_of(lin(x).scalar_type()) == name_of(torch::kBFloat16));
  }
  CHECK_FALSE(at::autocast::is_cpu_enabled());
  CHECK(name_of(lin(x).scalar_type()) == name_of(torch::kFloat));

  // Autocast caches the bf16 copy of a leaf parameter within a region (in
  // 1.13 on CPU the Linear's bias is) and must drop it on exit: after an
  // update outside the region the next region sees the new value.
  torch::Tensor first, second;
  {
    auto scope = prec.forward_context();
    first = lin(x).to(torch::kFloat);
  }
  {
    torch::NoGradGuard no_grad;
    lin->bias.add_(1.0);
  }
  {
    auto scope = prec.forward_context();
    second = lin(x).to(torch::kFloat);
  }
  CHECK(second.item<double>() == doctest::Approx(first.item<double>() + 1.0).epsilon(0.01));

  // Invalid requests throw before touching the state.
  CHECK(throws_with([] { P::Autocast a(torch::kCPU, torch::kHalf); }, "bfloat16"));
  CHECK(throws_with([] { P::Autocast a(torch::kMeta, torch::kBFloat16); }, "cpu or cuda"));
  CHECK_FALSE(at::autocast::is_cpu_enabled());
  CHECK(name_of(at::autocast::get_autocast_cpu_dtype()) == name_of(torch::kBFloat16));
  P::BF16Mixed other;
  CHECK_THROWS_AS(other.setup(torch::Device(torch::kMeta)), std::invalid_argument);
}

TEST_CASE("BF16Mixed: a linear regression trained under its context converges") {
  torch::manual_seed(0);
  const auto x = torch::randn({256, 2});
  const auto y = x.matmul(torch::tensor({{3.0f}, {-2.0f}})) + 1.0;
  torch::nn::Linear lin(2, 1);
  torch::optim::SGD opt(lin->parameters(), 0.1);
  P::BF16Mixed prec;
  prec.setup(torch::kCPU);
  double first = 0.0, last = 0.0;
  for (int step = 0; step < 300; ++step) {
    opt.zero_grad();
    torch::Tensor loss;
    {
      auto scope = prec.forward_context();
      loss = torch::mse_loss(lin(x), y);
    }
    prec.backward(loss);
    prec.unscale(opt);
    CHECK(prec.optimizer_step(opt));
    (step == 0 ? first : last) = loss.item<double>();
  }
  CHECK(first > 1.0);
  CHECK(last < 0.01 * first);
  CHECK(name_of(lin->weight.scalar_type()) == name_of(torch::kFloat));
  CHECK(lin->weight[0][0].item<double>() == doctest::Approx(3.0).epsilon(0.05));
  CHECK(lin->weight[0][1].item<double>() == doctest::Approx(-2.0).epsilon(0.05));
}

// ------------------------------------------------------------------ F16Mixed

TEST_CASE("F16Mixed: refused on CPU, pointing at bf16-mixed") {
  P::F16Mixed prec;
  CHECK(throws_with([&] { prec.setup(torch::kCPU); }, "bf16-mixed"));
  CHECK_THROWS_AS(prec.setup(torch::kCPU), std::invalid_argument);
  CHECK_NOTHROW(prec.setup(torch::Device(torch::kCUDA, 0)));  // accepted; no CUDA needed to check the type
  CHECK(throws_with([] { P::F16True::setup(torch::kCPU); }, "bf16-true"));
}

TEST_CASE("F16Mixed: scaled backward, idempotent unscale, skip and state on CPU tensors") {
  Problem p;
  auto ref = make_linear();
  loss_of(ref, p).backward();

  auto lin = make_linear();
  torch::optim::SGD opt(lin->parameters(), 0.1);
  P::F16Mixed prec({.init_scale = 128.0, .growth_interval = 2});
  prec.backward(loss_of(lin, p));
  CHECK(torch::allclose(lin->weight.grad(), ref->weight.grad() * 128.0));
  prec.unscale(opt);
  prec.unscale(opt);  // the Trainer may ask twice in a step: unscaled once
  CHECK(torch::equal(lin->weight.grad(), ref->weight.grad()));
  CHECK(prec.optimizer_step(opt));
  CHECK(prec.scaler().get_growth_tracker() == 1);

  opt.zero_grad();
  prec.backward(loss_of(lin, p) * std::numeric_limits<float>::infinity());
  const auto w = lin->weight.clone();
  CHECK_FALSE(prec.optimizer_step(opt));  // unscales itself when unscale() was not called
  CHECK(torch::equal(lin->weight, w));
  CHECK(prec.scaler().get_scale() == 64.0);

  auto d = prec.state_dict();
  CHECK(d.at("scale").toDouble() == 64.0);
  P::F16Mixed restored;
  restored.load_state_dict(d);
  CHECK(restored.scaler().get_scale() == 64.0);
  CHECK(restored.scaler().get_growth_interval() == 2);
}

// ------------------------------------------------------------------ F64 and the "-true" precisions

TEST_CASE("F64: module, floating inputs and default dtype in double") {
  struct Net : torch::nn::Module {
    torch::nn::Linear fc{nullptr};
    torch::nn::BatchNorm1d bn{nullptr};
    Net() {
      fc = register_module("fc", torch::nn::Linear(3, 2));
      bn = register_module("bn", torch::nn::BatchNorm1d(2));
    }
    torch::Tensor forward(const torch::Tensor& x) { return bn(fc(x)); }
  } net;
  net.fc->weight.mutable_grad() = torch::zeros_like(net.fc->weight);
  P::F64::convert_module(net);
  for (const auto& prm : net.parameters()) CHECK(name_of(prm.scalar_type()) == name_of(torch::kDouble));
  CHECK(name_of(net.fc->weight.grad().scalar_type()) == name_of(torch::kDouble));
  CHECK(name_of(net.bn->running_mean.scalar_type()) == name_of(torch::kDouble));
  // Integer buffers keep their type (torch::nn::Module::to(kDouble) would cast them).
  CHECK(name_of(net.bn->num_batches_tracked.scalar_type()) == name_of(torch::kLong));

  // A ModuleHolder works too.
  auto lin = make_linear();
  P::F64::convert_module(lin);
  CHECK(name_of(lin->weight.scalar_type()) == name_of(torch::kDouble));

  L::Batch batch(torch::ones({4, 3}), torch::zeros({4}, torch::kLong));
  auto converted = P::F64::convert_input(batch);
  CHECK(name_of(converted.data.scalar_type()) == name_of(torch::kDouble));
  CHECK(name_of(converted.target.scalar_type()) == name_of(torch::kLong));
  CHECK(name_of(batch.data.scalar_type()) == name_of(torch::kFloat));  // the caller's batch is untouched

  using Nested = std::tuple<torch::Tensor, std::pair<torch::Tensor, torch::Tensor>, std::vector<torch::Tensor>>;
  Nested nested{torch::ones({2}), {torch::ones({2}, torch::kInt), torch::ones({2}, torch::kHalf)},
                {torch::ones({1}), torch::ones({1}, torch::kBool)}};
  auto n = P::F64::convert_input(std::move(nested));
  CHECK(name_of(std::get<0>(n).scalar_type()) == name_of(torch::kDouble));
  CHECK(name_of(std::get<1>(n).first.scalar_type()) == name_of(torch::kInt));
  CHECK(name_of(std::get<1>(n).second.scalar_type()) == name_of(torch::kDouble));
  CHECK(name_of(std::get<2>(n)[0].scalar_type()) == name_of(torch::kDouble));
  CHECK(name_of(std::get<2>(n)[1].scalar_type()) == name_of(torch::kBool));
  std::map<std::string, torch::Tensor> dict{{"a", torch::ones({1})}};
  CHECK(name_of(P::F64::convert_input(dict).at("a").scalar_type()) == name_of(torch::kDouble));

  {
    auto scope = P::F64::forward_context();
    CHECK(name_of(torch::ones({2}).scalar_type()) == name_of(torch::kDouble));
    auto out = net.forward(converted.data);
    CHECK(name_of(out.scalar_type()) == name_of(torch::kDouble));
  }
  CHECK(name_of(torch::ones({2}).scalar_type()) == name_of(torch::kFloat));
  try {
    auto scope = P::F64::forward_context();
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  CHECK(name_of(torch::ones({2}).scalar_type()) == name_of(torch::kFloat));
}

TEST_CASE("BF16True: module and inputs in bfloat16, trains on CPU") {
  Problem p;
  auto lin = make_linear();
  P::BF16True::setup(torch::kCPU);
  P::BF16True::convert_module(lin);
  CHECK(name_of(lin->weight.scalar_type()) == name_of(torch::kBFloat16));
  auto [x, y] = P::BF16True::convert_input(std::make_pair(p.x, p.y));
  CHECK(name_of(x.scalar_type()) == name_of(torch::kBFloat16));
  torch::optim::SGD opt(lin->parameters(), 0.1);
  double first = 0.0, last = 0.0;
  for (int i = 0; i < 50; ++i) {
    opt.zero_grad();
    torch::Tensor loss;
    {
      auto scope = P::BF16True::forward_context();
      CHECK(name_of(torch::zeros({1}).scalar_type()) == name_of(torch::kBFloat16));
      loss = (lin(x) - y).pow(2).mean();  // 1.13 has no bfloat16 mse_loss kernel on CPU
    }
    CHECK(name_of(loss.scalar_type()) == name_of(torch::kBFloat16));
    P::BF16True::backward(loss);
    CHECK(name_of(lin->weight.grad().scalar_type()) == name_of(torch::kBFloat16));
    P::BF16True::optimizer_step(opt);
    (i == 0 ? first : last) = loss.item<double>();
  }
  CHECK(last < 0.5 * first);
  CHECK(name_of(torch::zeros({1}).scalar_type()) == name_of(torch::kFloat));
}
