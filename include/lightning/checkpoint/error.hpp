#pragma once
// The one error type of everything that reads checkpoints and weights files.
#include <stdexcept>

namespace lightning {

/// A checkpoint that cannot be read or does not fit what it is loaded into.
struct CheckpointError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace lightning
