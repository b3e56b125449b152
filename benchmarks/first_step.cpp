// Time to first step: how long the seed-sized program (workload A's
// regression with the default L::Trainer<Model>, and with the bare Trainer)
// takes from exec to its first training_step, as its user waits for it. Each
// measurement is a fresh process in a fresh, empty directory:
//
//   exec -> main        the dynamic loader mapping and relocating LibTorch and
//                       the static initializers: before any program code runs
//   main -> first step  the program and the library: data, model, Trainer
//                       construction, fit's setup (model summary, log
//                       directories, callbacks' setup, sanity checks)
//
// The parent reads CLOCK_MONOTONIC and starts this binary again with --child;
// the child reads the clock at the top of main and in its first
// training_step, writes both to a pipe and _exits. The same for PyTorch
// Lightning 2.2.5 when present: python start -> after imports -> first
// training_step (benchmarks/lightning_runner.py --first-step).
//
//   first_step [--repeats N] [--no-lightning]
//   first_step --child bare|defaults --report-fd FD      (the measured program)
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <lightning/lightning.hpp>

#include "lightning_py.hpp"

namespace {
namespace L = lightning;
namespace F = torch::nn::functional;
namespace fs = std::filesystem;
using bench::py::monotonic_ns;

// ---- the measured program --------------------------------------------------

int64_t g_main_ns = 0;
int g_report_fd = -1;

[[noreturn]] void report_first_step() {
  const int64_t now = monotonic_ns();
  char line[64];
  const int n = std::snprintf(line, sizeof line, "%lld %lld\n", static_cast<long long>(g_main_ns),
                              static_cast<long long>(now));
  [[maybe_unused]] auto _ = write(g_report_fd, line, static_cast<size_t>(n));
  _exit(0);  // what comes after the first step is not measured
}

/// Workload A as the seed program writes it (examples/simple_regression.cpp).
struct Regressor : L::LightningModule<Regressor> {
  torch::nn::Linear layer{nullptr};
  Regressor() : layer(register_module("layer", torch::nn::Linear(10, 1))) {}
  torch::Tensor training_step(const L::Batch&, int64_t) { report_first_step(); }
  auto configure_optimizers() { return torch::optim::Adam(parameters(), torch::optim::AdamOptions(1e-3)); }
};

int child(const std::string& variant) {
  torch::manual_seed(0);
  auto x = torch::randn({1000, 10});
  auto y = x.sum(1, /*keepdim=*/true);
  L::data::TensorLoader train({x, y}, {.batch_size = 32});
  Regressor model;
  if (variant == "bare") {
    L::BareTrainer<Regressor> trainer({.max_epochs = 3});
    trainer.fit(model, train);
  } else {
    L::Trainer<Regressor> trainer({.max_epochs = 3});
    trainer.fit(model, train);
  }
  std::fprintf(stderr, "first_step --child: fit returned without a training_step\n");
  return 1;
}

// ---- the parent ------------------------------------------------------------

struct Sample {
  double start_ms, setup_ms, total_ms;  // exec -> main/imports, -> first step, total
};

struct Program {
  std::string name;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::vector<Sample> samples;
};

/// One fresh process in an empty `dir`; the reason in `error` when it did not report.
std::optional<Sample> measure(const Program& p, const fs::path& dir, std::string& error) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto pipe = bench::py::make_pipe();
  const std::string output = (dir / "output.log").string();
  const int64_t t0 = monotonic_ns();
  const pid_t pid = bench::py::spawn(p.argv, {.env = p.env, .output_path = output, .report_fd = pipe.w, .cwd = dir.string()});
  close(pipe.w);
  std::string report;
  char buf[256];
  for (ssize_t n; (n = read(pipe.r, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    report.append(buf, static_cast<size_t>(n));
  }
  close(pipe.r);
  int status = 0;
  waitpid(pid, &status, 0);
  long long main_ns = 0, step_ns = 0;
  if (std::sscanf(report.c_str(), "%lld %lld", &main_ns, &step_ns) == 2 && WIFEXITED(status) &&
      WEXITSTATUS(status) == 0)
    return Sample{(static_cast<double>(main_ns - t0)) / 1e6, static_cast<double>(step_ns - main_ns) / 1e6,
                  static_cast<double>(step_ns - t0) / 1e6};
  std::ifstream f(output);
  std::stringstream out;
  out << f.rdbuf();
  std::string text = out.str();
  if (text.size() > 4000) text = "..." + text.substr(text.size() - 4000);
  error = p.name + " (" + p.argv[0] + ") ended with " + bench::py::describe_status(status) +
          " and no report; its output:\n" + text;
  return std::nullopt;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "first_step: %s\nusage: first_step [--repeats N] [--no-lightning]\n"
               "       first_step --child bare|defaults --report-fd FD   (the measured program, started by the above)\n",
               why.c_str());
  std::exit(2);
}

int to_int(const std::string& flag, const char* s) {
  int v = 0;
  const auto [end, ec] = std::from_chars(s, s + std::strlen(s), v);
  if (ec != std::errc() || *end != '\0') usage(flag + " takes an integer, not '" + s + "'");
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  g_main_ns = monotonic_ns();  // first: everything before this is the loader's and static initializers'

  int repeats = 10;
  bool lightning = true;
  std::string child_variant;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(k + " needs a value");
      return argv[++i];
    };
    if (k == "--repeats") {
      repeats = to_int(k, value());
      if (repeats < 1) usage("--repeats must be at least 1");
    } else if (k == "--no-lightning") {
      lightning = false;
    } else if (k == "--child") {
      child_variant = value();
      if (child_variant != "bare" && child_variant != "defaults")
        usage("--child takes bare or defaults, not '" + child_variant + "'");
    } else if (k == "--report-fd") {
      g_report_fd = to_int(k, value());
    } else {
      usage("unknown argument " + k);
    }
  }
  if (!child_variant.empty()) {
    if (g_report_fd < 0) usage("--child needs --report-fd");
    return child(child_variant);
  }

  const std::string self = fs::read_symlink("/proc/self/exe").string();
  std::vector<Program> programs = {
      {"lightning-cpp bare Trainer", {self, "--child", "bare", "--report-fd", "3"}, {}, {}},
      {"lightning-cpp Trainer (defaults)", {self, "--child", "defaults", "--report-fd", "3"}, {}, {}},
  };
  const auto py = bench::py::find_lightning();
  if (lightning && py.found()) {
    for (const char* v : {"bare", "defaults"})
      programs.push_back({std::string("Lightning 2.2.5 ") + (std::strcmp(v, "bare") ? "Trainer (defaults)" : "bare Trainer"),
                          {py.python, py.runner, "--first-step", v, "--report-fd", "3"},
                          {"PYTHONPATH=" + py.site},
                          {}});
  }

  const fs::path dir = fs::temp_directory_path() / ("first_step." + std::to_string(getpid()));
  // Rounds interleave the programs (bare, defaults, bare, defaults, ...), so
  // machine noise and the page cache's state hit each alike.
  for (int r = 0; r < repeats; ++r)
    for (auto& p : programs) {
      std::string error;
      auto s = measure(p, dir, error);
      if (!s) {
        fs::remove_all(dir);
        std::fprintf(stderr, "first_step: %s\n", error.c_str());
        return 1;
      }
      p.samples.push_back(*s);
    }
  fs::remove_all(dir);

  std::printf("%s", "command:");
  for (int i = 0; i < argc; ++i) std::printf(" %s", argv[i]);
  std::printf("\ntime to first training_step: medians of %d fresh processes each, ms (CLOCK_MONOTONIC)\n", repeats);
  std::printf("%-34s %14s %16s %10s %19s\n", "program", "exec->main", "main->1st step", "total", "total [min, max]");
  for (const auto& p : programs) {
    std::vector<double> a, b, t;
    for (const auto& s : p.samples) {
      a.push_back(s.start_ms);
      b.push_back(s.setup_ms);
      t.push_back(s.total_ms);
    }
    std::printf("%-34s %14.1f %16.1f %10.1f   [%6.1f, %6.1f]\n", p.name.c_str(), median(a), median(b), median(t),
                *std::min_element(t.begin(), t.end()), *std::max_element(t.begin(), t.end()));
  }
  if (programs.size() > 2)
    std::printf("(Lightning: exec->main is python start -> after `import torch, lightning`; main->1st step is the rest)\n");
  std::printf("children, each in an empty working directory:\n");
  for (const auto& p : programs)
    std::printf("  %s%s\n", p.env.empty() ? "" : (join(p.env) + " ").c_str(), join(p.argv).c_str());
  if (!lightning) std::printf("Lightning rows skipped (--no-lightning)\n");
  else if (!py.found()) std::printf("Lightning not found: looked for %s\n", py.looked.c_str());
  return 0;
}
