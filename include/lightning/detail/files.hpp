#pragma once
// Whole-file reads and writes that never leave a half-written file behind:
// what logs and checkpoints are written with.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lightning::detail {

/// Throws "<what> '<path>': <strerror(err)>; <expected>" for a failed file operation.
[[noreturn]] inline void throw_io(std::string_view what, const std::filesystem::path& path, int err,
                                  std::string_view expected = "expected a writable directory with free space") {
  throw std::runtime_error("lightning: " + std::string(what) + " '" + path.string() + "': " + std::strerror(err) +
                           "; " + std::string(expected));
}

/// Writes `bytes` to `path` through `<path>.tmp`: written, flushed, fsync'ed,
/// then renamed over `path` (and the directory fsync'ed), so a crash at any
/// point leaves either the previous file or the new one, whole.
/// `before_rename` runs between the write and the rename (tests inject faults there).
inline void write_file_atomic(const std::filesystem::path& path, std::string_view bytes,
                              const std::function<void()>& before_rename = {}) {
  auto tmp = path;
  tmp += ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw_io("cannot create", tmp, errno);
  auto fail = [&](std::string_view what, int err) {
    ::close(fd);
    std::remove(tmp.c_str());
    throw_io(what, tmp, err);
  };
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("cannot flush", errno);
  if (::close(fd) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    throw_io("cannot write", tmp, e);
  }
  if (before_rename) {
    try {
      before_rename();
    } catch (...) {
      std::remove(tmp.c_str());
      throw;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    throw_io("cannot replace", path, e);
  }
  // The rename itself is durable only once the directory is synced.
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

/// The whole content of a file.
inline std::string read_file(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw_io("cannot read", path, errno, "expected an existing, readable file");
  std::string out;
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const bool bad = std::ferror(f) != 0;
  std::fclose(f);
  if (bad) throw_io("cannot read", path, EIO, "expected an existing, readable file");
  return out;
}

}  // namespace lightning::detail
