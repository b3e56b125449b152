#pragma once
// strategy::DDP: distributed data parallel on PyTorch's c10d. A Trainer
// policy: the process group comes from the cluster environment (torchrun,
// SLURM, or children this process launches itself), parameters are broadcast
// from rank 0, gradients are averaged while backward runs (c10d::Reducer,
// torch DDP's own engine) and the Trainer gets the collectives it needs
// (barrier, reduce, all_gather, broadcast, agreed decisions).
//
// Users include <lightning/ddp.hpp> and build with the lightning-cpp-ddp
// dependency (Meson or pkg-config), which alone gives LIGHTNING_HAVE_C10D,
// `-DUSE_DISTRIBUTED -DUSE_C10D_GLOO`, include/lightning/compat and `-lgloo`.
// Without LIGHTNING_HAVE_C10D this header is empty.
#if defined(LIGHTNING_HAVE_C10D)

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if defined(USE_C10D_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <exception>
#include <memory>
#include <thread>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../data/batch.hpp"
#include "../log_options.hpp"
#include "../policies/kinds.hpp"
#include "../trainer_options.hpp"
#include "ddp_reducer.hpp"
#include "environment.hpp"
#include "launcher.hpp"
#include "single.hpp"

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

/// A store and process group. One stays alive per process (torch's
/// "default group"): Trainers created one after another reuse it instead of
/// re-binding MASTER_PORT while other ranks may still use the old store.
struct ProcessGroupHandle {
  std::string key;  // address:port/rank/world/backend
  c10::intrusive_ptr<::c10d::Store> store;
  c10::intrusive_ptr<::c10d::ProcessGroup> pg;
  /// Collectives DDP entered on this group: the same sequence on every rank,
  /// so a rank whose collective times out can tell which peers never arrived.
  int64_t collectives = 0;
  /// A collective failed or timed out: the group is unusable.
  bool failed = false;
  ~ProcessGroupHandle() {
    if (failed) {
      // ProcessGroupGloo's destructor waits for every queued collective, and
      // each one behind a timed-out collective waits out the timeout again:
      // an unusable group is left to the process's end instead.
      (void)pg.release();
      (void)store.release();
      return;
    }
    pg.reset();  // the group before the store it talks through
    store.reset();
  }
};

/// What a process keeps across Trainers: its process group and, on rank 0
/// of a self-launched job, the children it started (one launch per process,
/// like Lightning's launcher: later Trainers find the exported environment
/// and join the same ranks). At exit rank 0 waits for the children before
/// closing its group; if one failed, the program's exit status says so.
struct DistributedProcess {
  std::shared_ptr<ProcessGroupHandle> group;
  std::unique_ptr<SubprocessLauncher> launcher;
  /// How long rank 0 waits at exit for children still at work.
  std::chrono::milliseconds grace{std::chrono::minutes(5)};
  /// ... and after this process's DDP run failed: a child still running then
  /// is stuck, or blocked in a collective with this rank, so it gets only the
  /// moment a child needs to report its own error.
  std::chrono::milliseconds failure_grace{std::chrono::seconds(3)};
  bool failed = false;  // a collective failed here, or fit threw here (DDP::on_exception)

  ~DistributedProcess() {
    if (!launcher || !launcher->launched()) return;
    const auto waited = failed ? failure_grace : grace;
    const int rc = launcher->join(waited);
    if (rc == 0) return;
    if (auto f = launcher->failure()) std::fprintf(stderr, "lightning: DDP: %s\n", f->c_str());
    for (const auto& c : launcher->children())
      if (c.terminated_by_launcher)
        std::fprintf(stderr, "lightning: DDP: %s: it was still running %lld ms after %s\n", c.describe().c_str(),
                     static_cast<long long>(waited.count()),
                     failed ? "this rank's DDP run failed" : "this rank finished");
    std::fflush(nullptr);
    std::_Exit(rc);
  }

  static DistributedProcess& instance() {
    static DistributedProcess p;
    return p;
  }
};

class DDP {
 public:
  using policy_kind = lightning::policy_kind::strategy;
  static constexpr bool distributed = true;

  struct Options {
    /// "gloo", "nccl" (CUDA builds of LibTorch), or "auto": nccl for CUDA devices when built in, else gloo.
    std::string backend = "auto";
    /// How long a collective waits for its peers before failing (torch's default, 30 min). A dead
    /// peer is usually noticed at once (its sockets close); a stuck one only at this timeout.
    std::chrono::milliseconds timeout{1800000};
    int64_t bucket_cap_mb = 25;
    bool find_unused_parameters = false;
    /// Average gradients while backward runs (c10d::Reducer); false: one bucketed pass after it.
    bool overlap_gradient_sync = true;
  };

  DDP() = default;
  explicit DDP(Options o) : opts_(std::move(o)) {}
  DDP(DDP&&) noexcept = default;
  DDP& operator=(DDP&& o) noexcept {
    if (this != &o) {
      shutdown();
      opts_ = std::move(o.opts_);
      env_ = std::move(o.env_);
      device_ = o.device_;
      store_ = std::move(o.store_);
      pg_ = std::move(o.pg_);
      group_ = std::move(o.group_);
      backend_ = std::move(o.backend_);
      reducer_ = std::move(o.reducer_);
    }
    return *this;
  }
  DDP(const DDP&) = delete;
  DDP& operator=(const DDP&) = delete;
  ~DDP() { shutdown(); }

  const Options& options() const noexcept { return opts_; }
  const ClusterEnvironment& cluster_environment() const noexcept { return env_; }

  // ------------------------------------------------------------ Trainer policy

  /// Reads the cluster environment, starts the other local ranks if nobody
  /// else did (rank 0 is this process), and joins the process group.
  void setup_environment(const TrainerOptions& o) {
    const auto env = detect_environment(o.devices, o.num_nodes);
    device_ = o.accelerator == Accelerator::cpu || !torch::cuda::is_available()
                  ? torch::Device(torch::kCPU)
                  : torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank));
    if (o.accelerator == Accelerator::gpu && device_.is_cpu()) (void)select_device(o.accelerator);  // throws
    (void)resolved_backend();  // bad options fail here, before any child exists
    if (opts_.bucket_cap_mb < 1) throw std::invalid_argument("DDP: bucket_cap_mb must be >= 1");
    auto& dp = DistributedProcess::instance();
    const bool launching = !env.launched_externally && env.local_world_size > 1;
    if (launching) {
      if (dp.launcher)
        throw std::logic_error("DDP: this process already launched its ranks, yet the environment it exported is gone");
      dp.launcher = std::make_unique<SubprocessLauncher>();
      dp.launcher->launch(env);
      dp.grace = std::max<std::chrono::milliseconds>(dp.grace, opts_.timeout);
      // As Lightning's launcher: this process now looks launched too, so a
      // later Trainer joins the same children instead of starting new ones.
      for (const auto& [k, v] : launch_environment(env, 0)) ::setenv(k.c_str(), v.c_str(), 1);
    }
    try {
      init_process_group(env);
    } catch (...) {
      // The children would otherwise wait for a rendezvous that never comes.
      if (launching) dp.launcher->terminate_all();
      throw;
    }
  }

  const torch::Device& root_device() const noexcept { return device_; }

  /// Moves the module to this rank's device and makes every rank start from rank 0's weights.
  template <class Module>
  void setup_module(Module& m) {
    if (!device_.is_cpu()) m.to(device_);
    broadcast_parameters(m);
    reducer_.reset();  // parameters may have changed; rebuilt at the next synced backward
  }

  template <class B>
  B batch_to_device(B batch) const {
    return data::transfer_batch_to_device(std::move(batch), device_);
  }

  /// Runs `backward` (the precision's loss.backward) so gradients come out
  /// averaged over ranks when `sync`; otherwise they only accumulate locally
  /// (torch DDP's no_sync, for accumulation batches that do not step).
  template <class Module, class Backward>
  void backward(Module& m, const torch::Tensor& loss, bool sync, Backward&& run) {
    if (!opts_.overlap_gradient_sync) {
      run();
      if (sync) allreduce_gradients(m);
      return;
    }
    // Built at the first backward (every rank is there: it is a collective),
    // after the module has its device and dtype.
    if (!reducer_)
      guard("creating the gradient reducer", [&] {
        reducer_ = std::make_unique<GradientReducer>(module_ref(m), pg_, opts_.bucket_cap_mb, opts_.find_unused_parameters);
      });
    guard(sync ? "gradient sync (before backward)" : "no_sync step", [&] {
      reducer_->prepare_for_forward(sync);  // every step, in lockstep: it may rebuild buckets
      if (sync) reducer_->prepare_for_backward(loss);
    });
    const std::string op = "gradient sync (backward)";
    if (sync) note_arrival(op);
    try {
      run();
    } catch (const std::exception& e) {
      // backward's own errors stay as they are; a failed allreduce inside it names the peer.
      const std::string why = sync ? describe_failure(op, e.what(), /*always=*/false) : std::string();
      if (why.empty()) throw;
      throw std::runtime_error(why);
    }
  }

  /// Manual optimization: gradients of one manual_backward averaged after it.
  template <class Module>
  void after_manual_backward(Module& m) {
    allreduce_gradients(m);
  }

  /// True on every rank if `decision` is true on all ranks (`all`) or on any.
  bool reduce_boolean_decision(bool decision, bool all = true) {
    auto t = torch::tensor({decision ? 1 : 0}, torch::kInt);  // reduce() moves it to the group's device
    t = reduce(t, Reduce::sum);
    const int64_t n = t.item<int64_t>();
    return all ? n == world_size() : n > 0;
  }

  /// Waits for the children this process launched (rank 0 only): returns
  /// 0 if all exited cleanly, else non-zero with the failure printed.
  static int join_launched(std::chrono::milliseconds grace = std::chrono::seconds(60)) {
    auto& pl = DistributedProcess::instance();
    if (!pl.launcher) return 0;
    const int rc = pl.launcher->join(grace);
    if (auto f = pl.launcher->failure()) std::fprintf(stderr, "lightning: DDP: %s\n", f->c_str());
    pl.launcher.reset();
    return rc;
  }

  /// Tells the other ranks why this one stops (they name it in their errors).
  void on_exception(const std::exception& e) noexcept {
    DistributedProcess::instance().failed = true;  // children blocked on this rank are not waited for at exit
    try {
      if (!store_ || store_->check({kFailedKey})) return;  // the first failure is the cause
      const std::string why = "rank " + std::to_string(env_.global_rank) + " failed: " + first_line(e.what());
      store_->set(kFailedKey, std::vector<uint8_t>(why.begin(), why.end()));
    } catch (...) {
    }
  }

  // ------------------------------------------------------------ process group

  /// Creates the process group: rank 0 hosts the TCPStore at
  /// main_address:port, everyone connects to it, then the backend pairs up.
  /// Blocks until all world_size ranks have joined (or the timeout).
  void init_process_group(const ClusterEnvironment& env) {
    if (pg_) throw std::logic_error("DDP::init_process_group: the process group is already initialized");
    const std::string backend = resolved_backend();
    if (env.world_size < 1) throw std::invalid_argument("DDP: world_size must be >= 1");
    if (env.global_rank < 0 || env.global_rank >= env.world_size)
      throw std::invalid_argument("DDP: global_rank " + std::to_string(env.global_rank) + " out of range for world_size " +
                                  std::to_string(env.world_size));
    if (env.port < 1 || env.port > 65535) throw std::invalid_argument("DDP: invalid port " + std::to_string(env.port));
    if (opts_.bucket_cap_mb < 1) throw std::invalid_argument("DDP: bucket_cap_mb must be >= 1");
    env_ = env;
    backend_ = backend;
    const std::string where = env.main_address + ":" + std::to_string(env.port);
    const std::string key = where + "/" + std::to_string(env.global_rank) + "/" + std::to_string(env.world_size) + "/" +
                            backend;
    auto& current = DistributedProcess::instance().group;
    if (current && current->key == key) {
      if (current->failed)
        throw std::runtime_error("DDP: the process group at " + where +
                                 " failed earlier in this process (a collective failed or timed out), so no "
                                 "Trainer can use it again: end the program and start the job again");
      group_ = current;
      store_ = group_->store;
      pg_ = group_->pg;
      return;
    }
    current.reset();  // a different group: the old one goes first (it may hold the port)
    guard("init_process_group (TCPStore at " + where + ")", [&] {
      ::c10d::TCPStoreOptions so;
      so.port = static_cast<std::uint16_t>(env.port);
      so.isServer = env.global_rank == 0;
      so.numWorkers = static_cast<std::size_t>(env.world_size);
      so.waitWorkers = true;
      so.timeout = opts_.timeout;
      store_ = c10::make_intrusive<::c10d::TCPStore>(env.main_address, so);
    });
    guard("init_process_group (" + backend + " rendezvous via " + where + ")", [&] {
      auto prefixed = c10::make_intrusive<::c10d::PrefixStore>("lightning_default_pg/", store_);
#if defined(USE_C10D_NCCL)
      if (backend == "nccl") {
        auto no = ::c10d::ProcessGroupNCCL::Options::create();
        no->timeout = opts_.timeout;
        pg_ = c10::make_intrusive<::c10d::ProcessGroupNCCL>(prefixed, static_cast<int>(env.global_rank),
                                                            static_cast<int>(env.world_size), no);
      }
#endif
      if (!pg_) {
        auto go = ::c10d::ProcessGroupGloo::Options::create(opts_.timeout);
        go->devices.push_back(make_device(env.main_address));
        pg_ = c10::make_intrusive<::c10d::ProcessGroupGloo>(prefixed, static_cast<int>(env.global_rank),
                                                             static_cast<int>(env.world_size), go);
      }
    });
    group_ = std::make_shared<ProcessGroupHandle>(ProcessGroupHandle{key, store_, pg_});
    current = group_;
  }

  bool initialized() const noexcept { return static_cast<bool>(pg_); }
  c10::intrusive_ptr<::c10d::ProcessGroup> process_group() const noexcept { return pg_; }

  /// Releases the reducer and this object's hold on the process group
  /// (which lives on for later Trainers; destroy_process_group() ends it).
  /// Safe to call twice.
  void shutdown() noexcept {
    try {
      reducer_.reset();
      pg_.reset();
      store_.reset();
      group_.reset();
    } catch (...) {
    }
  }

  /// Ends this process's group (torch.distributed.destroy_process_group).
  static void destroy_process_group() noexcept { DistributedProcess::instance().group.reset(); }

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

  /// Averages gradients across ranks after backward: flattened into buckets
  /// of at most bucket_cap_mb (last parameters first, as backward produces
  /// them), one asynchronous allreduce per bucket, all launched before any is
  /// waited. Parameters without a gradient are skipped, so every rank must
  /// have the same set of gradients; with find_unused_parameters they count
  /// as zeros instead (and receive the averaged gradient).
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
    // NCCL reduces device tensors only: values from the host go over and come back.
    torch::Tensor x = t.detach().to(comm_device(), /*non_blocking=*/false, /*copy=*/true).contiguous();
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
    return x.to(t.device());
  }

  /// Every rank's tensor, stacked: shape [world_size, ...t.shape]. All ranks
  /// must pass tensors of the same shape and dtype.
  torch::Tensor all_gather(const torch::Tensor& t) {
    std::vector<at::Tensor> in{t.detach().to(comm_device()).contiguous()};
    std::vector<std::vector<at::Tensor>> out(1);
    for (int64_t r = 0; r < world_size(); ++r) out[0].push_back(torch::empty_like(in[0]));
    guard("all_gather", [&] { pg().allgather(out, in)->wait(); });
    return torch::stack(out[0]).to(t.device());
  }

  /// Overwrites t, in place, with rank src's value; returns t.
  torch::Tensor broadcast(torch::Tensor t, int64_t src = 0) {
    if (src < 0 || src >= world_size())
      throw std::invalid_argument("DDP::broadcast: src rank " + std::to_string(src) + " out of range for world_size " +
                                  std::to_string(world_size()));
    torch::NoGradGuard ng;
    torch::Tensor x = t.is_contiguous() && t.device() == comm_device() ? t : t.to(comm_device()).contiguous();
    ::c10d::BroadcastOptions bo;
    bo.rootRank = src;
    guard("broadcast", [&] {
      std::vector<at::Tensor> v{x};
      pg().broadcast(v, bo)->wait();
    });
    if (!x.is_same(t)) t.copy_(x);
    return t;
  }
  /// Rank src's integer, on every rank.
  int64_t broadcast(int64_t v, int64_t src = 0) {
    return broadcast(torch::tensor({v}, torch::kLong), src).item<int64_t>();
  }

 private:
  static constexpr const char* kFailedKey = "lightning/failed_rank";

  std::string resolved_backend() const {
    const std::string& b = opts_.backend;
    if (b == "auto") {
#if defined(USE_C10D_NCCL)
      if (device_.is_cuda()) return "nccl";
#endif
      return "gloo";
    }
    if (b == "gloo") return b;
    if (b == "nccl") {
#if defined(USE_C10D_NCCL)
      return b;
#else
      throw std::invalid_argument("DDP: backend 'nccl' needs a CUDA build of LibTorch with NCCL; this one has only "
                                  "Gloo: use backend = \"gloo\" (or \"auto\")");
#endif
    }
    throw std::invalid_argument("DDP: unknown backend '" + b + "': expected \"gloo\", \"nccl\" or \"auto\"");
  }

  /// Where collectives run: the rank's device for NCCL, the host for Gloo.
  torch::Device comm_device() const {
    if (backend_ != "nccl") return torch::kCPU;
    return device_;
  }

  static torch::nn::Module& module_ref(torch::nn::Module& m) { return m; }
  template <class T>
  static torch::nn::Module& module_ref(torch::nn::ModuleHolder<T>& h) {
    return *h;
  }

  ::c10d::ProcessGroup& pg() {
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

  /// Why the peers stopped: what a failing rank wrote into the store before
  /// it exited, and how a child this process launched ended. `patient`: give
  /// them a moment to get there (not after a timeout: they had all of it).
  std::string peer_failure(bool patient) {
    std::string died, why;
    if (auto& l = DistributedProcess::instance().launcher;
        l && l->wait_for_failure(std::chrono::milliseconds(patient ? 2000 : 0)))
      died = *l->failure();
    try {
      // The failing rank writes before it exits; without a dead child to go
      // by, give it a moment.
      for (int i = 0; i < (died.empty() && patient ? 20 : 1) && store_; ++i) {
        if (store_->check({kFailedKey})) {
          const auto v = store_->get(kFailedKey);
          why.assign(v.begin(), v.end());
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    } catch (...) {
      if (env_.global_rank != 0 && died.empty())
        return "rank 0 (which hosts the store at " + env_.main_address + ":" + std::to_string(env_.port) + ") is gone";
    }
    if (why.empty()) return died;
    return died.empty() ? why : why + " (" + died + ")";
  }

  static constexpr const char* kArrivedKey = "lightning/arrived/";  // + rank: "<collective #> <operation>"

  /// Records in the store which collective this rank is entering, so a rank
  /// whose collective times out can name the peers that never arrived. The
  /// store does not answer a set: this costs one send (~7 us on loopback).
  void note_arrival(const std::string& op) noexcept {
    if (!group_ || !store_) return;  // init_process_group: nothing to count yet
    const int64_t n = ++group_->collectives;
    try {
      const std::string v = std::to_string(n) + " " + op;
      store_->set(kArrivedKey + std::to_string(env_.global_rank), std::vector<uint8_t>(v.begin(), v.end()));
    } catch (...) {
      // A store that is gone makes the collective itself fail, and that error says so.
    }
  }

  /// After this rank's collective #n timed out: the peers whose last recorded
  /// collective comes before it, e.g. "rank 1 did not reach it (its last
  /// collective was #41, reduce (allreduce); this is #42)".
  std::string stragglers(int64_t n) {
    constexpr int64_t kMaxChecked = 1024;  // two store round trips per rank
    constexpr std::size_t kMaxNamed = 8;
    std::vector<int64_t> behind;
    std::vector<std::pair<int64_t, std::string>> where;  // (last collective #, its operation) of the first few
    const int64_t checked = std::min(env_.world_size, kMaxChecked);
    try {
      for (int64_t r = 0; r < checked; ++r) {
        if (r == env_.global_rank) continue;
        const std::string key = kArrivedKey + std::to_string(r);
        std::string last;
        if (store_->check({key})) {
          const auto v = store_->get(key);
          last.assign(v.begin(), v.end());
        }
        int64_t at = 0;  // no record: it has entered no collective
        std::from_chars(last.data(), last.data() + last.size(), at);
        if (at >= n) continue;
        behind.push_back(r);
        if (where.size() < kMaxNamed) {
          const auto space = last.find(' ');
          where.emplace_back(at, space == std::string::npos ? std::string() : last.substr(space + 1));
        }
      }
    } catch (const std::exception& e) {
      return "which rank did not arrive is unknown: the store at " + env_.main_address + ":" +
             std::to_string(env_.port) + " did not answer (" + first_line(e.what()) + ")";
    }
    const std::string beyond = checked < env_.world_size
                                   ? " (ranks " + std::to_string(checked) + " and up not checked)"
                                   : std::string();
    if (behind.empty())
      return "every other rank reached it" + beyond + ", so the connection between ranks failed or is slower "
             "than DDP::Options::timeout";
    std::string who = behind.size() == 1 ? "rank " : "ranks ";
    for (std::size_t i = 0; i < behind.size() && i < kMaxNamed; ++i)
      who += (i == 0 ? "" : ", ") + std::to_string(behind[i]);
    if (behind.size() > kMaxNamed) who += " and " + std::to_string(behind.size() - kMaxNamed) + " more";
    std::string detail;
    for (std::size_t i = 0; i < where.size(); ++i) {
      const auto& [at, op] = where[i];
      const std::string subject = behind.size() == 1 ? (at == 0 ? "it" : "its") :
                                  "rank " + std::to_string(behind[i]) + (at == 0 ? "" : "'s");
      detail += (i == 0 ? "" : "; ") + subject +
                (at == 0 ? " has entered no collective yet"
                         : " last collective was #" + std::to_string(at) + ", " + op);
    }
    return who + " did not reach it (" + detail + "; this is #" + std::to_string(n) + ")" + beyond + ", so " +
           (behind.size() == 1 ? "it is" : "they are") + " stuck outside DDP or slower than DDP::Options::timeout";
  }

  /// Gloo says "Timed out waiting 3000ms for recv ..."; the store "Socket Timeout". Only the first
  /// line counts: c10::Error appends a backtrace, whose names may say anything.
  static bool is_timeout(const char* what) {
    std::string s = first_line(what);
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s.find("timed out") != std::string::npos || s.find("timeout") != std::string::npos;
  }

  /// The error for collective `op` that failed with `what`: the operation,
  /// this rank, and whom to blame when known (a peer's own error, a child's
  /// end, or after a timeout the peers that never arrived). Empty when
  /// nothing points at communication and !always (backward's own errors).
  std::string describe_failure(const std::string& op, const char* what, bool always) {
    const bool timed_out = is_timeout(what);
    const std::string cause = peer_failure(/*patient=*/!timed_out);
    if (cause.empty() && !timed_out && !always) return {};
    if (group_) group_->failed = true;
    DistributedProcess::instance().failed = true;
    std::string msg = "DDP " + op + (timed_out ? " timed out" : " failed") + " on rank " +
                      std::to_string(env_.global_rank) + " of " + std::to_string(env_.world_size);
    if (!cause.empty())
      msg += " because " + cause;
    else if (timed_out && group_)
      msg += " after " + std::to_string(opts_.timeout.count()) + " ms: " + stragglers(group_->collectives);
    else
      msg += " (timeout " + std::to_string(opts_.timeout.count()) + " ms; a peer rank may have died or be stuck)";
    return msg + ": " + first_line(what);
  }

  /// Runs f; any exception from c10d/Gloo becomes a std::runtime_error that
  /// names the operation, this rank, and the rank that failed when known.
  template <class F>
  void guard(const std::string& op, F&& f) {
    note_arrival(op);
    try {
      f();
    } catch (const std::logic_error&) {
      throw;
    } catch (const std::exception& e) {
      throw std::runtime_error(describe_failure(op, e.what(), /*always=*/true));
    }
  }

  static std::string first_line(const char* what) {
    std::string s(what);
    const auto nl = s.find('\n');
    return nl == std::string::npos ? s : s.substr(0, nl);
  }

  Options opts_{};
  ClusterEnvironment env_{};
  torch::Device device_{torch::kCPU};
  c10::intrusive_ptr<::c10d::Store> store_;
  c10::intrusive_ptr<::c10d::ProcessGroup> pg_;
  std::shared_ptr<ProcessGroupHandle> group_;
  std::string backend_ = "gloo";
  std::unique_ptr<GradientReducer> reducer_;
  std::size_t last_bucket_count_ = 0;
};

}  // namespace lightning::strategy

#endif  // LIGHTNING_HAVE_C10D
