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

Dict loops_state_dict(const lightning::detail::LoopProgress& p, const loops::TrainingEpochState& state) {
  auto counts = [](int64_t n) {
    auto d = ck::make_dict();
    for (const char* k : {"ready", "started", "processed", "completed"}) d.insert(k, n);
    return d;
  };
  auto progress = [&](int64_t total, int64_t current) {
    auto d = ck::make_dict();
    d.insert("total", counts(total));
    d.insert("current", counts(current));
    return d;
  };
  auto fit = ck::make_dict();
  fit.insert("state_dict", ck::make_dict());
  fit.insert("epoch_progress", progress(p.current_epoch, p.current_epoch));
  auto batches =
      progress(state.total_batch_idx, state.position.phase == loops::LoopPhase::idle ? 0 : state.position.batch_idx);
  batches.insert("is_last_batch", state.position.is_last);
  fit.insert("epoch_loop.batch_progress", batches);
  auto epoch_loop = ck::make_dict();
  epoch_loop.insert("_batches_that_stepped", p.global_step);
  fit.insert("epoch_loop.state_dict", epoch_loop);
  auto loops = ck::make_dict();
  loops.insert("fit_loop", fit);
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
                      const std::vector<torch::Tensor>& parameters) {
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
  return s;
}

}  // namespace lightning::connectors::detail
