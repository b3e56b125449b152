#pragma once
// The walk every loop makes over its batches, once: each batch moved to the
// device and converted for the precision, made the current batch (whose size
// log() weighs epoch means by), and given its index. And the call of a step
// hook (training_step, validation_step, ...) in the precision's forward context.
#include <torch/torch.h>

#include <cstdint>
#include <iterator>
#include <type_traits>
#include <utility>

#include "../data/batch.hpp"
#include "../data/loader.hpp"

namespace lightning {

/// What a step that returns nothing passes to `on_*_batch_end`.
struct NoOutput {};

namespace loops {

template <class T>
struct Batches {
  /// `batch` where the module runs: the module's transfer_batch_to_device
  /// hook, a user type's ADL overload, or the strategy's transfer; then the
  /// precision's input conversion.
  template <class B>
  static auto to_device(T& t, B&& batch) {
    using Batch = std::remove_cvref_t<B>;
    auto& model = *t.model_;
    const auto& device = t.strategy_.root_device();
    if constexpr (requires { model.transfer_batch_to_device(Batch(batch), device, int64_t{0}); }) {
      return model.transfer_batch_to_device(Batch(std::forward<B>(batch)), device, int64_t{0});
    } else if constexpr (requires { transfer_batch_to_device(Batch(batch), device); }) {
      return transfer_batch_to_device(Batch(std::forward<B>(batch)), device);
    } else {
      return t.precision_.convert_input(t.strategy_.batch_to_device(Batch(std::forward<B>(batch))));
    }
  }

  /// The batch type a loader gives the module.
  template <class Loader>
  using batch_type = decltype(to_device(std::declval<T&>(), std::declval<data::batch_t<Loader>>()));

  /// Up to `limit` batches of `source`, in order, each on the device.
  template <class Source>
  class Walk {
   public:
    Walk(T& t, Source& source, int64_t limit)
        : t_(t), it_(std::begin(source)), end_(std::end(source)), limit_(limit) {}
    Walk(const Walk&) = delete;
    Walk& operator=(const Walk&) = delete;

    /// No batch left (the source ran out, or the limit was reached).
    bool done() const { return index_ >= limit_ || it_ == end_; }
    /// The index the next batch gets.
    int64_t index() const noexcept { return index_; }
    /// Steps over `n` batches without loading them onto the device.
    void skip(int64_t n) {
      for (int64_t i = 0; i < n && it_ != end_; ++i) ++it_;
      index_ += n;
    }
    /// Whether the batch just taken was the last one.
    bool last_taken() const { return index_ >= limit_ || it_ == end_; }

    /// Calls `use(batch, index)` with the next batch, which is the current
    /// batch (for log()) only while `use` runs.
    template <class Use>
    void take(Use&& use) {
      auto batch = to_device(t_, *it_);
      ++it_;
      const int64_t idx = index_++;
      struct Current {
        T& t;
        ~Current() { t.module_link_.clear_batch(); }
      } current{t_};
      t_.module_link_.set_batch(batch, &batch_size_of<decltype(batch)>);
      t_.batch_idx_ = idx;
      use(batch, idx);
    }

   private:
    template <class B>
    static int64_t batch_size_of(const void* b) {
      return data::extract_batch_size(*static_cast<const B*>(b));
    }

    T& t_;
    decltype(std::begin(std::declval<Source&>())) it_;
    decltype(std::end(std::declval<Source&>())) end_;
    int64_t limit_;
    int64_t index_ = 0;
  };

  /// `Hook::call(module, batch, idx)` (a step: training_step,
  /// validation_step, ...) inside the precision's forward context, with the
  /// hook id set for log(). A step that returns nothing gives NoOutput.
  template <class Hook, class B>
  static auto step(T& t, B& batch, int64_t idx) {
    [[maybe_unused]] auto scope = t.precision_.forward_context();
    t.enter(Hook::fx);
    if constexpr (std::is_void_v<decltype(Hook::call(*t.model_, batch, idx))>) {
      Hook::call(*t.model_, batch, idx);
      return NoOutput{};
    } else {
      return Hook::call(*t.model_, batch, idx);
    }
  }
};

}  // namespace loops
}  // namespace lightning
