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
inline int next_version(const std::filesystem::path& root) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) return 0;
  int next = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    std::error_code dec;
    if (!entry.is_directory(dec)) continue;
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("version_")) continue;
    // Python: name.split("_")[1].isdigit()
    const std::string_view rest = std::string_view(name).substr(8);
    const std::string_view num = rest.substr(0, rest.find('_'));
    if (num.empty() || num.size() > 9) continue;
    bool digits = true;
    for (char c : num) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (digits) next = std::max(next, std::stoi(std::string(num)) + 1);
  }
  if (ec)
    throw std::runtime_error("lightning: cannot list the logger folder '" + root.string() + "': " + ec.message() +
                             "; expected a readable directory");
  return next;
}

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
  void create(std::string_view who) {
    const auto dir = log_dir();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir))
      throw std::runtime_error("lightning: " + std::string(who) + " cannot create its log directory '" +
                               dir.string() + "': " + (ec ? ec.message() : "not a directory") +
                               "; expected a writable save_dir");
  }

 private:
  std::filesystem::path save_dir_;
  std::string name_;
  std::optional<int> version_;
};

}  // namespace lightning::detail
