#pragma once
// Cluster environments: who am I in a distributed run, and where is rank 0?
// Mirrors Lightning 2.2's SLURMEnvironment, TorchElasticEnvironment and
// LightningEnvironment, reading the same variables with the same defaults.
// No process groups here: this only decides the numbers c10d will be given.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace lightning::strategy {

/// Where this process sits in the run, and how it reaches rank 0.
struct ClusterEnvironment {
  std::string kind;  // "torchrun", "slurm", "local"
  std::string main_address;
  int port = 0;
  int64_t world_size = 1;
  int64_t global_rank = 0;
  int64_t local_rank = 0;
  int64_t node_rank = 0;
  /// Processes per node (the Trainer's `devices`); needed to give children
  /// their RANK and LOCAL_WORLD_SIZE.
  int64_t local_world_size = 1;
  /// true: every rank was started by torchrun/srun, so the Trainer must not
  /// start more. false: this is rank 0 of its node and launches devices-1 children.
  bool launched_externally = false;
};

/// Environment lookup; injectable so tests can fake a cluster without
/// touching the real process environment. nullopt = not set.
using Env = std::function<std::optional<std::string>(std::string_view)>;

/// The real process environment.
inline std::optional<std::string> process_env(std::string_view name) {
  const char* v = ::getenv(std::string(name).c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

namespace detail_env {

inline int64_t parse_int(std::string_view name, const std::string& value) {
  int64_t out = 0;
  const char* first = value.data();
  const char* last = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(first, last, out);
  if (value.empty() || ec != std::errc() || ptr != last)
    throw std::invalid_argument("environment variable " + std::string(name) + "='" + value +
                                "' is not an integer (expected a base-10 integer such as 0 or 4)");
  return out;
}

inline std::optional<int64_t> get_int(const Env& env, std::string_view name) {
  auto v = env(name);
  if (!v) return std::nullopt;
  return parse_int(name, *v);
}

inline int64_t require_int(const Env& env, std::string_view name, std::string_view why) {
  auto v = get_int(env, name);
  if (!v)
    throw std::invalid_argument("environment variable " + std::string(name) + " is not set, but " +
                                std::string(why));
  return *v;
}

inline int parse_port(std::string_view name, const std::string& value) {
  const int64_t p = parse_int(name, value);
  if (p < 1 || p > 65535)
    throw std::invalid_argument("environment variable " + std::string(name) + "=" + value +
                                " is not a valid TCP port (expected 1..65535)");
  return static_cast<int>(p);
}

/// Rank checks: a rank outside its range means the launcher and the Trainer
/// options disagree, and init_process_group would hang rather than fail.
inline void check_rank(std::string_view what, int64_t value, int64_t bound, std::string_view bound_what) {
  if (value < 0 || value >= bound)
    throw std::invalid_argument(std::string(what) + " = " + std::to_string(value) + " is out of range: expected 0 <= " +
                                std::string(what) + " < " + std::to_string(bound) + " (" + std::string(bound_what) +
                                ")");
}

inline std::string world_from_options(int64_t devices, int64_t num_nodes) {
  return "devices * num_nodes = " + std::to_string(devices) + " * " + std::to_string(num_nodes) + " = " +
         std::to_string(devices * num_nodes) + " (from the Trainer options)";
}

/// Lightning: NODE_RANK, else GROUP_RANK (torchrun's name), else 0.
inline int64_t node_rank_from(const Env& env) {
  if (auto n = get_int(env, "NODE_RANK")) return *n;
  if (auto g = get_int(env, "GROUP_RANK")) return *g;
  return 0;
}

inline std::string pad(int64_t v, std::size_t width) {
  std::string s = std::to_string(v);
  if (s.size() < width) s.insert(0, width - s.size(), '0');
  return s;
}

/// Expands the body of one bracket, e.g. "003-005,9" -> {003,004,005,9}.
inline std::vector<std::string> expand_bracket(std::string_view body, std::string_view whole) {
  auto bad = [&](const std::string& why) {
    return std::invalid_argument("malformed SLURM node list '" + std::string(whole) + "': " + why);
  };
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t comma = body.find(',', start);
    if (comma == std::string_view::npos) comma = body.size();
    std::string_view item = body.substr(start, comma - start);
    if (item.empty()) throw bad("empty entry inside [...]");
    const std::size_t dash = item.find('-');
    std::string_view lo = item.substr(0, dash);
    std::string_view hi = dash == std::string_view::npos ? lo : item.substr(dash + 1);
    auto digits = [](std::string_view s) {
      if (s.empty()) return false;
      for (char c : s)
        if (c < '0' || c > '9') return false;
      return true;
    };
    if (!digits(lo) || !digits(hi)) throw bad("'" + std::string(item) + "' is not N or N-M");
    int64_t a = 0, b = 0;
    std::from_chars(lo.data(), lo.data() + lo.size(), a);
    std::from_chars(hi.data(), hi.data() + hi.size(), b);
    if (b < a) throw bad("range '" + std::string(item) + "' goes backwards");
    // SLURM keeps the zero padding of the range's first number: node[003-005].
    for (int64_t i = a; i <= b; ++i) out.push_back(pad(i, lo.size()));
    start = comma + 1;
  }
  return out;
}

/// Expands one host expression without top-level commas, e.g. "rack[1-2]-n[01-02]".
inline std::vector<std::string> expand_host(std::string_view host, std::string_view whole) {
  std::vector<std::string> acc{""};
  std::size_t i = 0;
  while (i < host.size()) {
    const std::size_t open = host.find('[', i);
    std::string_view literal = host.substr(i, open == std::string_view::npos ? std::string_view::npos : open - i);
    if (literal.find(']') != std::string_view::npos)
      throw std::invalid_argument("malformed SLURM node list '" + std::string(whole) + "': unmatched ']'");
    for (auto& a : acc) a += literal;
    if (open == std::string_view::npos) break;
    const std::size_t close = host.find(']', open);
    if (close == std::string_view::npos)
      throw std::invalid_argument("malformed SLURM node list '" + std::string(whole) + "': unmatched '['");
    const auto parts = expand_bracket(host.substr(open + 1, close - open - 1), whole);
    std::vector<std::string> next;
    next.reserve(acc.size() * parts.size());
    for (const auto& a : acc)
      for (const auto& p : parts) next.push_back(a + p);
    acc = std::move(next);
    i = close + 1;
  }
  return acc;
}

}  // namespace detail_env

/// Expands a SLURM host list: "node[003-005,9],gpu7" -> node003 node004
/// node005 node9 gpu7 (each range keeps the width of its first number).
/// Hosts are separated by commas outside brackets, or by spaces.
inline std::vector<std::string> expand_slurm_nodelist(std::string_view nodelist) {
  std::vector<std::string> out;
  std::size_t start = 0;
  int depth = 0;
  for (std::size_t i = 0; i <= nodelist.size(); ++i) {
    const bool end = i == nodelist.size();
    const char c = end ? ',' : nodelist[i];
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (depth < 0)
      throw std::invalid_argument("malformed SLURM node list '" + std::string(nodelist) + "': unmatched ']'");
    if ((c == ',' || c == ' ') && (depth == 0 || end)) {
      std::string_view host = nodelist.substr(start, i - start);
      if (!host.empty()) {
        auto hosts = detail_env::expand_host(host, nodelist);
        out.insert(out.end(), hosts.begin(), hosts.end());
      }
      start = i + 1;
    }
  }
  if (depth != 0)
    throw std::invalid_argument("malformed SLURM node list '" + std::string(nodelist) + "': unmatched '['");
  return out;
}

/// A TCP port nobody is listening on right now: bind port 0 on loopback and
/// read back what the kernel picked (Lightning's find_free_network_port).
inline int find_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "find_free_port: socket()");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::system_error(err, std::generic_category(), "find_free_port: bind/getsockname on 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// Decides the cluster environment as Lightning 2.2 does. Order follows
/// Lightning's connector: SLURM (if not an interactive shell), then
/// torchrun-style (LOCAL_RANK set), then local (the Trainer launches).
inline ClusterEnvironment detect_environment(int64_t devices, int64_t num_nodes, const Env& env = process_env) {
  using namespace detail_env;
  if (devices < 1) throw std::invalid_argument("devices must be >= 1, got " + std::to_string(devices));
  if (num_nodes < 1) throw std::invalid_argument("num_nodes must be >= 1, got " + std::to_string(num_nodes));
  const int64_t expected_world = devices * num_nodes;

  ClusterEnvironment ce;
  ce.local_world_size = devices;

  // --- SLURM: srun started every task; job name bash/interactive means an
  // interactive allocation where the user runs the script by hand.
  const auto job_name = env("SLURM_JOB_NAME");
  const bool interactive = job_name && (*job_name == "bash" || *job_name == "interactive");
  if (env("SLURM_NTASKS") && !interactive) {
    ce.kind = "slurm";
    ce.launched_externally = true;
    ce.world_size = require_int(env, "SLURM_NTASKS", "");
    if (ce.world_size != expected_world)
      throw std::invalid_argument("SLURM_NTASKS=" + std::to_string(ce.world_size) +
                                  " (from SLURM: srun --ntasks) does not match " +
                                  world_from_options(devices, num_nodes) +
                                  ". HINT: set --nodes=" + std::to_string(num_nodes) +
                                  " and --ntasks-per-node=" + std::to_string(devices) + " in your SLURM script.");
    if (auto per_node = get_int(env, "SLURM_NTASKS_PER_NODE"); per_node && *per_node != devices)
      throw std::invalid_argument("You set `devices=" + std::to_string(devices) +
                                  "` in Lightning, but the number of tasks per node configured in SLURM "
                                  "`--ntasks-per-node=" +
                                  std::to_string(*per_node) + "` does not match. HINT: Set `devices=" +
                                  std::to_string(*per_node) + "`.");
    const char* why = "SLURM_NTASKS is set, so every task must have been started by srun";
    ce.global_rank = require_int(env, "SLURM_PROCID", why);
    ce.local_rank = require_int(env, "SLURM_LOCALID", why);
    ce.node_rank = require_int(env, "SLURM_NODEID", why);
    check_rank("SLURM_PROCID", ce.global_rank, ce.world_size, "SLURM_NTASKS");
    check_rank("SLURM_LOCALID", ce.local_rank, devices, "devices");
    check_rank("SLURM_NODEID", ce.node_rank, num_nodes, "num_nodes");

    // MASTER_ADDR wins; otherwise the first host of the allocation.
    if (auto addr = env("MASTER_ADDR")) {
      ce.main_address = *addr;
    } else {
      const auto nodelist = env("SLURM_NODELIST");
      const auto hosts = nodelist ? expand_slurm_nodelist(*nodelist) : std::vector<std::string>{};
      ce.main_address = hosts.empty() ? "127.0.0.1" : hosts.front();
    }
    // Every task computes the same port from the job id, so no exchange is needed.
    if (auto p = env("MASTER_PORT")) {
      ce.port = parse_port("MASTER_PORT", *p);
    } else if (auto job = env("SLURM_JOB_ID")) {
      parse_int("SLURM_JOB_ID", *job);  // reject garbage with the variable's name
      const std::string last4 = job->size() > 4 ? job->substr(job->size() - 4) : *job;
      ce.port = static_cast<int>(parse_int("SLURM_JOB_ID", last4) + 15000);
    } else {
      ce.port = 12910;  // Lightning's SLURMEnvironment default without a job id
    }
    return ce;
  }

  // --- torchrun (or Lightning's own children): LOCAL_RANK marks a process
  // that something else started.
  if (auto lr = get_int(env, "LOCAL_RANK")) {
    ce.kind = "torchrun";
    ce.launched_externally = true;
    ce.local_rank = *lr;
    ce.node_rank = node_rank_from(env);
    const auto ws = get_int(env, "WORLD_SIZE");
    ce.world_size = ws.value_or(expected_world);
    if (ce.world_size != expected_world)
      throw std::invalid_argument("WORLD_SIZE=" + std::to_string(ce.world_size) +
                                  " (from the environment, set by torchrun) does not match " +
                                  world_from_options(devices, num_nodes) +
                                  ". HINT: run torchrun --nnodes=" + std::to_string(num_nodes) +
                                  " --nproc_per_node=" + std::to_string(devices) + ".");
    if (auto lws = get_int(env, "LOCAL_WORLD_SIZE"); lws && *lws != devices)
      throw std::invalid_argument("LOCAL_WORLD_SIZE=" + std::to_string(*lws) +
                                  " (from the environment, torchrun --nproc_per_node) does not match devices = " +
                                  std::to_string(devices) + " (from the Trainer options)");
    check_rank("LOCAL_RANK", ce.local_rank, devices, "devices");
    check_rank("node rank (NODE_RANK/GROUP_RANK)", ce.node_rank, num_nodes, "num_nodes");
    ce.global_rank = get_int(env, "RANK").value_or(ce.node_rank * devices + ce.local_rank);
    check_rank("RANK", ce.global_rank, ce.world_size, "WORLD_SIZE");
    ce.main_address = env("MASTER_ADDR").value_or("127.0.0.1");
    const auto port = env("MASTER_PORT");
    if (!port)
      throw std::invalid_argument(
          "LOCAL_RANK is set (processes launched externally, e.g. by torchrun), but MASTER_PORT is not: "
          "expected the launcher to export MASTER_PORT (torchrun does; set it yourself for a custom launcher)");
    ce.port = parse_port("MASTER_PORT", *port);
    return ce;
  }

  // --- local: this process is rank 0 of its node; the Trainer will start
  // devices-1 children. NODE_RANK lets several nodes be started by hand.
  ce.kind = "local";
  ce.launched_externally = false;
  ce.world_size = expected_world;
  ce.node_rank = node_rank_from(env);
  check_rank("node rank (NODE_RANK/GROUP_RANK)", ce.node_rank, num_nodes, "num_nodes");
  ce.local_rank = 0;
  ce.global_rank = ce.node_rank * devices;
  ce.main_address = env("MASTER_ADDR").value_or("127.0.0.1");
  if (auto p = env("MASTER_PORT")) {
    ce.port = parse_port("MASTER_PORT", *p);
  } else {
    if (num_nodes > 1)  // each node would pick a different free port
      throw std::invalid_argument("num_nodes = " + std::to_string(num_nodes) +
                                  " without a cluster launcher needs MASTER_ADDR and MASTER_PORT set identically "
                                  "on every node; MASTER_PORT is not set");
    ce.port = find_free_port();
  }
  return ce;
}

/// The variables a child started by the Trainer gets (Lightning's
/// _SubprocessScriptLauncher, plus the torchrun names so the child's own
/// detect_environment sees a consistent "torchrun" environment).
inline std::map<std::string, std::string> launch_environment(const ClusterEnvironment& ce, int64_t local_rank) {
  detail_env::check_rank("local_rank", local_rank, ce.local_world_size, "local_world_size = devices");
  const std::string node = std::to_string(ce.node_rank);
  return {
      {"MASTER_ADDR", ce.main_address},
      {"MASTER_PORT", std::to_string(ce.port)},
      {"WORLD_SIZE", std::to_string(ce.world_size)},
      {"RANK", std::to_string(ce.node_rank * ce.local_world_size + local_rank)},
      {"LOCAL_RANK", std::to_string(local_rank)},
      {"NODE_RANK", node},
      {"GROUP_RANK", node},
      {"LOCAL_WORLD_SIZE", std::to_string(ce.local_world_size)},
  };
}

}  // namespace lightning::strategy
