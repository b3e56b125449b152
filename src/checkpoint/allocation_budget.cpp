// The allocation cap (see allocation_budget.hpp): a wrapper around
// LibTorch's CPU allocator, installed once, that charges allocations to the
// innermost budget of the calling thread (none: it only forwards).
#include "lightning/checkpoint/allocation_budget.hpp"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#include "lightning/checkpoint/error.hpp"

namespace lightning::checkpoint {

namespace {
thread_local AllocationBudget* current = nullptr;
}

class BudgetAllocator final : public c10::Allocator {
 public:
  explicit BudgetAllocator(c10::Allocator* base) : base_(base) {}

  c10::DataPtr allocate(size_t n) const override {
    if (AllocationBudget* b = current) {
      if (n > b->left_)
        throw CheckpointError(b->what_ + " (an allocation of " + std::to_string(n) + " bytes, with " +
                              std::to_string(b->limit_ - b->left_) + " of the " + std::to_string(b->limit_) +
                              " bytes allowed already taken)");
      b->left_ -= n;
    }
    return base_->allocate(n);
  }
  c10::DeleterFnPtr raw_deleter() const override { return base_->raw_deleter(); }

  static void install() {
    static BudgetAllocator wrapper(c10::GetCPUAllocator());  // once, thread-safe
    static const bool installed = [] {
      c10::SetCPUAllocator(&wrapper, /*priority=*/0);
      return true;
    }();
    (void)installed;
  }

 private:
  c10::Allocator* base_;
};

AllocationBudget::AllocationBudget(std::size_t bytes, std::string what)
    : left_(bytes), limit_(bytes), what_(std::move(what)), outer_(current) {
  BudgetAllocator::install();
  current = this;
}

AllocationBudget::~AllocationBudget() { current = outer_; }

}  // namespace lightning::checkpoint
