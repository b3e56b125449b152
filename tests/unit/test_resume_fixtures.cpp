// Checkpoints written by an earlier build of the library (committed under
// tests/data/resume_v1/) must still resume, bitwise, at every loop phase:
// the persisted loop position, hook ids and file layout are an interface.
//
// The fixtures come from this file: with LIGHTNING_WRITE_RESUME_FIXTURES=<dir>
// set, each case writes its checkpoint there instead of checking it
// (they were written by commit a1e377c's library, format version 1).
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <boost/hana/adapt_struct.hpp>

#include "paths.hpp"
#include "recorder.hpp"

namespace {
using namespace test;
namespace F = torch::nn::functional;

struct FixtureParams {
  int64_t hidden = 8;
  double lr = 0.05;
  double dropout = 0.25;
};
}  // namespace
BOOST_HANA_ADAPT_STRUCT(FixtureParams, hidden, lr, dropout);

namespace {
using Rows = std::vector<std::pair<int64_t, std::map<std::string, double>>>;

/// Dropout, Adam with a per-step scheduler, step and epoch logging: every
/// piece of state a resume has to carry.
struct AutoNet : L::LightningModule<AutoNet, FixtureParams> {
  torch::nn::Sequential net;
  explicit AutoNet(FixtureParams p = {})
      : LightningModule(p),
        net(register_module("net", torch::nn::Sequential(torch::nn::Linear(2, p.hidden), torch::nn::ReLU(),
                                                          torch::nn::Dropout(p.dropout), torch::nn::Linear(p.hidden, 1)))) {}
  torch::Tensor forward(torch::Tensor x) { return net->forward(x); }
  torch::Tensor training_step(const L::Batch& b, int64_t) {
    auto loss = F::mse_loss(forward(b.data), b.target);
    log("train_loss", loss, {.on_step = true, .on_epoch = true});
    return loss;
  }
  void validation_step(const L::Batch& b, int64_t) { log("val_loss", F::mse_loss(forward(b.data), b.target)); }
  auto configure_optimizers() {
    torch::optim::Adam opt(parameters(), torch::optim::AdamOptions(hparams().lr));
    L::optim::StepLR sched(opt, {.step_size = 3, .gamma = 0.7});
    return L::OptimizerConfig{.optimizer = std::move(opt),
                              .lr_scheduler = L::LRSchedulerConfig{.scheduler = std::move(sched),
                                                                   .interval = L::Interval::step}};
  }
};

/// Manual optimization: two optimizers stepped in training_step, one
/// scheduler stepped by hand, dropout in both halves.
struct ManualNet : L::LightningModule<ManualNet, FixtureParams> {
  static constexpr bool automatic_optimization = false;
  torch::nn::Sequential a{nullptr}, b{nullptr};
  explicit ManualNet(FixtureParams p = {}) : LightningModule(p) {
    a = register_module("a", torch::nn::Sequential(torch::nn::Linear(2, p.hidden), torch::nn::Dropout(p.dropout),
                                                   torch::nn::Linear(p.hidden, 1)));
    b = register_module("b", torch::nn::Sequential(torch::nn::Linear(2, p.hidden), torch::nn::ReLU(),
                                                   torch::nn::Linear(p.hidden, 1)));
  }
  auto configure_optimizers() {
    torch::optim::SGD sa(a->parameters(), torch::optim::SGDOptions(hparams().lr).momentum(0.9));
    L::optim::StepLR sched(sa, {.step_size = 4, .gamma = 0.5});
    return std::pair{std::pair{std::move(sa), std::move(sched)},
                     torch::optim::Adam(b->parameters(), torch::optim::AdamOptions(hparams().lr))};
  }
  void training_step(const L::Batch& batch, int64_t) {
    auto [oa, ob] = optimizers();
    auto la = F::mse_loss(a->forward(batch.data), batch.target);
    oa.zero_grad();
    manual_backward(la);
    oa.step();
    std::get<0>(lr_schedulers()).step();
    auto lb = F::mse_loss(b->forward(batch.data) + a->forward(batch.data).detach(), batch.target);
    ob.zero_grad();
    manual_backward(lb);
    ob.step();
    log("loss_a", la, {.on_step = true, .on_epoch = true});
    log("loss_b", lb);
  }
  void validation_step(const L::Batch& batch, int64_t) {
    log("val_loss", F::mse_loss(a->forward(batch.data) + b->forward(batch.data), batch.target));
  }
};

struct RowLogger {
  Rows* rows = nullptr;
  void log_metrics(const std::map<std::string, double>& m, int64_t step) {
    if (rows) rows->emplace_back(step, m);
  }
};

/// Where a case takes its checkpoint: the hook, the epoch, and the batch
/// index (batch hooks) or global step (validation end) at which it fires.
enum class Where { epoch_start, batch_start, batch_end, validation_end, epoch_end };

/// Marks the point of a case; in write mode also saves the checkpoint there.
struct SavePoint {
  Where where = Where::batch_end;
  int64_t epoch = 0, at = 0;
  std::string path;  // empty: only mark
  const Rows* rows = nullptr;
  std::size_t* rows_at_mark = nullptr;
  bool done = false;

  void hit(auto& trainer) {
    if (done) return;
    done = true;
    if (rows_at_mark) *rows_at_mark = rows->size();
    if (!path.empty()) trainer.save_checkpoint(path);
  }
  void on_train_epoch_start(auto& trainer, auto&) {
    if (where == Where::epoch_start && trainer.current_epoch() == epoch) hit(trainer);
  }
  void on_train_batch_start(auto& trainer, auto&, const auto&, int64_t idx) {
    if (where == Where::batch_start && trainer.current_epoch() == epoch && idx == at) hit(trainer);
  }
  void on_train_batch_end(auto& trainer, auto&, const auto&, const auto&, int64_t) {
    if (where == Where::batch_end && trainer.current_epoch() == epoch && trainer.batch_idx() == at) hit(trainer);
  }
  void on_validation_end(auto& trainer, auto&) {
    if (where == Where::validation_end && !trainer.sanity_checking() && trainer.current_epoch() == epoch &&
        trainer.global_step() == at)
      hit(trainer);
  }
  void on_train_epoch_end(auto& trainer, auto&) {
    if (where == Where::epoch_end && trainer.current_epoch() == epoch) hit(trainer);
  }
};

struct Case {
  const char* name;
  Where where;
  int64_t epoch, at;
  L::TrainerOptions opts;
};

L::TrainerOptions base_options() {
  return {.max_epochs = 3, .limit_val_batches = 2, .num_sanity_val_steps = 1, .log_every_n_steps = 1,
          .accumulate_grad_batches = 2};
}

std::vector<Case> auto_cases() {
  auto mid_val = base_options();
  mid_val.val_check_interval = L::BatchCount(int64_t{4});
  return {
      {"auto_epoch_start", Where::epoch_start, 1, 0, base_options()},
      {"auto_in_batch", Where::batch_start, 1, 5, base_options()},  // before batch 5's training_step
      {"auto_after_step", Where::batch_end, 1, 5, base_options()},       // batch 5 stepped
      {"auto_after_batch", Where::batch_end, 1, 6, base_options()},      // batch 6 accumulated, not stepped
      {"auto_in_validation", Where::validation_end, 0, 2, mid_val},     // after batch 3 (2 steps)
      {"auto_epoch_end", Where::epoch_end, 0, 0, base_options()},
  };
}

std::pair<L::data::TensorLoader<2>, L::data::TensorLoader<2>> fixture_data() {
  torch::manual_seed(3);
  auto x = torch::randn({44, 2});
  auto y = x.sum(1, true) + 0.1 * x.pow(2).sum(1, true);
  L::data::TensorLoader<2> train({x, y}, {.batch_size = 4, .shuffle = true, .seed = 11});  // 11 batches
  L::data::TensorLoader<2> val({x.slice(0, 0, 8), y.slice(0, 0, 8)}, {.batch_size = 4});
  return {std::move(train), std::move(val)};
}

std::filesystem::path fixture_dir() { return tests_dir() / "data" / "resume_v1"; }
const char* write_dir() { return std::getenv("LIGHTNING_WRITE_RESUME_FIXTURES"); }

template <class Model>
void check_same_weights(Model& a, Model& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  REQUIRE(pa.size() == pb.size());
  for (const auto& p : pa) {
    INFO(p.key());
    CHECK(torch::equal(p.value(), pb[p.key()]));  // bitwise
  }
}

/// Runs the case uninterrupted (marking, or in write mode saving, its
/// point), then resumes a fresh module from the committed file (or, with
/// `fresh`, from one this build writes at the point) and checks that it ends
/// bitwise where the uninterrupted run ended, logging the same rows (after
/// the first `skip_rows` of the tail).
template <class Model, class Check>
void run_case(const Case& c, Check&& extra_check, bool fresh = false, std::size_t skip_rows = 0) {
  using T = L::Trainer<Model, L::OnlyCallbacks<SavePoint>, L::Loggers<RowLogger>>;
  auto [train, val] = fixture_data();
  Rows rows_a, rows_b;
  std::size_t rows_at_mark = 0;
  const char* out = write_dir();
  const auto fresh_file = std::filesystem::temp_directory_path() / (std::string(c.name) + "_" + std::to_string(::getpid()) + ".ckpt");
  std::string save_to = out ? (std::filesystem::path(out) / (std::string(c.name) + ".ckpt")).string() : "";
  if (fresh) save_to = fresh_file.string();
  SavePoint mark{c.where, c.epoch, c.at, save_to, &rows_a, &rows_at_mark};
  L::seed_everything(5);
  Model a;
  T ta(c.opts, std::move(mark), RowLogger{&rows_a});
  ta.fit(a, train, val);
  REQUIRE(ta.template callback<SavePoint>().done);
  if (out && !fresh) return;

  const auto file = fresh ? fresh_file : fixture_dir() / (std::string(c.name) + ".ckpt");
  REQUIRE(std::filesystem::exists(file));
  struct Remove {
    std::filesystem::path p;
    bool on;
    ~Remove() {
      if (on) std::filesystem::remove(p);
    }
  } remove{file, fresh};
  L::seed_everything(99);  // a different generator state: the file must carry it
  Model b;
  T tb(c.opts, SavePoint{.where = c.where, .epoch = -1}, RowLogger{&rows_b});
  tb.fit(b, train, val, {.ckpt_path = file.string()});

  CHECK(tb.global_step() == ta.global_step());
  CHECK(tb.current_epoch() == ta.current_epoch());
  check_same_weights(a, b);
  extra_check(ta, tb);
  REQUIRE(rows_at_mark + skip_rows <= rows_a.size());
  const Rows tail(rows_a.begin() + static_cast<std::ptrdiff_t>(rows_at_mark + skip_rows), rows_a.end());
  CHECK(tail.size() > 2);
  CHECK(rows_b == tail);
}

template <class Opt>
void check_same_adam(Opt& oa, Opt& ob) {
  CHECK(oa.param_groups()[0].options().get_lr() == ob.param_groups()[0].options().get_lr());
  REQUIRE(oa.state().size() == ob.state().size());
  std::vector<torch::Tensor> ea, eb;
  for (auto& [k, s] : oa.state()) ea.push_back(static_cast<torch::optim::AdamParamState&>(*s).exp_avg_sq());
  for (auto& [k, s] : ob.state()) eb.push_back(static_cast<torch::optim::AdamParamState&>(*s).exp_avg_sq());
  // The state map is keyed by tensor address: compare as multisets by content.
  std::size_t matched = 0;
  for (const auto& x : ea)
    for (const auto& y : eb)
      if (x.sizes() == y.sizes() && torch::equal(x, y)) {
        ++matched;
        break;
      }
  CHECK(matched == ea.size());
}
}  // namespace

TEST_CASE("checkpoints written by an earlier build resume bitwise at every phase of automatic optimization") {
  for (const auto& c : auto_cases()) {
    INFO(c.name);
    run_case<AutoNet>(c, [](auto& ta, auto& tb) { check_same_adam(ta.optimizer(), tb.optimizer()); });
  }
}

TEST_CASE("a checkpoint written by an earlier build resumes bitwise in manual optimization") {
  const Case c{"manual_after_batch", Where::batch_end, 1, 4, [] {
                 auto o = base_options();
                 o.accumulate_grad_batches = 1;
                 return o;
               }()};
  auto same_optimizers = [](auto& ta, auto& tb) {
    auto& sa = std::get<0>(ta.optimizer_slots());
    auto& sb = std::get<0>(tb.optimizer_slots());
    CHECK(sa.optimizer.param_groups()[0].options().get_lr() == sb.optimizer.param_groups()[0].options().get_lr());
    CHECK(sa.lr_scheduler.scheduler.last_epoch() == sb.lr_scheduler.scheduler.last_epoch());
    check_same_adam(std::get<1>(ta.optimizer_slots()).optimizer, std::get<1>(tb.optimizer_slots()).optimizer);
  };
  // The earlier build recorded a manual-optimization batch as not stepped
  // (it looked for steps after training_step had taken them), so the step
  // row of the batch the checkpoint was taken after is not written again.
  run_case<ManualNet>(c, same_optimizers, /*fresh=*/false, /*skip_rows=*/1);
  run_case<ManualNet>(c, same_optimizers, /*fresh=*/true);  // this build: every row
}

TEST_CASE("checkpoints this build writes resume bitwise at every phase of automatic optimization") {
  for (const auto& c : auto_cases()) {
    INFO(c.name);
    run_case<AutoNet>(c, [](auto& ta, auto& tb) { check_same_adam(ta.optimizer(), tb.optimizer()); }, /*fresh=*/true);
  }
}

TEST_CASE("a checkpoint written after fit() by an earlier build continues with more epochs") {
  auto [train, val] = fixture_data();
  using T = L::Trainer<AutoNet, L::OnlyCallbacks<>, L::Loggers<RowLogger>>;
  auto opts = base_options();
  opts.max_epochs = 2;
  Rows rows;
  L::seed_everything(5);
  AutoNet a;
  T ta(opts, RowLogger{&rows});
  ta.fit(a, train, val);
  if (const char* out = write_dir()) {
    ta.save_checkpoint(std::filesystem::path(out) / "auto_idle.ckpt");
    return;
  }
  // Uninterrupted reference: 3 epochs from the start.
  opts.max_epochs = 3;
  L::seed_everything(5);
  AutoNet full;
  T tf(opts, RowLogger{&rows});
  tf.fit(full, train, val);

  L::seed_everything(99);
  AutoNet b;
  T tb(opts, RowLogger{&rows});
  tb.fit(b, train, val, {.ckpt_path = (fixture_dir() / "auto_idle.ckpt").string()});
  CHECK(tb.current_epoch() == 3);
  CHECK(tb.global_step() == tf.global_step());
  check_same_weights(full, b);
  check_same_adam(tf.optimizer(), tb.optimizer());
}
