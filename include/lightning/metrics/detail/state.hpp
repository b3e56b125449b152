#pragma once
// Small helpers every metric's update uses.
#include <torch/torch.h>

#include <sstream>
#include <stdexcept>
#include <string>

namespace lightning::metrics::detail {

/// "[8, 3]": shapes in error messages.
inline std::string shape_str(const torch::Tensor& t) {
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}

/// Moves a state to the device of incoming data: states start on the CPU
/// (they must exist before any update for a rank with no data to all-reduce).
inline void follow_device(torch::Tensor& state, const torch::Device& device) {
  if (state.device() != device) state = state.to(device);
}

/// Regression metrics compare element by element: the shapes must agree.
inline void check_same_shape(const torch::Tensor& preds, const torch::Tensor& target, const char* who) {
  if (preds.sizes() != target.sizes())
    throw std::invalid_argument(std::string(who) + ": preds and target must have the same shape, got preds " +
                                shape_str(preds) + " and target " + shape_str(target));
}

}  // namespace lightning::metrics::detail
