#pragma once
// What the Trainer accepts as a data loader: anything range-for can walk
// (TensorLoader, LibTorch's loaders, a vector of batches), or a pointer to one.
#include <torch/torch.h>

#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace lightning::data {

template <class L>
concept Iterable = requires(L& l) {
  std::begin(l);
  std::end(l);
};

template <class L>
concept PointerToIterable = requires(L& l) {
  { *l } -> Iterable;
  static_cast<bool>(l);
};

/// A loader: iterable, or a (smart) pointer to an iterable such as the
/// `std::unique_ptr` that `torch::data::make_data_loader` returns.
template <class L>
concept Loader = Iterable<std::remove_cvref_t<L>> || PointerToIterable<std::remove_cvref_t<L>>;

/// The iterable behind a loader.
template <class L>
decltype(auto) iterable(L& loader) {
  if constexpr (Iterable<L>) return (loader);
  else return (*loader);
}

template <class L>
using iterable_t = std::remove_reference_t<decltype(iterable(std::declval<L&>()))>;

/// The batch type a loader yields.
template <class L>
using batch_t = std::remove_cvref_t<decltype(*std::begin(std::declval<iterable_t<L>&>()))>;

/// Number of batches, if the loader knows it (like `len(dataloader)`).
template <class L>
std::optional<int64_t> length(L& loader) {
  auto& it = iterable(loader);
  if constexpr (requires { it.shard_size(); }) return it.shard_size();
  else if constexpr (requires { it.size(); }) return static_cast<int64_t>(it.size());
  else return std::nullopt;
}

/// Distributed samplers and TensorLoader draw each epoch's order from the epoch.
template <class L>
void set_epoch(L& loader, int64_t epoch) {
  auto& it = iterable(loader);
  if constexpr (requires { it.set_epoch(epoch); }) it.set_epoch(epoch);
}

}  // namespace lightning::data
