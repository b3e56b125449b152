// DDP scaling: the Fashion-MNIST-shaped classifier (MLP 784-128-10,
// cross-entropy, Adam 1e-3, batch 64 per process) trained by the bare Trainer
// with 1 process and with 2 processes (strategy::DDP, Gloo over loopback), on
// synthetic data (12,800 samples of randn(784), labels uniform in [0, 10),
// fixed seed). A plain timed program; no dataset, no Google Benchmark.
//
//   ddp_scaling [--epochs N] [--repeats R] [--samples N]
//       Runs everything and prints the table. The 1-process runs (1 and 2
//       intra-op threads) happen in this process; each 2-process run is a fresh
//       subprocess (this program with --ddp), which in turn starts rank 1.
//   ddp_scaling --ddp overlap|after --out FILE [--epochs N] [--samples N]
//       One 2-process run (internal). With devices = 2 the Trainer re-launches
//       this program with the same argv as rank 1 (RANK=1 in its environment);
//       both ranks run the same code; rank 0 writes one result line to FILE.
//
// What is timed (all wall clock, std::chrono::steady_clock):
//   * the first epoch is warm-up (allocator, Gloo pairs, c10d::Reducer
//     construction); the table covers epochs 2..N+1 only, from the module's
//     on_train_epoch_start of epoch 2 to on_train_end, on rank 0. Process
//     launch and rendezvous are excluded there, but reported separately as
//     "fit s" (whole fit(), Trainer construction included).
//   * bwd+sync: on_before_backward -> on_after_backward per step, i.e. the
//     backward pass plus, under DDP, waiting for the averaged gradients.
//   * comm: after fit, on both ranks in lockstep, gradients are set to random
//     values and DDP::allreduce_gradients(model) (the bucketed Gloo allreduce
//     of all 101,770 gradients, 398 KiB fp32, one bucket, flatten/unflatten
//     included) is timed over many calls: the cost of one step's gradient
//     communication when nothing else runs.
#include <lightning/ddp.hpp>
#include <lightning/lightning.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace L = lightning;
namespace F = torch::nn::functional;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr int64_t kBatch = 64;
constexpr int64_t kWarmupEpochs = 1;

double secs(clock_type::time_point a, clock_type::time_point b) { return std::chrono::duration<double>(b - a).count(); }

}  // namespace

struct Params {  // the classifier's hyperparameters
  int64_t in_dim = 784, hidden = 128, n_classes = 10;
  double lr = 1e-3;
};
BOOST_HANA_ADAPT_STRUCT(Params, in_dim, hidden, n_classes, lr);

namespace {

// examples/lit_classifier.cpp's model and optimizer, without logging (the bare
// loop), plus timing hooks that only read the clock.
struct Classifier : L::LightningModule<Classifier, Params> {
  torch::nn::Sequential net;
  // timing
  int64_t epoch = 0, timed_steps = 0;
  clock_type::time_point t_start{}, t_end{}, t_bwd{};
  double bwd_total = 0;

  explicit Classifier(Params p = {})
      : LightningModule(p),
        net(register_module("net", torch::nn::Sequential(torch::nn::Linear(p.in_dim, p.hidden), torch::nn::ReLU(),
                                                         torch::nn::Linear(p.hidden, p.n_classes)))) {}
  torch::Tensor forward(torch::Tensor x) { return net->forward(x); }
  torch::Tensor training_step(L::Batch batch, int64_t) {
    auto [x, y] = batch;
    return F::cross_entropy(forward(x), y);
  }
  auto configure_optimizers() { return torch::optim::Adam(parameters(), torch::optim::AdamOptions(hparams().lr)); }

  bool timed() const { return epoch >= kWarmupEpochs; }
  void on_train_epoch_start() {
    if (epoch == kWarmupEpochs) t_start = clock_type::now();
  }
  void on_train_epoch_end() { ++epoch; }
  void on_train_end() { t_end = clock_type::now(); }
  void on_before_backward(const torch::Tensor&) { t_bwd = clock_type::now(); }
  void on_after_backward() {
    if (timed()) bwd_total += secs(t_bwd, clock_type::now());
  }
  void on_train_batch_end(const auto&, const auto&, int64_t) {
    if (timed()) ++timed_steps;
  }
};

struct Result {
  int procs = 1, threads = 1;
  std::string sync = "-";
  int64_t global_batch = kBatch, steps = 0;  // steps: optimizer steps per process in the timed epochs
  double timed_s = 0, fit_s = 0, samples_per_s = 0, bwd_ms = 0, comm_ms = -1;
  bool ok = true;
};

std::string serialize(const Result& r) {
  std::ostringstream o;
  o.precision(9);
  o << r.procs << ' ' << r.threads << ' ' << r.sync << ' ' << r.global_batch << ' ' << r.steps << ' ' << r.timed_s
    << ' ' << r.fit_s << ' ' << r.samples_per_s << ' ' << r.bwd_ms << ' ' << r.comm_ms;
  return o.str();
}
bool deserialize(const std::string& s, Result& r) {
  std::istringstream i(s);
  return static_cast<bool>(i >> r.procs >> r.threads >> r.sync >> r.global_batch >> r.steps >> r.timed_s >> r.fit_s >>
                           r.samples_per_s >> r.bwd_ms >> r.comm_ms);
}

// Identical in every process: fixed generator.
std::pair<torch::Tensor, torch::Tensor> synthetic(int64_t n) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1234);
  auto x = torch::randn({n, 784}, gen);
  auto y = torch::randint(0, 10, {n}, gen, torch::kLong);
  return {x, y};
}

template <class Trainer>
Result finish(const Classifier& m, const Trainer&, int procs, int64_t samples_timed_global, double fit_s) {
  Result r;
  r.procs = procs;
  r.threads = torch::get_num_threads();
  r.global_batch = kBatch * procs;
  r.steps = m.timed_steps;
  r.timed_s = secs(m.t_start, m.t_end);
  r.fit_s = fit_s;
  r.samples_per_s = static_cast<double>(samples_timed_global) / r.timed_s;
  r.bwd_ms = m.timed_steps ? 1e3 * m.bwd_total / static_cast<double>(m.timed_steps) : 0;
  return r;
}

// ---------------------------------------------------------------- 1 process

Result run_single(int threads, int64_t epochs, int64_t samples) {
  torch::set_num_threads(threads);
  auto [x, y] = synthetic(samples);
  L::seed_everything(42);
  Classifier model;
  const auto t0 = clock_type::now();
  L::Trainer<Classifier, L::OnlyCallbacks<>, L::Loggers<>> trainer({.max_epochs = kWarmupEpochs + epochs});
  L::data::TensorLoader<2> loader({x, y}, {.batch_size = kBatch, .shuffle = true});
  trainer.fit(model, loader);
  const double fit_s = secs(t0, clock_type::now());
  return finish(model, trainer, 1, model.timed_steps * kBatch, fit_s);
}

// ---------------------------------------------------------------- 2 processes (both ranks run this)

int run_ddp_worker(const std::string& mode, const std::string& out, int threads, int64_t epochs, int64_t samples) {
  const char* rank_env = std::getenv("RANK");
  const long rank = rank_env ? std::atol(rank_env) : 0;
  torch::set_num_threads(threads);
  auto [x, y] = synthetic(samples);
  L::seed_everything(42);
  Classifier model;
  L::strategy::DDP::Options o;
  o.timeout = 120s;  // a lost rank must not hang the benchmark
  o.overlap_gradient_sync = mode == "overlap";
  const auto t0 = clock_type::now();
  L::Trainer<Classifier, L::strategy::DDP, L::OnlyCallbacks<>, L::Loggers<>> trainer(
      {.devices = 2, .max_epochs = kWarmupEpochs + epochs}, L::strategy::DDP(o));
  L::data::TensorLoader<2> loader({x, y}, {.batch_size = kBatch, .shuffle = true});
  trainer.fit(model, loader);
  const double fit_s = secs(t0, clock_type::now());
  const int procs = static_cast<int>(trainer.world_size());
  Result r = finish(model, trainer, procs, model.timed_steps * kBatch * procs, fit_s);
  r.sync = mode;

  // Gradient communication alone: random gradients, allreduce_gradients in lockstep.
  auto& ddp = trainer.strategy();
  {
    torch::NoGradGuard ng;
    for (auto& p : model.parameters()) p.mutable_grad() = torch::randn_like(p);
  }
  for (int i = 0; i < 20; ++i) ddp.allreduce_gradients(model);  // warm-up
  const int calls = 500;
  ddp.barrier();
  const auto c0 = clock_type::now();
  for (int i = 0; i < calls; ++i) ddp.allreduce_gradients(model);
  const double per_call = secs(c0, clock_type::now()) / calls;
  // The slower rank's view: every call completes only when both are in it.
  r.comm_ms = 1e3 * ddp.reduce(torch::tensor({per_call}, torch::kDouble), L::Reduce::max).item<double>();
  ddp.barrier();

  if (rank == 0) {
    std::ofstream f(out);
    f << serialize(r) << '\n';
    if (!f) {
      std::fprintf(stderr, "ddp_scaling: cannot write %s\n", out.c_str());
      return 1;
    }
  }
  return 0;
}

// ---------------------------------------------------------------- orchestration

Result run_ddp_subprocess(const std::string& mode, int threads, int64_t epochs, int64_t samples) {
  Result r;
  r.procs = 2;
  r.threads = threads;
  r.sync = mode;
  r.ok = false;
  char path[] = "/tmp/ddp_scaling_XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) {
    std::perror("mkstemp");
    return r;
  }
  ::close(fd);
  std::vector<std::string> args = {"ddp_scaling", "--ddp",     mode,
                                   "--out",       path,        "--epochs",
                                   std::to_string(epochs),     "--samples",
                                   std::to_string(samples),    "--ddp-threads",
                                   std::to_string(threads)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("fork");
    return r;
  }
  if (pid == 0) {
    ::execv("/proc/self/exe", argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  ::unlink(path);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !deserialize(line, r)) {
    std::fprintf(stderr, "ddp_scaling: the --ddp %s subprocess failed (status %d)\n", mode.c_str(), status);
    r.ok = false;
    return r;
  }
  r.ok = true;
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Row {
  Result shown;  // medians of every field over the repeats
  double min_sps = 0, max_sps = 0;
  int ok_runs = 0;
};

Row summarize(const std::vector<Result>& runs) {
  Row row;
  std::vector<double> sps, timed, fit, bwd, comm;
  for (const auto& r : runs) {
    if (!r.ok) continue;
    row.shown = r;
    ++row.ok_runs;
    sps.push_back(r.samples_per_s);
    timed.push_back(r.timed_s);
    fit.push_back(r.fit_s);
    bwd.push_back(r.bwd_ms);
    comm.push_back(r.comm_ms);
  }
  if (!row.ok_runs) {
    row.shown = runs.front();
    return row;
  }
  row.shown.samples_per_s = median(sps);
  row.shown.timed_s = median(timed);
  row.shown.fit_s = median(fit);
  row.shown.bwd_ms = median(bwd);
  row.shown.comm_ms = median(comm);
  row.min_sps = *std::min_element(sps.begin(), sps.end());
  row.max_sps = *std::max_element(sps.begin(), sps.end());
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  std::string ddp_mode, out;
  int64_t epochs = 10, samples = 12800;
  int repeats = 3, ddp_threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--ddp") ddp_mode = next();
    else if (k == "--out") out = next();
    else if (k == "--epochs") epochs = std::stoll(next());
    else if (k == "--samples") samples = std::stoll(next());
    else if (k == "--repeats") repeats = std::stoi(next());
    else if (k == "--ddp-threads") ddp_threads = std::stoi(next());
    else {
      std::fprintf(stderr,
                   "usage: ddp_scaling [--epochs N] [--repeats R] [--samples N] [--ddp-threads T]\n"
                   "       ddp_scaling --ddp overlap|after --out FILE [--epochs N] [--samples N] [--ddp-threads T]\n");
      return 2;
    }
  }
  if (epochs < 1 || repeats < 1 || samples < 2 * kBatch || ddp_threads < 1) {
    std::fprintf(stderr, "ddp_scaling: need --epochs >= 1, --repeats >= 1, --samples >= %lld, --ddp-threads >= 1\n",
                 static_cast<long long>(2 * kBatch));
    return 2;
  }
  if (!ddp_mode.empty()) {
    if ((ddp_mode != "overlap" && ddp_mode != "after") || out.empty()) {
      std::fprintf(stderr, "ddp_scaling: --ddp takes overlap|after and needs --out FILE\n");
      return 2;
    }
    return run_ddp_worker(ddp_mode, out, ddp_threads, epochs, samples);
  }
  if (std::getenv("RANK") || std::getenv("WORLD_SIZE") || std::getenv("LOCAL_RANK")) {
    std::fprintf(stderr, "ddp_scaling: run it without RANK/WORLD_SIZE/LOCAL_RANK set (it launches its own ranks)\n");
    return 2;
  }

  const unsigned cores = std::thread::hardware_concurrency();
  const int default_threads = torch::get_num_threads();
  std::printf("ddp_scaling: MLP 784-128-10, cross-entropy, Adam 1e-3, batch %lld per process, bare Trainer (no "
              "callbacks, loggers or logging)\n",
              static_cast<long long>(kBatch));
  std::printf("data: %lld synthetic samples (randn 784, labels in [0,10), fixed seed), shuffled; "
              "%lld warm-up epoch + %lld timed epochs per run; %d repeat(s), interleaved\n",
              static_cast<long long>(samples), static_cast<long long>(kWarmupEpochs), static_cast<long long>(epochs),
              repeats);
  std::printf("machine: hardware_concurrency = %u, torch::get_num_threads() default = %d\n", cores, default_threads);
  std::printf("threads: 1-process runs with 1 and with 2 intra-op threads; each DDP rank torch::set_num_threads(%d) "
              "(2 ranks x %d = %d threads on %u cores); Gloo over 127.0.0.1\n\n",
              ddp_threads, ddp_threads, 2 * ddp_threads, cores);
  std::fflush(stdout);

  std::vector<Result> s1, s2, d_over, d_after;
  for (int rep = 0; rep < repeats; ++rep) {
    std::fprintf(stderr, "repeat %d/%d: 1p x 1t ...", rep + 1, repeats);
    s1.push_back(run_single(1, epochs, samples));
    std::fprintf(stderr, " 1p x 2t ...");
    s2.push_back(run_single(2, epochs, samples));
    std::fprintf(stderr, " 2p overlap ...");
    d_over.push_back(run_ddp_subprocess("overlap", ddp_threads, epochs, samples));
    std::fprintf(stderr, " 2p after ...");
    d_after.push_back(run_ddp_subprocess("after", ddp_threads, epochs, samples));
    std::fprintf(stderr, " done\n");
  }
  torch::set_num_threads(default_threads);

  const Row rows[] = {summarize(s1), summarize(s2), summarize(d_over), summarize(d_after)};
  const double base1 = rows[0].shown.samples_per_s, base2 = rows[1].shown.samples_per_s;

  std::printf("columns (medians over repeats; timed epochs only, rank 0's clock):\n"
              "  procs      processes; thr = intra-op threads per process\n"
              "  sync       gradient averaging: overlap = c10d::Reducer, allreduce during backward "
              "(overlap_gradient_sync=true);\n"
              "             after = one bucketed allreduce after backward (overlap_gradient_sync=false); - = none\n"
              "  gbatch     global batch = 64 x processes\n"
              "  steps      optimizer steps per process in the timed epochs\n"
              "  wall s     wall seconds of the timed epochs (fit s: the whole fit(), incl. rank launch + rendezvous)\n"
              "  samples/s  global samples / wall s  [min..max over repeats]\n"
              "  x1p1t      samples/s / 1-process-1-thread samples/s  (per-worker scaling ratio)\n"
              "  x1p2t      samples/s / 1-process-2-thread samples/s  (same cores, best 1-process)\n"
              "  bwd ms     per step, on_before_backward -> on_after_backward: backward (+ waiting for the averaged "
              "grads)\n"
              "  comm ms    one gradient allreduce (101,770 fp32, 1 bucket) timed alone after fit, slower rank; "
              "= comm per step\n\n");
  std::printf("%-5s %-3s %-7s %6s %6s %7s %7s %9s %-17s %6s %6s %7s %7s\n", "procs", "thr", "sync", "gbatch", "steps",
              "wall s", "fit s", "samples/s", " [min..max]", "x1p1t", "x1p2t", "bwd ms", "comm ms");
  for (const auto& row : rows) {
    const Result& r = row.shown;
    if (!row.ok_runs) {
      std::printf("%-5d %-3d %-7s  FAILED\n", r.procs, r.threads, r.sync.c_str());
      continue;
    }
    char range[64];
    std::snprintf(range, sizeof range, " [%.0f..%.0f]", row.min_sps, row.max_sps);
    char comm[16];
    if (r.comm_ms >= 0) std::snprintf(comm, sizeof comm, "%.3f", r.comm_ms);
    else std::snprintf(comm, sizeof comm, "-");
    std::printf("%-5d %-3d %-7s %6lld %6lld %7.2f %7.2f %9.0f %-17s %6.2f %6.2f %7.3f %7s\n", r.procs, r.threads,
                r.sync.c_str(), static_cast<long long>(r.global_batch), static_cast<long long>(r.steps), r.timed_s,
                r.fit_s, r.samples_per_s, range, r.samples_per_s / base1, r.samples_per_s / base2, r.bwd_ms, comm);
  }
  const double bwd1 = rows[0].shown.bwd_ms;
  std::printf("\nexposed sync per step, in training (bwd ms of the 2-process row - bwd ms of 1p x 1t, %.3f): "
              "overlap %.3f ms, after %.3f ms\n"
              "  (includes waiting for the slower rank; the 2-process steps run 2 ranks x %d thread(s) on %u cores)\n",
              bwd1, rows[2].shown.bwd_ms - bwd1, rows[3].shown.bwd_ms - bwd1, ddp_threads, cores);
  return rows[2].ok_runs && rows[3].ok_runs ? 0 : 1;
}
