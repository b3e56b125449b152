#pragma once
// GradientReducer: gradient averaging overlapped with backward, by PyTorch's
// own DDP engine (c10d::Reducer), set up as torch/nn/parallel/distributed.py
// (1.13) does. Autograd hooks copy each gradient into its bucket (divided by
// world size) as backward produces it and start the bucket's allreduce once
// the bucket is full; at the end of backward the averaged buckets are copied
// into p.grad().
//
// Per training step, on every rank in lockstep:
//   r.prepare_for_forward(sync);   // sync = false for a no_sync micro-batch
//   loss = training_step(...);
//   if (sync) r.prepare_for_backward(loss);
//   loss.backward();               // grads averaged when it returns (if sync)
// Without prepare_for_backward gradients just accumulate locally; the next
// synced backward averages the accumulated sum (torch's no_sync semantics).
//
// Only compiled when LIGHTNING_HAVE_C10D is defined (see ddp.hpp).
#if defined(LIGHTNING_HAVE_C10D)

// Debian's LibTorch 1.13 lacks a header reducer.hpp includes; lightning/compat has a stand-in.
#if !__has_include(<torch/csrc/distributed/autograd/context/context.h>)
#error "lightning: this LibTorch lacks torch/csrc/distributed/autograd/context/context.h (Debian's 1.13 does): add -I<includedir>/lightning/compat to the compiler flags (lightning's meson dependency does)"
#endif
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/logger.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace lightning::strategy {

namespace detail_ddp_reducer {

// Reads Reducer state that has no public accessor.
class Reducer : public ::c10d::Reducer {
 public:
  using ::c10d::Reducer::Reducer;
  std::size_t bucket_count() const {
    std::lock_guard<std::mutex> lk(mutex_);
    return buckets_.size();
  }
  // The check torch runs at the next forward, run now instead.
  void ensure_finished() {
    std::lock_guard<std::mutex> lk(mutex_);
    ensure_prior_reduction_finished();
  }
};

}  // namespace detail_ddp_reducer

class GradientReducer {
 public:
  /// Build after the module's parameters are final (dtype, device, and
  /// ideally after DDP::broadcast_parameters): buckets copy their layout.
  /// Collective: every rank must construct it with the same model.
  GradientReducer(torch::nn::Module& m, c10::intrusive_ptr<::c10d::ProcessGroup> pg, int64_t bucket_cap_mb = 25,
                  bool find_unused_parameters = false)
      : pg_(std::move(pg)), find_unused_(find_unused_parameters) {
    if (!pg_) throw std::invalid_argument("GradientReducer: the process group is null");
    if (bucket_cap_mb < 1) throw std::invalid_argument("GradientReducer: bucket_cap_mb must be >= 1");

    // Sparse embeddings expect sparse gradients (their own bucket), as in torch.
    std::unordered_set<const c10::TensorImpl*> sparse_weights;
    auto note_sparse = [&](torch::nn::Module* mod) {
      if (auto* e = dynamic_cast<torch::nn::EmbeddingImpl*>(mod); e && e->options.sparse())
        sparse_weights.insert(e->weight.unsafeGetTensorImpl());
      if (auto* e = dynamic_cast<torch::nn::EmbeddingBagImpl*>(mod); e && e->options.sparse())
        sparse_weights.insert(e->weight.unsafeGetTensorImpl());
    };
    note_sparse(&m);  // modules(include_self) would need m to be owned by a shared_ptr
    for (const auto& mod : m.modules(/*include_self=*/false)) note_sparse(mod.get());
    // Parameters that require grad, shared ones once, in module order.
    std::vector<at::Tensor> params;
    std::vector<bool> sparse;
    std::unordered_map<std::size_t, std::string> names;
    std::unordered_set<const c10::TensorImpl*> seen;
    for (const auto& item : m.named_parameters(/*recurse=*/true)) {
      const auto& p = item.value();
      if (!p.requires_grad() || !seen.insert(p.unsafeGetTensorImpl()).second) continue;
      names.emplace(params.size(), item.key());
      sparse.push_back(sparse_weights.count(p.unsafeGetTensorImpl()) > 0);
      params.push_back(p);
    }
    if (params.empty())
      throw std::invalid_argument(
          "GradientReducer: the module has no parameter that requires a gradient, nothing to reduce");

    guard("construction", [&] {
      ::c10d::verify_params_across_processes(pg_, params, c10::nullopt);
      const auto cap = static_cast<std::size_t>(bucket_cap_mb) * 1024 * 1024;
      // torch 1.13: without find_unused_parameters, one bucket until the
      // first backward shows the real gradient order; then rebuild_buckets
      // regroups them by [first_bucket_bytes_cap, cap] in that order.
      std::vector<std::size_t> limits =
          find_unused_ ? std::vector<std::size_t>{static_cast<std::size_t>(::c10d::kDefaultFirstBucketBytes), cap}
                       : std::vector<std::size_t>{static_cast<std::size_t>(std::numeric_limits<int64_t>::max())};
      auto [indices, per_limits] = ::c10d::compute_bucket_assignment_by_size(params, limits, sparse);
      // Reversed: backward produces the last parameters' gradients first.
      std::reverse(indices.begin(), indices.end());
      std::reverse(per_limits.begin(), per_limits.end());
      reducer_ = std::make_shared<detail_ddp_reducer::Reducer>(
          params, std::move(indices), std::move(per_limits), pg_, sparse, static_cast<int64_t>(cap), find_unused_,
          /*gradient_as_bucket_view=*/false, std::move(names), int64_t{::c10d::kDefaultFirstBucketBytes});
      // The Reducer dereferences its logger unchecked (changing unused-parameter set).
      logger_ = std::make_shared<::c10d::Logger>(reducer_);
      reducer_->set_logger(logger_);
      logger_->set_construction_data_and_log(m.name(), {}, -1, /*broadcast_buffers=*/false, /*has_sync_bn=*/false,
                                             /*static_graph=*/false);
    });
  }

  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;
  GradientReducer(GradientReducer&&) noexcept = default;
  GradientReducer& operator=(GradientReducer&&) = delete;

  // The logger holds the reducer; the reducer holds the process group, so
  // the group outlives it. ~Reducer may throw: never let it terminate us.
  ~GradientReducer() {
    try {
      logger_.reset();
      reducer_.reset();
    } catch (...) {
    }
  }

  /// Every step, every rank, before the forward (training_step). sync =
  /// false for a no_sync micro-batch. Throws torch's error if the previous
  /// synced backward did not reduce every bucket (e.g. unused parameters
  /// without find_unused_parameters). Collective once: the first call after
  /// the first synced backward rebuilds the buckets (broadcast from rank 0).
  void prepare_for_forward(bool sync = true) {
    guard("prepare_for_forward", [&] {
      if (sync) {
        logger_->set_runtime_stats_and_log();
        reducer().prepare_for_forward();
      }
      if (at::GradMode::is_enabled()) reducer().rebuild_buckets();
    });
  }

  /// Before loss.backward() of a step whose gradients are averaged. With
  /// find_unused_parameters the graph behind loss is searched for
  /// parameters that get no gradient this step.
  void prepare_for_backward(const torch::Tensor& loss) {
    std::vector<at::Tensor> outputs;
    if (find_unused_) outputs.push_back(loss);
    guard("prepare_for_backward", [&] { reducer().prepare_for_backward(outputs); });
  }

  /// Optional, after a synced backward: throws now what prepare_for_forward
  /// would throw next step (useful on the last step).
  void check_reduction_finished() {
    guard("check_reduction_finished", [&] { reducer().ensure_finished(); });
  }

  /// 1 until the first rebuild when find_unused_parameters is false.
  std::size_t bucket_count() const { return reducer_ ? reducer_->bucket_count() : 0; }
  bool find_unused_parameters() const noexcept { return find_unused_; }

 private:
  detail_ddp_reducer::Reducer& reducer() {
    if (!reducer_) throw std::logic_error("GradientReducer: used after being moved from");
    return *reducer_;
  }

  // Torch's message without its C++ backtrace, naming the operation and rank.
  template <class F>
  void guard(const char* op, F&& f) {
    try {
      f();
    } catch (const std::logic_error&) {
      throw;
    } catch (const c10::Error& e) {
      throw std::runtime_error(where(op) + e.what_without_backtrace());
    } catch (const std::exception& e) {
      throw std::runtime_error(where(op) + e.what());
    }
  }
  std::string where(const char* op) const {
    return std::string("GradientReducer ") + op + " failed on rank " + std::to_string(pg_->getRank()) + " of " +
           std::to_string(pg_->getSize()) + ": ";
  }

  c10::intrusive_ptr<::c10d::ProcessGroup> pg_;
  bool find_unused_ = false;
  std::shared_ptr<detail_ddp_reducer::Reducer> reducer_;
  std::shared_ptr<::c10d::Logger> logger_;
};

}  // namespace lightning::strategy

#endif  // LIGHTNING_HAVE_C10D
