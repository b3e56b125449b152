#pragma once
// Files that are never left half-written: what logs and checkpoints are
// written with. A file is written to a temporary name beside it (created
// exclusively, never through a symlink), flushed, fsync'ed, then renamed over
// the target and the directory fsync'ed: a crash at any point leaves either
// the previous file or the new one, whole.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace lightning::detail {

/// Throws "<what> '<path>': <strerror(err)>; <expected>" for a failed file operation.
[[noreturn]] void throw_io(std::string_view what, const std::filesystem::path& path, int err,
                           std::string_view expected = "expected a writable directory with free space");

/// A file being written atomically. Unless commit() succeeds, the target
/// is untouched and the temporary file removed.
class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t size);
  /// fsync, then `before_rename` (tests inject faults there), rename, directory fsync.
  void commit(const std::function<void()>& before_rename = {});

  const std::filesystem::path& temp_path() const noexcept { return temp_; }

 private:
  void discard() noexcept;
  std::filesystem::path target_, temp_;
  int fd_ = -1;
};

/// Temporary files of AtomicFile next to `target` whose writer is gone
/// (killed mid-write): removed. Only names of AtomicFile's own pattern for
/// this target are touched.
void remove_stale_temp_files(const std::filesystem::path& target) noexcept;

/// Writes `bytes` to `path` atomically (see AtomicFile).
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes,
                       const std::function<void()>& before_rename = {});

/// The whole content of a file, if it is at most `max_size` bytes.
std::string read_file(const std::filesystem::path& path, std::size_t max_size = std::size_t{1} << 30);

}  // namespace lightning::detail
