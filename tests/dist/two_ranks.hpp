#pragma once
// What the forked two-rank programs in tests/dist share: printed checks, the
// local two-rank environment, the optimizers they compare.
#include <lightning/ddp.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <memory>
#include <string>

namespace two_ranks {

namespace ls = lightning::strategy;

inline int failures = 0;
inline int64_t my_rank = -1;

inline void check(bool ok, const std::string& what) {
  std::printf("[rank %lld] %s: %s\n", static_cast<long long>(my_rank), ok ? "ok  " : "FAIL", what.c_str());
  std::fflush(stdout);
  if (!ok) ++failures;
}

inline std::string sci(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2e", v);
  return buf;
}

/// True when every rank holds the same bits in `t`.
inline bool ranks_identical(ls::DDP& ddp, const torch::Tensor& t) {
  auto g = ddp.all_gather(t);
  for (int64_t r = 1; r < g.size(0); ++r)
    if (!torch::equal(g[0], g[r])) return false;
  return true;
}

inline ls::ClusterEnvironment env_for(int rank, int port) {
  ls::ClusterEnvironment e;
  e.kind = "local";
  e.main_address = "127.0.0.1";
  e.port = port;
  e.world_size = 2;
  e.global_rank = rank;
  e.local_rank = rank;
  e.node_rank = 0;
  e.local_world_size = 2;
  return e;
}

template <class Module>
std::unique_ptr<torch::optim::Optimizer> make_opt(const std::string& kind, Module& m) {
  if (kind == "sgd")
    return std::make_unique<torch::optim::SGD>(m->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  return std::make_unique<torch::optim::Adam>(m->parameters(), torch::optim::AdamOptions(1e-3));
}

/// Waits for both forked ranks; one still running after `limit_s` is killed
/// and gets status -1 (a hang fails the test instead of stalling the suite).
inline void wait_both(const pid_t (&pids)[2], int (&status)[2], int limit_s) {
  bool done[2] = {false, false};
  const auto t0 = std::chrono::steady_clock::now();
  while (!(done[0] && done[1])) {
    for (int r = 0; r < 2; ++r)
      if (!done[r] && ::waitpid(pids[r], &status[r], WNOHANG) == pids[r]) done[r] = true;
    if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(limit_s))
      for (int r = 0; r < 2; ++r)
        if (!done[r]) {
          std::printf("rank %d still running after %d s: killing it\n", r, limit_s);
          ::kill(pids[r], SIGKILL);
          ::waitpid(pids[r], &status[r], 0);
          done[r] = true;
          status[r] = -1;
        }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace two_ranks
