// GradientReducer (c10d::Reducer, overlapped with backward) over Gloo on
// loopback: 2 forked ranks. A plain program: prints each check, exits
// non-zero on any failure.
//  1. 2 ranks x B samples == 1 process x 2B samples, SGD (momentum) and
//     Adam, ranks bitwise identical after each step
//  2. accumulation: a no_sync micro-batch then a synced one == 1 process on
//     all 4B samples (loss / 2 per micro-batch)
//  3. the reducer's averaged grads == DDP::allreduce_gradients' (bitwise)
//  4. buckets: 1 before the first synced backward, > 1 after the rebuild
//     (1.44 MB layer, bucket_cap_mb = 1); > 1 from the start with
//     find_unused_parameters
//  5. find_unused_parameters: an unused layer keeps an undefined grad, the
//     rest is averaged; without it, torch's error comes back as an exception
// The reducer gets its own TCPStore + ProcessGroupGloo (independent of the
// DDP under test); a DDP on another port does broadcast,
// all_gather and the reference allreduce_gradients.
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
  explicit MLPImpl(bool with_unused) {
    l1 = register_module("l1", torch::nn::Linear(4, 600));
    l2 = register_module("l2", torch::nn::Linear(600, 600));  // 1.44 MB: more than one bucket at 1 MB
    l3 = register_module("l3", torch::nn::Linear(600, 1));
    if (with_unused) unused = register_module("unused", torch::nn::Linear(4, 3));
  }
  torch::Tensor forward(torch::Tensor x) { return l3(torch::tanh(l2(torch::tanh(l1(x))))); }
  torch::nn::Linear l1{nullptr}, l2{nullptr}, l3{nullptr}, unused{nullptr};
};
TORCH_MODULE(MLP);

MLP make_model(uint64_t seed, torch::Dtype dtype, bool with_unused = false) {
  torch::manual_seed(seed);
  MLP m(with_unused);
  m->to(dtype);
  return m;
}

torch::Tensor flat_state(MLP& m) {
  std::vector<torch::Tensor> v;
  for (auto& p : m->parameters()) v.push_back(p.detach().reshape({-1}));
  return torch::cat(v);
}

// Defined grads only (the unused layer's stay undefined).
torch::Tensor flat_grads(MLP& m) {
  std::vector<torch::Tensor> v;
  for (auto& p : m->parameters())
    if (p.grad().defined()) v.push_back(p.grad().reshape({-1}));
  return torch::cat(v);
}

// The reducer's own group, set up as ddp.hpp does.
c10::intrusive_ptr<::c10d::ProcessGroup> make_pg(int rank, int port) {
  const auto timeout = std::chrono::milliseconds(30000);
  ::c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(port);
  so.isServer = rank == 0;
  so.numWorkers = 2;
  so.waitWorkers = true;
  so.timeout = timeout;
  auto store = c10::make_intrusive<::c10d::TCPStore>("127.0.0.1", so);
  auto go = ::c10d::ProcessGroupGloo::Options::create(timeout);
  go->devices.push_back(::c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  return c10::make_intrusive<::c10d::ProcessGroupGloo>(c10::make_intrusive<::c10d::PrefixStore>("reducer/", store), rank,
                                                        2, go);
}

constexpr int64_t B = 8;
constexpr int kSteps = 4;

struct Ctx {
  ls::DDP& ddp;
  c10::intrusive_ptr<::c10d::ProcessGroup> pg;
  int rank;
};

// Compares grads with the single-process reference (before its step) and
// params after both steps. Adam's g / (sqrt(v) + eps) turns last-bit float32
// grad differences into ~1e-6 of parameter, hence param_tol.
void compare_step(Ctx& c, const std::string& name, int s, MLP& model, MLP& ref, torch::optim::Optimizer& opt,
                  torch::optim::Optimizer& ref_opt, double param_tol) {
  const double gmax = flat_grads(ref).abs().max().item<double>();
  const double gdiff = (flat_grads(model) - flat_grads(ref)).abs().max().item<double>();
  check(gdiff <= 1e-6 * std::max(1.0, gmax), name + ": step " + std::to_string(s) +
                                                 " grads vs single process max |diff| = " + sci(gdiff) +
                                                 " (max|g| = " + sci(gmax) + ")");
  opt.step();
  ref_opt.step();
  const double diff = (flat_state(model) - flat_state(ref)).abs().max().item<double>();
  check(diff <= param_tol, name + ": step " + std::to_string(s) + " params vs single process max |diff| = " +
                               sci(diff) + " (<= " + sci(param_tol) + ")");
  check(ranks_identical(c.ddp, flat_state(model)), name + ": step " + std::to_string(s) + " ranks bitwise identical");
}

// Checks 1, 3, 4.
void train_compare(Ctx& c, const std::string& kind, torch::Dtype dtype, double param_tol) {
  const std::string name = kind + (dtype == torch::kDouble ? "/f64" : "/f32");
  torch::manual_seed(1234);
  auto X = torch::randn({kSteps, 2 * B, 4}).to(dtype);
  auto Y = torch::randn({kSteps, 2 * B, 1}).to(dtype);
  MLP ref = make_model(100, dtype);
  MLP model = make_model(100 + c.rank, dtype);  // differs per rank until the broadcast
  MLP man = make_model(100 + c.rank, dtype);    // same training via DDP::allreduce_gradients
  c.ddp.broadcast_parameters(model);
  c.ddp.broadcast_parameters(man);
  ls::GradientReducer red(*model, c.pg, /*bucket_cap_mb=*/1, /*find_unused_parameters=*/false);
  check(red.bucket_count() == 1, name + ": " + std::to_string(red.bucket_count()) +
                                     " bucket before the first synced backward (expected 1, as torch 1.13)");
  auto opt = make_opt(kind, model), ref_opt = make_opt(kind, ref), man_opt = make_opt(kind, man);
  for (int s = 0; s < kSteps; ++s) {
    auto x = X[s].narrow(0, c.rank * B, B), y = Y[s].narrow(0, c.rank * B, B);
    opt->zero_grad();
    red.prepare_for_forward();
    auto loss = torch::mse_loss(model(x), y);
    red.prepare_for_backward(loss);
    loss.backward();
    red.check_reduction_finished();

    man_opt->zero_grad();
    torch::mse_loss(man(x), y).backward();
    c.ddp.allreduce_gradients(man);
    const double mdiff = (flat_grads(model) - flat_grads(man)).abs().max().item<double>();
    check(mdiff == 0.0, name + ": step " + std::to_string(s) +
                            " reducer grads vs DDP::allreduce_gradients max |diff| = " + sci(mdiff));
    man_opt->step();

    ref_opt->zero_grad();
    torch::mse_loss(ref(X[s]), Y[s]).backward();
    compare_step(c, name, s, model, ref, *opt, *ref_opt, param_tol);
  }
  red.prepare_for_forward();  // a synced step has run: buckets are rebuilt by now
  check(red.bucket_count() > 1, name + ": " + std::to_string(red.bucket_count()) +
                                    " buckets after the rebuild at bucket_cap_mb = 1 (expected > 1)");
}

// Check 2: micro-batch 0 under no_sync, micro-batch 1 synced.
void accumulate_compare(Ctx& c, const std::string& kind, torch::Dtype dtype, double param_tol) {
  const std::string name = "accumulate " + kind + (dtype == torch::kDouble ? "/f64" : "/f32");
  torch::manual_seed(4321);
  auto X = torch::randn({kSteps, 4 * B, 4}).to(dtype);
  auto Y = torch::randn({kSteps, 4 * B, 1}).to(dtype);
  MLP ref = make_model(200, dtype);
  MLP model = make_model(200 + c.rank, dtype);
  c.ddp.broadcast_parameters(model);
  ls::GradientReducer red(*model, c.pg, 1, false);
  auto opt = make_opt(kind, model), ref_opt = make_opt(kind, ref);
  for (int s = 0; s < kSteps; ++s) {
    opt->zero_grad();
    for (int micro = 0; micro < 2; ++micro) {
      const bool sync = micro == 1;
      // Rank r, micro-batch k: chunk 2k + r of the step's 4 chunks.
      auto x = X[s].narrow(0, (2 * micro + c.rank) * B, B), y = Y[s].narrow(0, (2 * micro + c.rank) * B, B);
      red.prepare_for_forward(sync);
      auto loss = torch::mse_loss(model(x), y) / 2.0;
      if (sync) red.prepare_for_backward(loss);
      loss.backward();
      if (!sync)
        check(!ranks_identical(c.ddp, flat_grads(model)),
              name + ": step " + std::to_string(s) + " after the no_sync backward grads are still local (differ)");
    }
    red.check_reduction_finished();
    ref_opt->zero_grad();
    torch::mse_loss(ref(X[s]), Y[s]).backward();
    compare_step(c, name, s, model, ref, *opt, *ref_opt, param_tol);
  }
}

// Check 5.
void unused_parameters(Ctx& c) {
  torch::manual_seed(99);
  auto X = torch::randn({2, 2 * B, 4}), Y = torch::randn({2, 2 * B, 1});
  {
    MLP ref = make_model(300, torch::kFloat, true);
    MLP model = make_model(300, torch::kFloat, true);
    ls::GradientReducer red(*model, c.pg, 1, /*find_unused_parameters=*/true);
    check(red.bucket_count() > 1, "find_unused: " + std::to_string(red.bucket_count()) +
                                      " buckets from the start ([1 MiB, cap] limits, never rebuilt)");
    auto opt = make_opt("sgd", model), ref_opt = make_opt("sgd", ref);
    for (int s = 0; s < 2; ++s) {
      opt->zero_grad();
      red.prepare_for_forward();
      auto loss = torch::mse_loss(model(X[s].narrow(0, c.rank * B, B)), Y[s].narrow(0, c.rank * B, B));
      red.prepare_for_backward(loss);
      loss.backward();
      red.check_reduction_finished();
      check(!model->unused->weight.grad().defined() && !model->unused->bias.grad().defined(),
            "find_unused: step " + std::to_string(s) + " the unused layer's grads stay undefined");
      ref_opt->zero_grad();
      torch::mse_loss(ref(X[s]), Y[s]).backward();
      compare_step(c, "find_unused sgd/f32", s, model, ref, *opt, *ref_opt, 1e-6);
    }
  }
  {
    MLP model = make_model(300, torch::kFloat, true);
    ls::GradientReducer red(*model, c.pg, 1, /*find_unused_parameters=*/false);
    red.prepare_for_forward();
    auto loss = torch::mse_loss(model(X[0].narrow(0, c.rank * B, B)), Y[0].narrow(0, c.rank * B, B));
    red.prepare_for_backward(loss);
    loss.backward();  // the one bucket never completes: nothing reduced, no error yet
    std::string msg;
    try {
      red.check_reduction_finished();
    } catch (const std::runtime_error& e) {
      msg = e.what();
    }
    std::printf("[rank %d] unused without find_unused, message: %.400s...\n", c.rank, msg.c_str());
    check(msg.find("Expected to have finished reduction in the prior iteration") != std::string::npos,
          "no find_unused: check_reduction_finished throws torch's message");
    std::string msg2;
    try {
      red.prepare_for_forward();
    } catch (const std::runtime_error& e) {
      msg2 = e.what();
    }
    check(msg2.find("Expected to have finished reduction") != std::string::npos &&
              msg2.find("prepare_for_forward failed on rank " + std::to_string(c.rank)) != std::string::npos,
          "no find_unused: the next prepare_for_forward throws it too (as torch's next forward)");
  }
}

// Not a check: per-step time, reducer vs DDP::allreduce_gradients after backward.
void timing(Ctx& c) {
  torch::manual_seed(5);
  auto x = torch::randn({64, 4}), y = torch::randn({64, 1});
  MLP a = make_model(400, torch::kFloat), b = make_model(400, torch::kFloat);
  ls::GradientReducer red(*a, c.pg, 1, false);
  auto run = [&](bool use_reducer) {
    const int n = 30;
    c.ddp.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      if (use_reducer) {
        a->zero_grad();
        red.prepare_for_forward();
        auto loss = torch::mse_loss(a(x), y);
        red.prepare_for_backward(loss);
        loss.backward();
      } else {
        b->zero_grad();
        torch::mse_loss(b(x), y).backward();
        c.ddp.allreduce_gradients(b);
      }
    }
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / n;
  };
  run(true);
  run(false);  // warm-up
  const double tr = run(true), ta = run(false);
  std::printf("[rank %d] timing (MLP 4-600-600-1, batch 64, cap 1 MB, 30 steps): reducer %.2f ms/step, "
              "allreduce_gradients %.2f ms/step\n",
              c.rank, tr, ta);
}

int rank_main(int rank, int port, int port2) {
  my_rank = rank;
  torch::set_num_threads(1);
  ls::DDP::Options o;
  o.timeout = std::chrono::milliseconds(30000);
  o.bucket_cap_mb = 1;
  ls::DDP ddp(o);
  ddp.init_process_group(env_for(rank, port));
  Ctx c{ddp, make_pg(rank, port2), rank};

  train_compare(c, "sgd", torch::kFloat, 1e-6);
  train_compare(c, "adam", torch::kFloat, 1e-5);
  train_compare(c, "adam", torch::kDouble, 1e-6);
  accumulate_compare(c, "sgd", torch::kFloat, 1e-6);
  accumulate_compare(c, "adam", torch::kDouble, 1e-6);
  unused_parameters(c);
  timing(c);
  ddp.barrier();
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const int port = ls::find_free_port();
  int port2 = ls::find_free_port();
  while (port2 == port) port2 = ls::find_free_port();
  std::printf("== GradientReducer (c10d::Reducer) vs single process, ports %d/%d\n", port, port2);
  std::fflush(stdout);
  const int limit_s = 240;
  pid_t pids[2];
  for (int r = 0; r < 2; ++r) {
    pids[r] = ::fork();
    if (pids[r] < 0) {
      std::perror("fork");
      return 1;
    }
    if (pids[r] == 0) {
      ::alarm(limit_s + 5);
      int rc = 2;
      try {
        rc = rank_main(r, port, port2);
      } catch (const std::exception& e) {
        std::printf("[rank %d] uncaught exception: %s\n", r, e.what());
      }
      std::fflush(stdout);
      ::_exit(rc);
    }
  }
  bool ok = true;
  int status[2] = {-1, -1};
  wait_both(pids, status, limit_s);
  for (int r = 0; r < 2; ++r) {
    const bool good = status[r] != -1 && WIFEXITED(status[r]) && WEXITSTATUS(status[r]) == 0;
    std::printf("rank %d exit %d %s\n", r, good ? 0 : (WIFEXITED(status[r]) ? WEXITSTATUS(status[r]) : -1),
                good ? "ok" : "FAIL");
    ok = ok && good;
  }
  std::printf("%s\n", ok ? "ALL PASSED" : "SOME CHECKS FAILED");
  return ok ? 0 : 1;
}
