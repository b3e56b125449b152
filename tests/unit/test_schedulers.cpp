// lightning::optim's LR schedulers against PyTorch's own: tests/schedulers/
// reference.py runs torch.optim.lr_scheduler under Debian's /usr/bin/python3
// (python3-torch) and every step's lrs (and OneCycleLR's momenta) must match
// to 1e-12 relative. Also: state-dict round trips (bit for bit, through
// torch::pickle_save), PyTorch resuming from our state dicts, and errors.
//
// LibTorch comes before doctest: its glog-style CHECK(cond) would replace doctest's.
#include <lightning/optim/schedulers.hpp>
// (keep the order)
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace {
namespace O = lightning::optim;
namespace fs = std::filesystem;

using Rows = std::vector<std::vector<double>>;

// Debian's python with python3-torch (PyTorch 1.13), not whatever is first on PATH.
constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kInstallHint =
    "PyTorch's reference values need python3-torch for /usr/bin/python3: apt-get install python3-torch";

// ---------------------------------------------------------------------------
// Running the Python side

// tests/schedulers/: under LIGHTNING_TESTS_DIR when the build defines it, else
// next to this file; a relative __FILE__ (the build's) is tried from the
// working directory, then from the executable's directory and its parents.
fs::path scripts_dir() {
#ifdef LIGHTNING_TESTS_DIR
  return fs::path(LIGHTNING_TESTS_DIR) / "schedulers";
#else
  const auto rel = fs::path(__FILE__).parent_path().parent_path() / "schedulers";
  if (rel.is_absolute() || fs::exists(rel)) return rel;
  std::error_code ec;
  for (auto dir = fs::read_symlink("/proc/self/exe", ec).parent_path(); !ec && !dir.empty(); dir = dir.parent_path()) {
    if (fs::exists(dir / rel)) return dir / rel;
    if (dir == dir.root_path()) break;
  }
  return rel;
#endif
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct CommandResult {
  int status = -1;
  std::string out;
};

CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// Empty when /usr/bin/python3 can import torch, else why not (asked once:
// importing torch takes seconds).
const std::string& python_torch_problem() {
  static const std::string problem = [] {
    if (access(kPython, X_OK) != 0) return std::string(kPython) + " not found. " + kInstallHint;
    auto r = run_command(std::string(kPython) + " -c 'import torch' 2>&1");
    if (r.status != 0) return std::string(kPython) + " cannot import torch (" + r.out + "). " + kInstallHint;
    return std::string();
  }();
  return problem;
}

// Runs a script of tests/schedulers and parses its `== name` sections: a
// `metrics` line, if any, then rows of floats.
struct Case {
  std::vector<double> metrics;
  Rows rows;
  std::vector<std::string> keys;
};
using Cases = std::map<std::string, Case>;

std::vector<double> parse_floats(std::istringstream& in) {
  std::vector<double> v;
  std::string tok;
  while (in >> tok) v.push_back(std::strtod(tok.c_str(), nullptr));  // repr() round-trips exactly
  return v;
}

Cases parse_cases(const std::string& text) {
  Cases cases;
  Case* cur = nullptr;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream in(line);
    std::string head;
    if (!(in >> head)) continue;
    if (head == "==") {
      std::string name;
      in >> name;
      cur = &cases[name];
    } else if (cur && head == "metrics") {
      cur->metrics = parse_floats(in);
    } else if (cur && head == "keys") {
      for (std::string k; in >> k;) cur->keys.push_back(k);
    } else if (cur) {
      std::istringstream all(line);
      cur->rows.push_back(parse_floats(all));
    }
  }
  return cases;
}

// Runs `script args` with /usr/bin/python3; REQUIREs success.
Cases run_script(const std::string& script, const std::string& args = "") {
  const auto& problem = python_torch_problem();
  REQUIRE_MESSAGE(problem.empty(), problem);
  const auto path = scripts_dir() / script;
  REQUIRE_MESSAGE(fs::exists(path), "reference script not found: ", path.string());
  auto r = run_command(std::string(kPython) + " -B " + shell_quote(path.string()) + " " + args + " 2>&1");
  REQUIRE_MESSAGE(r.status == 0, script, " failed:\n", r.out);
  return parse_cases(r.out);
}

const Case& reference(const std::string& name) {
  static const Cases cases = run_script("reference.py");  // once: importing torch takes a second
  auto it = cases.find(name);
  REQUIRE_MESSAGE(it != cases.end(), "reference.py printed no case '", name, "'");
  return it->second;
}

// ---------------------------------------------------------------------------
// Optimizers as reference.py builds them: two param groups, different lrs.

struct Params {
  torch::Tensor a = torch::zeros({1}, torch::requires_grad());
  torch::Tensor b = torch::zeros({1}, torch::requires_grad());
};

torch::optim::SGD make_sgd(const Params& p) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{p.a});
  groups.emplace_back(std::vector<torch::Tensor>{p.b},
                      std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(0.05).momentum(0.8)));
  return torch::optim::SGD(std::move(groups), torch::optim::SGDOptions(0.1).momentum(0.9));
}

template <class Opt, class Options>
Opt make_adam(const Params& p) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{p.a});
  groups.emplace_back(std::vector<torch::Tensor>{p.b},
                      std::make_unique<Options>(Options(5e-4).betas(std::make_tuple(0.8, 0.99))));
  return Opt(std::move(groups), Options(1e-3));
}

std::vector<double> momenta(const torch::optim::Optimizer& opt) {
  std::vector<double> m;
  for (const auto& g : opt.param_groups()) {
    const auto& o = g.options();
    if (auto* sgd = dynamic_cast<const torch::optim::SGDOptions*>(&o))
      m.push_back(sgd->momentum());
    else if (auto* adam = dynamic_cast<const torch::optim::AdamOptions*>(&o))
      m.push_back(std::get<0>(adam->betas()));
    else if (auto* adamw = dynamic_cast<const torch::optim::AdamWOptions*>(&o))
      m.push_back(std::get<0>(adamw->betas()));
  }
  return m;
}

// One row as reference.py prints it: the groups' lrs, then (with_momentum) their momenta.
template <class S>
std::vector<double> row(const torch::optim::Optimizer& opt, const S& s, bool with_momentum) {
  auto r = O::detail::group_lrs(opt);
  CHECK_MESSAGE(s.get_last_lr() == r, "get_last_lr() differs from the optimizer's lrs");
  if (with_momentum)
    for (double m : momenta(opt)) r.push_back(m);
  return r;
}

// Steps a scheduler `steps` times, a row after construction and after each step.
template <class S>
Rows record(const torch::optim::Optimizer& opt, S& s, int steps, bool with_momentum = false) {
  Rows rows{row(opt, s, with_momentum)};
  for (int i = 0; i < steps; ++i) {
    s.step();
    CHECK(s.last_epoch() == i + 1);
    rows.push_back(row(opt, s, with_momentum));
  }
  return rows;
}

std::string fmt(double v) {
  std::ostringstream o;
  o << std::setprecision(17) << v;
  return o.str();
}

bool close(double a, double b) {
  if (a == b) return true;
  return std::abs(a - b) <= 1e-12 * std::max(std::abs(a), std::abs(b));
}

// Every value of every step equal to PyTorch's to 1e-12 relative; the
// reference must have crossed at least `min_steps` steps.
void check_against(const std::string& name, const Rows& got, std::size_t min_steps = 30) {
  const auto& want = reference(name).rows;
  REQUIRE_MESSAGE(want.size() == got.size(), name, ": ", got.size(), " rows, PyTorch printed ", want.size());
  CHECK(want.size() > min_steps);
  int bad = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    REQUIRE_MESSAGE(want[i].size() == got[i].size(), name, " step ", i, ": ", got[i].size(), " values, PyTorch ",
                    want[i].size());
    for (std::size_t j = 0; j < want[i].size(); ++j)
      if (!close(got[i][j], want[i][j]) && bad++ < 10)
        FAIL_CHECK(name, " step ", i, " value ", j, ": C++ ", fmt(got[i][j]), " vs PyTorch ", fmt(want[i][j]));
  }
  CHECK_MESSAGE(bad == 0, name, ": ", bad, " values differ from PyTorch's");
}

// A schedule that actually changes (guards against comparing two constants).
void check_varies(const Rows& rows) {
  std::size_t changes = 0;
  for (std::size_t i = 1; i < rows.size(); ++i) changes += rows[i][0] != rows[i - 1][0];
  CHECK(changes >= 3);
}

}  // namespace

TEST_CASE("schedulers: Debian's python3-torch is there for the reference values") {
  const auto& problem = python_torch_problem();
  CHECK_MESSAGE(problem.empty(), problem);
}

// ---------------------------------------------------------------------------
// Against PyTorch, step by step

TEST_CASE("StepLR matches PyTorch") {
  Params p;
  auto opt = make_sgd(p);
  O::StepLR s(opt, {.step_size = 7, .gamma = 0.5});
  auto rows = record(opt, s, 40);
  check_varies(rows);
  check_against("step", rows);
}

TEST_CASE("MultiStepLR matches PyTorch, a repeated milestone decaying twice") {
  Params p;
  auto opt = make_sgd(p);
  O::MultiStepLR s(opt, {.milestones = {5, 12, 12, 30}, .gamma = 0.3});
  auto rows = record(opt, s, 40);
  check_varies(rows);
  check_against("multistep", rows);
}

TEST_CASE("ExponentialLR matches PyTorch") {
  Params p;
  auto opt = make_sgd(p);
  O::ExponentialLR s(opt, {.gamma = 0.93});
  check_against("exponential", record(opt, s, 40));
}

TEST_CASE("CosineAnnealingLR matches PyTorch's recursive form over several half-periods") {
  {
    Params p;
    auto opt = make_sgd(p);
    O::CosineAnnealingLR s(opt, {.T_max = 10, .eta_min = 0.001});
    auto rows = record(opt, s, 45);
    check_varies(rows);
    check_against("cosine", rows);
  }
  {
    Params p;
    auto opt = make_sgd(p);
    O::CosineAnnealingLR s(opt, {.T_max = 7});
    check_against("cosine_eta0", record(opt, s, 35));
  }
}

TEST_CASE("chained on one optimizer, the recursive forms see each other's lrs, as in PyTorch") {
  // The schedulers share `initial_lr` as PyTorch's do through the param groups:
  // the cosine's base_lrs are the lrs before the warm-up scaled them.
  auto run = [](torch::optim::Optimizer& opt, auto& first, auto& second) {
    Rows rows{O::detail::group_lrs(opt)};
    for (int i = 0; i < 40; ++i) {
      first.step();
      second.step();
      rows.push_back(O::detail::group_lrs(opt));
    }
    return rows;
  };
  {
    Params p;
    auto opt = make_sgd(p);
    std::vector<double> initial_lr;
    O::LinearLR warmup(opt, {.start_factor = 0.2, .total_iters = 6}, &initial_lr);
    O::CosineAnnealingLR cosine(opt, {.T_max = 15, .eta_min = 0.002}, &initial_lr);
    CHECK(cosine.base_lrs() == std::vector<double>{0.1, 0.05});
    check_against("chained_linear_cosine", run(opt, warmup, cosine));
  }
  {
    Params p;
    auto opt = make_sgd(p);
    O::CosineAnnealingLR cosine(opt, {.T_max = 10, .eta_min = 0.001});
    O::ExponentialLR exponential(opt, {.gamma = 0.9});
    check_against("chained_cosine_exponential", run(opt, cosine, exponential));
  }
}

TEST_CASE("LinearLR matches PyTorch: warm-up and decay") {
  {
    Params p;
    auto opt = make_sgd(p);
    O::LinearLR s(opt, {.start_factor = 0.25, .total_iters = 8});
    auto rows = record(opt, s, 30);
    CHECK(rows[0][0] == doctest::Approx(0.025));  // the constructor's step applies start_factor
    check_against("linear_warmup", rows);
  }
  {
    Params p;
    auto opt = make_sgd(p);
    O::LinearLR s(opt, {.start_factor = 1.0, .end_factor = 0.1, .total_iters = 12});
    check_against("linear_decay", record(opt, s, 30));
  }
}

TEST_CASE("LambdaLR matches PyTorch: one function, and one per group") {
  {
    Params p;
    auto opt = make_sgd(p);
    O::LambdaLR s(opt, {.lr_lambda = [](int64_t e) { return std::pow(0.95, static_cast<double>(e)); }});
    check_against("lambda", record(opt, s, 35));
  }
  {
    Params p;
    auto opt = make_sgd(p);
    O::LambdaLR s(opt, {.lr_lambdas = {[](int64_t e) { return 1.0 / static_cast<double>(e + 1); },
                                       [](int64_t e) { return std::pow(0.9, static_cast<double>(e / 3)); }}});
    check_against("lambda_per_group", record(opt, s, 35));
  }
}

TEST_CASE("OneCycleLR matches PyTorch, lrs and momentum") {
  SUBCASE("SGD, cos, per-group max_lr: momentum cycles") {
    Params p;
    auto opt = make_sgd(p);
    O::OneCycleLR s(opt, {.max_lr = {1.0, 0.5}, .total_steps = 40});
    auto rows = record(opt, s, 40, true);
    check_varies(rows);
    check_against("onecycle_sgd_cos", rows);
    CHECK_THROWS_AS(s.step(), std::out_of_range);  // PyTorch: "Tried to step 42 times..."
  }
  SUBCASE("Adam, linear, three phases: beta1 cycles, beta2 kept") {
    Params p;
    auto opt = make_adam<torch::optim::Adam, torch::optim::AdamOptions>(p);
    O::OneCycleLR s(opt, {.max_lr = {0.01},
                          .total_steps = 36,
                          .anneal_strategy = O::AnnealStrategy::linear,
                          .base_momentum = {0.8},
                          .max_momentum = {0.95, 0.9},
                          .three_phase = true});
    check_against("onecycle_adam_linear_three_phase", record(opt, s, 36, true));
    auto& g1 = static_cast<torch::optim::AdamOptions&>(opt.param_groups()[1].options());
    CHECK(std::get<1>(g1.betas()) == 0.99);
  }
  SUBCASE("AdamW, epochs x steps_per_epoch") {
    Params p;
    auto opt = make_adam<torch::optim::AdamW, torch::optim::AdamWOptions>(p);
    O::OneCycleLR s(opt, {.max_lr = {0.02, 0.01},
                          .epochs = 4,
                          .steps_per_epoch = 8,
                          .pct_start = 0.25,
                          .div_factor = 10.0,
                          .final_div_factor = 100.0});
    CHECK(s.total_steps() == 32);
    check_against("onecycle_adamw_epochs", record(opt, s, 32, true));
  }
  SUBCASE("SGD without cycle_momentum: momentum untouched") {
    Params p;
    auto opt = make_sgd(p);
    O::OneCycleLR s(opt, {.max_lr = {0.3}, .total_steps = 30, .pct_start = 0.4, .cycle_momentum = false});
    auto rows = record(opt, s, 30, true);
    CHECK(rows.back()[2] == 0.9);
    check_against("onecycle_sgd_no_momentum", rows, 29);
  }
}

TEST_CASE("ReduceLROnPlateau matches PyTorch on metrics with plateaus") {
  SUBCASE("min, rel threshold, cooldown, per-group min_lr") {
    const auto& ref = reference("plateau_min_rel");
    Params p;
    auto opt = make_sgd(p);
    O::ReduceLROnPlateau s(opt,
                           {.factor = 0.5, .patience = 2, .threshold = 0.01, .cooldown = 1, .min_lr = {0.01, 0.0}});
    Rows rows{row(opt, s, false)};
    for (double m : ref.metrics) {
      s.step(m);
      rows.push_back(row(opt, s, false));
    }
    CHECK(ref.metrics.size() >= 30);
    check_varies(rows);
    CHECK(rows.back()[0] == 0.01);  // clamped at min_lr
    check_against("plateau_min_rel", rows);
  }
  SUBCASE("max, abs threshold, eps skipping tiny reductions") {
    const auto& ref = reference("plateau_max_abs");
    Params p;
    auto opt = make_sgd(p);
    O::ReduceLROnPlateau s(opt, {.mode = O::PlateauMode::max,
                                 .factor = 0.3,
                                 .patience = 1,
                                 .threshold = 0.05,
                                 .threshold_mode = O::ThresholdMode::abs,
                                 .cooldown = 2,
                                 .min_lr = {0.004},
                                 .eps = 1e-3});
    Rows rows{row(opt, s, false)};
    for (double m : ref.metrics) {
      s.step(m);
      rows.push_back(row(opt, s, false));
    }
    check_varies(rows);
    check_against("plateau_max_abs", rows);
  }
}

TEST_CASE("SequentialLR matches PyTorch") {
  SUBCASE("LinearLR warm-up then CosineAnnealingLR") {
    Params p;
    auto opt = make_sgd(p);
    O::SequentialLR s(opt, {.milestones = {5}}, O::LinearLROptions{.start_factor = 0.1, .total_iters = 5},
                      O::CosineAnnealingLROptions{.T_max = 30, .eta_min = 1e-4});
    static_assert(std::is_same_v<decltype(s), O::SequentialLR<O::LinearLR, O::CosineAnnealingLR>>);
    auto rows = record(opt, s, 40);
    CHECK(rows[5][0] == 0.1);  // the cosine restarts at its epoch 0: the initial lr
    check_against("sequential_warmup_cosine", rows);
  }
  SUBCASE("three schedulers, LambdaLR (no closed form) in the middle") {
    Params p;
    auto opt = make_sgd(p);
    O::SequentialLR<O::LinearLR, O::LambdaLR, O::ExponentialLR> s(
        opt, {.milestones = {4, 10}}, {.start_factor = 0.5, .total_iters = 4},
        {.lr_lambda = [](int64_t e) { return std::pow(0.8, static_cast<double>(e)); }}, {.gamma = 0.9});
    check_against("sequential_three", record(opt, s, 35));
  }
  SUBCASE("warm-up then OneCycleLR, which sets initial_lr for both") {
    Params p;
    auto opt = make_sgd(p);
    O::SequentialLR<O::LinearLR, O::OneCycleLR> s(opt, {.milestones = {3}}, {.start_factor = 0.5, .total_iters = 3},
                                                  {.max_lr = {0.5}, .total_steps = 30});
    check_against("sequential_warmup_onecycle", record(opt, s, 32, true));
  }
}

// ---------------------------------------------------------------------------
// State dicts

namespace {

std::string save_optimizer(const torch::optim::Optimizer& opt) {
  torch::serialize::OutputArchive a;
  opt.save(a);
  std::ostringstream out;
  a.save_to(out);
  return out.str();
}
void load_optimizer(torch::optim::Optimizer& opt, const std::string& bytes) {
  torch::serialize::InputArchive a;
  std::istringstream in(bytes);
  a.load_from(in);
  opt.load(a);
}

// Deep equality, doubles compared exactly (the pickle bytes hold a per-save id).
bool same_state(const O::StateDict& a, const O::StateDict& b) { return c10::IValue(a) == c10::IValue(b); }

// Steps k times, saves the scheduler (pickled) and the optimizer, builds a
// fresh optimizer + scheduler, loads both and goes on to n steps: every
// value must equal an uninterrupted run's bit for bit.
template <class MakeOpt, class MakeSched, class Step>
void check_round_trip(MakeOpt make_opt, MakeSched make_sched, Step step, int k, int n) {
  CAPTURE(k);
  auto snapshot = [](const torch::optim::Optimizer& opt, const auto& s) {
    auto r = O::detail::group_lrs(opt);
    for (double m : momenta(opt)) r.push_back(m);
    for (double v : s.get_last_lr()) r.push_back(v);
    r.push_back(static_cast<double>(s.last_epoch()));
    return r;
  };
  Rows straight;
  {
    Params p;
    auto opt = make_opt(p);
    auto s = make_sched(opt);
    for (int i = 0; i < n; ++i) {
      step(s, i);
      straight.push_back(snapshot(opt, s));
    }
  }
  Rows resumed(straight.begin(), straight.begin() + k);
  O::StateDict saved = O::detail::make_state_dict();
  std::vector<char> pickled;
  std::string opt_bytes;
  {
    Params p;
    auto opt = make_opt(p);
    auto s = make_sched(opt);
    for (int i = 0; i < k; ++i) step(s, i);
    saved = s.state_dict();
    pickled = torch::pickle_save(saved);
    opt_bytes = save_optimizer(opt);
  }
  Params p;
  auto opt = make_opt(p);
  auto s = make_sched(opt);  // its constructor steps the fresh optimizer, as in PyTorch
  load_optimizer(opt, opt_bytes);
  auto loaded = torch::pickle_load(pickled);
  REQUIRE(loaded.isGenericDict());
  s.load_state_dict(loaded.toGenericDict());
  CHECK(same_state(loaded.toGenericDict(), saved));  // pickling keeps every value
  CHECK(same_state(s.state_dict(), saved));          // and loading restores it exactly
  // Before any further step: lrs, momenta and last_lr as the run left them
  // (LibTorch's Optimizer::load restores neither lr nor momentum).
  if (k > 0) CHECK(snapshot(opt, s) == straight[static_cast<std::size_t>(k - 1)]);
  for (int i = k; i < n; ++i) {
    step(s, i);
    resumed.push_back(snapshot(opt, s));
  }
  REQUIRE(resumed.size() == straight.size());
  for (std::size_t i = 0; i < straight.size(); ++i) CHECK_MESSAGE(resumed[i] == straight[i], "step ", i);
}

auto plain_step = [](auto& s, int) { s.step(); };

template <class S>
auto sgd_sched(typename S::options_type o) {
  return [o](torch::optim::Optimizer& opt) { return S(opt, o); };
}

bool has_key(const O::StateDict& d, const std::string& k) { return d.contains(c10::IValue(k)); }

}  // namespace

TEST_CASE("state_dict round trip continues bit for bit") {
  SUBCASE("StepLR") {
    for (int k : {0, 6, 7, 20})
      check_round_trip(make_sgd, sgd_sched<O::StepLR>({.step_size = 7, .gamma = 0.5}), plain_step, k, 40);
  }
  SUBCASE("MultiStepLR") {
    for (int k : {4, 12, 13})
      check_round_trip(make_sgd, sgd_sched<O::MultiStepLR>({.milestones = {5, 12, 12, 30}, .gamma = 0.3}), plain_step,
                       k, 40);
  }
  SUBCASE("ExponentialLR") {
    check_round_trip(make_sgd, sgd_sched<O::ExponentialLR>({.gamma = 0.93}), plain_step, 17, 40);
  }
  SUBCASE("CosineAnnealingLR") {
    for (int k : {1, 10, 11, 23})
      check_round_trip(make_sgd, sgd_sched<O::CosineAnnealingLR>({.T_max = 10, .eta_min = 0.001}), plain_step, k, 45);
  }
  SUBCASE("LinearLR") {
    for (int k : {3, 9})
      check_round_trip(make_sgd, sgd_sched<O::LinearLR>({.start_factor = 0.25, .total_iters = 8}), plain_step, k, 30);
  }
  SUBCASE("LambdaLR") {
    check_round_trip(make_sgd,
                     sgd_sched<O::LambdaLR>({.lr_lambda = [](int64_t e) { return 1.0 / static_cast<double>(e + 1); }}),
                     plain_step, 11, 30);
  }
  SUBCASE("OneCycleLR (SGD and Adam)") {
    for (int k : {5, 20})
      check_round_trip(make_sgd, sgd_sched<O::OneCycleLR>({.max_lr = {1.0, 0.5}, .total_steps = 40}), plain_step, k,
                       40);
    check_round_trip(
        make_adam<torch::optim::Adam, torch::optim::AdamOptions>,
        sgd_sched<O::OneCycleLR>(
            {.max_lr = {0.01}, .total_steps = 36, .anneal_strategy = O::AnnealStrategy::linear, .three_phase = true}),
        plain_step, 15, 36);
  }
  SUBCASE("ReduceLROnPlateau") {
    const std::vector<double> metrics = {1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7,
                                         0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7};
    auto step = [&](O::ReduceLROnPlateau& s, int i) { s.step(metrics[static_cast<std::size_t>(i)]); };
    for (int k : {4, 9, 16})
      check_round_trip(make_sgd, sgd_sched<O::ReduceLROnPlateau>({.patience = 2, .cooldown = 2}), step, k, 30);
  }
  SUBCASE("SequentialLR: before, at and after the milestone") {
    using Seq = O::SequentialLR<O::LinearLR, O::CosineAnnealingLR>;
    auto make = [](torch::optim::Optimizer& opt) {
      return Seq(opt, {.milestones = {5}}, {.start_factor = 0.1, .total_iters = 5}, {.T_max = 30, .eta_min = 1e-4});
    };
    for (int k : {2, 5, 6, 20}) check_round_trip(make_sgd, make, plain_step, k, 40);
  }
}

TEST_CASE("state_dict holds PyTorch's keys and values") {
  Params p;
  auto opt = make_sgd(p);
  O::CosineAnnealingLR s(opt, {.T_max = 10, .eta_min = 0.001});
  s.step();
  auto d = s.state_dict();
  for (const char* k : {"T_max", "eta_min", "base_lrs", "last_epoch", "_step_count", "_last_lr"})
    CHECK_MESSAGE(has_key(d, k), "missing ", k);
  CHECK(d.at("T_max").toInt() == 10);
  CHECK(d.at("last_epoch").toInt() == 1);
  CHECK(d.at("_step_count").toInt() == 2);
  CHECK(d.at("base_lrs").toDoubleVector() == std::vector<double>{0.1, 0.05});

  O::MultiStepLR m(opt, {.milestones = {2, 5, 5}});
  auto md = m.state_dict().at("milestones").toGenericDict();  // PyTorch's Counter({5: 2, 2: 1})
  CHECK(md.size() == 2);
  CHECK(md.at(5).toInt() == 2);
  CHECK(md.at(2).toInt() == 1);

  O::ReduceLROnPlateau r(opt, {.mode = O::PlateauMode::max});
  auto rd = r.state_dict();
  for (const char* k : {"factor", "min_lrs", "patience", "cooldown", "cooldown_counter", "mode", "threshold",
                        "threshold_mode", "best", "num_bad_epochs", "mode_worse", "eps", "last_epoch"})
    CHECK_MESSAGE(has_key(rd, k), "missing ", k);
  CHECK(rd.at("mode").toStringRef() == "max");
  CHECK(rd.at("best").toDouble() == -std::numeric_limits<double>::infinity());
}

TEST_CASE("PyTorch resumes from our pickled state dicts (torch.load + load_state_dict)") {
  REQUIRE_MESSAGE(python_torch_problem().empty(), python_torch_problem());
  constexpr int kSteps = 20;  // interop.py's STEPS
  const auto& metrics = reference("plateau_min_rel").metrics;
  const int plateau_k = 10;
  O::StateDict all(c10::StringType::get(), c10::AnyType::get());
  std::map<std::string, Rows> ours;
  std::map<std::string, O::StateDict> states;

  auto go_on = [&](const std::string& name, torch::optim::Optimizer& opt, auto& s, int k, auto step) {
    for (int i = 0; i < k; ++i) step(s, i);
    states.insert_or_assign(name, s.state_dict());
    all.insert(name, states.at(name));
    for (int i = k; i < k + kSteps; ++i) {
      step(s, i);
      ours[name].push_back(O::detail::group_lrs(opt));
    }
  };
  Params p1, p2, p3, p4;
  auto o1 = make_sgd(p1);
  O::MultiStepLR ms(o1, {.milestones = {5, 12, 12, 30}, .gamma = 0.3});
  go_on("multistep", o1, ms, 8, plain_step);
  auto o2 = make_sgd(p2);
  O::CosineAnnealingLR cos(o2, {.T_max = 10, .eta_min = 0.001});
  go_on("cosine", o2, cos, 13, plain_step);
  auto o3 = make_sgd(p3);
  O::SequentialLR seq(o3, {.milestones = {5}}, O::LinearLROptions{.start_factor = 0.1, .total_iters = 5},
                      O::CosineAnnealingLROptions{.T_max = 30, .eta_min = 1e-4});
  go_on("sequential_warmup_cosine", o3, seq, 3, plain_step);
  auto o4 = make_sgd(p4);
  O::ReduceLROnPlateau pl(o4, {.factor = 0.5, .patience = 2, .threshold = 0.01, .cooldown = 1, .min_lr = {0.01, 0.0}});
  go_on("plateau_min_rel", o4, pl, plateau_k,
        [&](O::ReduceLROnPlateau& s, int i) { s.step(metrics[static_cast<std::size_t>(i)]); });

  const auto file = fs::temp_directory_path() / ("lightning_sched_" + std::to_string(getpid()) + ".pt");
  struct Remove {
    fs::path path;
    ~Remove() {
      std::error_code ec;
      fs::remove(path, ec);
    }
  } remove_file{file};  // also when a REQUIRE throws
  {
    auto bytes = torch::pickle_save(all);
    std::ofstream(file, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  auto cases = run_script("interop.py", shell_quote(file.string()));
  for (const auto& [name, rows] : ours) {
    CAPTURE(name);
    REQUIRE(cases.count(name) == 1);
    const auto& c = cases.at(name);
    std::vector<std::string> keys;
    for (const auto& e : states.at(name)) keys.push_back(e.key().toStringRef());
    std::sort(keys.begin(), keys.end());
    CHECK(c.keys == keys);  // torch.load sees exactly the keys we wrote
    REQUIRE(c.rows.size() == rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      REQUIRE(c.rows[i].size() == rows[i].size());
      for (std::size_t j = 0; j < rows[i].size(); ++j)
        CHECK_MESSAGE(close(rows[i][j], c.rows[i][j]), name, " step ", i, ": C++ ", fmt(rows[i][j]), " vs PyTorch ",
                      fmt(c.rows[i][j]));
    }
  }
}

TEST_CASE("load_state_dict names a missing or ill-typed key and leaves the scheduler as it was") {
  Params p;
  auto opt = make_sgd(p);
  O::StepLR s(opt, {.step_size = 3});
  s.step();
  auto good = s.state_dict();

  auto missing = s.state_dict();
  (void)missing.erase("gamma");
  CHECK_THROWS_WITH_AS(s.load_state_dict(missing), doctest::Contains("missing key 'gamma'"), std::invalid_argument);

  auto ill = s.state_dict();
  ill.insert_or_assign("last_epoch", "seven");
  CHECK_THROWS_WITH_AS(s.load_state_dict(ill), doctest::Contains("key 'last_epoch' must be an int"),
                       std::invalid_argument);

  auto short_list = s.state_dict();
  short_list.insert_or_assign("base_lrs", c10::List<double>({0.1}));
  CHECK_THROWS_WITH_AS(s.load_state_dict(short_list), doctest::Contains("'base_lrs' has 1 values, expected 2"),
                       std::invalid_argument);
  CHECK(same_state(s.state_dict(), good));
  auto changed = s.state_dict();
  changed.insert_or_assign("gamma", 0.5);
  CHECK_FALSE(same_state(changed, good));  // the comparison can fail

  O::ReduceLROnPlateau r(opt);
  auto rd = r.state_dict();
  rd.insert_or_assign("mode", "maximum");
  CHECK_THROWS_WITH_AS(r.load_state_dict(rd), doctest::Contains("'mode' is 'maximum'"), std::invalid_argument);

  using Seq = O::SequentialLR<O::LinearLR, O::ExponentialLR>;
  Seq seq(opt, {.milestones = {2}}, {}, {.gamma = 0.5});
  auto sd = seq.state_dict();
  auto nested = sd.at("_schedulers").toList().get(1).toGenericDict();
  (void)nested.erase("gamma");  // the list holds handles: this edits sd
  CHECK_THROWS_WITH_AS(seq.load_state_dict(sd),
                       doctest::Contains("ExponentialLR::load_state_dict: missing key 'gamma'"), std::invalid_argument);
}

TEST_CASE("invalid options throw std::invalid_argument saying what was expected") {
  Params p;
  auto opt = make_sgd(p);
  using doctest::Contains;
  CHECK_THROWS_WITH_AS(O::StepLR(opt, {.step_size = -3}), Contains("positive integer step_size, got -3"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(O::StepLR(opt, {}), Contains("step_size is required"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(O::MultiStepLR(opt, {}), Contains("milestones is empty"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(O::MultiStepLR(opt, {.milestones = {10, 5}}), Contains("must be increasing, got 10 then 5"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(O::ExponentialLR(opt, {}), Contains("gamma is required"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(O::CosineAnnealingLR(opt, {.T_max = 0}), Contains("positive integer T_max, got 0"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(O::LinearLR(opt, {.start_factor = 1.5}), Contains("starting multiplicative factor"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(O::LinearLR(opt, {.end_factor = -0.1}), Contains("ending multiplicative factor"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(O::LambdaLR(opt, {}), Contains("exactly one of lr_lambda"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(O::LambdaLR(opt, {.lr_lambdas = {[](int64_t) { return 1.0; }}}),
                       Contains("expected 2 lr_lambdas, but got 1"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(O::OneCycleLR(opt, {.max_lr = {0.1}}),
                       Contains("either total_steps OR (epochs AND steps_per_epoch)"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(O::OneCycleLR(opt, {.max_lr = {0.1}, .total_steps = 0}),
                       Contains("positive integer total_steps, but got 0"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(O::OneCycleLR(opt, {.max_lr = {0.1}, .epochs = 3}), Contains("steps_per_epoch is missing"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(O::OneCycleLR(opt, {.max_lr = {0.1}, .total_steps = 10, .pct_start = 1.5}),
                       Contains("between 0 and 1 pct_start"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(O::OneCycleLR(opt, {.max_lr = {0.1, 0.2, 0.3}, .total_steps = 10}),
                       Contains("expected 2 values for max_lr"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(O::OneCycleLR(opt, {.total_steps = 10}), Contains("max_lr is required"), std::invalid_argument);
  {
    Params q;
    torch::optim::Adagrad adagrad(std::vector<torch::Tensor>{q.a}, torch::optim::AdagradOptions(0.1));
    CHECK_THROWS_WITH_AS(O::OneCycleLR(adagrad, {.max_lr = {0.1}, .total_steps = 10}),
                         Contains("optimizer must support momentum"), std::invalid_argument);
    CHECK_NOTHROW(O::OneCycleLR(adagrad, {.max_lr = {0.1}, .total_steps = 10, .cycle_momentum = false}));
  }
  CHECK_THROWS_WITH_AS(O::ReduceLROnPlateau(opt, {.factor = 1.0}), Contains("factor should be < 1.0"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(O::ReduceLROnPlateau(opt, {.min_lr = {0.1, 0.2, 0.3}}), Contains("expected 2 values for min_lr"),
                       std::invalid_argument);
  using Seq = O::SequentialLR<O::LinearLR, O::ExponentialLR>;
  CHECK_THROWS_WITH_AS(Seq(opt, {.milestones = {2, 4}}, {}, {.gamma = 0.5}),
                       Contains("number of schedulers 2 and the number of milestones to be equal to 2"),
                       std::invalid_argument);
}

namespace {
template <class S>
concept steps_plain = requires(S& s) {
  s.step();
};
template <class S>
concept steps_with_metric = requires(S& s, double metric) {
  s.step(metric);
};
template <class S>
concept scheduler_interface = requires(S& s, torch::optim::Optimizer& opt) {
  s.rebind(opt);
}
&&requires(const S& s) {
  { s.get_last_lr() } -> std::same_as<std::vector<double>>;
  { s.last_epoch() } -> std::same_as<int64_t>;
  { s.state_dict() } -> std::same_as<O::StateDict>;
}
&&requires(S& s, const O::StateDict& d) { s.load_state_dict(d); };
}  // namespace

TEST_CASE("rebind: a scheduler follows its optimizer moved to storage") {
  // As configure_optimizers() returning (optimizer, scheduler) by value.
  Params p;
  auto make = [&] {
    auto opt = make_sgd(p);
    O::SequentialLR<O::LinearLR, O::ExponentialLR> s(opt, {.milestones = {2}}, {.start_factor = 0.5, .total_iters = 2},
                                                     {.gamma = 0.5});
    return std::make_pair(std::move(opt), std::move(s));
  };
  auto [opt, s] = make();
  s.rebind(opt);
  CHECK(&s.optimizer() == &opt);
  CHECK(&s.scheduler<1>().optimizer() == &opt);
  for (int i = 0; i < 3; ++i) s.step();
  CHECK(O::detail::group_lrs(opt) == std::vector<double>{0.05, 0.025});  // restarted at 2: 0.1 * 0.5^(3 - 2)
  CHECK(s.get_last_lr() == O::detail::group_lrs(opt));
  O::ReduceLROnPlateau r(opt);
  r.rebind(opt);
  CHECK(&r.optimizer() == &opt);
}

TEST_CASE("the Trainer can tell the schedulers apart by what compiles") {
  // Chainable schedulers step without a metric; ReduceLROnPlateau only with one.
  static_assert(steps_plain<O::StepLR> && !steps_with_metric<O::StepLR>);
  static_assert(steps_plain<O::OneCycleLR> && !steps_with_metric<O::OneCycleLR>);
  static_assert(!steps_with_metric<O::SequentialLR<O::LinearLR, O::CosineAnnealingLR>>);
  static_assert(steps_with_metric<O::ReduceLROnPlateau> && !steps_plain<O::ReduceLROnPlateau>);
  static_assert(scheduler_interface<O::StepLR> && scheduler_interface<O::MultiStepLR> &&
                scheduler_interface<O::ExponentialLR> && scheduler_interface<O::CosineAnnealingLR> &&
                scheduler_interface<O::LinearLR> && scheduler_interface<O::OneCycleLR> &&
                scheduler_interface<O::LambdaLR> && scheduler_interface<O::ReduceLROnPlateau> &&
                scheduler_interface<O::SequentialLR<O::LinearLR, O::CosineAnnealingLR>>);
  static_assert(!std::is_polymorphic_v<O::CosineAnnealingLR>);  // no virtual dispatch
  static_assert(!std::is_polymorphic_v<O::SequentialLR<O::LinearLR, O::CosineAnnealingLR>>);
  CHECK(steps_plain<O::LambdaLR>);
}
