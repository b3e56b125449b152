// A mutation fuzzer for everything that reads untrusted checkpoint bytes,
// built under ASan+UBSan (tests/fuzz/meson.build). Plain g++: clang cannot
// compile LibTorch 1.13's headers.
//
//   fuzz_readers TARGET SECONDS SEED... [--crashes DIR]
//
// TARGET: checkpoint (checkpoint::read_checkpoint), weights (read_state_dict),
// hparams (the hyperparameters' archive), resume (Trainer::fit from the file:
// every check between the bytes and a restored run). Seeds are files (or
// folders of files). Each input is mutated from a seed, at the byte level or,
// half of the time, inside one zip record with the CRCs and the digest fixed
// up, so mutations get past the integrity checks into the parsers.
//
// A finding is a sanitizer report or crash (the process dies: the input is in
// DIR/current), an input that takes longer than 10 s (SIGALRM, the same), or
// a rejection that is not a CheckpointError naming the file (printed, and
// the exit status is 1). Memory is capped with ASAN_OPTIONS (see meson.build).
#include <signal.h>
#include <unistd.h>

#include <cstddef>
#if defined(__SANITIZE_ADDRESS__)
// From the sanitizer runtime (g++ ships no header for them).
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void*, std::size_t),
                                                         void (*)(const volatile void*));
extern "C" std::size_t __sanitizer_get_allocated_size(const volatile void* p);
#endif
#include <atomic>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <boost/hana/adapt_struct.hpp>
#include <lightning/checkpoint/hparams_archive.hpp>
#include <lightning/lightning.hpp>
#include <lightning/serialization/zip.hpp>

namespace L = lightning;
namespace fs = std::filesystem;
namespace F = torch::nn::functional;

namespace {

struct FuzzParams {
  int64_t hidden = 4;
  double lr = 0.01;
  std::string name = "fuzz";
};
}  // namespace
BOOST_HANA_ADAPT_STRUCT(FuzzParams, hidden, lr, name);

namespace {

/// The module the resume target restores into (the seeds' shapes: tests/data/resume_v1).
struct Net : L::LightningModule<Net, FuzzParams> {
  torch::nn::Sequential net;
  explicit Net(FuzzParams p = {})
      : LightningModule(p),
        net(register_module("net", torch::nn::Sequential(torch::nn::Linear(2, 8), torch::nn::ReLU(),
                                                          torch::nn::Dropout(0.25), torch::nn::Linear(8, 1)))) {}
  torch::Tensor training_step(const L::Batch& b, int64_t) {
    auto loss = F::mse_loss(net->forward(b.data), b.target);
    log("train_loss", loss, {.on_step = true, .on_epoch = true});
    return loss;
  }
  void validation_step(const L::Batch& b, int64_t) { log("val_loss", F::mse_loss(net->forward(b.data), b.target)); }
  auto configure_optimizers() {
    torch::optim::Adam opt(parameters(), torch::optim::AdamOptions(0.05));
    L::optim::StepLR sched(opt, {.step_size = 3, .gamma = 0.7});
    return L::OptimizerConfig{.optimizer = std::move(opt),
                              .lr_scheduler = L::LRSchedulerConfig{.scheduler = std::move(sched),
                                                                   .interval = L::Interval::step}};
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

fs::path g_current;  // the input being run, kept for a crash or hang

void on_alarm(int) {
  static const char msg[] = "\nfuzz_readers: HANG (> 10 s) on the input saved as current\n";
  (void)!::write(2, msg, sizeof msg - 1);
  ::_exit(3);
}

// ---------------------------------------------------------------- memory

// Heap bytes in use and their peak, from the sanitizer's allocation hooks.
std::atomic<int64_t> g_heap{0}, g_peak{0};
#if defined(__SANITIZE_ADDRESS__)
void on_malloc(const volatile void*, std::size_t size) {
  const int64_t now = g_heap.fetch_add(static_cast<int64_t>(size)) + static_cast<int64_t>(size);
  int64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
}
void on_free(const volatile void* p) {
  g_heap.fetch_sub(static_cast<int64_t>(__sanitizer_get_allocated_size(p)));
}
constexpr bool kMeasuresMemory = true;
#else
constexpr bool kMeasuresMemory = false;
#endif

// ---------------------------------------------------------------- mutations

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  std::string bytes(std::string s, const std::vector<std::string>& pool) {
    const int n = 1 + static_cast<int>(below(8));
    for (int i = 0; i < n; ++i) s = one(std::move(s), pool);
    return s;
  }

  /// Mutates one record of the zip `s` and re-zips it with correct CRCs and
  /// (when it had one) a correct digest, so the change reaches the parsers.
  std::string record(const std::string& s, const fs::path& scratch, const std::vector<std::string>& pool) {
    spit(scratch, s);
    try {
      L::serialization::ZipReader zip(scratch);
      std::vector<std::pair<std::string, std::string>> records;
      bool digest = false;
      for (const auto& r : zip.records()) {
        if (r.name == ".data/lightning_cpp_digest") {
          digest = true;
          continue;
        }
        records.emplace_back(r.name, zip.read_string(r, 1 << 26));
      }
      if (records.empty()) return bytes(s, pool);
      // data.pkl most of the time: that is where the structure is.
      std::size_t pick = below(records.size());
      for (std::size_t i = 0; i < records.size(); ++i)
        if (records[i].first == "data.pkl" && below(4) != 0) pick = i;
      records[pick].second = structured(records[pick].second, pool);
      std::string out;
      L::serialization::ZipWriter w(
          zip.prefix(), [](void* c, const void* d, std::size_t n) { static_cast<std::string*>(c)->append(static_cast<const char*>(d), n); },
          &out);
      for (const auto& [name, data] : records) w.add(name, data);
      if (digest) {
        // Recompute the library's digest the way the writer does: through write_value's format.
        std::vector<std::tuple<std::string, uint64_t, uint32_t>> rs;
        for (const auto& x : w.written()) rs.emplace_back(x.name, x.size, x.crc);
        w.add(".data/lightning_cpp_digest", digest_of(rs));
      }
      w.finish();
      return out;
    } catch (const L::CheckpointError&) {
      return bytes(s, pool);
    }
  }

 private:
  std::size_t below(std::size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

  std::string one(std::string s, const std::vector<std::string>& pool) {
    static const unsigned char interesting[] = {0, 1, 0x7f, 0x80, 0xff, '(', ')', '.', 'q', 'h', 'R', 'X', 0x8a, 0x95};
    switch (below(9)) {
      case 0:  // flip a bit
        if (!s.empty()) s[below(s.size())] ^= static_cast<char>(1 << below(8));
        break;
      case 1:  // an interesting byte
        if (!s.empty()) s[below(s.size())] = static_cast<char>(interesting[below(sizeof interesting)]);
        break;
      case 2:  // a random 32-bit little-endian number (a length, an offset)
        if (s.size() >= 4) {
          const std::size_t at = below(s.size() - 3);
          uint32_t v = static_cast<uint32_t>(rng_());
          if (below(2)) v &= 0xFFFF;
          std::memcpy(&s[at], &v, 4);
        }
        break;
      case 3:  // delete a range
        if (!s.empty()) {
          const std::size_t at = below(s.size());
          s.erase(at, 1 + below(std::min<std::size_t>(64, s.size() - at)));
        }
        break;
      case 4:  // duplicate a range
        if (!s.empty() && s.size() < (1 << 22)) {
          const std::size_t at = below(s.size()), len = 1 + below(std::min<std::size_t>(256, s.size() - at));
          s.insert(below(s.size() + 1), s.substr(at, len));
        }
        break;
      case 5:  // insert random bytes
        if (s.size() < (1 << 22)) {
          std::string r(1 + below(16), '\0');
          for (auto& c : r) c = static_cast<char>(rng_());
          s.insert(below(s.size() + 1), r);
        }
        break;
      case 6:  // truncate
        if (!s.empty()) s.resize(below(s.size()));
        break;
      case 7:  // splice in part of another seed
        if (!pool.empty()) {
          const auto& o = pool[below(pool.size())];
          if (!o.empty()) {
            const std::size_t at = below(o.size());
            const std::string part = o.substr(at, 1 + below(std::min<std::size_t>(512, o.size() - at)));
            if (!s.empty()) s.replace(below(s.size()), std::min(part.size(), s.size()), part);
          }
        }
        break;
      default:  // repeat a byte many times (deep nesting, long runs)
        if (!s.empty() && s.size() < (1 << 20)) s.insert(below(s.size() + 1), std::string(1 + below(4096), s[below(s.size())]));
        break;
    }
    return s;
  }

  std::string structured(std::string s, const std::vector<std::string>& pool) {
    const int n = 1 + static_cast<int>(below(4));
    for (int i = 0; i < n; ++i) s = one(std::move(s), pool);
    return s;
  }

  static std::string digest_of(std::vector<std::tuple<std::string, uint64_t, uint32_t>> records) {
    records.emplace_back(".data/lightning_cpp_digest", 0, 0);
    std::sort(records.begin(), records.end());
    uint64_t h = 1469598103934665603ull;
    auto bytes = [&](const void* p, std::size_t n) {
      auto* c = static_cast<const unsigned char*>(p);
      for (std::size_t i = 0; i < n; ++i) h = (h ^ c[i]) * 1099511628211ull;
    };
    for (const auto& [name, size, crc] : records) {
      if (name == ".data/lightning_cpp_digest") continue;
      bytes(name.data(), name.size() + 1);
      unsigned char le[12];
      for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(size >> (8 * i));
      for (int i = 0; i < 4; ++i) le[8 + i] = static_cast<unsigned char>(crc >> (8 * i));
      bytes(le, sizeof le);
    }
    static const char* hex = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 0; i < 16; ++i) out[static_cast<std::size_t>(15 - i)] = hex[(h >> (4 * i)) & 15];
    return out;
  }

  std::mt19937_64 rng_;
};

// ---------------------------------------------------------------- targets

using Target = void (*)(const fs::path&);

void target_checkpoint(const fs::path& p) {
  auto r = L::checkpoint::read_checkpoint(p);
  (void)r;
}
void target_weights(const fs::path& p) {
  auto sd = L::read_state_dict(p);
  (void)sd;
}
void target_hparams(const fs::path& p) {
  const std::string text = slurp(p);
  (void)L::checkpoint::detail::parse_reflected_archive(text);
  (void)L::checkpoint::hparams_from_archive<FuzzParams>(text);
}
L::data::TensorLoader<2>* g_train = nullptr;
L::data::TensorLoader<2>* g_val = nullptr;
void target_resume(const fs::path& p) {
  struct Quiet {
    void log_metrics(const std::map<std::string, double>&, int64_t) {}
  };
  L::seed_everything(1);
  Net model;
  L::Trainer<Net, L::OnlyCallbacks<L::ModelCheckpoint, L::EarlyStopping>, L::Loggers<Quiet>> trainer(
      {.max_epochs = 2, .limit_val_batches = 2, .num_sanity_val_steps = 0,
       .log_every_n_steps = 1, .accumulate_grad_batches = 2, .default_root_dir = (p.parent_path() / "run").string()},
      L::ModelCheckpoint({.dirpath = p.parent_path() / "run" / "checkpoints", .monitor = "val_loss", .save_top_k = 1}),
      L::EarlyStopping({.monitor = "val_loss", .patience = 1}));
  trainer.fit(model, *g_train, *g_val, {.ckpt_path = p.string()});
}

std::vector<fs::path> expand(const std::vector<std::string>& args) {
  std::vector<fs::path> out;
  for (const auto& a : args) {
    if (fs::is_directory(a)) {
      for (const auto& e : fs::recursive_directory_iterator(a))
        if (e.is_regular_file() && e.path().extension() != ".py" && e.path().extension() != ".tsv") out.push_back(e.path());
    } else if (fs::is_regular_file(a)) {
      out.push_back(a);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: fuzz_readers checkpoint|weights|hparams|resume SECONDS SEED... [--crashes DIR]\n";
    return 2;
  }
  const std::string which = argv[1];
  const double seconds = std::stod(argv[2]);
  std::vector<std::string> seed_args;
  fs::path crashes = fs::temp_directory_path() / ("fuzz_readers_" + std::to_string(::getpid()));
  for (int i = 3; i < argc; ++i) {
    if (std::string(argv[i]) == "--crashes" && i + 1 < argc) crashes = argv[++i];
    else seed_args.push_back(argv[i]);
  }
  const std::map<std::string, Target> targets = {
      {"checkpoint", target_checkpoint}, {"weights", target_weights}, {"hparams", target_hparams}, {"resume", target_resume}};
  if (!targets.count(which)) {
    std::cerr << "fuzz_readers: unknown target " << which << "\n";
    return 2;
  }
  const Target target = targets.at(which);
  fs::create_directories(crashes);
  const fs::path work = crashes / "work";
  fs::create_directories(work);
  g_current = crashes / "current";
  torch::set_num_threads(1);

  torch::manual_seed(3);
  auto x = torch::randn({44, 2});
  auto y = x.sum(1, true);
  L::data::TensorLoader<2> train({x, y}, {.batch_size = 4, .shuffle = true, .seed = 11});
  L::data::TensorLoader<2> val({x.slice(0, 0, 8), y.slice(0, 0, 8)}, {.batch_size = 4});
  g_train = &train;
  g_val = &val;

  // Seeds: the given files, plus what this build writes now.
  std::vector<std::string> pool;
  for (const auto& p : expand(seed_args)) pool.push_back(slurp(p));
  {
    L::seed_everything(2);
    Net m;
    struct Quiet {
      void log_metrics(const std::map<std::string, double>&, int64_t) {}
    };
    L::Trainer<Net, L::OnlyCallbacks<L::ModelCheckpoint>, L::Loggers<Quiet>> t(
        {.max_epochs = 1, .limit_val_batches = 2, .log_every_n_steps = 1, .default_root_dir = (work / "seed").string()},
        L::ModelCheckpoint({.dirpath = work / "seed", .monitor = "val_loss"}));
    t.fit(m, train, val);
    t.save_checkpoint(work / "seed.ckpt");
    pool.push_back(slurp(work / "seed.ckpt"));
    L::save_state_dict(m, work / "seed.pt");
    pool.push_back(slurp(work / "seed.pt"));
    const auto archive = L::checkpoint::hparams_to_archive(FuzzParams{});
    pool.push_back(archive);
  }
  if (pool.empty()) {
    std::cerr << "fuzz_readers: no seeds\n";
    return 2;
  }
  // The seeds themselves must run clean first.
  std::map<std::string, int> outcomes;
  int findings = 0;
  double worst = 0;  // the largest share of its cap an input's reading used
  int64_t largest = 0;  // the largest peak heap growth of one input
  // The documented bound on what reading a file may allocate at its peak.
  auto memory_cap = [](std::size_t size) { return 64 * static_cast<int64_t>(size) + (int64_t{64} << 20); };
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
#endif
  auto run = [&](const std::string& input) {
    spit(g_current, input);
    const fs::path file = work / "input.ckpt";
    spit(file, input);
    fs::remove_all(work / "run");
    const int64_t base = g_heap.load();
    g_peak.store(base);
    struct CheckMemory {
      std::function<void()> f;
      ~CheckMemory() { f(); }
    } check_memory{[&] {
      if (!kMeasuresMemory || which == "resume") return;
      const int64_t grew = g_peak.load() - base;
      worst = std::max(worst, static_cast<double>(grew) / static_cast<double>(memory_cap(input.size())));
      largest = std::max(largest, grew);
      if (grew > memory_cap(input.size())) {
        ++findings;
        std::cerr << "FINDING: reading " << input.size() << " bytes allocated " << grew << " bytes at its peak\n";
        spit(crashes / ("finding_" + std::to_string(findings)), input);
      }
    }};
    ::alarm(10);
    try {
      target(file);
      ++outcomes["ok"];
    } catch (const L::CheckpointError& e) {
      const std::string msg = e.what();
      ++outcomes["CheckpointError"];
      // Hyperparameter archives are not files of their own; resume errors may name the trainer's step.
      if (which != "hparams" && which != "resume" && msg.find(file.string()) == std::string::npos) {
        ++findings;
        std::cerr << "FINDING: a CheckpointError that does not name the file: " << msg.substr(0, 300) << "\n";
      }
    } catch (const std::exception& e) {
      const std::string type = typeid(e).name();
      ++outcomes[type];
      if (which != "resume") {
        ++findings;
        std::cerr << "FINDING: not a CheckpointError (" << type << "): " << std::string(e.what()).substr(0, 300) << "\n";
        spit(crashes / ("finding_" + std::to_string(findings)), input);
      }
    }
    ::alarm(0);
  };
  ::signal(SIGALRM, on_alarm);
  for (const auto& s : pool) run(s);

  Mutator mutate(static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  const auto start = std::chrono::steady_clock::now();
  uint64_t n = 0;
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds) {
    const std::string& seed = pool[n % pool.size()];
    const std::string input = (n % 2 == 0 && which != "hparams") ? mutate.record(seed, work / "scratch.zip", pool)
                                                                 : mutate.bytes(seed, pool);
    run(input);
    ++n;
  }
  std::cout << "fuzz_readers " << which << ": " << n << " inputs in " << seconds << " s;";
  for (const auto& [k, v] : outcomes) std::cout << " " << k << " " << v << ";";
  if (kMeasuresMemory && which != "resume")
    std::cout << " peak heap growth at most " << largest << " bytes, " << worst * 100
              << "% of the cap (64 x input + 64 MiB);";
  std::cout << " findings " << findings << "\n";
  if (findings == 0) fs::remove_all(crashes);
  return findings == 0 ? 0 : 1;
}
