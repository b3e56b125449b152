#pragma once
// TensorLoader: batches over in-memory tensors, sliced without per-sample copies.
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "../seed.hpp"
#include "batch.hpp"

namespace lightning::data {

struct LoaderOptions {
  int64_t batch_size = 1;
  bool shuffle = false;
  bool drop_last = false;
  /// Seed of the shuffle; unset: the seed given to `seed_everything`.
  std::optional<uint64_t> seed{};
};

/// Batches over N tensors that share their first dimension. Yields a tensor
/// (N = 1), an `L::Batch` (N = 2) or a `std::array<torch::Tensor, N>`.
/// Without shuffle a batch is a view; with shuffle a single gather. Epoch e's
/// order is drawn from a generator seeded `seed + e`, so orders are
/// reproducible, differ by epoch, and can be restored from the epoch alone.
template <std::size_t N>
class TensorLoader {
  static_assert(N >= 1, "TensorLoader needs at least one tensor");

 public:
  using batch_type = std::conditional_t<N == 1, torch::Tensor,
                                        std::conditional_t<N == 2, Batch, std::array<torch::Tensor, N>>>;

  TensorLoader(const torch::Tensor (&tensors)[N], LoaderOptions opts = {}) : opts_(opts) {
    for (std::size_t i = 0; i < N; ++i) tensors_[i] = tensors[i];
    if (opts_.batch_size < 1)
      throw std::invalid_argument("TensorLoader: batch_size must be >= 1, got " + std::to_string(opts_.batch_size));
    if (tensors_[0].dim() == 0) throw std::invalid_argument("TensorLoader: tensors need a first (sample) dimension");
    num_samples_ = tensors_[0].size(0);
    for (std::size_t i = 1; i < N; ++i)
      if (tensors_[i].dim() == 0 || tensors_[i].size(0) != num_samples_)
        throw std::invalid_argument("TensorLoader: tensor " + std::to_string(i) + " has " +
                                    (tensors_[i].dim() ? std::to_string(tensors_[i].size(0)) : std::string("no")) +
                                    " samples, tensor 0 has " + std::to_string(num_samples_));
    seed_ = opts_.seed ? *opts_.seed : lightning::detail::global_seed().load();
  }

  /// Number of batches per epoch on this rank, like `len(dataloader)`.
  int64_t size() const noexcept {
    const int64_t bs = opts_.batch_size, n = shard_samples();
    return opts_.drop_last ? n / bs : (n + bs - 1) / bs;
  }
  int64_t num_samples() const noexcept { return num_samples_; }

  /// Makes this loader yield rank `rank`'s shard of each epoch's order (the
  /// Trainer calls it under a distributed strategy): every world-th sample
  /// of the order, starting at `rank`, as torch's DistributedSampler. With
  /// `even` (training) the order is padded by wrapping around so every rank
  /// gets the same count; without it (evaluation) each sample is seen once.
  void set_shard(int64_t rank, int64_t world, bool even) {
    if (world < 1 || rank < 0 || rank >= world)
      throw std::invalid_argument("TensorLoader::set_shard: rank " + std::to_string(rank) + " out of range for " +
                                  std::to_string(world) + " ranks");
    rank_ = rank;
    world_ = world;
    even_ = even;
  }
  /// Samples per epoch on this rank.
  int64_t shard_samples() const noexcept {
    if (world_ == 1) return num_samples_;
    if (even_) return (num_samples_ + world_ - 1) / world_;
    return num_samples_ / world_ + (rank_ < num_samples_ % world_ ? 1 : 0);
  }
  const LoaderOptions& options() const noexcept { return opts_; }

  /// The epoch whose order the next pass uses (the Trainer sets it each epoch).
  void set_epoch(int64_t epoch) noexcept {
    epoch_ = epoch;
    epoch_pending_ = true;
  }
  int64_t epoch() const noexcept { return epoch_; }

  /// The sample order of the next pass on this rank (same on every rank
  /// before sharding: it depends only on the seed and the epoch).
  torch::Tensor order() const {
    torch::Tensor full;
    if (!opts_.shuffle) {
      full = torch::arange(num_samples_, torch::kLong);
    } else {
      auto gen = at::make_generator<at::CPUGeneratorImpl>(seed_ + static_cast<uint64_t>(epoch_));
      full = torch::randperm(num_samples_, gen, torch::kLong);
    }
    if (world_ == 1) return full;
    if (even_) {
      const int64_t total = shard_samples() * world_;
      const auto base = full;
      while (full.size(0) < total) full = torch::cat({full, base.slice(0, 0, total - full.size(0))});
    }
    return full.slice(0, rank_, full.size(0), world_).contiguous();
  }

  class iterator {
   public:
    using value_type = batch_type;
    using difference_type = std::ptrdiff_t;
    using iterator_category = std::input_iterator_tag;

    iterator() = default;
    iterator(const TensorLoader* l, int64_t index, torch::Tensor order)
        : loader_(l), index_(index), order_(std::move(order)) {}

    batch_type operator*() const { return loader_->batch(index_, order_); }
    iterator& operator++() noexcept {
      ++index_;
      return *this;
    }
    void operator++(int) noexcept { ++index_; }
    bool operator==(const iterator& o) const noexcept { return index_ == o.index_; }

   private:
    const TensorLoader* loader_ = nullptr;
    int64_t index_ = 0;
    torch::Tensor order_;
  };

  /// Starts a pass over the current epoch's order; a later pass without
  /// `set_epoch` moves to the next epoch, as a sampler would.
  iterator begin() {
    if (!epoch_pending_) ++epoch_;
    epoch_pending_ = false;
    auto o = opts_.shuffle || world_ > 1 ? order() : torch::Tensor();
    return iterator(this, 0, std::move(o));
  }
  iterator end() const { return iterator(this, size(), {}); }

 private:
  batch_type batch(int64_t index, const torch::Tensor& order) const {
    const int64_t start = index * opts_.batch_size;
    const int64_t stop = std::min(start + opts_.batch_size, shard_samples());
    auto take = [&](const torch::Tensor& t) {
      return order.defined() ? t.index_select(0, order.slice(0, start, stop)) : t.slice(0, start, stop);
    };
    if constexpr (N == 1) {
      return take(tensors_[0]);
    } else if constexpr (N == 2) {
      return Batch(take(tensors_[0]), take(tensors_[1]));
    } else {
      std::array<torch::Tensor, N> out;
      for (std::size_t i = 0; i < N; ++i) out[i] = take(tensors_[i]);
      return out;
    }
  }

  std::array<torch::Tensor, N> tensors_;
  LoaderOptions opts_;
  int64_t num_samples_ = 0;
  uint64_t seed_ = 0;
  int64_t epoch_ = 0;
  int64_t rank_ = 0, world_ = 1;
  bool even_ = true;
  bool epoch_pending_ = true;  // epoch_ not yet used by a pass
};

template <std::size_t N>
TensorLoader(const torch::Tensor (&)[N], LoaderOptions) -> TensorLoader<N>;
template <std::size_t N>
TensorLoader(const torch::Tensor (&)[N]) -> TensorLoader<N>;

}  // namespace lightning::data
