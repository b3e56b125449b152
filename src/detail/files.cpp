// Atomic file writes (see files.hpp).
#include "lightning/detail/files.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace lightning::detail {

namespace {
// `<name>.tmp-<pid>-<n>`: unique per writer, and the pid tells a stale one.
constexpr std::string_view kTempTag = ".tmp-";
std::atomic<uint64_t> temp_counter{0};

void sync_directory(const std::filesystem::path& file) noexcept {
  const auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}
}  // namespace

void throw_io(std::string_view what, const std::filesystem::path& path, int err, std::string_view expected) {
  throw std::runtime_error("lightning: " + std::string(what) + " '" + path.string() + "': " + std::strerror(err) +
                           "; " + std::string(expected));
}

void remove_stale_temp_files(const std::filesystem::path& target) noexcept {
  std::error_code ec;
  const auto dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  const std::string prefix = target.filename().string() + std::string(kTempTag);
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    // The pid between the tag and the next '-': only digits, else not ours.
    const auto rest = std::string_view(name).substr(prefix.size());
    const auto dash = rest.find('-');
    if (dash == 0 || dash == std::string_view::npos || dash > 10) continue;
    long pid = 0;
    bool digits = true;
    for (char c : rest.substr(0, dash)) {
      digits = digits && c >= '0' && c <= '9';
      pid = pid * 10 + (c - '0');
    }
    if (!digits || pid <= 0) continue;
    // Ours (another thread may be writing it), or a writer still alive: keep.
    if (pid == ::getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) std::filesystem::remove(it->path(), ec);
  }
}

AtomicFile::AtomicFile(std::filesystem::path target, Durability durability)
    : target_(std::move(target)), durability_(durability) {
  remove_stale_temp_files(target_);
  for (int attempt = 0; fd_ < 0; ++attempt) {
    temp_ = target_;
    temp_ += std::string(kTempTag) + std::to_string(::getpid()) + "-" + std::to_string(temp_counter++);
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd_ < 0 && (errno != EEXIST || attempt > 100)) throw_io("cannot create", temp_, errno);
  }
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    ::unlink(temp_.c_str());
  }
}

int write_all(int fd, const void* data, std::size_t size) noexcept {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return 0;
}

void AtomicFile::write(const void* data, std::size_t size) {
  if (fd_ < 0) throw std::logic_error("AtomicFile::write after commit");
  if (const int e = write_all(fd_, data, size)) {
    discard();
    throw_io("cannot write", temp_, e);
  }
}

void AtomicFile::commit(const std::function<void()>& before_rename) {
  if (fd_ < 0) throw std::logic_error("AtomicFile::commit twice");
  if (durability_ == Durability::durable && ::fsync(fd_) != 0) {
    const int e = errno;
    discard();
    throw_io("cannot flush", temp_, e);
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(temp_.c_str());
    throw_io("cannot write", temp_, e);
  }
  if (before_rename) {
    try {
      before_rename();
    } catch (...) {
      ::unlink(temp_.c_str());
      throw;
    }
  }
  if (std::rename(temp_.c_str(), target_.c_str()) != 0) {
    const int e = errno;
    ::unlink(temp_.c_str());
    throw_io("cannot replace", target_, e);
  }
  // The rename itself is durable only once the directory is synced.
  if (durability_ == Durability::durable) sync_directory(target_);
}

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes,
                       const std::function<void()>& before_rename, Durability durability) {
  AtomicFile file(path, durability);
  file.write(bytes.data(), bytes.size());
  file.commit(before_rename);
}

std::string read_file(const std::filesystem::path& path, std::size_t max_size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_io("cannot read", path, errno, "expected an existing, readable file");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw_io("cannot read", path, EINVAL, "expected a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_size) {
    ::close(fd);
    throw std::runtime_error("lightning: '" + path.string() + "' is " + std::to_string(st.st_size) +
                             " bytes, more than the limit of " + std::to_string(max_size));
  }
  std::string out;
  out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      throw_io("cannot read", path, e, "expected an existing, readable file");
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_size) {
      ::close(fd);
      throw std::runtime_error("lightning: '" + path.string() + "' grew past the limit of " + std::to_string(max_size) +
                               " bytes while being read");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace lightning::detail
