#pragma once
// PyTorch Lightning 2.2.5 (Python) beside the C++ benchmarks: where it is,
// starting processes, and the persistent lightning_runner.py. It is found like
// the interop tests find it (LIGHTNING_PY_SITE, else
// <source root>/../shared/python-lightning/site; LIGHTNING_PY_PYTHON, else
// /usr/bin/python3); without it the Lightning rows are left out, never faked.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

#ifndef LIGHTNING_SOURCE_ROOT
#error "benchmarks/meson.build defines LIGHTNING_SOURCE_ROOT (the source tree: lightning_runner.py, ../shared)"
#endif

namespace bench::py {

inline int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct Lightning {
  std::string site;    // goes on PYTHONPATH; empty when not found
  std::string python;  // an interpreter with torch (Debian's)
  std::string runner;  // benchmarks/lightning_runner.py
  std::string looked;  // where it was looked for, for the "not found" line
  bool found() const { return !site.empty(); }
};

inline Lightning find_lightning() {
  namespace fs = std::filesystem;
  const fs::path root = LIGHTNING_SOURCE_ROOT;
  const char* env_site = std::getenv("LIGHTNING_PY_SITE");
  const char* env_python = std::getenv("LIGHTNING_PY_PYTHON");
  const fs::path site = env_site && *env_site ? fs::path(env_site) : root / ".." / "shared" / "python-lightning" / "site";
  Lightning l;
  l.python = env_python && *env_python ? env_python : "/usr/bin/python3";
  l.runner = (root / "benchmarks" / "lightning_runner.py").string();
  std::error_code ec;
  const auto shown = fs::weakly_canonical(site, ec);
  l.looked = (ec ? site : shown).string() + "/lightning (set LIGHTNING_PY_SITE), run by " + l.python +
             " (set LIGHTNING_PY_PYTHON)";
  if (fs::is_directory(site / "lightning", ec) && fs::exists(l.python, ec) && fs::exists(l.runner, ec))
    l.site = (ec ? site : shown).string();
  return l;
}

/// A close-on-exec pipe whose ends are >= 10, so that dup2 onto 0..3 in a
/// child always makes a fresh, inheritable descriptor.
struct Pipe {
  int r = -1, w = -1;
};
inline Pipe make_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  Pipe p;
  p.r = fcntl(fds[0], F_DUPFD_CLOEXEC, 10);
  p.w = fcntl(fds[1], F_DUPFD_CLOEXEC, 10);
  close(fds[0]);
  close(fds[1]);
  if (p.r < 0 || p.w < 0) throw std::runtime_error(std::string("fcntl: ") + std::strerror(errno));
  return p;
}

struct SpawnOptions {
  std::vector<std::string> env{};  // NAME=value, replacing the inherited NAME
  int stdin_fd = -1, stdout_fd = -1;
  std::string output_path{};  // when set: stdout and stderr go to this file (absolute path)
  int report_fd = -1;       // becomes the child's fd 3
  std::string cwd{};
};

/// posix_spawn (vfork + exec in glibc): unlike fork, it does not copy this
/// process's page tables, which are large with LibTorch mapped, so a timed
/// start measures the exec and not the parent's size.
inline pid_t spawn(const std::vector<std::string>& argv, const SpawnOptions& o) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (!o.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, o.cwd.c_str());
  if (o.stdin_fd >= 0) posix_spawn_file_actions_adddup2(&fa, o.stdin_fd, 0);
  if (o.stdout_fd >= 0) posix_spawn_file_actions_adddup2(&fa, o.stdout_fd, 1);
  if (!o.output_path.empty()) {
    posix_spawn_file_actions_addopen(&fa, 1, o.output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
  }
  if (o.report_fd >= 0) posix_spawn_file_actions_adddup2(&fa, o.report_fd, 3);

  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    bool replaced = false;
    for (const auto& x : o.env) replaced = replaced || kv.compare(0, x.find('=') + 1, x, 0, x.find('=') + 1) == 0;
    if (!replaced) env.push_back(kv);
  }
  env.insert(env.end(), o.env.begin(), o.env.end());
  std::vector<char*> cargv, cenv;
  for (const auto& s : argv) cargv.push_back(const_cast<char*>(s.c_str()));
  for (const auto& s : env) cenv.push_back(const_cast<char*>(s.c_str()));
  cargv.push_back(nullptr);
  cenv.push_back(nullptr);

  pid_t pid = -1;
  const int rc = posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

inline std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

/// One lightning_runner.py process for the whole benchmark: Python and
/// Lightning are imported once, and each `run` is one timed fit.
class Runner {
 public:
  /// Starts it and waits until its imports are done (so they do not overlap
  /// the C++ timings); throws with the reason when it does not come up. Its
  /// stderr is this process's: it writes there only when something fails.
  Runner(const Lightning& l, int threads) {
    signal(SIGPIPE, SIG_IGN);  // a dead runner is an error from write, not a silent kill
    const Pipe in = make_pipe(), out = make_pipe();
    pid_ = spawn({l.python, l.runner, "--threads", std::to_string(threads)},
                 {.env = {"PYTHONPATH=" + l.site}, .stdin_fd = in.r, .stdout_fd = out.w});
    close(in.r);
    close(out.w);
    to_ = fdopen(in.w, "w");
    from_ = fdopen(out.r, "r");
    const std::string ready = read_line();
    if (ready.rfind("ready ", 0) != 0) fail("did not start (" + (ready.empty() ? finish() : ready) + ")");
    version_ = ready.substr(6);
  }
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;
  ~Runner() {
    if (to_) std::fputs("quit\n", to_);
    finish();
  }

  const std::string& version() const { return version_; }

  /// Whole-fit µs per optimizer step of one fresh fit; throws on failure.
  double run(const std::string& variant, const std::string& workload, int64_t epochs) {
    const std::string cmd = "run " + variant + " " + workload + " " + std::to_string(epochs);
    if (std::fprintf(to_, "%s\n", cmd.c_str()) < 0 || std::fflush(to_) != 0)
      fail("'" + cmd + "': cannot write to it (" + finish() + ")");
    const std::string reply = read_line();
    char* end = nullptr;
    const double us = std::strtod(reply.c_str(), &end);
    if (reply.empty()) fail("'" + cmd + "': no reply (" + finish() + ")");
    if (end == reply.c_str() || *end != '\0' || !(us > 0)) fail("'" + cmd + "': " + reply);
    return us;
  }

 private:
  std::string read_line() {
    char buf[1024];
    if (!from_ || !std::fgets(buf, sizeof buf, from_)) return "";
    std::string s = buf;
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }
  /// Closes the pipes and reaps the runner; how it ended, for messages.
  std::string finish() {
    if (to_) std::fclose(to_);
    if (from_) std::fclose(from_);
    to_ = from_ = nullptr;
    if (pid_ <= 0) return "";
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return "runner " + describe_status(status);
  }
  [[noreturn]] void fail(const std::string& why) {
    finish();
    throw std::runtime_error("lightning_runner.py " + why + "; its stderr is above");
  }

  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
  std::string version_;
};

}  // namespace bench::py
