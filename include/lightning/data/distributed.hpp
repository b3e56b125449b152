#pragma once
// Sharding a loader across ranks. Loaders that know their samples shard
// themselves (`set_shard`, as TensorLoader); any other iterable (LibTorch's
// data loaders) is walked in step on every rank, each rank keeping every
// world-th batch: shards are disjoint as long as every rank draws the same
// order (seed_everything), at the cost of loading the skipped batches.
#include <torch/torch.h>

#include <torch/data/dataloader/stateless.h>
#include <torch/data/samplers/distributed.h>

#include <cstdint>
#include <iterator>
#include <optional>
#include <type_traits>
#include <utility>

namespace lightning::data {

template <class L>
concept SelfSharding = requires(L& l, int64_t r, bool even) { l.set_shard(r, r, even); };

/// A LibTorch loader whose sampler is a torch DistributedSampler
/// (DistributedRandomSampler, DistributedSequentialSampler): the user already
/// gave each rank its part, so it is walked as it is.
template <class L>
struct sharded_by_sampler : std::false_type {};
template <class D, class S>
struct sharded_by_sampler<torch::data::StatelessDataLoader<D, S>>
    : std::bool_constant<std::is_base_of_v<torch::data::samplers::DistributedSampler<>, S>> {};
template <class L>
concept ShardedBySampler = sharded_by_sampler<L>::value;

/// Batches rank, rank + world, rank + 2 world, ... of an iterable. With
/// `even` (training) every rank gets floor(total / world) batches, so all
/// ranks step equally often; without it (evaluation) every batch is seen once.
template <class R>
class Strided {
 public:
  Strided(R& r, int64_t rank, int64_t world, bool even, std::optional<int64_t> total)
      : r_(&r), rank_(rank), world_(world) {
    if (total) per_rank_ = even ? *total / world : *total / world + (rank < *total % world ? 1 : 0);
  }

  /// Batches this rank gets, when the underlying length is known.
  std::optional<int64_t> shard_size() const noexcept { return per_rank_; }

  class iterator {
   public:
    using inner = decltype(std::begin(std::declval<R&>()));
    using sentinel = decltype(std::end(std::declval<R&>()));
    iterator() = default;
    iterator(inner it, sentinel end, int64_t world, int64_t left)
        : it_(std::move(it)), end_(std::move(end)), world_(world), left_(left) {}
    decltype(auto) operator*() const { return **it_; }
    iterator& operator++() {
      --left_;
      for (int64_t i = 0; i < world_ && !(*it_ == *end_); ++i) ++*it_;
      return *this;
    }
    /// The end iterator has no position; any iterator past its shard equals it.
    bool done() const { return !it_ || left_ == 0 || *it_ == *end_; }
    bool operator==(const iterator& o) const { return done() == o.done(); }

   private:
    // mutable: LibTorch's iterators have non-const operator* and ==.
    mutable std::optional<inner> it_;
    mutable std::optional<sentinel> end_;
    int64_t world_ = 1, left_ = -1;
  };

  iterator begin() {
    auto it = std::begin(*r_);
    auto end = std::end(*r_);
    for (int64_t i = 0; i < rank_ && !(it == end); ++i) ++it;
    return iterator(std::move(it), std::move(end), world_, per_rank_.value_or(-1));
  }
  /// Does not touch the underlying loader (a LibTorch loader's begin() starts an epoch).
  iterator end() const { return iterator(); }

 private:
  R* r_;
  int64_t rank_, world_;
  std::optional<int64_t> per_rank_;
};

}  // namespace lightning::data
