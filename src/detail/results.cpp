// What log() collects (see detail/results.hpp).
#include "lightning/detail/results.hpp"

#include <sstream>

namespace lightning::detail {

void ResultCollection::publish_step(MetricMaps& maps) {
  for (auto& e : entries_) {
    if (!e.step_fresh) continue;
    e.step_fresh = false;
    maps.callback[e.name] = e.step_value;
    maps.put(e, e.on_epoch ? e.name + "_step" : e.name, e.step_value);
  }
}

void ResultCollection::publish_epoch(MetricMaps& maps) {
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

std::map<std::string, torch::Tensor> ResultCollection::epoch_values(bool logger_only) const {
  std::map<std::string, torch::Tensor> out;
  for (auto& e : entries_)
    if (e.on_epoch && (e.metric || e.cumulated.defined()) && (e.logger || !logger_only))
      out[e.on_step ? e.name + "_epoch" : e.name] = e.epoch_cache.defined() ? e.epoch_cache : e.epoch_value();
  return out;
}

void ResultCollection::reset() {
  for (auto& e : entries_)
    if (e.metric_reset) e.metric_reset(e.metric);
  entries_.clear();
}

checkpoint::Dict ResultCollection::state_dict() const {
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

void ResultCollection::load_state_dict(const checkpoint::Dict& sd) {
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

void ResultCollection::throw_not_scalar(std::string_view name, const torch::Tensor& value) {
  std::ostringstream shape;
  shape << value.sizes();
  const std::string n(name);
  throw std::invalid_argument("`log(\"" + n + "\", tensor of shape " + shape.str() +
                              ")` was called, but the tensor must have a single element. You can try doing `log(\"" +
                              n + "\", value.mean())`");
}

ResultEntry& ResultCollection::entry(Fx fx, uint64_t call_id, std::string_view name, const LogOptions& opts) {
  auto rule = fx_log_rule(fx);
  if (!rule) throw std::logic_error("You can't `log()` inside `" + std::string(fx_name(fx)) + "`.");
  const bool on_step = opts.on_step.value_or(rule->default_on_step);
  const bool on_epoch = opts.on_epoch.value_or(rule->default_on_epoch);
  if (on_step && !rule->step_allowed)
    throw std::logic_error("You can't log(" + std::string(name) + ", on_step=true) in `" + std::string(fx_name(fx)) +
                           "`, must be one of false.");
  if (!on_epoch && rule->epoch_forbidden_false)
    throw std::logic_error("You can't log(" + std::string(name) + ", on_epoch=false) in `" + std::string(fx_name(fx)) +
                           "`, must be one of true.");
  if (!on_step && !on_epoch)
    throw std::logic_error("log(" + std::string(name) +
                           "): on_step and on_epoch are both false: nothing would be logged.");
  // A key logged again with the same options (every step does) builds nothing.
  auto same_options = [&](const ResultEntry& e) {
    return e.on_step == on_step && e.on_epoch == on_epoch && e.prog_bar == opts.prog_bar && e.logger == opts.logger &&
           e.reduce == opts.reduce_fx && e.sync_dist == opts.sync_dist;
  };
  auto fresh = [&](std::string key) {
    ResultEntry e;
    e.name = std::move(key);
    e.fx = fx;
    e.on_step = on_step;
    e.on_epoch = on_epoch;
    e.prog_bar = opts.prog_bar;
    e.logger = opts.logger;
    e.reduce = opts.reduce_fx;
    e.sync_dist = opts.sync_dist;
    e.last_call = call_id;
    return e;
  };
  // Few keys per stage: a linear scan beats hashing and allocates nothing.
  for (auto& e : entries_) {
    if (e.name != name) continue;
    if (same_options(e)) {
      e.last_call = call_id;
      return e;
    }
    if (e.fx == fx && e.last_call == call_id)
      throw std::logic_error("You called `log(" + e.name + ", ...)` twice in `" + std::string(fx_name(fx)) +
                             "` with different arguments. This is not allowed.");
    e = fresh(std::move(e.name));
    return e;
  }
  return entries_.emplace_back(fresh(std::string(name)));
}

torch::Tensor ResultCollection::synced_epoch_value(const ResultEntry& e) const {
  if (e.metric) return sync_ && e.metric_compute_synced ? e.metric_compute_synced(e.metric, sync_) : e.epoch_value();
  if (!e.sync_dist || !sync_) return e.epoch_value();
  if (e.reduce == Reduce::mean) {
    auto both = torch::stack(
        {e.cumulated.to(torch::kDouble), torch::tensor(static_cast<double>(e.cumulated_batch_size), torch::kDouble)});
    auto s = sync_(both, Reduce::sum);
    return (s[0] / s[1]).to(torch::kFloat);
  }
  return sync_(e.cumulated, e.reduce);
}

}  // namespace lightning::detail
