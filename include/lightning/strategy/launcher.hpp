#pragma once
// Lightning's _SubprocessScriptLauncher for C++: the user runs the program
// once with `devices = N` and no cluster launcher; that process is local rank
// 0 of its node and starts local ranks 1..N-1 as new copies of the *same
// program with the same argv*, whose environment is this one plus the
// variables launch_environment() gives each rank (MASTER_ADDR, MASTER_PORT,
// WORLD_SIZE, RANK, LOCAL_RANK, ...). A child recognises itself by LOCAL_RANK
// (detect_environment reports kind "torchrun"), exactly as in Lightning.
//
// Children are started with fork + execve("/proc/self/exe"); each asks the
// kernel for SIGKILL when its parent goes away (PR_SET_PDEATHSIG), so a
// crashed or SIGKILLed rank 0 never leaves orphans. A monitor thread reaps
// them and records how each one ended; the first abnormal end is kept so a
// rank-0 collective that failed can name the peer that died.
//
// POSIX/Linux and std only: no torch here.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "environment.hpp"

extern char** environ;  // POSIX: declared by no standard header

namespace lightning::strategy {

/// How one child started by SubprocessLauncher is doing, or how it ended.
struct ChildStatus {
  int64_t local_rank = 0;
  int64_t global_rank = 0;
  pid_t pid = -1;
  bool running = true;
  bool exited = false;       // ended through exit(): see exit_code
  int exit_code = 0;
  int signal = 0;            // ended by this signal (0: did not)
  bool core_dumped = false;
  bool status_lost = false;  // reaped by someone else (SIGCHLD ignored, or waitpid(-1) elsewhere)
  /// The launcher sent it SIGTERM/SIGKILL (join's grace ran out, terminate_all,
  /// or the destructor) before it ended: its end is not reported by failure().
  bool terminated_by_launcher = false;

  bool succeeded() const { return !running && exited && exit_code == 0; }

  /// What a shell would report: the exit code, or 128 + signal; 1 when lost.
  int shell_code() const {
    if (running) return 0;
    if (exited) return exit_code;
    if (signal != 0) return 128 + signal;
    return 1;
  }

  /// e.g. "rank 1 (pid 1234) was killed by signal 9 (Killed)".
  std::string describe() const {
    std::string who = "rank " + std::to_string(global_rank);
    if (global_rank != local_rank) who += " (local rank " + std::to_string(local_rank) + ")";
    who += " (pid " + std::to_string(pid) + ")";
    if (running) return who + " is running";
    std::string s;
    if (exited) {
      s = who + " exited with code " + std::to_string(exit_code);
    } else if (signal != 0) {
      s = who + " was killed by signal " + std::to_string(signal) + " (" + signal_name(signal) + ")";
      if (core_dumped) s += " (core dumped)";
    } else {
      return who +
             " ended, but its exit status was lost: something else reaped it (is SIGCHLD set to SIG_IGN, "
             "or does another thread call waitpid(-1)?)";
    }
    if (terminated_by_launcher) s += ", after the launcher told it to stop";
    return s;
  }

  static std::string signal_name(int sig) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
    const char* d = ::sigdescr_np(sig);  // thread-safe, unlike strsignal
#else
    const char* d = ::strsignal(sig);
#endif
    return d != nullptr ? std::string(d) : "unknown signal";
  }
};

struct LauncherOptions {
  /// terminate_all (and join, once its grace is over): how long children get
  /// between SIGTERM and SIGKILL.
  std::chrono::milliseconds kill_after{5000};
  /// How often the monitor thread polls waitpid(WNOHANG) for its children.
  std::chrono::milliseconds poll_interval{10};
};

/// This process's argv, as the kernel holds it (/proc/self/cmdline).
inline std::vector<std::string> current_argv() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  if (!in) throw std::runtime_error("SubprocessLauncher: cannot read /proc/self/cmdline (is /proc mounted?)");
  const std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> argv;
  std::size_t start = 0;
  while (start < raw.size()) {
    std::size_t end = raw.find('\0', start);
    if (end == std::string::npos) end = raw.size();  // last argument without its NUL
    argv.emplace_back(raw, start, end - start);
    start = end + 1;
  }
  if (argv.empty()) throw std::runtime_error("SubprocessLauncher: /proc/self/cmdline is empty");
  return argv;
}

/// Starts local ranks 1..local_world_size-1 of this node and watches them.
/// Call launch() once, from local rank 0, before any process group exists.
class SubprocessLauncher {
 public:
  SubprocessLauncher() : SubprocessLauncher(LauncherOptions{}) {}
  explicit SubprocessLauncher(LauncherOptions options) : opt_(options) {}
  SubprocessLauncher(const SubprocessLauncher&) = delete;
  SubprocessLauncher& operator=(const SubprocessLauncher&) = delete;

  /// Never leaves orphans: children still running are terminated (SIGTERM,
  /// then SIGKILL after kill_after) and reaped.
  ~SubprocessLauncher() {
    try {
      terminate_all();
    } catch (...) {
    }
    join_thread();
  }

  /// Same program, same argv (from /proc/self/cmdline).
  void launch(const ClusterEnvironment& env) { launch(env, current_argv()); }

  /// Runs /proc/self/exe with `argv` (argv[0] included) for each local rank
  /// 1..env.local_world_size-1. Returns once every child has exec'd; throws
  /// std::system_error (and leaves no child behind) if one could not start.
  void launch(const ClusterEnvironment& env, std::vector<std::string> argv) {
    if (env.launched_externally)
      throw std::logic_error("SubprocessLauncher::launch: the environment (" + env.kind +
                             ") already started every rank; launching more would double the world");
    if (env.local_rank != 0)
      throw std::logic_error("SubprocessLauncher::launch: only local rank 0 launches, this is local rank " +
                             std::to_string(env.local_rank));
    if (argv.empty()) throw std::invalid_argument("SubprocessLauncher::launch: argv is empty");

    std::vector<Plan> plans;
    for (int64_t lr = 1; lr < env.local_world_size; ++lr) {
      Plan p;
      p.local_rank = lr;
      p.global_rank = env.node_rank * env.local_world_size + lr;
      p.env = child_environment(launch_environment(env, lr));
      plans.push_back(std::move(p));
    }

    std::unique_lock lk(m_);
    if (state_ != State::idle) throw std::logic_error("SubprocessLauncher::launch: already launched");
    if (plans.empty()) {  // devices = 1: nothing to start
      state_ = State::running;
      return;
    }
    state_ = State::launching;
    lk.unlock();
    // The monitor thread forks: PR_SET_PDEATHSIG fires when the *thread* that
    // forked ends, and this one lives until every child has been reaped, so
    // the caller's thread may end first without killing the children.
    {
      std::lock_guard tl(thread_m_);
      thread_ = std::thread([this, plans = std::move(plans), argv = std::move(argv)]() mutable {
        run(std::move(plans), std::move(argv));
      });
    }
    lk.lock();
    cv_.wait(lk, [&] { return state_ != State::launching; });
    if (state_ == State::launch_failed) {
      const int err = launch_errno_;
      const std::string what = launch_error_;
      state_ = State::idle;
      lk.unlock();
      join_thread();
      throw std::system_error(err, std::generic_category(), what);
    }
  }

  bool launched() const {
    std::lock_guard lk(m_);
    return state_ == State::running;
  }

  /// A snapshot of every child, in rank order.
  std::vector<ChildStatus> children() const {
    std::lock_guard lk(m_);
    return children_;
  }

  /// The first child that ended abnormally on its own (non-zero exit, signal,
  /// lost status), e.g. "rank 1 (pid 1234) exited with code 3". Children the
  /// launcher itself stopped are not failures here (join reports them).
  std::optional<std::string> failure() const {
    std::lock_guard lk(m_);
    return first_failure_;
  }

  /// Waits up to `timeout` for a failure; true if there is one. Returns false
  /// at once when no child is running (none can fail any more).
  bool wait_for_failure(std::chrono::milliseconds timeout) const {
    std::unique_lock lk(m_);
    cv_.wait_for(lk, timeout, [&] { return first_failure_.has_value() || running_ == 0; });
    return first_failure_.has_value();
  }

  /// For rank 0 once its own work is done: waits up to `grace` for every
  /// child to exit, then terminates the rest (SIGTERM, SIGKILL after
  /// kill_after). Returns 0 when every child exited 0 by itself; otherwise the
  /// shell code (exit code, or 128 + signal) of the first failure, or of the
  /// first child that had to be terminated (128 + SIGTERM if it then exited 0).
  int join(std::chrono::milliseconds grace) {
    bool all_done = false;
    {
      std::unique_lock lk(m_);
      all_done = cv_.wait_for(lk, grace, [&] { return running_ == 0; });
    }
    if (!all_done) terminate_all();
    std::lock_guard lk(m_);
    if (first_failure_index_ >= 0) return children_[static_cast<std::size_t>(first_failure_index_)].shell_code();
    for (const auto& c : children_) {
      if (c.running) return 128 + SIGKILL;  // could not be reaped in time (stuck in the kernel)
      if (c.terminated_by_launcher || !c.succeeded()) {
        const int code = c.shell_code();
        return code != 0 ? code : 128 + SIGTERM;
      }
    }
    return 0;
  }

  /// The error path: SIGTERM to every running child, SIGKILL to those still
  /// running after kill_after, then waits (bounded) until they are reaped.
  void terminate_all() {
    std::unique_lock lk(m_);
    if (running_ == 0) return;
    for (auto& c : children_)
      if (c.running && !c.terminated_by_launcher) {
        c.terminated_by_launcher = true;
        ::kill(c.pid, SIGTERM);  // safe: only the monitor reaps, under m_, so the pid is still ours
      }
    if (cv_.wait_for(lk, opt_.kill_after, [&] { return running_ == 0; })) return;
    for (auto& c : children_)
      if (c.running) ::kill(c.pid, SIGKILL);
    // SIGKILL cannot be ignored; the bound only matters for a child stuck in
    // uninterruptible sleep, which we then leave rather than hang.
    cv_.wait_for(lk, std::chrono::seconds(10), [&] { return running_ == 0; });
  }

 private:
  enum class State { idle, launching, launch_failed, running };

  struct Plan {
    int64_t local_rank = 0;
    int64_t global_rank = 0;
    std::vector<std::string> env;  // "KEY=VALUE"
  };

  /// This process's environment with `overrides` replacing or adding keys.
  static std::vector<std::string> child_environment(const std::map<std::string, std::string>& overrides) {
    std::vector<std::string> out;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      std::string_view kv(*e);
      const std::size_t eq = kv.find('=');
      const std::string key(kv.substr(0, eq));
      if (overrides.count(key) == 0) out.emplace_back(kv);
    }
    for (const auto& [k, v] : overrides) out.push_back(k + "=" + v);
    return out;
  }

  static std::vector<char*> c_strings(std::vector<std::string>& v) {
    std::vector<char*> out;
    out.reserve(v.size() + 1);
    for (auto& s : v) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
  }

  /// The child's side of spawn_one: async-signal-safe calls only, then
  /// execve; a failure is written to `report_fd` as {step, errno}.
  [[noreturn]] static void exec_child(char* const* argv, char* const* envp, pid_t parent, int max_fd, int report_fd) {
    int report[2] = {0, 0};  // {step, errno}
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
      report[0] = 1;
      report[1] = errno;
    } else if (::getppid() != parent) {
      ::_exit(1);  // the launcher died before prctl took effect: nobody to work for
    } else {
      // Handlers are reset by exec; dispositions must not run before it.
      for (int s = 1; s < NSIG; ++s) {
        struct sigaction sa;
        if (::sigaction(s, nullptr, &sa) == 0 && sa.sa_handler != SIG_IGN && sa.sa_handler != SIG_DFL) {
          sa.sa_handler = SIG_DFL;
          sa.sa_flags = 0;
          ::sigaction(s, &sa, nullptr);
        }
      }
      // Like Python's subprocess (close_fds=True): the child inherits only 0-2.
      bool marked = false;
#if defined(SYS_close_range)
      marked = ::syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */) == 0;
#endif
      if (!marked)
        for (int fd = 3; fd < max_fd; ++fd) {
          const int fl = ::fcntl(fd, F_GETFD);
          if (fl >= 0 && (fl & FD_CLOEXEC) == 0) ::fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
        }
      sigset_t none;
      ::sigemptyset(&none);
      ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
      ::execve("/proc/self/exe", argv, envp);
      report[0] = 2;
      report[1] = errno;
    }
    [[maybe_unused]] ssize_t n = ::write(report_fd, report, sizeof report);
    ::_exit(127);
  }

  /// fork + execve("/proc/self/exe"). Returns 0 and sets *pid_out, or an errno
  /// with *what naming the step that failed. Only async-signal-safe calls run
  /// in the child between fork and exec (the parent may have many threads).
  static int spawn_one(char* const* argv, char* const* envp, pid_t parent, int max_fd, pid_t* pid_out,
                       std::string* what) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      *what = "SubprocessLauncher: pipe2";
      return errno;
    }
    // Block every signal across fork so the child cannot run one of the
    // parent's handlers before exec; the child then starts with an empty mask.
    sigset_t all, old;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    const pid_t pid = ::fork();
    if (pid == 0) exec_child(argv, envp, parent, max_fd, fds[1]);
    const int fork_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ::close(fds[1]);
    if (pid < 0) {
      ::close(fds[0]);
      *what = "SubprocessLauncher: fork";
      return fork_errno;
    }
    int report[2] = {0, 0};
    ssize_t n;
    do n = ::read(fds[0], report, sizeof report);  // EOF: execve succeeded (close-on-exec)
    while (n < 0 && errno == EINTR);
    ::close(fds[0]);
    if (n == static_cast<ssize_t>(sizeof report)) {
      int st = 0;
      while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
      *what = report[0] == 1 ? "SubprocessLauncher: prctl(PR_SET_PDEATHSIG) in the child"
                             : "SubprocessLauncher: execve(/proc/self/exe) in the child";
      return report[1] != 0 ? report[1] : EIO;
    }
    *pid_out = pid;
    return 0;
  }

  /// The monitor thread: forks every child, then reaps them until none runs.
  void run(std::vector<Plan> plans, std::vector<std::string> argv) {
    std::vector<char*> cargv = c_strings(argv);
    const pid_t self = ::getpid();
    long open_max = ::sysconf(_SC_OPEN_MAX);
    const int max_fd = static_cast<int>(open_max <= 0 ? 1024 : (open_max > 65536 ? 65536 : open_max));
    int err = 0;
    std::string what;
    for (auto& p : plans) {
      std::vector<char*> cenv = c_strings(p.env);
      pid_t pid = -1;
      err = spawn_one(cargv.data(), cenv.data(), self, max_fd, &pid, &what);
      if (err != 0) {
        what += " (starting local rank " + std::to_string(p.local_rank) + ")";
        break;
      }
      std::lock_guard lk(m_);
      ChildStatus c;
      c.local_rank = p.local_rank;
      c.global_rank = p.global_rank;
      c.pid = pid;
      children_.push_back(c);
      ++running_;
    }
    std::unique_lock lk(m_);
    if (err != 0) {  // leave nothing behind
      for (auto& c : children_) {
        ::kill(c.pid, SIGKILL);
        int st = 0;
        while (::waitpid(c.pid, &st, 0) < 0 && errno == EINTR) {
        }
      }
      children_.clear();
      running_ = 0;
      launch_errno_ = err;
      launch_error_ = what;
      state_ = State::launch_failed;
      cv_.notify_all();
      return;
    }
    state_ = State::running;
    cv_.notify_all();
    while (true) {
      reap_locked();
      if (running_ == 0) break;
      cv_.wait_for(lk, opt_.poll_interval);
    }
  }

  void reap_locked() {
    bool changed = false;
    for (std::size_t i = 0; i < children_.size(); ++i) {
      auto& c = children_[i];
      if (!c.running) continue;
      int st = 0;
      pid_t r;
      do r = ::waitpid(c.pid, &st, WNOHANG);
      while (r < 0 && errno == EINTR);
      if (r == 0) continue;
      if (r == c.pid) {
        if (WIFEXITED(st)) {
          c.exited = true;
          c.exit_code = WEXITSTATUS(st);
        } else if (WIFSIGNALED(st)) {
          c.signal = WTERMSIG(st);
#ifdef WCOREDUMP
          c.core_dumped = WCOREDUMP(st);
#endif
        } else {
          continue;  // stopped/continued: not reported without WUNTRACED
        }
      } else {
        c.status_lost = true;  // ECHILD: reaped elsewhere
      }
      c.running = false;
      --running_;
      changed = true;
      if (first_failure_index_ < 0 && !c.succeeded() && !c.terminated_by_launcher) {
        first_failure_index_ = static_cast<int64_t>(i);
        first_failure_ = c.describe();
      }
    }
    if (changed) cv_.notify_all();
  }

  void join_thread() {
    std::lock_guard tl(thread_m_);
    if (thread_.joinable()) thread_.join();
  }

  LauncherOptions opt_;
  mutable std::mutex m_;
  mutable std::condition_variable cv_;
  State state_ = State::idle;
  std::vector<ChildStatus> children_;
  int64_t running_ = 0;
  std::optional<std::string> first_failure_;
  int64_t first_failure_index_ = -1;
  int launch_errno_ = 0;
  std::string launch_error_;
  std::mutex thread_m_;
  std::thread thread_;
};

}  // namespace lightning::strategy
