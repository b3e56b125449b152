#pragma once
// What running one training batch gives the epoch loop.

namespace lightning::loops {

/// training_step's output (what on_train_batch_end sees) and whether an
/// optimizer step was taken.
template <class Out>
struct StepResult {
  Out output;
  bool stepped = false;
};

}  // namespace lightning::loops
