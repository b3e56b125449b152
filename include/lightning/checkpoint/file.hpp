#pragma once
// Checkpoint files: `torch.save`'s zip format (Python's `torch.load` reads
// them), written atomically and read by the library's own bounded reader
// (lightning/serialization/): whatever the bytes, reading either gives the
// content or throws a CheckpointError naming the file and what is wrong;
// LibTorch's unpickler never sees them.
//
// Integrity: a file this library writes carries a digest of all its records
// (names, sizes and CRC-32s, every one of which is verified when read). A
// file without a valid digest is *foreign* (Lightning's, or edited in
// Python): its content is read strictly, but its `lightning_cpp` entry
// (loop position, generator states) is dropped, never trusted.
#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>

#include "dict.hpp"

namespace lightning::checkpoint {

/// Bumped when the layout changes incompatibly; a newer file is refused.
/// 1: content checksum inside the pickle (still read); 2: digest record.
inline constexpr int64_t kFormatVersion = 2;
/// The top-level key holding this library's own metadata and C++ state.
inline constexpr const char* kMetaKey = "lightning_cpp";

struct ReadLimits {
  std::size_t max_pickle = std::size_t{256} << 20;  // data.pkl's size
  std::size_t max_depth = 64;                       // nesting of containers
};

/// A file as read: the value it holds and whether it is this library's own.
struct ReadResult {
  c10::IValue value;
  /// Written by lightning-cpp and verified whole (format version in `format_version`).
  bool trusted = false;
  int64_t format_version = 0;
};

/// Reads any value `torch.save` wrote (a dict of tensors, a checkpoint, ...).
/// `what` names the file in errors ("checkpoint", "weights file").
ReadResult read_value(const std::filesystem::path& path, std::string_view what = "checkpoint",
                      const ReadLimits& limits = {});

/// Reads a checkpoint: a dict with string keys. A foreign file's
/// `lightning_cpp` entry is removed (see above).
ReadResult read_checkpoint(const std::filesystem::path& path, const ReadLimits& limits = {});
inline Dict read(const std::filesystem::path& path) { return read_checkpoint(path).value.toGenericDict(); }

/// Writes `value` as `torch.save(value, path)` would (plain dicts, lists and
/// tuples; a dict of tensors as an OrderedDict; no LibTorch type tags),
/// atomically, with the digest record. `before_rename` is for fault-injection tests.
void write_value(const std::filesystem::path& path, const c10::IValue& value,
                 const std::function<void()>& before_rename = {});

/// Whether write_value stores tensors of this dtype.
bool storable_dtype(c10::ScalarType t);

/// The metadata dict of `ckpt`, created if missing.
Dict meta(Dict& ckpt);

/// Writes a checkpoint: `ckpt` with the format and library versions added.
void write(const std::filesystem::path& path, Dict ckpt, const std::function<void()>& before_rename = {});

}  // namespace lightning::checkpoint
