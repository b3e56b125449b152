#pragma once
// A cap on what building something from a file's numbers may allocate: a
// checkpoint's hyperparameters decide a model's size before any weight is
// checked, so a hostile `hidden = 2^26` must fail with an error, not
// allocate gigabytes.
#include <cstddef>
#include <string>

namespace lightning::checkpoint {

/// While it lives, LibTorch's CPU allocations made on this thread may take
/// `bytes` in all; one beyond throws a CheckpointError carrying `what`.
class AllocationBudget {
 public:
  AllocationBudget(std::size_t bytes, std::string what);
  ~AllocationBudget();
  AllocationBudget(const AllocationBudget&) = delete;
  AllocationBudget& operator=(const AllocationBudget&) = delete;

  std::size_t left() const noexcept { return left_; }

 private:
  friend class BudgetAllocator;
  std::size_t left_;
  std::size_t limit_;
  std::string what_;
  AllocationBudget* outer_;
};

}  // namespace lightning::checkpoint
