#pragma once
// Files that are never left half-written: what logs and checkpoints are
// written with. A file is written to a temporary name beside it (created
// exclusively, never through a symlink), then renamed over the target: a
// crash of the process at any point leaves either the previous file or the
// new one, whole. Durable files (checkpoints, exports) are also fsync'ed
// before the rename and the directory after it, so a power loss cannot undo
// them either; logs are not, as Lightning's loggers are not (four fsyncs per
// run were a tenth of a short fit).
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace lightning::detail {

/// Throws "<what> '<path>': <strerror(err)>; <expected>" for a failed file operation.
[[noreturn]] void throw_io(std::string_view what, const std::filesystem::path& path, int err,
                           std::string_view expected = "expected a writable directory with free space");

/// Writes all `size` bytes to `fd`, through short writes and EINTR. Returns
/// 0, or the errno of the failure (EIO for a write that makes no progress).
int write_all(int fd, const void* data, std::size_t size) noexcept;

/// Whether a written file must survive a power loss once written.
enum class Durability { durable, process_crash_only };

/// A file being written atomically. Unless commit() succeeds, the target
/// is untouched and the temporary file removed.
class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path target, Durability durability = Durability::durable);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t size);
  /// fsync (if durable), then `before_rename` (tests inject faults there),
  /// rename, directory fsync (if durable).
  void commit(const std::function<void()>& before_rename = {});

  const std::filesystem::path& temp_path() const noexcept { return temp_; }

 private:
  void discard() noexcept;
  std::filesystem::path target_, temp_;
  int fd_ = -1;
  Durability durability_;
};

/// Temporary files of AtomicFile next to `target` whose writer is gone
/// (killed mid-write): removed. Only names of AtomicFile's own pattern for
/// this target are touched.
void remove_stale_temp_files(const std::filesystem::path& target) noexcept;

/// Writes `bytes` to `path` atomically (see AtomicFile).
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes,
                       const std::function<void()>& before_rename = {}, Durability durability = Durability::durable);

/// The whole content of a file, if it is at most `max_size` bytes.
std::string read_file(const std::filesystem::path& path, std::size_t max_size = std::size_t{1} << 30);

}  // namespace lightning::detail
