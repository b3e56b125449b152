#pragma once
// What `log()` collects during one stage's epoch, and how it becomes the
// step and epoch values that callbacks, the progress bar and loggers read.
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "../checkpoint/dict.hpp"
#include "../log_options.hpp"
#include "../metrics/metric.hpp"
#include "detached.hpp"
#include "fx.hpp"

namespace lightning::detail {

/// Reduction of a tensor across ranks (set by the Trainer under a distributed strategy).
struct SyncFn {
  void* ctx = nullptr;
  torch::Tensor (*fn)(void*, const torch::Tensor&, Reduce) = nullptr;
  explicit operator bool() const noexcept { return fn != nullptr; }
  torch::Tensor operator()(const torch::Tensor& t, Reduce r) const { return fn(ctx, t, r); }
};

/// One logged key with its resolved options and accumulated state. Values are
/// kept as tensors: nothing is read to the host here.
struct ResultEntry {
  std::string name;
  Fx fx = Fx::none;
  bool on_step = false, on_epoch = false, prog_bar = false, logger = true;
  Reduce reduce = Reduce::mean;
  bool sync_dist = false;
  uint64_t last_call = 0;      // the hook call that logged it last
  bool step_fresh = false;     // logged at the current step, not yet published
  torch::Tensor step_value;    // detached
  torch::Tensor cumulated;     // float32: sum(v * bs), or sum/max/min
  int64_t cumulated_batch_size = 0;
  // A metric object (torchmetrics-style): its epoch value is its own compute().
  void* metric = nullptr;
  torch::Tensor (*metric_compute)(void*) = nullptr;
  torch::Tensor (*metric_compute_synced)(void*, const SyncFn&) = nullptr;  // null: no tensor states
  void (*metric_reset)(void*) = nullptr;
  // The epoch value as last published (reduced across ranks if asked):
  // read again without another collective.
  torch::Tensor epoch_cache;

  torch::Tensor epoch_value() const {
    if (metric) return metric_compute(metric);
    if (reduce == Reduce::mean) return cumulated / static_cast<double>(cumulated_batch_size);
    return cumulated;
  }
};

/// Where a value for the maps of metrics goes.
struct MetricMaps {
  std::map<std::string, torch::Tensor> callback, logged, progress;

  void put(const ResultEntry& e, const std::string& key, const torch::Tensor& v) {
    callback[key] = v;
    if (e.logger) logged[key] = v;
    if (e.prog_bar) progress[key] = v;
  }
};

/// The results of one stage (training, or evaluation) for the current epoch.
class ResultCollection {
 public:
  /// Records one `log()` call. `batch_size` is called only if the epoch
  /// value needs it.
  template <class BatchSizeFn>
  ResultEntry& log(Fx fx, uint64_t call_id, std::string_view name, const torch::Tensor& value,
                   const LogOptions& opts, BatchSizeFn&& batch_size) {
    if (value.defined() && value.numel() != 1) throw_not_scalar(name, value);  // a shape check: no host sync
    ResultEntry& e = entry(fx, call_id, name, opts);
    if (e.metric) {
      throw std::invalid_argument("lightning: `" + e.name +
                                  "` was logged as a metric object before; log a tensor under another name");
    }
    auto v = detached(value);
    if (e.on_step) {
      // As Lightning, a synced step value is reduced at log() time with reduce_fx.
      e.step_value = e.sync_dist && sync_ && sync_steps_ ? sync_(v, e.reduce) : v;
      e.step_fresh = true;
    }
    if (e.on_epoch) {
      accumulate(e, v, opts, batch_size);
      e.epoch_cache = torch::Tensor();
    }
    return e;
  }

  template <class M>
  void log_metric(Fx fx, uint64_t call_id, std::string_view name, M& metric, const LogOptions& opts) {
    ResultEntry& e = entry(fx, call_id, name, opts);
    e.metric = &metric;
    e.metric_compute = [](void* m) { return static_cast<M*>(m)->compute(); };
    e.metric_reset = [](void* m) { static_cast<M*>(m)->reset(); };
    if constexpr (metrics::SyncableMetric<M>)
      e.metric_compute_synced = [](void* p, const SyncFn& sync) {
        // torchmetrics' sync-compute-unsync: reduce each state, compute, put the local states back.
        M& m = *static_cast<M*>(p);
        std::vector<torch::Tensor> local;
        m.for_each_state([&](torch::Tensor& st, auto how) {
          local.push_back(st);
          st = sync(st, how == metrics::Reduction::sum ? Reduce::sum
                        : how == metrics::Reduction::min ? Reduce::min
                                                          : Reduce::max);
        });
        torch::Tensor out = m.compute();
        std::size_t i = 0;
        m.for_each_state([&](torch::Tensor& st, auto) { st = local[i++]; });
        return out;
      };
    e.epoch_cache = torch::Tensor();
    if (e.on_step) {
      e.step_value = metric.compute().detach();
      e.step_fresh = true;
    }
  }

  /// Step values logged since the last call go to the maps.
  void publish_step(MetricMaps& maps);

  /// Epoch values go to the maps, after any step values still pending.
  void publish_epoch(MetricMaps& maps);

  /// Epoch values keyed as loggers see them (`name`, or `name_epoch`).
  std::map<std::string, torch::Tensor> epoch_values(bool logger_only) const;

  void reset();

  bool empty() const noexcept { return entries_.empty(); }

  /// Under a distributed strategy: how values are reduced across ranks.
  /// `steps`: step values of sync_dist keys too (not in evaluation, where
  /// ranks may run different numbers of batches).
  void set_sync(SyncFn sync, bool steps) noexcept {
    sync_ = sync;
    sync_steps_ = steps;
  }

  /// What a mid-epoch checkpoint needs to continue the epoch's values
  /// exactly. Metric objects keep their own state and are not included.
  checkpoint::Dict state_dict() const;

  /// Reads state_dict()'s output, checking every value (hook ids and
  /// reductions in range, values scalars), before replacing anything.
  void load_state_dict(const checkpoint::Dict& sd);
  const std::vector<ResultEntry>& entries() const noexcept { return entries_; }

 private:
  ResultEntry& entry(Fx fx, uint64_t call_id, std::string_view name, const LogOptions& opts);
  [[noreturn]] static void throw_not_scalar(std::string_view name, const torch::Tensor& value);

  template <class BatchSizeFn>
  static void accumulate(ResultEntry& e, const torch::Tensor& v, const LogOptions& opts, BatchSizeFn& batch_size) {
    auto x = v.reshape({});
    x = x.to(torch::kFloat);
    switch (e.reduce) {
      case Reduce::mean: {
        const int64_t bs = opts.batch_size ? *opts.batch_size : batch_size();
        auto w = x * static_cast<double>(bs);
        e.cumulated = e.cumulated.defined() ? e.cumulated + w : w;
        e.cumulated_batch_size += bs;
        break;
      }
      case Reduce::sum: e.cumulated = e.cumulated.defined() ? e.cumulated + x : x; break;
      case Reduce::max: e.cumulated = e.cumulated.defined() ? torch::maximum(e.cumulated, x) : x; break;
      case Reduce::min: e.cumulated = e.cumulated.defined() ? torch::minimum(e.cumulated, x) : x; break;
    }
  }

  /// The epoch value; across ranks for sync_dist keys (Lightning: mean is
  /// the sum of value * batch size over the sum of batch sizes, sum/max/min
  /// reduce with their op) and for metric objects with tensor states (always,
  /// as torchmetrics). Every rank must publish the same keys in the same order.
  torch::Tensor synced_epoch_value(const ResultEntry& e) const;

  std::vector<ResultEntry> entries_;
  SyncFn sync_{};
  bool sync_steps_ = false;
};

}  // namespace lightning::detail
