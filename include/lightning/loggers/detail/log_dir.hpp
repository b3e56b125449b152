#pragma once
// Where a logger writes: `<save_dir>/<name>/version_<N>`, N chosen as
// Lightning does, and file writes that never leave a half-written file.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "../../detail/files.hpp"

namespace lightning::detail {

/// Lightning's `_get_next_version`: one more than the largest N among the
/// directories `<root>/version_N[_...]`, or 0 (gaps are not reused).
int next_version(const std::filesystem::path& root);

/// A logger's `save_dir`, `name` and `version`, with the version picked on
/// first use (like Lightning's lazy `version` property).
class VersionedDir {
 public:
  VersionedDir(std::filesystem::path save_dir, std::string name, std::optional<int> version)
      : save_dir_(std::move(save_dir)), name_(std::move(name)), version_(version) {}

  const std::filesystem::path& save_dir() const noexcept { return save_dir_; }
  const std::string& name() const noexcept { return name_; }
  /// `<save_dir>/<name>`, or `save_dir` when the name is empty.
  std::filesystem::path root_dir() const { return name_.empty() ? save_dir_ : save_dir_ / name_; }
  /// The version: the one given, else the next free one (chosen once).
  int version() {
    if (!version_) version_ = next_version(root_dir());
    return *version_;
  }
  /// Fixes the version (ranks other than 0 take the one rank 0 chose).
  void set_version(int v) noexcept { version_ = v; }
  /// `<root_dir>/version_<N>`.
  std::filesystem::path log_dir() { return root_dir() / ("version_" + std::to_string(version())); }

  /// Creates the log directory (and parents) if missing.
  void create(std::string_view who);

 private:
  std::filesystem::path save_dir_;
  std::string name_;
  std::optional<int> version_;
};

}  // namespace lightning::detail
