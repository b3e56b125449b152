// DDP communication core over Gloo on loopback: 2 forked ranks.
// A plain program: prints each check, exits non-zero on any failure.
//  1. broadcast_parameters makes ranks bitwise identical (checked by all_gather)
//  2. 2 ranks x B samples with allreduce_gradients == 1 process x 2B samples,
//     SGD (momentum) and Adam, to 1e-6, ranks bitwise identical after each step
//  3. reduce sum/mean/max/min, all_gather, broadcast, barrier
//  4. rank 1 dies mid-run: rank 0's allreduce fails in bounded time, naming it
// The parent forks before touching torch.
#include <lightning/ddp.hpp>

#include "two_ranks.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

namespace ls = lightning::strategy;
using namespace two_ranks;

namespace {

struct MLPImpl : torch::nn::Module {
  MLPImpl() {
    l1 = register_module("l1", torch::nn::Linear(4, 600));
    l2 = register_module("l2", torch::nn::Linear(600, 600));  // 1.44 MB: its own bucket at 1 MB
    l3 = register_module("l3", torch::nn::Linear(600, 1));
    // A buffer, to check broadcast_parameters also sends buffers.
    tag = register_buffer("tag", torch::randn({3}));
  }
  torch::Tensor forward(torch::Tensor x) {
    return l3(torch::tanh(l2(torch::tanh(l1(x)))));
  }
  torch::nn::Linear l1{nullptr}, l2{nullptr}, l3{nullptr};
  torch::Tensor tag;
};
TORCH_MODULE(MLP);

MLP make_model(uint64_t seed) {
  torch::manual_seed(seed);
  return MLP();
}

torch::Tensor flat_state(MLP& m) {
  std::vector<torch::Tensor> v;
  for (auto& p : m->parameters()) v.push_back(p.detach().reshape({-1}));
  for (auto& b : m->buffers()) v.push_back(b.detach().reshape({-1}));
  return torch::cat(v);
}

constexpr int64_t B = 8;
constexpr int kSteps = 4;

torch::Tensor flat_grads(MLP& m) {
  std::vector<torch::Tensor> v;
  for (auto& p : m->parameters()) v.push_back(p.grad().reshape({-1}));
  return torch::cat(v);
}

// param_tol: the tolerance on parameters after each step. Gradients are always
// checked to 1e-6 relative to their largest entry (that is all DDP
// contributes); Adam's g / (sqrt(v) + eps)
// turns last-bit float32 differences of near-zero gradients into ~1e-6 of
// parameter, so float32 Adam gets 1e-5 and float64 Adam is held to 1e-6.
void train_compare(ls::DDP& ddp, int rank, const std::string& kind, torch::Dtype dtype, double param_tol) {
  const std::string name = kind + (dtype == torch::kDouble ? "/f64" : "/f32");
  // Fixed data, the same on every rank: 2B samples per step.
  torch::manual_seed(1234);
  auto X = torch::randn({kSteps, 2 * B, 4}).to(dtype);
  auto Y = torch::randn({kSteps, 2 * B, 1}).to(dtype);

  MLP ref = make_model(100);         // what rank 0 builds: the broadcast source
  MLP model = make_model(100 + rank);  // different seed per rank
  ref->to(dtype);
  model->to(dtype);
  if (rank != 0) check(!torch::equal(flat_state(model), flat_state(ref)), name + ": rank 1 starts different");
  ddp.broadcast_parameters(model);
  check(ranks_identical(ddp, flat_state(model)), name + ": after broadcast_parameters, ranks bitwise identical (all_gather)");
  check(torch::equal(flat_state(model), flat_state(ref)), name + ": after broadcast, equal to rank 0's init");

  auto opt = make_opt(kind, model);
  auto ref_opt = make_opt(kind, ref);
  for (int s = 0; s < kSteps; ++s) {
    auto x = X[s].narrow(0, rank * B, B), y = Y[s].narrow(0, rank * B, B);
    opt->zero_grad();
    torch::mse_loss(model(x), y).backward();
    ddp.allreduce_gradients(model);
    opt->step();

    ref_opt->zero_grad();
    torch::mse_loss(ref(X[s]), Y[s]).backward();
    // Gradients: relative to their scale (float32 sums in another order).
    const double gmax = flat_grads(ref).abs().max().item<double>();
    const double gdiff = (flat_grads(model) - flat_grads(ref)).abs().max().item<double>();
    check(gdiff <= 1e-6 * std::max(1.0, gmax), name + ": step " + std::to_string(s) +
                                                   " averaged grads vs single-process max |diff| = " + sci(gdiff) +
                                                   " (<= 1e-6 * max(1, max|g| = " + sci(gmax) + "))");
    ref_opt->step();

    const double diff = (flat_state(model) - flat_state(ref)).abs().max().item<double>();
    check(diff <= param_tol, name + ": step " + std::to_string(s) + " params DDP vs single-process max |diff| = " +
                                 sci(diff) + " (<= " + sci(param_tol) + ")");
    check(ranks_identical(ddp, flat_state(model)), name + ": step " + std::to_string(s) + " ranks bitwise identical");
  }
  check(ddp.last_bucket_count() == 3, name + ": gradients went in " + std::to_string(ddp.last_bucket_count()) +
                                          " buckets at bucket_cap_mb = 1 (expected 3)");
}

int rank_main(int rank, int port) {
  my_rank = rank;
  torch::set_num_threads(1);
  ls::DDP::Options o;
  o.timeout = std::chrono::milliseconds(30000);
  o.bucket_cap_mb = 1;
  ls::DDP ddp(o);
  ddp.init_process_group(env_for(rank, port));
  check(ddp.world_size() == 2 && ddp.global_rank() == rank && ddp.local_rank() == rank && ddp.node_rank() == 0 &&
            ddp.is_global_zero() == (rank == 0),
        "accessors");

  train_compare(ddp, rank, "sgd", torch::kFloat, 1e-6);
  train_compare(ddp, rank, "adam", torch::kFloat, 1e-5);
  train_compare(ddp, rank, "adam", torch::kDouble, 1e-6);

  auto t = torch::tensor({rank + 1.0, 10.0 * (rank + 1)});
  auto sum = ddp.reduce(t, lightning::Reduce::sum);
  auto mean = ddp.reduce(t, lightning::Reduce::mean);
  auto mx = ddp.reduce(t, lightning::Reduce::max);
  auto mn = ddp.reduce(t, lightning::Reduce::min);
  check(torch::equal(sum, torch::tensor({3.0, 30.0})), "reduce sum = [3, 30]");
  check(torch::equal(mean, torch::tensor({1.5, 15.0})), "reduce mean = [1.5, 15]");
  check(torch::equal(mx, torch::tensor({2.0, 20.0})), "reduce max = [2, 20]");
  check(torch::equal(mn, torch::tensor({1.0, 10.0})), "reduce min = [1, 10]");
  check(torch::equal(t, torch::tensor({rank + 1.0, 10.0 * (rank + 1)})), "reduce leaves its input untouched");
  auto imean = ddp.reduce(torch::tensor({rank + 1}, torch::kLong), lightning::Reduce::mean);
  check(imean.is_floating_point() && imean.item<double>() == 1.5, "reduce mean of int64 = 1.5 (floating)");

  auto g = ddp.all_gather(torch::tensor({static_cast<float>(rank), 2.0f * rank}));
  check(g.sizes() == torch::IntArrayRef({2, 2}) && torch::equal(g, torch::tensor({{0.f, 0.f}, {1.f, 2.f}})),
        "all_gather = [[0,0],[1,2]]");

  auto b = rank == 1 ? torch::tensor({7.f, 8.f}) : torch::zeros({2});
  ddp.broadcast(b, 1);
  check(torch::equal(b, torch::tensor({7.f, 8.f})), "broadcast from rank 1 = [7, 8] (in place)");
  auto nc = (rank == 0 ? torch::tensor({{1.f, 2.f}, {3.f, 4.f}}) : torch::zeros({2, 2})).t();
  ddp.broadcast(nc, 0);
  check(torch::equal(nc, torch::tensor({{1.f, 3.f}, {2.f, 4.f}})), "broadcast into a non-contiguous tensor");

  ddp.barrier();
  check(true, "barrier");
  ddp.shutdown();
  check(!ddp.initialized(), "shutdown");
  return failures == 0 ? 0 : 1;
}

// Rank 1 leaves abruptly (no shutdown) while rank 0 waits in an allreduce;
// with g_stuck, rank 1 stays alive but never joins, so only the timeout ends it.
bool g_stuck = false;
int failure_main(int rank, int port) {
  my_rank = rank;
  torch::set_num_threads(1);
  ls::DDP::Options o;
  o.timeout = std::chrono::milliseconds(3000);
  ls::DDP ddp(o);
  ddp.init_process_group(env_for(rank, port));
  MLP m = make_model(7);
  ddp.broadcast_parameters(m);
  torch::mse_loss(m(torch::ones({2, 4})), torch::zeros({2, 1})).backward();
  ddp.allreduce_gradients(m);  // one good step together
  if (rank == 1 && g_stuck) {
    std::printf("[rank 1] alive but stuck (sleeping 8 s, not joining the allreduce)\n");
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::seconds(8));
    ::_exit(4);
  }
  if (rank == 1) {
    std::printf("[rank 1] exiting abruptly mid-run\n");
    std::fflush(stdout);
    ::_exit(3);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  torch::mse_loss(m(torch::ones({2, 4})), torch::zeros({2, 1})).backward();
  const auto t0 = std::chrono::steady_clock::now();
  std::string msg;
  bool threw_runtime = false;
  try {
    ddp.allreduce_gradients(m);
  } catch (const std::runtime_error& e) {
    threw_runtime = true;
    msg = e.what();
  } catch (const std::exception& e) {
    msg = std::string("(not a runtime_error) ") + e.what();
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[rank 0] error after %.2f s: %s\n", secs, msg.c_str());
  check(threw_runtime, "dead peer: allreduce_gradients threw std::runtime_error");
  check(secs < 20.0, "dead peer: error within bounded time (" + std::to_string(secs) + " s < 20 s)");
  if (g_stuck) check(secs >= 2.5, "stuck peer: the error came from the 3 s timeout (" + std::to_string(secs) + " s)");
  if (g_stuck)
    check(msg.find("timed out on rank 0 of 2 after 3000 ms: rank 1 did not reach it") != std::string::npos,
          "stuck peer: the message names rank 1 as the one that did not arrive");
  check(msg.find("allreduce") != std::string::npos, "dead peer: message names the operation");
  check(msg.find("rank 0") != std::string::npos, "dead peer: message names this rank");
  ddp.shutdown();
  check(true, "shutdown after failure returns");
  return failures == 0 ? 0 : 1;
}

// Forks both ranks of one scenario, waits (killing them after limit_s).
bool run_pair(const char* name, int (*fn)(int, int), int expect_rank1, int limit_s) {
  const int port = ls::find_free_port();
  std::printf("== %s (port %d)\n", name, port);
  std::fflush(stdout);
  pid_t pids[2];
  for (int r = 0; r < 2; ++r) {
    pids[r] = ::fork();
    if (pids[r] < 0) {
      std::perror("fork");
      return false;
    }
    if (pids[r] == 0) {
      ::alarm(limit_s + 5);  // a hang must not outlive the parent's patience
      int rc = 2;
      try {
        rc = fn(r, port);
      } catch (const std::exception& e) {
        std::printf("[rank %d] uncaught exception: %s\n", r, e.what());
      }
      std::fflush(stdout);
      ::_exit(rc);
    }
  }
  int status[2] = {-1, -1};
  wait_both(pids, status, limit_s);
  bool ok = true;
  const int expect[2] = {0, expect_rank1};
  for (int r = 0; r < 2; ++r) {
    const bool exited = status[r] != -1 && WIFEXITED(status[r]);
    const int code = exited ? WEXITSTATUS(status[r]) : -1;
    const bool good = exited && code == expect[r];
    std::printf("%s: rank %d exit %d (expected %d) %s\n", name, r, code, expect[r], good ? "ok" : "FAIL");
    ok = ok && good;
  }
  return ok;
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  bool ok = run_pair("DDP core: broadcast, SGD/Adam vs single process, collectives", rank_main, 0, 240);
  ok = run_pair("DDP failure: rank 1 dies, rank 0 in allreduce (timeout 3 s)", failure_main, 3, 60) && ok;
  g_stuck = true;
  ok = run_pair("DDP failure: rank 1 alive but stuck, rank 0 in allreduce (timeout 3 s)", failure_main, 4, 60) && ok;
  std::printf("%s\n", ok ? "ALL PASSED" : "SOME CHECKS FAILED");
  return ok ? 0 : 1;
}
