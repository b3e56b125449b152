#pragma once
// Where the test suite's data and scripts are, wherever the binary runs from,
// and a fresh directory per test.
#include <unistd.h>

#include <filesystem>
#include <string>

namespace test {
inline std::filesystem::path tests_dir() {
#ifdef LIGHTNING_TESTS_DIR
  return LIGHTNING_TESTS_DIR;
#else
  return std::filesystem::absolute(std::filesystem::path(__FILE__).parent_path().parent_path());
#endif
}

/// An empty directory of its own under the system's temporary directory
/// (`<prefix>_<pid>_<n>`), removed with everything in it at scope exit.
struct TmpDir {
  std::filesystem::path path;
  explicit TmpDir(const std::string& prefix = "lightning_test") {
    static int n = 0;
    path = std::filesystem::temp_directory_path() /
           (prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  TmpDir(const TmpDir&) = delete;
  TmpDir& operator=(const TmpDir&) = delete;
  ~TmpDir() { std::filesystem::remove_all(path); }
};
}  // namespace test
