#pragma once
// What the export tests share: a scratch directory, tensors handed to the
// Python side, and running that side with Debian's /usr/bin/python3 (which has
// python3-torch, python3-onnx and python3-opencv), not a virtualenv's.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace export_test {
namespace fs = std::filesystem;

inline fs::path scripts_dir() {
#ifdef LIGHTNING_EXPORT_TESTS_DIR
  return LIGHTNING_EXPORT_TESTS_DIR;
#else
  return fs::absolute(fs::path(__FILE__).parent_path());
#endif
}

/// A fresh directory, removed with everything in it at scope exit.
struct ScratchDir {
  fs::path path;
  explicit ScratchDir(const std::string& name)
      : path(fs::temp_directory_path() / ("lightning_export_" + std::to_string(::getpid()) + "_" + name)) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path operator/(const std::string& file) const { return path / file; }
};

/// Tensors by name, as a file Python's torch.load reads as a dict.
inline void save_tensors(const fs::path& file, const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, t] : tensors) dict.insert(name, t.detach().contiguous());
  const auto bytes = torch::pickle_save(dict);
  std::ofstream(file, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

struct PythonRun {
  int status = -1;
  std::string output;
  std::map<std::string, double> results;  // the script's "RESULT <name> <value>" lines
};

/// Runs tests/export/<script> with `args`; its output shows in doctest's
/// report when a check fails.
inline PythonRun run_python(const std::string& script, const std::vector<std::string>& args) {
  std::string cmd = "/usr/bin/python3 '" + (scripts_dir() / script).string() + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>&1";
  PythonRun run;
  std::FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE_MESSAGE(p != nullptr, "cannot run " << cmd);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) run.output.append(buf, n);
  const int st = ::pclose(p);
  run.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::istringstream lines(run.output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string tag, name;
    double value;
    if (words >> tag >> name >> value && tag == "RESULT") run.results[name] = value;
  }
  return run;
}

/// Runs a check and returns its message (empty when it did not throw).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

}  // namespace export_test
