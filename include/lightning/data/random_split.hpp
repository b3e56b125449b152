#pragma once
// torch.utils.data.random_split for in-memory tensors: the same permutation
// as PyTorch's for the same seed (torch.randperm on a generator seeded with
// it), split in order into pieces of the given lengths.
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

namespace lightning::data {

/// The index tensors of each piece of a random split of `n` samples.
/// `lengths`: counts summing to n, or fractions summing to 1 (the rest of
/// n * fraction's floor goes round-robin to the first pieces, as PyTorch's).
inline std::vector<torch::Tensor> random_split_indices(int64_t n, const std::vector<double>& lengths, uint64_t seed) {
  if (lengths.empty()) throw std::invalid_argument("random_split: give at least one length");
  double sum = 0;
  for (double l : lengths) {
    if (!(l >= 0)) throw std::invalid_argument("random_split: lengths must be >= 0, got " + std::to_string(l));
    sum += l;
  }
  std::vector<int64_t> counts;
  if (std::abs(sum - 1.0) < 1e-9 && sum <= 1.0) {  // fractions
    int64_t taken = 0;
    for (double f : lengths) counts.push_back(static_cast<int64_t>(std::floor(static_cast<double>(n) * f)));
    for (int64_t c : counts) taken += c;
    for (int64_t i = 0; taken < n; ++i, ++taken) ++counts[static_cast<std::size_t>(i) % counts.size()];
  } else {
    for (double l : lengths) {
      if (l != std::floor(l)) throw std::invalid_argument("random_split: lengths are counts or fractions summing to 1");
      counts.push_back(static_cast<int64_t>(l));
    }
    if (static_cast<int64_t>(sum) != n)
      throw std::invalid_argument("Sum of input lengths (" + std::to_string(static_cast<int64_t>(sum)) +
                                  ") does not equal the length of the input dataset (" + std::to_string(n) + ")!");
  }
  auto gen = at::detail::createCPUGenerator(seed);
  const auto perm = torch::randperm(n, gen, torch::kLong);
  std::vector<torch::Tensor> pieces;
  int64_t at = 0;
  for (int64_t c : counts) {
    pieces.push_back(perm.slice(0, at, at + c));
    at += c;
  }
  return pieces;
}

/// `random_split({x, y}, {55000, 5000}, seed)`: each piece holds the same
/// rows of every tensor (dimension 0), e.g. for a train and a val loader:
/// `TensorLoader({train[0], train[1]}, {.batch_size = 64})`.
template <std::size_t N>
std::vector<std::array<torch::Tensor, N>> random_split(const torch::Tensor (&tensors)[N], const std::vector<double>& lengths,
                                                      uint64_t seed) {
  static_assert(N > 0, "random_split: give at least one tensor");
  const int64_t n = tensors[0].size(0);
  for (const auto& t : tensors)
    if (t.size(0) != n)
      throw std::invalid_argument("random_split: every tensor needs the same number of rows (dimension 0)");
  std::vector<std::array<torch::Tensor, N>> out;
  for (const auto& idx : random_split_indices(n, lengths, seed)) {
    std::array<torch::Tensor, N> piece;
    for (std::size_t i = 0; i < N; ++i) piece[i] = tensors[i].index_select(0, idx);
    out.push_back(std::move(piece));
  }
  return out;
}

}  // namespace lightning::data
