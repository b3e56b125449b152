#pragma once
// ModelSummary: a default callback, like Lightning's. At the start of fit it
// prints the top-level submodules with their types and parameter counts, then
// trainable / non-trainable / total params and the estimated size in MB.
#include <torch/torch.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace lightning {

namespace detail {
/// Lightning's compact count: 101 K, 1.2 M, 3.4 B.
inline std::string human_count(int64_t n) {
  char buf[32];
  if (n < 1000) std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  else if (n < 1000000) std::snprintf(buf, sizeof buf, "%.1f K", static_cast<double>(n) / 1e3);
  else if (n < 1000000000) std::snprintf(buf, sizeof buf, "%.1f M", static_cast<double>(n) / 1e6);
  else std::snprintf(buf, sizeof buf, "%.1f B", static_cast<double>(n) / 1e9);
  std::string s = buf;
  if (auto p = s.find(".0 "); p != std::string::npos) s.erase(p, 2);  // "101.0 K" -> "101 K", as Lightning
  return s;
}

/// "torch::nn::SequentialImpl" -> "Sequential".
inline std::string short_type_name(std::string name) {
  if (auto p = name.rfind("::"); p != std::string::npos) name = name.substr(p + 2);
  if (name.size() > 4 && name.compare(name.size() - 4, 4, "Impl") == 0) name.resize(name.size() - 4);
  return name;
}
}  // namespace detail

class ModelSummary {
 public:
  struct Options {
    /// 1: top-level submodules only (Lightning's default); 0: totals only.
    int max_depth = 1;
    std::FILE* stream = stdout;
  };

  ModelSummary() : ModelSummary(Options{}) {}
  explicit ModelSummary(Options o) : opts_(o) {}

  template <class T, class M>
  void on_fit_start(T& trainer, M& module) {
    if (trainer.is_global_zero()) summarize(module);
  }

  /// Prints the table of `module`'s children and its parameter counts.
  void summarize(const torch::nn::Module& module);

  /// Counts seen by the last summary.
  int64_t trainable_params() const noexcept { return trainable_; }
  int64_t non_trainable_params() const noexcept { return frozen_; }

 private:
  static int64_t count(const torch::nn::Module& m, bool trainable);

  Options opts_;
  int64_t trainable_ = 0, frozen_ = 0;
};

}  // namespace lightning
