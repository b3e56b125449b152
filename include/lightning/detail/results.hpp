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

  bool same_options(const ResultEntry& o) const noexcept {
    return on_step == o.on_step && on_epoch == o.on_epoch && prog_bar == o.prog_bar &&
           logger == o.logger && reduce == o.reduce && sync_dist == o.sync_dist;
  }

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
    ResultEntry& e = entry(fx, call_id, name, opts);
    if (e.metric) {
      throw std::invalid_argument("lightning: `" + e.name +
                                  "` was logged as a metric object before; log a tensor under another name");
    }
    auto v = value.detach();
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
  void publish_step(MetricMaps& maps) {
    for (auto& e : entries_) {
      if (!e.step_fresh) continue;
      e.step_fresh = false;
      maps.callback[e.name] = e.step_value;
      maps.put(e, e.on_epoch ? e.name + "_step" : e.name, e.step_value);
    }
  }

  /// Epoch values go to the maps, after any step values still pending.
  void publish_epoch(MetricMaps& maps) {
    publish_step(maps);
    for (auto& e : entries_) {
      if (!e.on_epoch) continue;
      if (!e.metric && !e.cumulated.defined()) continue;
      // Published again at the train epoch's end: reduce only what changed since.
      auto v = sync_ && !e.metric && e.epoch_cache.defined() ? e.epoch_cache : synced_epoch_value(e).detach();
      e.epoch_cache = v;
      maps.callback[e.name] = v;
      maps.put(e, e.on_step ? e.name + "_epoch" : e.name, v);
    }
  }

  /// Epoch values keyed as loggers see them (`name`, or `name_epoch`).
  std::map<std::string, torch::Tensor> epoch_values(bool logger_only) const {
    std::map<std::string, torch::Tensor> out;
    for (auto& e : entries_)
      if (e.on_epoch && (e.metric || e.cumulated.defined()) && (e.logger || !logger_only))
        out[e.on_step ? e.name + "_epoch" : e.name] = e.epoch_cache.defined() ? e.epoch_cache : e.epoch_value();
    return out;
  }

  void reset() {
    for (auto& e : entries_)
      if (e.metric_reset) e.metric_reset(e.metric);
    entries_.clear();
  }

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
  checkpoint::Dict state_dict() const {
    checkpoint::List list = checkpoint::make_list();
    for (const auto& e : entries_) {
      if (e.metric) continue;
      auto d = checkpoint::make_dict();
      d.insert("name", e.name);
      d.insert("fx", static_cast<int64_t>(e.fx));
      d.insert("on_step", e.on_step);
      d.insert("on_epoch", e.on_epoch);
      d.insert("prog_bar", e.prog_bar);
      d.insert("logger", e.logger);
      d.insert("reduce", static_cast<int64_t>(e.reduce));
      d.insert("sync_dist", e.sync_dist);
      d.insert("step_fresh", e.step_fresh);
      d.insert("step_value", e.step_value.defined() ? c10::IValue(e.step_value) : c10::IValue());
      d.insert("cumulated", e.cumulated.defined() ? c10::IValue(e.cumulated) : c10::IValue());
      d.insert("cumulated_batch_size", e.cumulated_batch_size);
      list.push_back(d);
    }
    auto out = checkpoint::make_dict();
    out.insert("entries", list);
    return out;
  }

  /// Reads state_dict()'s output, checking every value (hook ids and
  /// reductions in range, values scalars), before replacing anything.
  void load_state_dict(const checkpoint::Dict& sd) {
    using checkpoint::get;
    std::vector<ResultEntry> entries;
    for (const c10::IValue& v : get<checkpoint::List>(sd, "entries", "results")) {
      if (!v.isGenericDict()) throw CheckpointError("lightning: checkpoint: results entries should be dicts");
      const auto d = v.toGenericDict();
      const char* w = "a results entry";
      ResultEntry e;
      e.name = get<std::string>(d, "name", w);
      const int64_t fx = get<int64_t>(d, "fx", w), reduce = get<int64_t>(d, "reduce", w);
      if (!is_fx(fx) || reduce < 0 || reduce > static_cast<int64_t>(Reduce::min))
        throw CheckpointError("lightning: checkpoint: the results entry '" + e.name + "' names hook " +
                              std::to_string(fx) + " and reduction " + std::to_string(reduce) + ", out of range");
      e.fx = static_cast<Fx>(fx);
      e.reduce = static_cast<Reduce>(reduce);
      e.on_step = get<bool>(d, "on_step", w);
      e.on_epoch = get<bool>(d, "on_epoch", w);
      e.prog_bar = get<bool>(d, "prog_bar", w);
      e.logger = get<bool>(d, "logger", w);
      e.sync_dist = get<bool>(d, "sync_dist", w);
      e.step_fresh = get<bool>(d, "step_fresh", w);
      e.step_value = checkpoint::get_or<torch::Tensor>(d, "step_value", w, {});
      e.cumulated = checkpoint::get_or<torch::Tensor>(d, "cumulated", w, {});
      e.cumulated_batch_size = get<int64_t>(d, "cumulated_batch_size", w);
      const auto scalar = [](const torch::Tensor& t) { return !t.defined() || t.numel() == 1; };
      if (!scalar(e.step_value) || !scalar(e.cumulated) || e.cumulated_batch_size < 0)
        throw CheckpointError("lightning: checkpoint: the results entry '" + e.name +
                              "' should hold scalar values and a batch count >= 0");
      entries.push_back(std::move(e));
    }
    reset();
    entries_ = std::move(entries);
  }
  const std::vector<ResultEntry>& entries() const noexcept { return entries_; }

 private:
  ResultEntry& entry(Fx fx, uint64_t call_id, std::string_view name, const LogOptions& opts) {
    auto rule = fx_log_rule(fx);
    if (!rule) throw std::logic_error("You can't `log()` inside `" + std::string(fx_name(fx)) + "`.");
    ResultEntry fresh;
    fresh.fx = fx;
    fresh.on_step = opts.on_step.value_or(rule->default_on_step);
    fresh.on_epoch = opts.on_epoch.value_or(rule->default_on_epoch);
    fresh.prog_bar = opts.prog_bar;
    fresh.logger = opts.logger;
    fresh.reduce = opts.reduce_fx;
    fresh.sync_dist = opts.sync_dist;
    if (fresh.on_step && !rule->step_allowed)
      throw std::logic_error("You can't log(" + std::string(name) + ", on_step=true) in `" + std::string(fx_name(fx)) +
                             "`, must be one of false.");
    if (!fresh.on_epoch && rule->epoch_forbidden_false)
      throw std::logic_error("You can't log(" + std::string(name) + ", on_epoch=false) in `" +
                             std::string(fx_name(fx)) + "`, must be one of true.");
    if (!fresh.on_step && !fresh.on_epoch)
      throw std::logic_error("log(" + std::string(name) + "): on_step and on_epoch are both false: nothing would be logged.");
    // Few keys per stage: a linear scan beats hashing and allocates nothing.
    for (auto& e : entries_) {
      if (e.name != name) continue;
      if (!e.same_options(fresh) && e.fx == fx && e.last_call == call_id)
        throw std::logic_error("You called `log(" + e.name + ", ...)` twice in `" + std::string(fx_name(fx)) +
                               "` with different arguments. This is not allowed.");
      if (!e.same_options(fresh)) {
        fresh.name = e.name;
        fresh.last_call = call_id;
        e = std::move(fresh);
        return e;
      }
      e.last_call = call_id;
      return e;
    }
    fresh.name = std::string(name);
    fresh.last_call = call_id;
    return entries_.emplace_back(std::move(fresh));
  }

  template <class BatchSizeFn>
  static void accumulate(ResultEntry& e, const torch::Tensor& v, const LogOptions& opts, BatchSizeFn& batch_size) {
    auto x = v.numel() == 1 ? v.reshape({}) : v.mean();
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
  torch::Tensor synced_epoch_value(const ResultEntry& e) const {
    if (e.metric) return sync_ && e.metric_compute_synced ? e.metric_compute_synced(e.metric, sync_) : e.epoch_value();
    if (!e.sync_dist || !sync_) return e.epoch_value();
    if (e.reduce == Reduce::mean) {
      auto both = torch::stack({e.cumulated.to(torch::kDouble),
                                torch::tensor(static_cast<double>(e.cumulated_batch_size), torch::kDouble)});
      auto s = sync_(both, Reduce::sum);
      return (s[0] / s[1]).to(torch::kFloat);
    }
    return sync_(e.cumulated, e.reduce);
  }

  std::vector<ResultEntry> entries_;
  SyncFn sync_{};
  bool sync_steps_ = false;
};

}  // namespace lightning::detail
