// SubprocessLauncher: rank 0 starts copies of this same program as the other
// local ranks. A plain program: prints each check, exits non-zero on failure.
// The same binary plays every part:
//   - no arguments: re-executes itself with an awkward argv ("driver", an
//     argument with a space, an empty one, a UTF-8 one) and becomes the driver;
//   - LOCAL_RANK set: a child started by a launcher; TEST_LAUNCHER_MODE says
//     what it does (report / exit3 / sleep / ignore_term / sub);
//   - argv[1] == "sublauncher": a launcher process the driver SIGKILLs (check 5).
// Checks:
//  1. 2 children get RANK/LOCAL_RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT (set
//     over stale values), inherit the rest of the environment, see the same
//     argv, do not inherit other fds, and detect_environment agrees; join == 0
//  2. a child exiting 3: failure() names rank, pid and code; join returns 3
//  3. a child SIGKILLed by us: wait_for_failure reports it promptly, naming the signal
//  4. the destructor stops children that would sleep forever (also one that
//     ignores SIGTERM: SIGKILL after kill_after); join's grace terminates
//  5. SIGKILL the launcher process: its child dies too (PR_SET_PDEATHSIG)
#include <lightning/strategy/launcher.hpp>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace ls = lightning::strategy;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what.c_str());
  std::fflush(stdout);
  if (!ok) ++failures;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string env_or(const char* name, const char* fallback = "<unset>") {
  const char* v = ::getenv(name);
  return v ? v : fallback;
}

void write_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
  }
  fs::rename(tmp, path);
}

[[noreturn]] void sleep_forever() {
  for (;;) ::pause();
}

// ---------------------------------------------------------------- child side
int child_main(int argc, char** argv) {
  const std::string mode = env_or("TEST_LAUNCHER_MODE");
  const fs::path dir = env_or("TEST_LAUNCHER_DIR", "/nonexistent");
  const std::string local_rank = env_or("LOCAL_RANK");
  if (mode == "report") {
    std::ostringstream o;
    for (const char* k : {"RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "NODE_RANK",
                          "LOCAL_WORLD_SIZE", "TEST_INHERITED"})
      o << k << "=" << env_or(k) << "\n";
    const int leak = std::atoi(env_or("TEST_LEAK_FD", "-1").c_str());
    o << "LEAK_FD_OPEN=" << (leak >= 0 && ::fcntl(leak, F_GETFD) >= 0 ? 1 : 0) << "\n";
    try {
      const auto ce = ls::detect_environment(3, 1);
      o << "DETECT=" << ce.kind << " " << ce.global_rank << " " << ce.local_rank << " " << ce.world_size << " "
        << ce.port << " " << ce.launched_externally << "\n";
    } catch (const std::exception& e) {
      o << "DETECT=error " << e.what() << "\n";
    }
    o << "ARGC=" << argc << "\n";
    for (int i = 1; i < argc; ++i) o << "ARG=" << argv[i] << "\n";
    write_atomically(dir / ("rank" + env_or("RANK") + ".txt"), o.str());
    return 0;
  }
  if (mode == "exit3") {
    if (local_rank == "1") {
      std::this_thread::sleep_for(100ms);
      return 3;
    }
    std::this_thread::sleep_for(300ms);
    return 0;
  }
  if (mode == "sleep") sleep_forever();
  if (mode == "ignore_term") {
    ::signal(SIGTERM, SIG_IGN);
    sleep_forever();
  }
  if (mode == "sub") {
    write_atomically(dir / "sub_child.pid", std::to_string(::getpid()));
    sleep_forever();
  }
  std::fprintf(stderr, "child: unknown TEST_LAUNCHER_MODE '%s'\n", mode.c_str());
  return 99;
}

// ----------------------------------------------------------- driver helpers
ls::ClusterEnvironment local_env(int64_t devices) {
  ls::ClusterEnvironment ce;
  ce.kind = "local";
  ce.main_address = "127.0.0.1";
  ce.port = ls::find_free_port();
  ce.world_size = devices;
  ce.local_world_size = devices;
  ce.node_rank = 0;
  ce.global_rank = 0;
  ce.local_rank = 0;
  ce.launched_externally = false;
  return ce;
}

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

bool process_gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// 1 -------------------------------------------------------------------------
void test_environment_and_argv(const fs::path& dir, const std::vector<std::string>& my_args) {
  ::setenv("TEST_LAUNCHER_MODE", "report", 1);
  ::setenv("TEST_INHERITED", "yes", 1);
  ::setenv("WORLD_SIZE", "999", 1);  // stale values the launcher must override
  ::setenv("RANK", "77", 1);
  const int leak = ::open("/dev/null", O_RDONLY);  // deliberately not O_CLOEXEC
  ::setenv("TEST_LEAK_FD", std::to_string(leak).c_str(), 1);
  const auto ce = local_env(3);
  std::vector<pid_t> pids;
  int code = -1;
  {
    ls::SubprocessLauncher launcher;
    launcher.launch(ce);
    ::unsetenv("WORLD_SIZE");
    ::unsetenv("RANK");
    const auto kids = launcher.children();
    check(kids.size() == 2 && kids[0].global_rank == 1 && kids[1].global_rank == 2 && kids[0].pid > 0 &&
              kids[1].pid > 0,
          "1: launch(devices=3) started local ranks 1 and 2");
    code = launcher.join(20s);
    check(code == 0, "1: join returned 0 (got " + std::to_string(code) + ")");
    check(!launcher.failure().has_value(), "1: no failure recorded");
    for (const auto& k : launcher.children())
      check(!k.running && k.succeeded(), "1: " + k.describe());
  }
  ::close(leak);
  for (int r : {1, 2}) {
    const auto lines = read_lines(dir / ("rank" + std::to_string(r) + ".txt"));
    std::map<std::string, std::string> kv;
    std::vector<std::string> args;
    for (const auto& l : lines) {
      const auto eq = l.find('=');
      if (eq == std::string::npos) continue;
      if (l.compare(0, eq, "ARG") == 0)
        args.push_back(l.substr(eq + 1));
      else
        kv[l.substr(0, eq)] = l.substr(eq + 1);
    }
    const std::string R = "1: rank " + std::to_string(r) + " ";
    check(!lines.empty(), R + "wrote its report");
    check(kv["RANK"] == std::to_string(r) && kv["LOCAL_RANK"] == std::to_string(r),
          R + "RANK=" + kv["RANK"] + " LOCAL_RANK=" + kv["LOCAL_RANK"]);
    check(kv["WORLD_SIZE"] == "3" && kv["LOCAL_WORLD_SIZE"] == "3" && kv["NODE_RANK"] == "0",
          R + "WORLD_SIZE=" + kv["WORLD_SIZE"] + " (stale 999 overridden) LOCAL_WORLD_SIZE=" +
              kv["LOCAL_WORLD_SIZE"] + " NODE_RANK=" + kv["NODE_RANK"]);
    check(kv["MASTER_ADDR"] == "127.0.0.1" && kv["MASTER_PORT"] == std::to_string(ce.port),
          R + "MASTER_ADDR=" + kv["MASTER_ADDR"] + " MASTER_PORT=" + kv["MASTER_PORT"] + " (expected " +
              std::to_string(ce.port) + ")");
    check(kv["TEST_INHERITED"] == "yes", R + "inherited the parent's other variables");
    check(kv["LEAK_FD_OPEN"] == "0", R + "did not inherit the parent's non-CLOEXEC fd");
    const std::string want_detect = "torchrun " + std::to_string(r) + " " + std::to_string(r) + " 3 " +
                                    std::to_string(ce.port) + " 1";
    check(kv["DETECT"] == want_detect, R + "detect_environment: '" + kv["DETECT"] + "'");
    check(kv["ARGC"] == std::to_string(my_args.size() + 1) && args == my_args,
          R + "saw the same argv (" + kv["ARGC"] + " args, incl. a space, an empty one, UTF-8)");
  }
}

// 2 -------------------------------------------------------------------------
void test_exit_code() {
  ::setenv("TEST_LAUNCHER_MODE", "exit3", 1);
  ls::SubprocessLauncher launcher;
  launcher.launch(local_env(3));
  const pid_t p1 = launcher.children().at(0).pid;
  const auto t0 = Clock::now();
  const bool got = launcher.wait_for_failure(10s);
  const auto f = launcher.failure();
  const std::string want = "rank 1 (pid " + std::to_string(p1) + ") exited with code 3";
  check(got && f && *f == want, "2: failure() = '" + f.value_or("<none>") + "' within " +
                                    std::to_string(seconds_since(t0)) + " s");
  const int code = launcher.join(10s);
  check(code == 3, "2: join returned " + std::to_string(code) + " (the failed rank's code)");
  const auto kids = launcher.children();
  check(kids.at(1).succeeded(), "2: the other child still finished normally: " + kids.at(1).describe());
}

// 3 -------------------------------------------------------------------------
void test_killed_child() {
  ::setenv("TEST_LAUNCHER_MODE", "sleep", 1);
  ls::SubprocessLauncher launcher;
  launcher.launch(local_env(2));
  const pid_t p1 = launcher.children().at(0).pid;
  check(!launcher.wait_for_failure(50ms), "3: no failure while the child runs");
  const auto t0 = Clock::now();
  ::kill(p1, SIGKILL);
  const bool got = launcher.wait_for_failure(5s);
  const double dt = seconds_since(t0);
  const auto f = launcher.failure();
  const std::string want = "rank 1 (pid " + std::to_string(p1) + ") was killed by signal 9 (Killed)";
  check(got && dt < 2.0 && f && *f == want,
        "3: failure() = '" + f.value_or("<none>") + "' after " + std::to_string(dt) + " s");
  const int code = launcher.join(1s);
  check(code == 128 + SIGKILL, "3: join returned " + std::to_string(code) + " (128 + 9)");
}

// 4 -------------------------------------------------------------------------
void test_destructor_and_grace() {
  ::setenv("TEST_LAUNCHER_MODE", "sleep", 1);
  std::vector<pid_t> pids;
  auto t0 = Clock::now();
  {
    ls::SubprocessLauncher launcher;
    launcher.launch(local_env(3));
    for (const auto& k : launcher.children()) pids.push_back(k.pid);
    std::this_thread::sleep_for(100ms);
    t0 = Clock::now();
  }
  double dt = seconds_since(t0);
  check(pids.size() == 2 && process_gone(pids[0]) && process_gone(pids[1]) && dt < 3.0,
        "4: destructor stopped 2 sleeping children (SIGTERM) in " + std::to_string(dt) + " s");

  ::setenv("TEST_LAUNCHER_MODE", "ignore_term", 1);
  pids.clear();
  ls::LauncherOptions opt;
  opt.kill_after = 300ms;
  {
    ls::SubprocessLauncher launcher(opt);
    launcher.launch(local_env(2));
    pids.push_back(launcher.children().at(0).pid);
    std::this_thread::sleep_for(200ms);  // let it install SIG_IGN
    t0 = Clock::now();
  }
  dt = seconds_since(t0);
  check(process_gone(pids[0]) && dt >= 0.25 && dt < 3.0,
        "4: destructor SIGKILLed a child ignoring SIGTERM after kill_after, in " + std::to_string(dt) + " s");

  ::setenv("TEST_LAUNCHER_MODE", "sleep", 1);
  {
    ls::SubprocessLauncher launcher(opt);
    launcher.launch(local_env(2));
    t0 = Clock::now();
    const int code = launcher.join(200ms);
    dt = seconds_since(t0);
    const auto k = launcher.children().at(0);
    check(code == 128 + SIGTERM && !k.running && k.terminated_by_launcher && k.signal == SIGTERM && dt < 3.0,
          "4: join(200ms) terminated a child still running: code " + std::to_string(code) + ", '" +
              k.describe() + "', " + std::to_string(dt) + " s");
    check(!launcher.failure().has_value(), "4: a child the launcher stopped is not reported by failure()");
  }
}

// 5 -------------------------------------------------------------------------
void test_parent_death(const fs::path& dir) {
  // Orphans are re-parented to us, so we can reap the grandchild and see how it died.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::setenv("TEST_LAUNCHER_MODE", "sub", 1);
  const std::string d = dir.string();
  const pid_t sub = ::fork();
  if (sub == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    char a0[] = "test_launcher", a1[] = "sublauncher";
    char* args[] = {a0, a1, const_cast<char*>(d.c_str()), nullptr};
    ::execv("/proc/self/exe", args);
    ::_exit(127);
  }
  const fs::path pid_file = dir / "sub_child.pid";
  auto t0 = Clock::now();
  while (!fs::exists(pid_file) && seconds_since(t0) < 10.0) std::this_thread::sleep_for(10ms);
  pid_t gc = -1;
  if (fs::exists(pid_file)) gc = static_cast<pid_t>(std::stol(read_lines(pid_file).at(0)));
  check(gc > 0 && ::kill(gc, 0) == 0, "5: the sub-launcher's child (pid " + std::to_string(gc) + ") is running");
  ::kill(sub, SIGKILL);
  int st = 0;
  ::waitpid(sub, &st, 0);
  check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "5: the sub-launcher was SIGKILLed");
  if (gc <= 0) return;
  t0 = Clock::now();
  pid_t r = 0;
  st = 0;
  while ((r = ::waitpid(gc, &st, WNOHANG)) == 0 && seconds_since(t0) < 5.0) std::this_thread::sleep_for(5ms);
  const double dt = seconds_since(t0);
  check(r == gc && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
        "5: its orphaned child died of SIGKILL (PDEATHSIG) within " + std::to_string(dt) + " s" +
            (r < 0 ? std::string(" (waitpid: ") + std::strerror(errno) + ")" : std::string()));
  if (r == 0) ::kill(gc, SIGKILL);  // do not leave it behind on failure
}

int sublauncher_main() {
  ls::SubprocessLauncher launcher;
  launcher.launch(local_env(2));
  sleep_forever();  // the driver SIGKILLs us
}

void test_misuse() {
  ls::SubprocessLauncher launcher;
  auto ce = local_env(2);
  ce.launched_externally = true;
  bool threw = false;
  try {
    launcher.launch(ce);
  } catch (const std::logic_error&) {
    threw = true;
  }
  check(threw, "0: launch refuses an environment whose ranks were started externally");
  ls::SubprocessLauncher one;
  one.launch(local_env(1));
  check(one.children().empty() && one.join(1s) == 0 && !one.wait_for_failure(1s),
        "0: devices=1 starts nothing; join returns 0 at once");
}

}  // namespace

int main(int argc, char** argv) {
  if (::getenv("LOCAL_RANK") != nullptr) return child_main(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "sublauncher") == 0) return sublauncher_main();
  if (argc == 1) {  // become the driver, with an argv the children must reproduce exactly
    char a1[] = "driver", a2[] = "a b", a3[] = "", a4[] = "\xc3\xbc-x";
    char* args[] = {argv[0], a1, a2, a3, a4, nullptr};
    ::execv("/proc/self/exe", args);
    std::perror("execv /proc/self/exe");
    return 2;
  }
  char tmpl[] = "/tmp/test_launcher.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    return 2;
  }
  const fs::path dir = tmpl;
  ::setenv("TEST_LAUNCHER_DIR", tmpl, 1);
  std::vector<std::string> my_args(argv + 1, argv + argc);
  try {
    test_misuse();
    test_environment_and_argv(dir, my_args);
    test_exit_code();
    test_killed_child();
    test_destructor_and_grace();
    test_parent_death(dir);
  } catch (const std::exception& e) {
    check(false, std::string("unexpected exception: ") + e.what());
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  std::printf("%s (%d failure%s)\n", failures == 0 ? "ALL OK" : "FAILED", failures, failures == 1 ? "" : "s");
  return failures == 0 ? 0 : 1;
}
