#pragma once
// strategy::DDP, communication core: a c10d process group (TCPStore +
// ProcessGroupGloo), parameter broadcast from rank 0, bucketed gradient
// averaging, and the collectives the Trainer needs (barrier, reduce,
// all_gather, broadcast). No Trainer integration here yet.
//
// Only compiled when LIGHTNING_HAVE_C10D is defined: c10d needs LibTorch's
// distributed headers, `-DUSE_DISTRIBUTED -DUSE_C10D_GLOO` and `-lgloo`.
// Without it this header is empty, so including it is always safe.
#if defined(LIGHTNING_HAVE_C10D)

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../log_options.hpp"
#include "environment.hpp"

namespace lightning::strategy {

namespace detail_ddp {

/// Splits tensors (in the given order) into buckets of at most cap_bytes,
/// never mixing dtypes or devices in one bucket. A tensor larger than the cap
/// gets a bucket of its own (as torch DDP does). Returns indices.
inline std::vector<std::vector<std::size_t>> plan_buckets(const std::vector<torch::Tensor>& tensors,
                                                          std::size_t cap_bytes) {
  std::vector<std::vector<std::size_t>> buckets;
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    const std::size_t nb = static_cast<std::size_t>(t.numel()) * t.element_size();
    bool fresh = buckets.empty();
    if (!fresh) {
      const auto& first = tensors[buckets.back().front()];
      fresh = first.scalar_type() != t.scalar_type() || first.device() != t.device() ||
              (bytes + nb > cap_bytes && bytes > 0);
    }
    if (fresh) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(i);
    bytes += nb;
  }
  return buckets;
}

inline torch::Tensor flatten(const std::vector<torch::Tensor>& tensors, const std::vector<std::size_t>& idx) {
  std::vector<torch::Tensor> flat;
  flat.reserve(idx.size());
  for (auto i : idx) flat.push_back(tensors[i].reshape({-1}));
  return torch::cat(flat);
}

inline void unflatten_into(const torch::Tensor& flat, const std::vector<torch::Tensor>& tensors,
                           const std::vector<std::size_t>& idx) {
  int64_t off = 0;
  for (auto i : idx) {
    const auto& t = tensors[i];
    const int64_t n = t.numel();
    t.copy_(flat.narrow(0, off, n).view(t.sizes()));
    off += n;
  }
}

}  // namespace detail_ddp

class DDP {
 public:
  struct Options {
    std::string backend = "gloo";
    std::chrono::milliseconds timeout{1800000};  // torch's default, 30 min
    int64_t bucket_cap_mb = 25;
    bool find_unused_parameters = false;
  };

  DDP() = default;
  explicit DDP(Options o) : opts_(std::move(o)) {}
  DDP(const DDP&) = delete;
  DDP& operator=(const DDP&) = delete;
  ~DDP() { shutdown(); }

  const Options& options() const noexcept { return opts_; }

  /// Creates the process group: rank 0 hosts the TCPStore at
  /// main_address:port, everyone connects to it, then Gloo pairs up.
  /// Blocks until all world_size ranks have joined (or the timeout).
  void init_process_group(const ClusterEnvironment& env) {
    if (pg_) throw std::logic_error("DDP::init_process_group: the process group is already initialized");
    if (opts_.backend != "gloo")
      throw std::invalid_argument("DDP: backend '" + opts_.backend +
                                  "' is not available in this build (LibTorch CPU with Gloo): use backend = \"gloo\"");
    if (env.world_size < 1) throw std::invalid_argument("DDP: world_size must be >= 1");
    if (env.global_rank < 0 || env.global_rank >= env.world_size)
      throw std::invalid_argument("DDP: global_rank " + std::to_string(env.global_rank) + " out of range for world_size " +
                                  std::to_string(env.world_size));
    if (env.port < 1 || env.port > 65535) throw std::invalid_argument("DDP: invalid port " + std::to_string(env.port));
    if (opts_.bucket_cap_mb < 1) throw std::invalid_argument("DDP: bucket_cap_mb must be >= 1");
    env_ = env;
    const std::string where = env.main_address + ":" + std::to_string(env.port);
    guard("init_process_group (TCPStore at " + where + ")", [&] {
      ::c10d::TCPStoreOptions so;
      so.port = static_cast<std::uint16_t>(env.port);
      so.isServer = env.global_rank == 0;
      so.numWorkers = static_cast<std::size_t>(env.world_size);
      so.waitWorkers = true;
      so.timeout = opts_.timeout;
      store_ = c10::make_intrusive<::c10d::TCPStore>(env.main_address, so);
    });
    guard("init_process_group (Gloo rendezvous via " + where + ")", [&] {
      auto go = ::c10d::ProcessGroupGloo::Options::create(opts_.timeout);
      go->devices.push_back(make_device(env.main_address));
      auto prefixed = c10::make_intrusive<::c10d::PrefixStore>("lightning_default_pg/", store_);
      pg_ = c10::make_intrusive<::c10d::ProcessGroupGloo>(prefixed, static_cast<int>(env.global_rank),
                                                           static_cast<int>(env.world_size), go);
    });
  }

  bool initialized() const noexcept { return static_cast<bool>(pg_); }

  /// Destroys the process group, then the store. Safe to call twice.
  void shutdown() noexcept {
    try {
      pg_.reset();
      store_.reset();
    } catch (...) {
    }
  }

  int64_t world_size() const noexcept { return env_.world_size; }
  int64_t global_rank() const noexcept { return env_.global_rank; }
  int64_t local_rank() const noexcept { return env_.local_rank; }
  int64_t node_rank() const noexcept { return env_.node_rank; }
  bool is_global_zero() const noexcept { return env_.global_rank == 0; }

  /// Rank 0's parameters and buffers overwrite everyone else's.
  void broadcast_parameters(torch::nn::Module& m) {
    std::vector<torch::Tensor> ts;
    for (auto& p : m.parameters()) ts.push_back(p);
    for (auto& b : m.buffers()) ts.push_back(b);
    torch::NoGradGuard ng;
    const auto buckets = detail_ddp::plan_buckets(ts, cap_bytes());
    std::vector<c10::intrusive_ptr<::c10d::Work>> works;
    std::vector<torch::Tensor> flats;
    const std::string op = "broadcast_parameters";
    for (std::size_t b = 0; b < buckets.size(); ++b) {
      flats.push_back(detail_ddp::flatten(ts, buckets[b]));
      guard(op, [&] {
        std::vector<at::Tensor> v{flats.back()};
        ::c10d::BroadcastOptions bo;
        bo.rootRank = 0;
        works.push_back(pg().broadcast(v, bo));
      });
    }
    for (std::size_t b = 0; b < buckets.size(); ++b) {
      guard(op + " (bucket " + std::to_string(b + 1) + "/" + std::to_string(buckets.size()) + ")",
            [&] { works[b]->wait(); });
      detail_ddp::unflatten_into(flats[b], ts, buckets[b]);
    }
  }
  template <class T>
  void broadcast_parameters(torch::nn::ModuleHolder<T>& h) {
    broadcast_parameters(*h);
  }

  /// Averages gradients across ranks: flattened into buckets of at most
  /// bucket_cap_mb (last parameters first, as backward produces them), one
  /// asynchronous allreduce per bucket, all launched before any is waited.
  /// Parameters without a gradient are skipped, so every rank must have the
  /// same set of gradients; with find_unused_parameters they count as zeros
  /// instead (and receive the averaged gradient).
  void allreduce_gradients(torch::nn::Module& m) {
    std::vector<torch::Tensor> grads;
    auto params = m.parameters();
    for (auto it = params.rbegin(); it != params.rend(); ++it) {
      auto& p = *it;
      if (!p.requires_grad()) continue;
      if (!p.grad().defined()) {
        if (!opts_.find_unused_parameters) continue;
        p.mutable_grad() = torch::zeros_like(p);
      }
      if (p.grad().is_sparse())
        throw std::invalid_argument("DDP::allreduce_gradients: sparse gradients are not supported");
      grads.push_back(p.grad());
    }
    torch::NoGradGuard ng;
    const auto buckets = detail_ddp::plan_buckets(grads, cap_bytes());
    last_bucket_count_ = buckets.size();
    std::vector<c10::intrusive_ptr<::c10d::Work>> works;
    std::vector<torch::Tensor> flats;
    for (std::size_t b = 0; b < buckets.size(); ++b) {
      flats.push_back(detail_ddp::flatten(grads, buckets[b]));
      guard("allreduce_gradients (launching bucket " + std::to_string(b + 1) + ")", [&] {
        std::vector<at::Tensor> v{flats.back()};
        works.push_back(pg().allreduce(v, ::c10d::AllreduceOptions{}));
      });
    }
    const double n = static_cast<double>(world_size());
    for (std::size_t b = 0; b < buckets.size(); ++b) {
      guard("allreduce_gradients (bucket " + std::to_string(b + 1) + "/" + std::to_string(buckets.size()) + ")",
            [&] { works[b]->wait(); });
      flats[b].div_(n);
      detail_ddp::unflatten_into(flats[b], grads, buckets[b]);
    }
  }
  template <class T>
  void allreduce_gradients(torch::nn::ModuleHolder<T>& h) {
    allreduce_gradients(*h);
  }
  /// How many buckets the last allreduce_gradients used (for tests, profiling).
  std::size_t last_bucket_count() const noexcept { return last_bucket_count_; }

  void barrier() {
    guard("barrier", [&] { pg().barrier()->wait(); });
  }

  /// Reduction across ranks; returns a new tensor, the input is untouched.
  /// mean of an integer tensor gives a floating result.
  torch::Tensor reduce(const torch::Tensor& t, Reduce op = Reduce::mean) {
    torch::Tensor x = t.detach().clone().contiguous();
    if (op == Reduce::mean && !x.is_floating_point()) x = x.to(torch::kDouble);
    ::c10d::AllreduceOptions ao;
    switch (op) {
      case Reduce::sum:
      case Reduce::mean: ao.reduceOp = ::c10d::ReduceOp::SUM; break;
      case Reduce::max: ao.reduceOp = ::c10d::ReduceOp::MAX; break;
      case Reduce::min: ao.reduceOp = ::c10d::ReduceOp::MIN; break;
    }
    guard("reduce (allreduce)", [&] {
      std::vector<at::Tensor> v{x};
      pg().allreduce(v, ao)->wait();
    });
    if (op == Reduce::mean) x.div_(static_cast<double>(world_size()));
    return x;
  }

  /// Every rank's tensor, stacked: shape [world_size, ...t.shape]. All ranks
  /// must pass tensors of the same shape and dtype.
  torch::Tensor all_gather(const torch::Tensor& t) {
    std::vector<at::Tensor> in{t.detach().contiguous()};
    std::vector<std::vector<at::Tensor>> out(1);
    for (int64_t r = 0; r < world_size(); ++r) out[0].push_back(torch::empty_like(in[0]));
    guard("all_gather", [&] { pg().allgather(out, in)->wait(); });
    return torch::stack(out[0]);
  }

  /// Overwrites t, in place, with rank src's value; returns t.
  torch::Tensor broadcast(torch::Tensor t, int64_t src = 0) {
    if (src < 0 || src >= world_size())
      throw std::invalid_argument("DDP::broadcast: src rank " + std::to_string(src) + " out of range for world_size " +
                                  std::to_string(world_size()));
    torch::NoGradGuard ng;
    torch::Tensor x = t.is_contiguous() ? t : t.contiguous();
    ::c10d::BroadcastOptions bo;
    bo.rootRank = src;
    guard("broadcast", [&] {
      std::vector<at::Tensor> v{x};
      pg().broadcast(v, bo)->wait();
    });
    if (!x.is_same(t)) t.copy_(x);
    return t;
  }

 private:
  ::c10d::ProcessGroupGloo& pg() {
    if (!pg_) throw std::logic_error("DDP: the process group is not initialized (call init_process_group first)");
    return *pg_;
  }

  std::size_t cap_bytes() const noexcept { return static_cast<std::size_t>(opts_.bucket_cap_mb) * 1024 * 1024; }

  /// Gloo's transport device. GLOO_SOCKET_IFNAME wins (as in torch); a
  /// loopback main address means a single machine, so bind loopback;
  /// otherwise the address this machine's hostname resolves to.
  static std::shared_ptr<::gloo::transport::Device> make_device(const std::string& main_address) {
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != '\0')
      return ::c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
    if (main_address == "localhost" || main_address.rfind("127.", 0) == 0)
      return ::c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
    return ::c10d::ProcessGroupGloo::createDefaultDevice();
  }

  /// Runs f; any exception from c10d/Gloo becomes a std::runtime_error that
  /// names the operation and this rank.
  template <class F>
  void guard(const std::string& op, F&& f) {
    try {
      f();
    } catch (const std::logic_error&) {
      throw;
    } catch (const std::exception& e) {
      throw std::runtime_error("DDP " + op + " failed on rank " + std::to_string(env_.global_rank) + " of " +
                               std::to_string(env_.world_size) + " (timeout " + std::to_string(opts_.timeout.count()) +
                               " ms; a peer rank may have died or be stuck): " + first_line(e.what()));
    }
  }

  static std::string first_line(const char* what) {
    std::string s(what);
    const auto nl = s.find('\n');
    return nl == std::string::npos ? s : s.substr(0, nl);
  }

  Options opts_{};
  ClusterEnvironment env_{};
  c10::intrusive_ptr<::c10d::Store> store_;
  c10::intrusive_ptr<::c10d::ProcessGroupGloo> pg_;
  std::size_t last_bucket_count_ = 0;
};

}  // namespace lightning::strategy

#endif  // LIGHTNING_HAVE_C10D
