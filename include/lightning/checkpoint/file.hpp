#pragma once
// Checkpoint files: `torch.save`'s zip format (so Python's `torch.load`
// reads them), written atomically, with a content checksum and a format
// version that loading verifies before anything is applied.
#include <torch/torch.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "../detail/files.hpp"
#include "../version.hpp"
#include "dict.hpp"

namespace lightning::checkpoint {

/// Bumped when the layout changes incompatibly; a newer file is refused.
inline constexpr int64_t kFormatVersion = 1;
/// The top-level key holding this library's own metadata and C++ state.
inline constexpr const char* kMetaKey = "lightning_cpp";

namespace detail {

/// FNV-1a, 64-bit: enough to tell a damaged file from a good one.
struct Hasher {
  uint64_t h = 1469598103934665603ull;
  void bytes(const void* p, std::size_t n) {
    auto* c = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ c[i]) * 1099511628211ull;
  }
  template <class T>
  void pod(const T& v) {
    bytes(&v, sizeof v);
  }
  void str(std::string_view s) {
    pod(s.size());
    bytes(s.data(), s.size());
  }
};

/// Hashes a value's content (not its byte layout in the file), so a flipped
/// bit anywhere that changes what is loaded is caught.
inline void hash_value(Hasher& hs, const c10::IValue& v) {
  hs.str(v.tagKind());
  if (v.isNone()) return;
  if (v.isBool()) return hs.pod(v.toBool());
  if (v.isInt()) return hs.pod(v.toInt());
  if (v.isDouble()) return hs.pod(std::bit_cast<uint64_t>(v.toDouble()));
  if (v.isString()) return hs.str(v.toStringRef());
  if (v.isTensor()) {
    const auto t = v.toTensor().contiguous().cpu();
    hs.str(c10::toString(t.scalar_type()));
    for (auto s : t.sizes()) hs.pod(s);
    return hs.bytes(t.data_ptr(), t.numel() * t.element_size());
  }
  if (v.isGenericDict()) {
    const auto d = v.toGenericDict();
    hs.pod(d.size());
    for (const auto& e : d) {
      hash_value(hs, e.key());
      hash_value(hs, e.value());
    }
    return;
  }
  if (v.isList()) {
    const auto l = v.toList();
    hs.pod(l.size());
    for (const c10::IValue& e : l) hash_value(hs, e);
    return;
  }
  if (v.isTuple()) {
    const auto& el = v.toTupleRef().elements();
    hs.pod(el.size());
    for (const auto& e : el) hash_value(hs, e);
    return;
  }
  throw CheckpointError(std::string("lightning: checkpoint: cannot store a value of type ") + v.tagKind());
}

/// The checksum of everything in `ckpt` except the metadata entry.
inline uint64_t checksum(const Dict& ckpt) {
  Hasher hs;
  for (const auto& e : ckpt) {
    if (e.key().isString() && e.key().toStringRef() == kMetaKey) continue;
    hash_value(hs, e.key());
    hash_value(hs, e.value());
  }
  return hs.h;
}

/// First line of a LibTorch error (its messages carry a C++ backtrace).
inline std::string first_line(const char* what) {
  std::string s(what);
  return s.substr(0, s.find('\n'));
}

}  // namespace detail

/// The metadata dict of `ckpt`, created if missing.
inline Dict meta(Dict& ckpt) {
  if (!contains(ckpt, kMetaKey)) ckpt.insert(std::string(kMetaKey), make_dict());
  return get<Dict>(ckpt, kMetaKey, "the checkpoint");
}

/// Serializes `ckpt` (adding format version, library version and checksum)
/// and writes it atomically. `before_rename` is for fault-injection tests.
inline void write(const std::filesystem::path& path, Dict ckpt, const std::function<void()>& before_rename = {}) {
  auto m = meta(ckpt);
  m.insert_or_assign(std::string("format_version"), kFormatVersion);
  m.insert_or_assign(std::string("library_version"), std::string(lightning::version));
  // An int in Python's pickle is signed 64-bit: store the checksum's bits as one.
  m.insert_or_assign(std::string("checksum"), std::bit_cast<int64_t>(detail::checksum(ckpt)));
  const std::vector<char> bytes = torch::pickle_save(ckpt);
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  lightning::detail::write_file_atomic(path, std::string_view(bytes.data(), bytes.size()), before_rename);
}

/// Reads and verifies a checkpoint: every problem is a CheckpointError that
/// names the file and says what is wrong (not a checkpoint, truncated,
/// corrupt, written by a newer version), before anything is applied.
inline Dict read(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw CheckpointError("lightning: checkpoint '" + path.string() + "' does not exist (or is not a file)");
  const std::string raw = lightning::detail::read_file(path);
  const std::string who = "lightning: checkpoint '" + path.string() + "'";
  if (raw.size() < 4 || raw.compare(0, 4, "PK\x03\x04") != 0)
    throw CheckpointError(who + " is not a checkpoint: expected the zip archive torch.save writes" +
                          (raw.empty() ? std::string(" (the file is empty)") : std::string()));
  c10::IValue v;
  try {
    v = torch::pickle_load(std::vector<char>(raw.begin(), raw.end()));
  } catch (const std::exception& e) {
    const std::string msg = detail::first_line(e.what());
    const bool truncated = msg.find("central directory") != std::string::npos;
    throw CheckpointError(who + (truncated ? " is truncated or corrupt (its zip directory is missing): "
                                           : " is corrupt and cannot be unpickled: ") + msg);
  }
  if (!v.isGenericDict())
    throw CheckpointError(who + " is not a checkpoint: it holds a " + v.tagKind() + ", expected a dict");
  Dict ckpt = v.toGenericDict();
  if (contains(ckpt, kMetaKey)) {
    auto m = get<Dict>(ckpt, kMetaKey, "the checkpoint");
    const auto fmt = get<int64_t>(m, "format_version", kMetaKey);
    if (fmt > kFormatVersion)
      throw CheckpointError(who + " has format version " + std::to_string(fmt) + " (written by lightning-cpp " +
                            get_or<std::string>(m, "library_version", kMetaKey, "?") +
                            "); this build reads format versions up to " + std::to_string(kFormatVersion) +
                            ": upgrade lightning-cpp");
    // A file re-saved from Python has no checksum to compare against.
    if (contains(m, "checksum")) {
      const auto want = std::bit_cast<uint64_t>(get<int64_t>(m, "checksum", kMetaKey));
      if (detail::checksum(ckpt) != want)
        throw CheckpointError(who + " is corrupt: its content does not match the checksum written with it (a file edited in "
                              "Python must drop ckpt['lightning_cpp']['checksum'] before torch.save)");
    }
  }
  return ckpt;
}

}  // namespace lightning::checkpoint
