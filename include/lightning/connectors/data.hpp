#pragma once
// Data for the loops: a datamodule's prepare_data / setup / teardown in
// Lightning's order, each loader's share on this rank, and how many batches
// a loop runs (lengths and the limit_*_batches options).
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "../data/datamodule.hpp"
#include "../data/distributed.hpp"
#include "../data/loader.hpp"
#include "../hooks.hpp"
#include "../log_options.hpp"
#include "../stage.hpp"
#include "../trainer_options.hpp"

namespace lightning::connectors {

/// fit/validate/test/predict called with loaders, not a datamodule.
struct NoDataModule {};

template <class T>
class Data {
 public:
  explicit Data(T& t) : t_(t) {}

  /// Lightning's order: prepare_data (the datamodule's, then the module's)
  /// on local rank 0 of each node (global rank 0 with `prepare_data_per_node
  /// = false`), everyone waits for it, then the datamodule's setup on every rank.
  template <class DM = NoDataModule>
  void prepare(Stage stage, DM* dm = nullptr) {
    constexpr bool module_prepares = requires { t_.model_->prepare_data(); };
    constexpr bool dm_prepares = requires { dm->prepare_data(); };
    if constexpr (module_prepares || dm_prepares) {
      bool per_node = true;
      if constexpr (requires { bool(dm->prepare_data_per_node); }) per_node = dm->prepare_data_per_node;
      if (per_node ? t_.strategy_.local_rank() == 0 : t_.strategy_.is_global_zero()) {
        t_.enter(lightning::detail::Fx::prepare_data);  // log() there is refused, as in Lightning
        if constexpr (dm_prepares) dm->prepare_data();
        if constexpr (module_prepares) t_.model_->prepare_data();
      }
      t_.strategy_.barrier();
    }
    if constexpr (requires { dm->setup(stage); }) dm->setup(stage);
  }

  template <class DM>
  static void teardown(DM& dm, Stage stage) {
    data::detail::teardown(dm, stage);
  }

  /// What a loop walks on this rank: the loader itself with one process;
  /// with several, its shard (`even`: the same count on every rank, for
  /// training; otherwise every sample exactly once, for evaluation).
  template <class L>
  decltype(auto) shard(L& loader, bool even) {
    auto& source = data::iterable(loader);
    using S = std::remove_cvref_t<decltype(source)>;
    if constexpr (!T::is_distributed) {
      return (source);
    } else if constexpr (data::SelfSharding<S>) {
      source.set_shard(t_.strategy_.global_rank(), t_.strategy_.world_size(), even);
      return (source);
    } else if constexpr (data::ShardedBySampler<S>) {
      return (source);
    } else {
      return data::Strided<S>(source, t_.strategy_.global_rank(), t_.strategy_.world_size(), even, data::length(loader));
    }
  }
  template <class L>
  std::optional<int64_t> shard_length(L& loader, bool even) {
    decltype(auto) s = shard(loader, even);
    return data::length(s);
  }

  /// Every rank needs a batch if any has one: an empty shard (fewer batches
  /// or samples than ranks) would leave the others waiting in a collective.
  void check_shards(const std::optional<int64_t>& len, const char* what) {
    if (t_.strategy_.world_size() == 1 || !len) return;  // unknown lengths are agreed batch by batch
    const auto m = t_.strategy_.reduce(torch::tensor({*len, -*len}, torch::kLong), Reduce::min);
    const int64_t fewest = m[0].template item<int64_t>(), most = -m[1].template item<int64_t>();
    if (fewest == 0 && most > 0)
      throw std::invalid_argument(std::string("lightning: the ") + what + " data gives rank(s) no batch under DDP (" +
                                  std::to_string(t_.strategy_.world_size()) + " ranks, at most " + std::to_string(most) +
                                  " batch(es) per rank): every rank needs at least one; use more samples than "
                                  "ranks or fewer ranks");
  }

  /// Batches a loop runs: the loader's length under `limit` (a count or a fraction).
  int64_t num_batches(std::optional<int64_t> len, const BatchCount& limit, const char* name) const {
    if (limit.is_count()) return len ? std::min(*len, limit.count()) : limit.count();
    const double f = limit.fraction();
    if (len && *len == 0) return 0;  // an empty loader: fit says "No training batches"
    if (!len) {
      if (f == 1.0) return lightning::detail::kUnbounded;
      throw std::invalid_argument(std::string(name) + " = " + std::to_string(f) +
                                  " is a fraction, but the loader has no length: pass a batch count instead");
    }
    const auto n = static_cast<int64_t>(static_cast<double>(*len) * f);
    if (f > 0.0 && n == 0)
      throw std::invalid_argument("You requested to check " + std::to_string(f) + " of the loader but " +
                                  std::to_string(f) + " * " + std::to_string(*len) + " < 1. Please increase the `" +
                                  name + "` argument. Try at least `" + name + "=" +
                                  std::to_string(1.0 / static_cast<double>(*len)) + "`");
    return n;
  }

 private:
  T& t_;
};

}  // namespace lightning::connectors
