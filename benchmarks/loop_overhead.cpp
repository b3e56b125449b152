// Loop overhead: the same training work run by a hand-written LibTorch loop,
// by the bare Trainer and by the Trainer with Lightning's defaults,
// interleaved in one process (A B C A B C ...) after a warm-up, so machine
// noise hits every variant alike. Prints median µs/step, the ratios to the
// hand-written loop with their spread across repeats, and writes JSON.
//
//   loop_overhead [--workload A|B|all] [--repeats N] [--epochs N] [--threads N] [--json FILE]
//   loop_overhead --only hand|bare --workload A --epochs N    (one variant, for callgrind)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "workloads.hpp"

namespace {
using namespace bench;
using clock_type = std::chrono::steady_clock;

constexpr double kBareTarget = 1.01;
constexpr double kDefaultsTarget = 1.05;

struct Args {
  std::string workload = "all";
  int repeats = 15;
  int64_t epochs = 5;
  int threads = 1;
  std::string json;
  std::string only;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--workload") a.workload = next();
    else if (k == "--repeats") a.repeats = std::stoi(next());
    else if (k == "--epochs") a.epochs = std::stoll(next());
    else if (k == "--threads") a.threads = std::stoi(next());
    else if (k == "--json") a.json = next();
    else if (k == "--only") a.only = next();
    else {
      std::fprintf(stderr,
                   "unknown argument %s\nusage: loop_overhead [--workload A|B|all] [--repeats N] [--epochs N] "
                   "[--threads N] [--json FILE] [--only hand|bare]\n",
                   k.c_str());
      std::exit(2);
    }
  }
  return a;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(pos);
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

/// One variant of one workload: runs `epochs` epochs on a fresh model and
/// optimizer, returns µs per optimizer step.
using Variant = std::function<double(const std::vector<L::Batch>&, int64_t)>;

template <class Model>
double time_hand(const std::vector<L::Batch>& batches, int64_t epochs) {
  torch::manual_seed(1);
  Model model;
  const auto t0 = clock_type::now();
  hand_written(model, batches, epochs);
  const auto dt = std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
  return dt / static_cast<double>(epochs * static_cast<int64_t>(batches.size()));
}

template <class Model, class TrainerT>
double time_trainer(const std::vector<L::Batch>& batches, int64_t epochs, TrainerT& trainer) {
  torch::manual_seed(1);
  Model model;
  const auto t0 = clock_type::now();
  trainer.fit(model, batches);
  const auto dt = std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
  if (trainer.global_step() != epochs * static_cast<int64_t>(batches.size())) {
    std::fprintf(stderr, "step count mismatch\n");
    std::exit(1);
  }
  return dt / static_cast<double>(trainer.global_step());
}

template <class Model>
double time_bare(const std::vector<L::Batch>& batches, int64_t epochs) {
  L::BareTrainer<Model> trainer({.max_epochs = epochs});
  return time_trainer<Model>(batches, epochs, trainer);
}

/// What `L.Trainer()` gives a user today (the defaults grow as features
/// land), with the loss logged every step at log_every_n_steps = 50.
template <class LoggedModel>
double time_defaults(const std::vector<L::Batch>& batches, int64_t epochs) {
  static std::FILE* devnull = std::fopen("/dev/null", "w");
  L::Trainer<LoggedModel> trainer({.max_epochs = epochs, .log_every_n_steps = 50, .default_root_dir = "bench_logs"},
                                  L::ProgressBar({.in_place = 0, .stream = devnull}), L::ModelSummary({.stream = devnull}));
  return time_trainer<LoggedModel>(batches, epochs, trainer);
}

struct Row {
  std::string workload, variant;
  double median_us = 0, ratio = 1, ratio_p25 = 1, ratio_p75 = 1, ratio_min = 1, ratio_max = 1;
  double target = 0;  // 0: none
};

std::vector<Row> run_workload(const std::string& name, const std::vector<L::Batch>& batches, const Args& a,
                              const std::vector<std::pair<std::string, Variant>>& variants,
                              const std::vector<double>& targets) {
  // Warm-up: allocator, Adam state shapes, lazy init of kernels.
  for (auto& [_, v] : variants) v(batches, 1);
  std::vector<std::vector<double>> us(variants.size()), ratio(variants.size());
  for (int r = 0; r < a.repeats; ++r) {
    std::vector<double> round(variants.size());
    for (size_t i = 0; i < variants.size(); ++i) round[i] = variants[i].second(batches, a.epochs);
    for (size_t i = 0; i < variants.size(); ++i) {
      us[i].push_back(round[i]);
      ratio[i].push_back(round[i] / round[0]);
    }
  }
  std::vector<Row> rows;
  for (size_t i = 0; i < variants.size(); ++i) {
    Row row{name, variants[i].first, median(us[i]), median(ratio[i]), quantile(ratio[i], 0.25),
            quantile(ratio[i], 0.75), *std::min_element(ratio[i].begin(), ratio[i].end()),
            *std::max_element(ratio[i].begin(), ratio[i].end()), targets[i]};
    rows.push_back(row);
  }
  return rows;
}

/// Workload A in Python PyTorch (Debian's python3-torch), as a reference row.
double python_reference(const Args& a) {
  const char* py = "/usr/bin/python3";
  if (!std::filesystem::exists(py)) return -1;
  const std::string script = std::string(
      "import time, torch\n"
      "torch.set_num_threads(") + std::to_string(a.threads) + ")\n"
      "torch.manual_seed(0)\n"
      "x = torch.randn(1000, 10); y = x.sum(1, keepdim=True)\n"
      "batches = [(x[i:i+32], y[i:i+32]) for i in range(0, 1000, 32)]\n"
      "def run(epochs):\n"
      "    torch.manual_seed(1)\n"
      "    m = torch.nn.Linear(10, 1); opt = torch.optim.Adam(m.parameters(), lr=1e-3)\n"
      "    t0 = time.perf_counter()\n"
      "    for _ in range(epochs):\n"
      "        for bx, by in batches:\n"
      "            opt.zero_grad(); loss = torch.nn.functional.mse_loss(m(bx), by); loss.backward(); opt.step()\n"
      "    return (time.perf_counter() - t0) * 1e6 / (epochs * len(batches))\n"
      "run(1)\n"
      "r = sorted(run(" + std::to_string(a.epochs) + ") for _ in range(" + std::to_string(std::max(3, a.repeats / 3)) + "))\n"
      "print(r[len(r)//2])\n";
  const auto path = std::filesystem::temp_directory_path() / "lightning_loop_overhead_ref.py";
  std::ofstream(path) << script;
  const std::string cmd = std::string(py) + " " + path.string() + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[64] = {0};
  const bool ok = std::fgets(buf, sizeof buf, p) != nullptr;
  const int status = pclose(p);
  std::filesystem::remove(path);
  return ok && status == 0 ? std::atof(buf) : -1;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  torch::set_num_threads(a.threads);

  if (!a.only.empty()) {  // one variant alone, for instruction counting
    auto batches = a.workload == "B" ? mlp_batches() : regression_batches();
    double us = 0;
    if (a.workload == "B") us = a.only == "hand" ? time_hand<Mlp>(batches, a.epochs) : time_bare<Mlp>(batches, a.epochs);
    else us = a.only == "hand" ? time_hand<Regression>(batches, a.epochs) : time_bare<Regression>(batches, a.epochs);
    std::printf("%s: %.2f us/step\n", a.only.c_str(), us);
    return 0;
  }

  std::vector<Row> rows;
  if (a.workload == "A" || a.workload == "all") {
    auto batches = regression_batches();
    auto r = run_workload("A: Linear(10,1) MSE Adam, batch 32", batches, a,
                          {{"hand-written", time_hand<Regression>},
                           {"bare Trainer", time_bare<Regression>},
                           {"defaults Trainer", time_defaults<RegressionLogged>}},
                          {0, kBareTarget, kDefaultsTarget});
    rows.insert(rows.end(), r.begin(), r.end());
  }
  if (a.workload == "B" || a.workload == "all") {
    auto batches = mlp_batches();
    auto r = run_workload("B: MLP 784-128-10 CE Adam, batch 64", batches, a,
                          {{"hand-written", time_hand<Mlp>},
                           {"bare Trainer", time_bare<Mlp>},
                           {"defaults Trainer", time_defaults<MlpLogged>}},
                          {0, kBareTarget, 0});
    rows.insert(rows.end(), r.begin(), r.end());
  }
  const double py = (a.workload == "A" || a.workload == "all") ? python_reference(a) : -1;

  std::printf("\nthreads=%d  repeats=%d  epochs/repeat=%lld  (ratios: median [p25, p75] of per-round ratios)\n",
              a.threads, a.repeats, static_cast<long long>(a.epochs));
  std::printf("%-38s %-17s %10s %9s %17s %8s %s\n", "workload", "variant", "us/step", "ratio", "[p25, p75]", "target",
              "");
  bool met = true;
  for (const auto& r : rows) {
    std::string verdict;
    if (r.target > 0) {
      const bool ok = r.ratio <= r.target;
      met = met && ok;
      verdict = ok ? "met" : "MISSED";
    }
    char target[16] = "";
    if (r.target > 0) std::snprintf(target, sizeof target, "<= %.2f", r.target);
    std::printf("%-38s %-17s %10.2f %9.4f   [%.4f, %.4f] %8s %s\n", r.workload.c_str(), r.variant.c_str(),
                r.median_us, r.ratio, r.ratio_p25, r.ratio_p75, target, verdict.c_str());
  }
  if (py > 0) std::printf("%-38s %-17s %10.2f   (Python PyTorch raw loop, reference)\n", "A: Linear(10,1) MSE Adam, batch 32", "python", py);
  std::printf("targets: bare/hand-written <= %.2f on A and B; defaults/hand-written <= %.2f on A: %s\n", kBareTarget,
              kDefaultsTarget, met ? "all met" : "NOT all met");

  if (!a.json.empty()) {
    std::ofstream j(a.json);
    j << "{\n  \"threads\": " << a.threads << ",\n  \"repeats\": " << a.repeats << ",\n  \"epochs\": " << a.epochs
      << ",\n  \"rows\": [\n";
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      j << "    {\"workload\": \"" << r.workload << "\", \"variant\": \"" << r.variant << "\", \"us_per_step\": "
        << r.median_us << ", \"ratio\": " << r.ratio << ", \"ratio_p25\": " << r.ratio_p25
        << ", \"ratio_p75\": " << r.ratio_p75 << ", \"ratio_min\": " << r.ratio_min << ", \"ratio_max\": "
        << r.ratio_max << ", \"target\": " << (r.target > 0 ? std::to_string(r.target) : "null") << "}"
        << (i + 1 < rows.size() ? ",\n" : "\n");
    }
    j << "  ],\n  \"python_reference_us_per_step\": " << (py > 0 ? std::to_string(py) : "null")
      << ",\n  \"targets_met\": " << (met ? "true" : "false") << "\n}\n";
  }
  std::filesystem::remove_all("bench_logs");
  return 0;
}
