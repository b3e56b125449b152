#pragma once
// Where the test suite's data and scripts are, wherever the binary runs from.
#include <filesystem>

namespace test {
inline std::filesystem::path tests_dir() {
#ifdef LIGHTNING_TESTS_DIR
  return LIGHTNING_TESTS_DIR;
#else
  return std::filesystem::absolute(std::filesystem::path(__FILE__).parent_path().parent_path());
#endif
}
}  // namespace test
