// What one training step costs, counted rather than timed (valgrind and
// hardware counters do not run on these machines): the ATen operators
// dispatched (a RecordFunction global callback: every operator, autograd
// node and optimizer record) and the heap allocations (malloc, calloc,
// realloc and the aligned allocators, interposed in this executable) on the
// training thread, for the hand-written loop, the bare Trainer and the
// Trainer with Lightning's defaults, on both seed workloads.
//
// Steps are told apart by the model's forward (bench::mark_step): a step's
// counts run from its forward to the next one's, so they hold the loop's own
// work between steps. Steady state: steps away from an epoch's ends; the
// per-epoch counts are the rest of an epoch beyond 32 (50) steady steps.
//
//   op_count [--check] [--workload A|B|all] [--show-diff]
// --check: exit 1 unless the bare Trainer dispatches exactly the hand
// loop's operator sequence per steady step and allocates no more (a test).
#include <ATen/record_function.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "workloads.hpp"

// ---------------------------------------------------------------- allocation counting

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace {
// Counted on the thread that set it only (the checkpoint writer thread and
// the tools' threads are not the loop's cost).
thread_local bool counting_thread = false;
std::atomic<uint64_t> allocations{0};
inline void count() {
  if (counting_thread) allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" {
void* malloc(size_t n) {
  count();
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t m) {
  count();
  return __libc_calloc(n, m);
}
void* realloc(void* p, size_t n) {
  count();
  return __libc_realloc(p, n);
}
void free(void* p) { __libc_free(p); }
void* memalign(size_t a, size_t n) {
  count();
  return __libc_memalign(a, n);
}
void* aligned_alloc(size_t a, size_t n) {
  count();
  return __libc_memalign(a, n);
}
int posix_memalign(void** out, size_t a, size_t n) {
  if (a < sizeof(void*) || (a & (a - 1)) != 0) return EINVAL;
  count();
  void* p = __libc_memalign(a, n);
  if (!p && n) return ENOMEM;
  *out = p;
  return 0;
}
}

namespace {
using namespace bench;

// ---------------------------------------------------------------- operator recording

struct Step {
  std::vector<std::string> ops;  // copied: some names live only as long as their record
  uint64_t allocations = 0;
};

struct Recorder {
  std::vector<Step> steps;
  std::vector<std::string> current;
  uint64_t alloc_mark = 0;
  bool on = false;

  void begin() {
    steps.clear();
    current.clear();
    current.reserve(4096);
    on = true;
    alloc_mark = allocations.load();
  }
  void mark() {
    if (!on) return;
    const uint64_t now = allocations.load();
    steps.push_back({current, now - alloc_mark});  // the part before the first forward is step "-1": dropped below
    current.clear();
    alloc_mark = allocations.load();  // the push above allocated: not the loop's
  }
  void end() {
    mark();
    on = false;
    if (!steps.empty()) steps.erase(steps.begin());
  }
};
Recorder recorder;

std::unique_ptr<at::ObserverContext> on_op(const at::RecordFunction& fn) {
  if (recorder.on && counting_thread) recorder.current.emplace_back(fn.name());
  return nullptr;
}

/// One fit (or hand loop) of `epochs`, split into steps: with operator
/// recording (allocation counts then include RecordFunction's own) or
/// without (clean allocation counts, no operator names).
template <class Run>
std::vector<Step> record(Run&& run, bool ops) {
  at::CallbackHandle handle = 0;
  if (ops) handle = at::addGlobalCallback(at::RecordFunctionCallback(&on_op).needsInputs(false));
  step_marker = [] { recorder.mark(); };
  counting_thread = true;
  recorder.begin();
  run();
  recorder.end();
  counting_thread = false;
  step_marker = nullptr;
  if (ops) at::removeCallback(handle);
  return std::move(recorder.steps);
}

struct Counts {
  std::vector<std::string> steady_ops;  // one steady step's sequence
  bool steady_same = true;              // every steady step the same sequence
  double steady_allocs = 0;             // per steady step (median)
  int64_t epoch_extra_ops = 0, epoch_extra_allocs = 0;
};

/// Steady steps: the middle of the second epoch.
Counts summarize(const std::vector<Step>& with_ops, const std::vector<Step>& clean, int64_t per_epoch) {
  Counts c;
  const int64_t lo = per_epoch + 2, hi = 2 * per_epoch - 2;
  c.steady_ops = with_ops.at(lo).ops;
  for (int64_t i = lo; i < hi; ++i) {
    const auto& o = with_ops.at(i).ops;
    bool same = o.size() == c.steady_ops.size();
    same = same && o == c.steady_ops;
    c.steady_same = c.steady_same && same;
  }
  std::vector<uint64_t> a;
  for (int64_t i = lo; i < hi; ++i) a.push_back(clean.at(i).allocations);
  std::sort(a.begin(), a.end());
  c.steady_allocs = static_cast<double>(a[a.size() / 2]);
  int64_t ops = 0, allocs = 0;
  for (int64_t i = per_epoch; i < 2 * per_epoch; ++i) {
    ops += static_cast<int64_t>(with_ops.at(i).ops.size());
    allocs += static_cast<int64_t>(clean.at(i).allocations);
  }
  c.epoch_extra_ops = ops - per_epoch * static_cast<int64_t>(c.steady_ops.size());
  c.epoch_extra_allocs = allocs - per_epoch * static_cast<int64_t>(c.steady_allocs);
  return c;
}

std::map<std::string, int> histogram(const std::vector<std::string>& ops) {
  std::map<std::string, int> h;
  for (const auto& o : ops) ++h[o];
  return h;
}

template <class Model, class Logged>
bool run_workload(const char* name, const std::vector<L::Batch>& batches, bool show_diff) {
  const int64_t epochs = 3, per_epoch = static_cast<int64_t>(batches.size());
  std::FILE* devnull = std::fopen("/dev/null", "w");
  auto hand = [&] {
    torch::manual_seed(1);
    Model m;
    hand_written(m, batches, epochs);
  };
  auto bare = [&] {
    torch::manual_seed(1);
    Model m;
    L::BareTrainer<Model> t({.max_epochs = epochs});
    t.fit(m, batches);
  };
  auto defaults = [&] {
    torch::manual_seed(1);
    Logged m;
    L::Trainer<Logged> t({.max_epochs = epochs, .log_every_n_steps = 50, .default_root_dir = "op_count_logs"},
                         L::ProgressBar({.in_place = 0, .stream = devnull}), L::ModelSummary({.stream = devnull}));
    t.fit(m, batches);
  };
  // Warm-up: lazy initialization (kernels, Adam's state, the writer thread's first start) out of the counts.
  hand(), bare(), defaults();
  auto count_variant = [&](auto& run) {
    auto with_ops = record(run, true);
    auto clean = record(run, false);
    if (static_cast<int64_t>(with_ops.size()) != epochs * per_epoch || static_cast<int64_t>(clean.size()) != epochs * per_epoch) {
      std::fprintf(stderr, "op_count: %zu steps recorded, expected %lld\n", with_ops.size(),
                   static_cast<long long>(epochs * per_epoch));
      std::exit(2);
    }
    return summarize(with_ops, clean, per_epoch);
  };
  const Counts h = count_variant(hand), b = count_variant(bare), d = count_variant(defaults);
  std::filesystem::remove_all("op_count_logs");
  std::fclose(devnull);

  const bool same_sequence = h.steady_ops == b.steady_ops;
  const bool ok = same_sequence && b.steady_same && h.steady_same && b.steady_allocs <= h.steady_allocs;

  std::printf("\n%s (per steady training step; per epoch: beyond its steady steps)\n", name);
  std::printf("%-18s %12s %14s %16s %18s\n", "variant", "ATen ops", "allocations", "ops per epoch", "allocs per epoch");
  auto row = [](const char* v, const Counts& c) {
    std::printf("%-18s %12zu %14.0f %16lld %18lld\n", v, c.steady_ops.size(), c.steady_allocs,
                static_cast<long long>(c.epoch_extra_ops), static_cast<long long>(c.epoch_extra_allocs));
  };
  row("hand-written", h);
  row("bare Trainer", b);
  row("defaults Trainer", d);
  std::printf("bare Trainer vs hand-written: %s operator sequence, %s allocations per step -> %s\n",
              same_sequence ? "same" : "DIFFERENT", b.steady_allocs <= h.steady_allocs ? "no more" : "MORE",
              ok ? "ok" : "FAILED");
  if (show_diff || !same_sequence) {
    auto hh = histogram(h.steady_ops), bh = histogram(b.steady_ops), dh = histogram(d.steady_ops);
    std::map<std::string, int> all;
    for (auto* m : {&hh, &bh, &dh})
      for (auto& [k, v] : *m) all[k] = 0;
    std::printf("  operators whose count differs from the hand-written loop's (hand / bare / defaults):\n");
    for (auto& [k, _] : all)
      if (hh[k] != bh[k] || hh[k] != dh[k]) std::printf("    %-60s %3d %3d %3d\n", k.c_str(), hh[k], bh[k], dh[k]);
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  bool check = false, show_diff = false;
  std::string workload = "all";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--check") check = true;
    else if (a == "--show-diff") show_diff = true;
    else if (a == "--workload" && i + 1 < argc) workload = argv[++i];
    else {
      std::fprintf(stderr, "unknown argument %s\nusage: op_count [--check] [--show-diff] [--workload A|B|all]\n",
                   a.c_str());
      return 2;
    }
  }
  if (workload != "A" && workload != "B" && workload != "all") {
    std::fprintf(stderr, "op_count: --workload takes A, B or all, not %s\n", workload.c_str());
    return 2;
  }
  torch::set_num_threads(1);
  bool ok = true;
  if (workload != "B") ok = run_workload<Regression, RegressionLogged>("A: Linear(10,1) MSE Adam, batch 32",
                                                                      regression_batches(), show_diff) && ok;
  if (workload != "A") ok = run_workload<Mlp, MlpLogged>("B: MLP 784-128-10 CE Adam, batch 64", mlp_batches(),
                                                         show_diff) && ok;
  if (check && !ok) {
    std::fprintf(stderr, "op_count: the bare Trainer's steady step differs from the hand-written loop's\n");
    return 1;
  }
  return 0;
}
