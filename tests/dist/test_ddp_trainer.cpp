// The Trainer under strategy::DDP, 2 processes on Gloo over loopback. The
// program is run as `test_ddp_trainer <mode> <dir>`; the Trainer (devices = 2)
// starts rank 1 as a copy of it with the same arguments, so every mode runs on
// both ranks. Each rank prints its checks; any failure exits non-zero, and a
// failing child makes rank 0's launcher fail the job.
#include <lightning/ddp.hpp>
#include <lightning/lightning.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace L = lightning;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Params {
  int64_t hidden = 16;
};
BOOST_HANA_ADAPT_STRUCT(Params, hidden);

namespace {

int failures = 0;
long long rank_of_process = -1;

std::string sci(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2e", v);
  return buf;
}

void check(bool ok, const std::string& what) {
  std::printf("[rank %lld] %s: %s\n", rank_of_process, ok ? "ok  " : "FAIL", what.c_str());
  std::fflush(stdout);
  if (!ok) ++failures;
}

// A small regression MLP; with SGD or Adam.
struct Net : L::LightningModule<Net, Params> {
  torch::nn::Sequential net;
  std::vector<torch::Tensor>* trace = nullptr;  // parameters after every step
  int64_t die_at_step = -1;                      // rank 1 kills itself there ("killed" mode)
  int64_t throw_at_step = -1;                    // rank 1 throws there ("throws" mode)
  int64_t stall_at_step = -1;                    // rank 1 stays alive but stops there ("stuck" mode)

  explicit Net(Params p = {})
      : LightningModule(p),
        net(register_module("net", torch::nn::Sequential(torch::nn::Linear(4, p.hidden), torch::nn::Tanh(),
                                                         torch::nn::Linear(p.hidden, 1)))) {}
  torch::Tensor forward(torch::Tensor x) { return net->forward(x); }

  torch::Tensor training_step(L::Batch b, int64_t) {
    if (die_at_step >= 0 && global_step() == die_at_step) ::raise(SIGKILL);
    if (throw_at_step >= 0 && global_step() == throw_at_step) throw std::runtime_error("bad batch on purpose");
    if (stall_at_step >= 0 && global_step() == stall_at_step) {
      std::printf("[rank 1] stuck on purpose at step %lld (sleeping, never entering the collective)\n",
                  static_cast<long long>(global_step()));
      std::fflush(stdout);
      std::this_thread::sleep_for(10min);  // ended by rank 0's launcher, or by the harness's deadline
    }
    auto loss = torch::mse_loss(forward(b.data), b.target);
    log("train_loss", loss, {.sync_dist = true});
    return loss;
  }
  void on_train_batch_end(const torch::Tensor&, L::Batch&, int64_t) {
    if (trace) trace->push_back(flat().clone());
  }
  torch::Tensor flat() {
    std::vector<torch::Tensor> v;
    for (auto& p : parameters()) v.push_back(p.detach().reshape({-1}));
    return torch::cat(v);
  }
};

// The optimizer is a Trainer policy, so one module serves SGD and Adam.
template <class Opt>
struct OptimizerFor;
template <>
struct OptimizerFor<torch::optim::SGD> {
  static auto make() { return L::Optimizer<torch::optim::SGD>(torch::optim::SGDOptions(0.05).momentum(0.9)); }
};
template <>
struct OptimizerFor<torch::optim::Adam> {
  static auto make() { return L::Optimizer<torch::optim::Adam>(torch::optim::AdamOptions(0.01)); }
};

std::pair<torch::Tensor, torch::Tensor> regression_data(int64_t n) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  auto x = torch::randn({n, 4}, gen);
  auto y = (x.sum(1, true) * 0.5 + torch::sin(x.narrow(1, 0, 1))).contiguous();
  return {x, y};
}

}  // namespace

namespace {

L::strategy::DDP ddp(bool overlap = true) {
  L::strategy::DDP::Options o;
  o.timeout = 20s;  // small: a lost rank must not stall the suite
  o.overlap_gradient_sync = overlap;
  return L::strategy::DDP(o);
}

template <class Opt>
using DDPTrainer = L::Trainer<Net, L::strategy::DDP, L::Optimizer<Opt>, L::OnlyCallbacks<>, L::Loggers<>>;
template <class Opt>
using OneTrainer = L::Trainer<Net, L::Optimizer<Opt>, L::OnlyCallbacks<>, L::Loggers<>>;

// 2 ranks x B samples per step == 1 process x 2B, after every step; ranks bitwise equal.
template <class Opt>
void equivalence(const char* name, int64_t accumulate, int64_t devices = 2, int64_t num_nodes = 1,
                 bool overlap = true) {
  const int64_t B = 8, n = 96;
  auto [x, y] = regression_data(n);
  std::vector<torch::Tensor> single, multi;
  {
    torch::manual_seed(1);
    Net m;
    m.trace = &single;
    OneTrainer<Opt> t({.max_epochs = 2, .accumulate_grad_batches = accumulate}, OptimizerFor<Opt>::make());
    L::data::TensorLoader<2> loader({x, y}, {.batch_size = 2 * B});
    t.fit(m, loader);
  }
  torch::manual_seed(rank_of_process == 0 ? 1 : 1000);  // rank 1 starts elsewhere: rank 0's weights must win
  Net m;
  m.trace = &multi;
  DDPTrainer<Opt> t({.devices = devices, .num_nodes = num_nodes, .max_epochs = 2, .accumulate_grad_batches = accumulate},
                    ddp(overlap), OptimizerFor<Opt>::make());
  L::data::TensorLoader<2> loader({x, y}, {.batch_size = B});
  t.fit(m, loader);
  check(t.world_size() == 2 && t.global_rank() == rank_of_process, std::string(name) + ": world size 2, rank as launched");
  check(single.size() == multi.size() && !multi.empty(),
        std::string(name) + ": same number of steps (" + std::to_string(multi.size()) + ")");
  double worst = 0;
  for (std::size_t i = 0; i < std::min(single.size(), multi.size()); ++i)
    worst = std::max(worst, ((single[i] - multi[i]).abs().max() / single[i].abs().max()).template item<double>());
  check(worst < 1e-5, std::string(name) + ": parameters after each step match 1 process on 2B (max rel diff " +
                          sci(worst) + ")");
  auto all = t.strategy().all_gather(m.flat());
  check(torch::equal(all[0], all[1]), std::string(name) + ": parameters bitwise identical across ranks");
}

// Every epoch's shards are disjoint and complete; evaluation sees every sample once.
struct Recorder : L::LightningModule<Recorder, Params> {
  torch::nn::Linear lin{register_module("lin", torch::nn::Linear(1, 1))};
  std::vector<std::vector<int64_t>> train_ids{{}}, val_ids;
  torch::Tensor training_step(L::Batch b, int64_t) {
    for (int64_t i = 0; i < b.data.size(0); ++i) train_ids.back().push_back(b.data[i][0].item<int64_t>());
    return lin->forward(b.data).sum() * 0;
  }
  void on_train_epoch_end() { train_ids.emplace_back(); }
  void on_validation_epoch_start() { val_ids.emplace_back(); }
  void validation_step(L::Batch b, int64_t) {
    for (int64_t i = 0; i < b.data.size(0); ++i) val_ids.back().push_back(b.data[i][0].item<int64_t>());
  }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), 0.0); }
};

struct RangeDataset : torch::data::datasets::Dataset<RangeDataset> {
  torch::data::Example<> get(size_t i) override {
    auto x = torch::full({1}, static_cast<float>(i));
    return {x, x};
  }
  torch::optional<size_t> size() const override { return 10; }
};

std::vector<int64_t> gather_ids(L::strategy::DDP& s, const std::vector<int64_t>& mine, int64_t rank) {
  // Fixed-size exchange: pad with -1.
  auto t = torch::full({64}, -1, torch::kLong);
  for (std::size_t i = 0; i < mine.size(); ++i) t[static_cast<int64_t>(i)] = mine[i];
  auto all = s.all_gather(t);
  std::vector<int64_t> out;
  for (int64_t v : std::vector<int64_t>(all[rank].data_ptr<int64_t>(), all[rank].data_ptr<int64_t>() + 64))
    if (v >= 0) out.push_back(v);
  return out;
}

void sharding() {
  const int64_t n = 22;  // even shards for training (11 each); odd-sized validation below
  auto ids = torch::arange(n, torch::kFloat).unsqueeze(1);
  auto val = torch::arange(11, torch::kFloat).unsqueeze(1);
  Recorder m;
  L::Trainer<Recorder, L::strategy::DDP, L::OnlyCallbacks<>, L::Loggers<>> t(
      {.devices = 2, .max_epochs = 3, .num_sanity_val_steps = 0}, ddp());
  L::data::TensorLoader<2> train({ids, ids}, {.batch_size = 4, .shuffle = true});
  L::data::TensorLoader<2> valid({val, val}, {.batch_size = 4});
  t.fit(m, train, valid);
  std::vector<std::vector<int64_t>> orders;
  for (int e = 0; e < 3; ++e) {
    auto r0 = gather_ids(t.strategy(), m.train_ids.at(e), 0), r1 = gather_ids(t.strategy(), m.train_ids.at(e), 1);
    std::set<int64_t> a(r0.begin(), r0.end()), b(r1.begin(), r1.end()), both(a);
    both.insert(b.begin(), b.end());
    bool disjoint = a.size() == r0.size() && b.size() == r1.size() && both.size() == a.size() + b.size();
    check(disjoint && both.size() == static_cast<std::size_t>(n) && r0.size() == r1.size(),
          "epoch " + std::to_string(e) + ": training shards disjoint, equal and complete (" + std::to_string(r0.size()) +
              " + " + std::to_string(r1.size()) + " of " + std::to_string(n) + ")");
    orders.push_back(r0);
    auto v0 = gather_ids(t.strategy(), m.val_ids.at(e), 0), v1 = gather_ids(t.strategy(), m.val_ids.at(e), 1);
    std::multiset<int64_t> seen(v0.begin(), v0.end());
    seen.insert(v1.begin(), v1.end());
    bool once = seen.size() == 11;
    for (int64_t i = 0; i < 11; ++i) once = once && seen.count(i) == 1;
    check(once, "epoch " + std::to_string(e) + ": validation sees each of 11 samples exactly once (" +
                    std::to_string(v0.size()) + " + " + std::to_string(v1.size()) + ")");
  }
  check(orders[0] != orders[1] && orders[1] != orders[2], "shuffled orders differ between epochs");

  // An iterable that cannot shard itself (like LibTorch's loaders): every world-th batch.
  std::vector<L::Batch> batches;
  for (int64_t i = 0; i < 5; ++i) batches.emplace_back(torch::full({2, 1}, float(i)), torch::zeros({2, 1}));
  Recorder m2;
  L::Trainer<Recorder, L::strategy::DDP, L::OnlyCallbacks<>, L::Loggers<>> t2(
      {.devices = 2, .max_epochs = 1, .num_sanity_val_steps = 0}, ddp());
  t2.fit(m2, batches, batches);
  auto r0 = gather_ids(t2.strategy(), m2.train_ids.at(0), 0), r1 = gather_ids(t2.strategy(), m2.train_ids.at(0), 1);
  check(r0 == std::vector<int64_t>{0, 0, 2, 2} && r1 == std::vector<int64_t>{1, 1, 3, 3},
        "strided loader: training batches 0,2 and 1,3 (equal counts; the fifth dropped)");
  auto v0 = gather_ids(t2.strategy(), m2.val_ids.at(0), 0), v1 = gather_ids(t2.strategy(), m2.val_ids.at(0), 1);
  check(v0 == std::vector<int64_t>{0, 0, 2, 2, 4, 4} && v1 == std::vector<int64_t>{1, 1, 3, 3},
        "strided loader: validation batches 0,2,4 and 1,3 (each once)");

  // LibTorch's own loader (no length): ranks agree before each training batch.
  auto libtorch_loader = [] {
    return torch::data::make_data_loader<torch::data::samplers::SequentialSampler>(
        RangeDataset().map(torch::data::transforms::Stack<>()), torch::data::DataLoaderOptions().batch_size(2));
  };
  auto train3 = libtorch_loader(), val3 = libtorch_loader();
  Recorder m3;
  L::Trainer<Recorder, L::strategy::DDP, L::OnlyCallbacks<>, L::Loggers<>> t3(
      {.devices = 2, .max_epochs = 1, .num_sanity_val_steps = 0}, ddp());
  t3.fit(m3, train3, val3);
  r0 = gather_ids(t3.strategy(), m3.train_ids.at(0), 0), r1 = gather_ids(t3.strategy(), m3.train_ids.at(0), 1);
  check(r0 == std::vector<int64_t>{0, 1, 4, 5} && r1 == std::vector<int64_t>{2, 3, 6, 7},
        "LibTorch loader: training batches {0,1},{4,5} and {2,3},{6,7}; both stop when rank 1 runs out");
  v0 = gather_ids(t3.strategy(), m3.val_ids.at(0), 0), v1 = gather_ids(t3.strategy(), m3.val_ids.at(0), 1);
  check(v0 == std::vector<int64_t>{0, 1, 4, 5, 8, 9} && v1 == std::vector<int64_t>{2, 3, 6, 7},
        "LibTorch loader: validation sees each of 10 samples once");

  // A LibTorch loader the user sharded with torch's DistributedSampler is left as it is.
  torch::data::samplers::DistributedSequentialSampler sampler(10, 2, static_cast<size_t>(rank_of_process));
  auto train4 = torch::data::make_data_loader(RangeDataset().map(torch::data::transforms::Stack<>()), sampler,
                                              torch::data::DataLoaderOptions().batch_size(2));
  Recorder m4;
  L::Trainer<Recorder, L::strategy::DDP, L::OnlyCallbacks<>, L::Loggers<>> t4({.devices = 2, .max_epochs = 1}, ddp());
  t4.fit(m4, train4);
  r0 = gather_ids(t4.strategy(), m4.train_ids.at(0), 0), r1 = gather_ids(t4.strategy(), m4.train_ids.at(0), 1);
  check(r0 == std::vector<int64_t>{0, 1, 2, 3, 4} && r1 == std::vector<int64_t>{5, 6, 7, 8, 9},
        "LibTorch loader with a DistributedSampler: the sampler's shards, not sharded again");
}

// log(sync_dist) reduces across ranks; metric objects compute on the union.
struct Syncer : L::LightningModule<Syncer, Params> {
  torch::nn::Linear lin{register_module("lin", torch::nn::Linear(1, 1))};
  L::metrics::MeanMetric mean;
  L::metrics::MaxMetric maxm;
  torch::Tensor training_step(L::Batch b, int64_t) {
    const double r = static_cast<double>(global_rank_);
    log("rank_mean", r, {.on_step = true, .on_epoch = false, .sync_dist = true});
    log("rank_sum", r + 1, {.on_step = true, .on_epoch = false, .reduce_fx = L::Reduce::sum, .sync_dist = true});
    log("rank_max", r * 10, {.on_step = true, .on_epoch = false, .reduce_fx = L::Reduce::max, .sync_dist = true});
    log("rank_local", r, {.on_step = true, .on_epoch = false});
    return lin->forward(b.data).sum() * 0;
  }
  void validation_step(L::Batch b, int64_t) {
    // Epoch mean weighted by batch size across ranks (uneven shards).
    log("val_mean", b.data.mean(), {.sync_dist = true});
    log("val_sum", b.data.sum(), {.reduce_fx = L::Reduce::sum, .sync_dist = true});
    mean.update(b.data.reshape({-1}));
    maxm.update(b.data.reshape({-1}));
    log("metric_mean", mean);
    log("metric_max", maxm);
  }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), 0.0); }
  int64_t global_rank_ = 0;
};

void sync_dist() {
  Syncer m;
  m.global_rank_ = rank_of_process;
  L::Trainer<Syncer, L::strategy::DDP, L::OnlyCallbacks<>, L::Loggers<>> t(
      {.devices = 2, .max_epochs = 1, .num_sanity_val_steps = 0}, ddp());
  auto ids = torch::arange(8, torch::kFloat).unsqueeze(1);
  auto val = torch::arange(1, 12, torch::kFloat).unsqueeze(1);  // 1..11: mean 6, sum 66, max 11
  L::data::TensorLoader<2> train({ids, ids}, {.batch_size = 2});
  L::data::TensorLoader<2> valid({val, val}, {.batch_size = 2});
  t.fit(m, train, valid);
  const auto& cm = t.callback_metrics();
  auto val_of = [&](const char* k) { return cm.count(k) ? cm.at(k).item<double>() : -1e9; };
  check(val_of("rank_mean") == 0.5, "sync_dist mean of ranks 0,1 = 0.5 (got " + std::to_string(val_of("rank_mean")) + ")");
  check(val_of("rank_sum") == 3.0, "sync_dist sum of 1,2 = 3 (got " + std::to_string(val_of("rank_sum")) + ")");
  check(val_of("rank_max") == 10.0, "sync_dist max of 0,10 = 10");
  check(val_of("rank_local") == static_cast<double>(rank_of_process), "without sync_dist each rank keeps its value");
  check(std::abs(val_of("val_mean") - 6.0) < 1e-6, "validation epoch mean across uneven shards = 6 (got " +
                                                      std::to_string(val_of("val_mean")) + ")");
  check(val_of("val_sum") == 66.0, "validation epoch sum across ranks = 66");
  check(std::abs(val_of("metric_mean") - 6.0) < 1e-6, "MeanMetric computes on the union of shards = 6 (got " +
                                                         std::to_string(val_of("metric_mean")) + ")");
  check(val_of("metric_max") == 11.0, "MaxMetric over the union = 11");
}

// Only rank 0 writes; every rank uses its version_N; resuming under DDP continues exactly.
void files_and_resume(const fs::path& dir) {
  auto [x, y] = regression_data(64);
  using T = L::Trainer<Net, L::strategy::DDP, L::Optimizer<torch::optim::Adam>,
                       L::OnlyCallbacks<L::ModelCheckpoint>, L::Loggers<L::CSVLogger>>;
  torch::Tensor straight;
  {
    torch::manual_seed(3);
    Net m;
    T t({.devices = 2, .max_epochs = 4, .log_every_n_steps = 1, .default_root_dir = (dir / "straight").string()}, ddp(),
        OptimizerFor<torch::optim::Adam>::make());
    L::data::TensorLoader<2> loader({x, y}, {.batch_size = 8, .shuffle = true});
    t.fit(m, loader);
    straight = m.flat().clone();
    const auto logdir = t.logger<L::CSVLogger>().log_dir();
    check(logdir == dir / "straight" / "lightning_logs" / "version_0", "every rank logs to version_0: " + logdir.string());
    t.strategy().barrier();
    check(fs::exists(logdir / "metrics.csv") && fs::exists(logdir / "checkpoints" / "epoch=3-step=16.ckpt"),
          "rank 0 wrote metrics.csv and epoch=3-step=16.ckpt");
    check(!fs::exists(dir / "straight" / "lightning_logs" / "version_1"), "no second version directory");
    std::size_t files = 0;
    for (auto& e : fs::recursive_directory_iterator(dir / "straight")) files += e.is_regular_file();
    check(files == 3, "3 files written in all (metrics.csv, hparams.yaml, one checkpoint): " + std::to_string(files));
  }
  {
    torch::manual_seed(3);
    Net m;
    T t({.devices = 2, .max_epochs = 2, .default_root_dir = (dir / "resumed").string()}, ddp(),
        OptimizerFor<torch::optim::Adam>::make(), L::ModelCheckpoint({.save_last = true}));
    L::data::TensorLoader<2> loader({x, y}, {.batch_size = 8, .shuffle = true});
    t.fit(m, loader);
  }
  torch::manual_seed(99);
  Net m;
  T t({.devices = 2, .max_epochs = 4, .default_root_dir = (dir / "resumed").string()}, ddp(),
      OptimizerFor<torch::optim::Adam>::make(), L::ModelCheckpoint({.save_last = true}));
  L::data::TensorLoader<2> loader({x, y}, {.batch_size = 8, .shuffle = true});
  t.fit(m, loader, {.ckpt_path = "last"});
  check(t.current_epoch() == 4 && t.global_step() == 16, "resumed run ends at epoch 4, step 16");
  check(torch::equal(m.flat(), straight), "resumed under DDP == uninterrupted run, bitwise");
}

// Callbacks decide together; prepare_data runs once; a stop on one rank stops all.
struct Scored : L::LightningModule<Scored, Params> {
  torch::nn::Linear lin{register_module("lin", torch::nn::Linear(1, 1))};
  torch::Tensor training_step(L::Batch b, int64_t) { return lin->forward(b.data).sum() * 0; }
  void validation_step(L::Batch, int64_t) {
    // Rank 0 keeps improving; rank 1 never does, so its EarlyStopping fires first.
    const double e = static_cast<double>(current_epoch());
    log("score", rank_of_process == 0 ? 10.0 - e : 10.0);
  }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), 0.0); }
};

struct CountingData {
  int prepared = 0, setups = 0;
  void prepare_data() { ++prepared; }
  void setup(L::Stage) { ++setups; }
  auto train_dataloader() {
    auto x = torch::arange(8, torch::kFloat).unsqueeze(1);
    return L::data::TensorLoader<2>({x, x}, {.batch_size = 2});
  }
  auto val_dataloader() { return train_dataloader(); }
};

void callbacks(const fs::path& dir) {
  Scored m;
  CountingData data;
  L::Trainer<Scored, L::strategy::DDP, L::OnlyCallbacks<L::EarlyStopping, L::ModelCheckpoint>, L::Loggers<>> t(
      {.devices = 2, .max_epochs = 20, .num_sanity_val_steps = 0, .default_root_dir = dir.string()}, ddp(),
      L::EarlyStopping({.monitor = "score", .patience = 2}),
      L::ModelCheckpoint({.monitor = "score", .save_top_k = 1}));
  t.fit(m, data);
  check(data.prepared == (rank_of_process == 0 ? 1 : 0) && data.setups == 1,
        "prepare_data on rank 0 only (" + std::to_string(data.prepared) + "), setup on every rank");
  auto epochs = t.strategy().all_gather(torch::tensor({t.current_epoch()}));
  check(epochs[0].item<int64_t>() == epochs[1].item<int64_t>() && t.current_epoch() == 3,
        "rank 1's EarlyStopping stopped both ranks after epoch 3 (" + std::to_string(t.current_epoch()) + ")");
  // Rank 1's score never improved after epoch 0: an agreed decision saves only what both agree on.
  const auto best = t.checkpoint_callback().best_model_path();
  auto name = torch::zeros({256}, torch::kLong);
  for (std::size_t i = 0; i < best.size() && i < 256; ++i) name[static_cast<int64_t>(i)] = best[i];
  auto names = t.strategy().all_gather(name);
  check(torch::equal(names[0], names[1]) && best.find("epoch=0") != std::string::npos,
        "ModelCheckpoint: the same best path on both ranks (" + best + ")");

  // One validation sample for two ranks: a clear error on both, not a hang.
  Scored m2;
  L::Trainer<Scored, L::strategy::DDP, L::OnlyCallbacks<>, L::Loggers<>> t2(
      {.devices = 2, .max_epochs = 1, .num_sanity_val_steps = 0}, ddp());
  auto x = torch::arange(4, torch::kFloat).unsqueeze(1), one = torch::ones({1, 1});
  L::data::TensorLoader<2> train({x, x}, {.batch_size = 2}), val({one, one}, {.batch_size = 1});
  std::string error;
  try {
    t2.fit(m2, train, val);
  } catch (const std::invalid_argument& e) {
    error = e.what();
  }
  check(error.find("validation data gives rank(s) no batch under DDP") != std::string::npos,
        "too little validation data for the ranks: a clear error on every rank (" + error.substr(0, 60) + "...)");
}

// Rank 1 is killed (or throws) mid-training: rank 0 stops in bounded time naming it.
void lost_rank(bool kill) {
  auto [x, y] = regression_data(256);
  torch::manual_seed(1);
  Net m;
  (kill ? m.die_at_step : m.throw_at_step) = rank_of_process == 1 ? 5 : -1;
  DDPTrainer<torch::optim::SGD> t({.devices = 2, .max_epochs = 50}, ddp(), OptimizerFor<torch::optim::SGD>::make());
  L::data::TensorLoader<2> loader({x, y}, {.batch_size = 4});
  const auto start = std::chrono::steady_clock::now();
  std::string error;
  try {
    t.fit(m, loader);
  } catch (const std::exception& e) {
    error = e.what();
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (rank_of_process != 0) std::exit(1);  // the failing rank (when it threw): its process fails
  std::printf("[rank 0] error: %s\n", error.c_str());
  check(!error.empty(), "fit threw on rank 0");
  if (kill)
    check(error.find("rank 1 (pid") != std::string::npos && error.find("killed by signal 9") != std::string::npos,
          "the error names rank 1 and its signal");
  else
    check(error.find("rank 1 failed: bad batch on purpose") != std::string::npos,
          "the error names rank 1 and what it threw");
  check(secs < 15, "within bounded time (" + std::to_string(secs) + " s; process-group timeout 20 s)");
  check(t.strategy().join_launched(5s) != 0, "the launcher reports the failed child (non-zero)");
}

// Rank 1 stays alive but never enters the next collective: rank 0's times out
// after DDP's timeout (3 s) with an error naming rank 1, and the program ends
// without waiting for rank 1 (tests/meson.build runs it under a deadline).
void stuck_rank() {
  auto [x, y] = regression_data(256);
  torch::manual_seed(1);
  Net m;
  m.stall_at_step = rank_of_process == 1 ? 5 : -1;
  L::strategy::DDP::Options o;
  o.timeout = 3s;
  DDPTrainer<torch::optim::SGD> t({.devices = 2, .max_epochs = 50}, L::strategy::DDP(o),
                                  OptimizerFor<torch::optim::SGD>::make());
  L::data::TensorLoader<2> loader({x, y}, {.batch_size = 4});
  const auto start = std::chrono::steady_clock::now();
  std::string error;
  try {
    t.fit(m, loader);
  } catch (const std::exception& e) {
    error = e.what();
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "[rank 0] error after %.2f s: %s\n", secs, error.c_str());
  check(error.find("DDP reduce (allreduce) timed out on rank 0 of 2 after 3000 ms") != std::string::npos,
        "the error names the operation, this rank and the timeout");
  check(error.find("rank 1 did not reach it") != std::string::npos,
        "the error names rank 1 as the one that did not arrive");
  check(secs < 15, "within bounded time (" + std::to_string(secs) + " s; process-group timeout 3 s)");
  // Returning from main now: the launcher must stop rank 1 (stuck) instead of waiting for it.
  if (failures != 0) std::_Exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s equivalence|nodes|sharding|sync_dist|callbacks|files|killed|throws|stuck|child_exit <scratch dir>\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const fs::path dir = argv[2];
  const char* rank = std::getenv("RANK") ? std::getenv("RANK") : std::getenv("NODE_RANK");
  rank_of_process = rank ? std::atoll(rank) : 0;
  if (rank_of_process == 0) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  L::seed_everything(5);
  if (mode == "equivalence") {
    equivalence<torch::optim::SGD>("SGD", 1);
    equivalence<torch::optim::Adam>("Adam", 1);
    equivalence<torch::optim::SGD>("SGD, accumulate 2 (no_sync)", 2);
    equivalence<torch::optim::Adam>("Adam, averaged after backward", 1, 2, 1, /*overlap=*/false);
    equivalence<torch::optim::SGD>("SGD, accumulate 2, averaged after backward", 2, 2, 1, /*overlap=*/false);
  } else if (mode == "nodes") {
    // One process per "machine" (devices = 1, num_nodes = 2), started by
    // tests/dist/two_nodes.sh; they meet through MASTER_ADDR/MASTER_PORT only.
    equivalence<torch::optim::Adam>("2 nodes x 1 device", 1, /*devices=*/1, /*num_nodes=*/2);
  } else if (mode == "sharding") {
    sharding();
  } else if (mode == "sync_dist") {
    sync_dist();
  } else if (mode == "files") {
    files_and_resume(dir);
  } else if (mode == "callbacks") {
    callbacks(dir);
  } else if (mode == "child_exit") {
    // Rank 1 fails after the work is done; rank 0's main returns 0, yet the
    // program (the launcher) must exit non-zero: checked by expect_exit.sh.
    auto [x, y] = regression_data(32);
    Net m;
    DDPTrainer<torch::optim::SGD> t({.devices = 2, .max_epochs = 1}, ddp(), OptimizerFor<torch::optim::SGD>::make());
    L::data::TensorLoader<2> loader({x, y}, {.batch_size = 4});
    t.fit(m, loader);
    if (rank_of_process == 1) std::exit(3);
  } else if (mode == "killed") {
    lost_rank(/*kill=*/true);
  } else if (mode == "throws") {
    lost_rank(/*kill=*/false);
  } else if (mode == "stuck") {
    stuck_rank();
  } else {
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
  }
  std::printf("[rank %lld] %s: %d failure(s)\n", rank_of_process, mode.c_str(), failures);
  return failures == 0 ? 0 : 1;
}
