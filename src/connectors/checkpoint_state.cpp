// Checkpoint dump and restore parts that do not depend on the Trainer's
// types (see connectors/detail/checkpoint_state.hpp).
#include "lightning/connectors/detail/checkpoint_state.hpp"

#include <iostream>
#include <string>
#include <utility>

#include "lightning/checkpoint/file.hpp"
#include "lightning/checkpoint/module_state.hpp"
#include "lightning/checkpoint/rng.hpp"

namespace lightning::connectors::detail {

namespace ck = checkpoint;
using Dict = checkpoint::Dict;

namespace {
/// The largest epoch or step count a checkpoint may claim (2^53: exact as a double).
constexpr int64_t kMaxCount = int64_t{1} << 53;

/// A generator state LibTorch's CPU generator accepts (it aborts on others).
void check_rng_state(const torch::Tensor& state, const char* where) {
  const auto current = ck::cpu_rng_state();
  if (state.scalar_type() != torch::kByte || state.dim() != 1 || state.numel() != current.numel())
    throw CheckpointError(std::string("lightning_cpp.") + where + " should be a uint8 tensor of " +
                          std::to_string(current.numel()) + " bytes (the CPU generator's state)");
}

void stage_position(const Dict& fs, const Dict& meta, int64_t world_size, StagedLoop& s) {
  const char* w = "lightning_cpp.fit_state";
  const int64_t phase = ck::get<int64_t>(fs, "phase", w);
  if (!loops::is_loop_phase(phase))
    throw CheckpointError("'phase' in " + std::string(w) + " is " + std::to_string(phase) + "; expected 0 to 5");
  auto& at = s.resume.position;
  at.phase = static_cast<loops::LoopPhase>(phase);
  at.batch_idx = ck::get<int64_t>(fs, "batch_idx", w);
  at.is_last = ck::get<bool>(fs, "is_last", w);
  at.stepped = ck::get<bool>(fs, "stepped", w);
  s.total_batch_idx = ck::get<int64_t>(fs, "total_batch_idx", w);
  s.should_stop = ck::get<bool>(fs, "should_stop", w);
  if (at.batch_idx < 0 || at.batch_idx > kMaxCount || s.total_batch_idx < 0 || s.total_batch_idx > kMaxCount)
    throw CheckpointError("'batch_idx' and 'total_batch_idx' in " + std::string(w) + " must be counts from 0 to 2^53");
  // Mid-epoch, the batches already seen depend on how the data was sharded.
  if (const auto ws = ck::get_or<int64_t>(meta, "world_size", ck::kMetaKey, 1);
      ws != world_size && loops::mid_epoch(at.phase))
    throw CheckpointError("the checkpoint was saved mid-epoch by " + std::to_string(ws) +
                          " process(es); resuming it with " + std::to_string(world_size) +
                          " would replay a different split of the epoch. Resume with the "
                          "same devices * num_nodes, or from a checkpoint saved at an epoch's end");
  s.resume.epoch_start_rng = ck::get_or<torch::Tensor>(fs, "epoch_start_rng", w, {});
  if (s.resume.epoch_start_rng.defined()) check_rng_state(s.resume.epoch_start_rng, "fit_state.epoch_start_rng");
  s.resume.rng = ck::get<Dict>(meta, "rng_states", ck::kMetaKey);
  check_rng_state(ck::get<torch::Tensor>(s.resume.rng, "torch", "rng_states"), "rng_states.torch");
  (void)ck::get<int64_t>(s.resume.rng, "lightning_seed", "rng_states");
  (void)ck::get<ck::List>(s.resume.rng, "torch.cuda", "rng_states");
}

std::vector<torch::Tensor> stage_grads(const Dict& meta, const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> out;
  if (!ck::contains(meta, "accumulated_grads")) return out;
  const auto grads = ck::get<ck::List>(meta, "accumulated_grads", ck::kMetaKey);
  if (grads.size() != params.size())
    throw CheckpointError("accumulated_grads has " + std::to_string(grads.size()) + " entries, the module has " +
                          std::to_string(params.size()) + " parameters");
  for (std::size_t i = 0; i < params.size(); ++i) {
    const c10::IValue g = grads.get(i);
    if (g.isNone()) {
      out.emplace_back();
      continue;
    }
    if (!g.isTensor() || g.toTensor().sizes() != params[i].sizes())
      throw CheckpointError("accumulated_grads[" + std::to_string(i) + "] should be None or a tensor of shape " +
                            lightning::detail::shape_str(params[i].sizes()));
    out.push_back(g.toTensor());
  }
  return out;
}
}  // namespace

namespace {
/// Lightning's trackers, in its field order: ready, completed[, started[, processed]].
Dict tracker(int64_t ready, int64_t completed, int64_t started = -1, int64_t processed = -1) {
  auto d = ck::make_dict();
  d.insert("ready", ready);
  d.insert("completed", completed);
  if (started >= 0) d.insert("started", started);
  if (processed >= 0) d.insert("processed", processed);
  return d;
}
Dict progress(Dict total, Dict current) {
  auto d = ck::make_dict();
  d.insert("total", std::move(total));
  d.insert("current", std::move(current));
  return d;
}
/// A tracker that is `base` plus 1 in its first `ahead` counters (ready,
/// started, processed, completed: the order Lightning advances them).
Dict advanced(int64_t base, int ahead) {
  return tracker(base + (ahead >= 1), base + (ahead >= 4), base + (ahead >= 2), base + (ahead >= 3));
}
Dict evaluation_loop(bool with_last) {
  auto d = ck::make_dict();
  d.insert("state_dict", ck::make_dict());
  auto bp = progress(tracker(0, 0, 0, 0), tracker(0, 0, 0, 0));
  if (with_last) bp.insert("is_last_batch", false);
  d.insert("batch_progress", bp);
  return d;
}
}  // namespace

Dict loops_state_dict(const lightning::detail::LoopProgress& p, const loops::TrainingEpochState& state, bool automatic) {
  using loops::LoopPhase;
  const auto& at = state.position;
  const auto& c = state.counters;
  // How far Lightning's trackers have gone in the current epoch and batch
  // when a checkpoint is taken at this point (0: not begun, 1: ready,
  // 2: started, 3: processed, 4: completed).
  int epoch_ahead = 0, batch_ahead = 4;
  switch (at.phase) {
    case LoopPhase::idle: epoch_ahead = 0; break;                // before or after fit
    case LoopPhase::epoch_start: epoch_ahead = 1; break;         // on_train_epoch_start
    case LoopPhase::in_batch: epoch_ahead = 2, batch_ahead = 2; break;  // training_step
    case LoopPhase::after_batch: epoch_ahead = 2, batch_ahead = 3; break;  // on_train_batch_end
    case LoopPhase::in_validation: epoch_ahead = 2, batch_ahead = 4; break;
    case LoopPhase::epoch_end: epoch_ahead = 3; break;           // on_train_epoch_end
  }
  const bool in_batch = at.phase == LoopPhase::in_batch || at.phase == LoopPhase::after_batch ||
                        at.phase == LoopPhase::in_validation;
  // The batch being run is not counted yet in the finished counts.
  const auto batches = [&](int64_t finished) { return advanced(finished, in_batch ? batch_ahead : 0); };
  const int64_t epoch_batches = at.phase == LoopPhase::epoch_start ? 0 : c.epoch_batches;

  auto fit = ck::make_dict();
  fit.insert("state_dict", ck::make_dict());
  // Lightning increments this after on_train_batch_end and validation.
  int64_t stepped_batches = automatic ? p.global_step : state.total_batch_idx;
  if (automatic && in_batch && at.phase != LoopPhase::in_batch && at.stepped) --stepped_batches;
  auto epoch_loop = ck::make_dict();
  epoch_loop.insert("_batches_that_stepped", stepped_batches);
  fit.insert("epoch_loop.state_dict", epoch_loop);
  auto bp = progress(batches(state.total_batch_idx), batches(epoch_batches));
  bp.insert("is_last_batch", in_batch ? at.is_last : (at.phase == LoopPhase::epoch_start ? false : c.last_batch));
  fit.insert("epoch_loop.batch_progress", bp);
  const int64_t sched_epoch = at.phase == LoopPhase::epoch_start ? 0 : c.schedulers_epoch;
  fit.insert("epoch_loop.scheduler_progress",
             progress(tracker(c.schedulers_total, c.schedulers_total), tracker(sched_epoch, sched_epoch)));
  const int64_t steps = p.global_step;
  const int64_t epoch_steps = at.phase == LoopPhase::epoch_start ? 0 : p.global_step - c.epoch_start_step;
  const int64_t auto_total = automatic ? steps : 0, auto_epoch = automatic ? epoch_steps : 0;
  fit.insert("epoch_loop.automatic_optimization.state_dict", ck::make_dict());
  auto optimizer = ck::make_dict();
  optimizer.insert("step", progress(tracker(auto_total, auto_total), tracker(auto_epoch, auto_epoch)));
  optimizer.insert("zero_grad", progress(tracker(auto_total, auto_total, auto_total), tracker(auto_epoch, auto_epoch, auto_epoch)));
  auto optim = ck::make_dict();
  optim.insert("optimizer", optimizer);
  fit.insert("epoch_loop.automatic_optimization.optim_progress", optim);
  fit.insert("epoch_loop.manual_optimization.state_dict", ck::make_dict());
  const int64_t manual_total = automatic ? 0 : steps, manual_epoch = automatic ? 0 : epoch_steps;
  fit.insert("epoch_loop.manual_optimization.optim_step_progress",
             progress(tracker(manual_total, manual_total), tracker(manual_epoch, manual_epoch)));
  fit.insert("epoch_loop.val_loop.state_dict", ck::make_dict());
  // Validation's total counts this epoch's batches (Lightning resets it when an epoch starts).
  const int64_t val_epoch = at.phase == LoopPhase::epoch_start ? 0 : c.val_epoch;
  auto vp = progress(advanced(val_epoch, 0), advanced(c.val_run, 0));
  vp.insert("is_last_batch", c.val_ran);
  fit.insert("epoch_loop.val_loop.batch_progress", vp);
  fit.insert("epoch_progress", progress(advanced(p.current_epoch, epoch_ahead), advanced(p.current_epoch, epoch_ahead)));
  auto loops = ck::make_dict();
  loops.insert("fit_loop", fit);
  loops.insert("validate_loop", evaluation_loop(true));
  loops.insert("test_loop", evaluation_loop(true));
  loops.insert("predict_loop", evaluation_loop(false));
  return loops;
}

Dict fit_state_dict(const loops::TrainingEpochState& state, bool should_stop) {
  auto d = ck::make_dict();
  d.insert("phase", static_cast<int64_t>(state.position.phase));
  d.insert("batch_idx", state.position.batch_idx);
  d.insert("is_last", state.position.is_last);
  d.insert("stepped", state.position.stepped);
  d.insert("total_batch_idx", state.total_batch_idx);
  d.insert("should_stop", should_stop);
  d.insert("epoch_start_rng", state.epoch_start_rng.defined() ? c10::IValue(state.epoch_start_rng) : c10::IValue());
  return d;
}

Dict metric_maps_state_dict(const lightning::detail::MetricMaps& maps) {
  auto out = ck::make_dict();
  auto put = [&](const char* key, const std::map<std::string, torch::Tensor>& m) {
    auto d = ck::make_dict();
    for (const auto& [k, v] : m) d.insert(k, v);
    out.insert(key, d);
  };
  put("callback", maps.callback);
  put("logged", maps.logged);
  put("progress", maps.progress);
  return out;
}

std::filesystem::path find_last_checkpoint(const std::filesystem::path& root) {
  std::filesystem::path newest;
  std::filesystem::file_time_type newest_time{};
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    const auto& f = it->path();
    if (it.depth() > 3 || f.extension() != ".ckpt" || !f.filename().string().starts_with("last")) continue;
    if (f.parent_path().filename() != "checkpoints") continue;
    const auto time = std::filesystem::last_write_time(f, ec);
    if (newest.empty() || time > newest_time) newest = f, newest_time = time;
  }
  if (newest.empty())
    std::cerr << "lightning: fit(..., {.ckpt_path = \"last\"}) is set, but there is no last checkpoint available. "
                 "No checkpoint will be loaded.\n";
  return newest;
}

Dict resumable_meta(const Dict& ckpt) {
  if (!ck::contains(ckpt, ck::kMetaKey))
    throw CheckpointError("the checkpoint is not one lightning-cpp's Trainer wrote and verified (it has no '" +
                          std::string(ck::kMetaKey) +
                          "' entry, or no valid integrity record: a Lightning "
                          "checkpoint, or one edited or re-saved in Python): Model::load_from_checkpoint can take its "
                          "weights, but fit() cannot resume from it");
  const auto meta = ck::get<Dict>(ckpt, ck::kMetaKey, "the checkpoint");
  if (ck::get_or<bool>(meta, "weights_only", ck::kMetaKey, false))
    throw CheckpointError(
        "the checkpoint was saved with save_weights_only: it holds the weights but no optimizer, "
        "scheduler or loop state, so fit() cannot resume from it; use Model::load_from_checkpoint "
        "for the weights");
  return meta;
}

StagedLoop stage_loop(const Dict& ckpt, const Dict& meta, int64_t world_size,
                      const std::vector<torch::Tensor>& parameters, bool automatic) {
  StagedLoop s;
  s.epoch = ck::get<int64_t>(ckpt, "epoch", "the checkpoint");
  s.global_step = ck::get<int64_t>(ckpt, "global_step", "the checkpoint");
  if (s.epoch < 0 || s.epoch > kMaxCount || s.global_step < 0 || s.global_step > kMaxCount)
    throw CheckpointError("'epoch' (" + std::to_string(s.epoch) + ") and 'global_step' (" +
                          std::to_string(s.global_step) + ") must be counts from 0 to 2^53");
  stage_position(ck::get<Dict>(meta, "fit_state", ck::kMetaKey), meta, world_size, s);
  s.results.load_state_dict(ck::get<Dict>(meta, "results", ck::kMetaKey));  // a fresh collection: nothing reset yet
  const auto metrics = ck::get<Dict>(meta, "metrics", ck::kMetaKey);
  for (const auto& [key, map] : {std::pair{"callback", &s.metrics.callback}, std::pair{"logged", &s.metrics.logged},
                                 std::pair{"progress", &s.metrics.progress}})
    for (const auto& e : ck::get<Dict>(metrics, key, "lightning_cpp.metrics")) {
      if (!e.key().isString() || !e.value().isTensor())
        throw CheckpointError("lightning_cpp.metrics." + std::string(key) + " should map names to tensors");
      (*map)[e.key().toStringRef()] = e.value().toTensor();
    }
  s.grads = stage_grads(meta, parameters);
  stage_counters(ckpt, automatic, s);
  return s;
}

namespace {
/// A count in Lightning's progress dicts: an int from 0 to 2^53.
int64_t count(const Dict& d, const char* key, const std::string& where) {
  const int64_t v = ck::get<int64_t>(d, key, where);
  if (v < 0 || v > kMaxCount)
    throw CheckpointError("'" + std::string(key) + "' in " + where + " is " + std::to_string(v) +
                          "; expected a count from 0 to 2^53");
  return v;
}
struct Tracker {
  int64_t ready = 0, started = 0, processed = 0, completed = 0;
};
Tracker tracker_of(const Dict& progress, const char* which, const std::string& where, bool started = true,
                   bool processed = true) {
  const std::string w = where + "." + which;
  const auto d = ck::get<Dict>(progress, which, where);
  Tracker t;
  t.ready = count(d, "ready", w);
  t.completed = count(d, "completed", w);
  t.started = started ? count(d, "started", w) : t.completed;
  t.processed = processed ? count(d, "processed", w) : t.completed;
  if (t.completed > t.processed || t.processed > t.started || t.started > t.ready)
    throw CheckpointError(w + " has ready " + std::to_string(t.ready) + ", started " + std::to_string(t.started) +
                          ", processed " + std::to_string(t.processed) + ", completed " + std::to_string(t.completed) +
                          "; expected ready >= started >= processed >= completed");
  return t;
}
Dict fit_loop_of(const Dict& ckpt) {
  const auto loops = ck::get<Dict>(ckpt, "loops", "the checkpoint");
  return ck::get<Dict>(loops, "fit_loop", "loops");
}
}  // namespace

const char* const kForeignResumeWarning =
    "the checkpoint was not written by lightning-cpp (a Python Lightning checkpoint): the epoch, global_step, "
    "weights, optimizer, scheduler and callback states carry over, but not the random generators' states "
    "(Lightning stores none), nor the values logged so far in an unfinished epoch: dropout masks and shuffled "
    "orders from here on differ from those the interrupted run would have drawn";

void stage_counters(const Dict& ckpt, bool automatic, StagedLoop& s) {
  if (!ck::contains(ckpt, "loops")) return;
  const auto fit = fit_loop_of(ckpt);
  if (!ck::contains(fit, "epoch_loop.scheduler_progress")) return;  // an older file of this library
  const std::string w = "loops.fit_loop";
  auto& c = s.counters;
  const auto bp = ck::get<Dict>(fit, "epoch_loop.batch_progress", w);
  const Tracker bc = tracker_of(bp, "current", w + ".epoch_loop.batch_progress");
  c.last_batch = ck::get<bool>(bp, "is_last_batch", w + ".epoch_loop.batch_progress");
  const auto sp = ck::get<Dict>(fit, "epoch_loop.scheduler_progress", w);
  c.schedulers_total = tracker_of(sp, "total", w + ".epoch_loop.scheduler_progress", false, false).completed;
  c.schedulers_epoch = tracker_of(sp, "current", w + ".epoch_loop.scheduler_progress", false, false).completed;
  const char* steps_key = automatic ? "epoch_loop.automatic_optimization.optim_progress"
                                    : "epoch_loop.manual_optimization.optim_step_progress";
  Dict steps = ck::get<Dict>(fit, steps_key, w);
  if (automatic) steps = ck::get<Dict>(ck::get<Dict>(steps, "optimizer", w + "." + steps_key), "step", w + "." + steps_key);
  const int64_t epoch_steps = tracker_of(steps, "current", w + "." + steps_key, false, false).completed;
  c.epoch_start_step = std::max<int64_t>(0, s.global_step - epoch_steps);
  const auto vp = ck::get<Dict>(fit, "epoch_loop.val_loop.batch_progress", w);
  c.val_epoch = tracker_of(vp, "total", w + ".epoch_loop.val_loop.batch_progress").completed;
  c.val_run = tracker_of(vp, "current", w + ".epoch_loop.val_loop.batch_progress").completed;
  c.val_ran = ck::get<bool>(vp, "is_last_batch", w + ".epoch_loop.val_loop.batch_progress");
  // Batches finished before the one the position names (finish_batch counts that one).
  using loops::LoopPhase;
  const auto phase = s.resume.position.phase;
  c.epoch_batches = phase == LoopPhase::in_batch || phase == LoopPhase::after_batch || phase == LoopPhase::in_validation
                        ? s.resume.position.batch_idx
                        : bc.completed;
  s.has_counters = true;
}

StagedLoop stage_foreign_loop(const Dict& ckpt, bool automatic) {
  using loops::LoopPhase;
  StagedLoop s;
  s.global_step = ck::get<int64_t>(ckpt, "global_step", "the checkpoint");
  if (!ck::contains(ckpt, "loops") || !ck::contains(ckpt, "optimizer_states"))
    throw CheckpointError("the checkpoint has no 'loops' or 'optimizer_states' entry: it holds weights only "
                          "(ModelCheckpoint(save_weights_only=True)), so fit() cannot resume from it; use "
                          "Model::load_from_checkpoint for the weights");
  const auto fit = fit_loop_of(ckpt);
  const std::string w = "loops.fit_loop";
  const Tracker epoch = tracker_of(ck::get<Dict>(fit, "epoch_progress", w), "current", w + ".epoch_progress");
  const auto bp = ck::get<Dict>(fit, "epoch_loop.batch_progress", w);
  const Tracker batch = tracker_of(bp, "current", w + ".epoch_loop.batch_progress");
  const Tracker total = tracker_of(bp, "total", w + ".epoch_loop.batch_progress");
  const bool is_last = ck::get<bool>(bp, "is_last_batch", w + ".epoch_loop.batch_progress");
  // global_step as Lightning computes it: the optimizer steps counted in the loops.
  const char* steps_key = automatic ? "epoch_loop.automatic_optimization.optim_progress"
                                    : "epoch_loop.manual_optimization.optim_step_progress";
  Dict steps = ck::get<Dict>(fit, steps_key, w);
  if (automatic) steps = ck::get<Dict>(ck::get<Dict>(steps, "optimizer", w + "." + steps_key), "step", w + "." + steps_key);
  const int64_t step_total = tracker_of(steps, "total", w + "." + steps_key, false, false).completed;
  if (step_total != s.global_step)
    throw CheckpointError("'global_step' is " + std::to_string(s.global_step) + " but " + w + "." + steps_key +
                          " counts " + std::to_string(step_total) + " optimizer steps" +
                          (step_total == 0 ? " (was it written with " + std::string(automatic ? "manual" : "automatic") +
                                                 " optimization?)"
                                           : std::string()));
  const int64_t batches_stepped =
      ck::get<int64_t>(ck::get<Dict>(fit, "epoch_loop.state_dict", w), "_batches_that_stepped", w + ".epoch_loop.state_dict");
  auto& at = s.resume.position;
  // Lightning: an epoch whose counters agree has finished (`processed` is
  // counted before on_train_epoch_end, where checkpoints are saved).
  const bool epoch_done = epoch.ready == epoch.processed && epoch.started == epoch.processed;
  if (epoch_done || batch.ready == 0) {
    s.epoch = epoch_done ? epoch.processed : epoch.completed;
    at.phase = LoopPhase::idle;
    s.total_batch_idx = total.completed;
  } else {
    s.epoch = epoch.completed;
    if (batch.started > batch.processed) {  // inside training_step: that batch runs again
      at.phase = LoopPhase::in_batch;
      at.batch_idx = batch.processed;
      s.total_batch_idx = total.processed;
    } else if (batch.processed > batch.completed) {  // on_train_batch_end
      at.phase = LoopPhase::after_batch;
      at.batch_idx = batch.completed;
      s.total_batch_idx = total.completed;
      at.stepped = !automatic || batches_stepped < s.global_step;
    } else {  // validation after a batch (ModelCheckpoint's on_validation_end)
      at.phase = LoopPhase::in_validation;
      at.batch_idx = batch.completed - 1;
      s.total_batch_idx = total.completed > 0 ? total.completed - 1 : 0;
      at.stepped = true;
    }
    at.is_last = is_last;
  }
  if (s.epoch > kMaxCount || s.global_step < 0 || s.global_step > kMaxCount)
    throw CheckpointError("'global_step' (" + std::to_string(s.global_step) + ") must be a count from 0 to 2^53");
  stage_counters(ckpt, automatic, s);
  return s;
}

}  // namespace lightning::connectors::detail
