#pragma once
// Cluster environments: who am I in a distributed run, and where is rank 0?
// Mirrors Lightning 2.2's SLURMEnvironment, TorchElasticEnvironment and
// LightningEnvironment, reading the same variables with the same defaults.
// No process groups here: this only decides the numbers c10d will be given.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
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

/// The most processes a run may have. A world size, rank or node count
/// beyond it is a corrupted variable, not a cluster (the largest machines
/// have ~10^5 nodes); it also bounds what a node list may name.
inline constexpr int64_t kMaxWorldSize = int64_t{1} << 20;
/// Longer numbers are not ids of anything here, and 18 digits cannot overflow int64_t.
inline constexpr std::size_t kMaxDigits = 18;

/// A value as an error quotes it: at most 200 characters of it.
inline std::string quote_value(std::string_view v) {
  if (v.size() <= 200) return "'" + std::string(v) + "'";
  return "'" + std::string(v.substr(0, 200)) + "...' (" + std::to_string(v.size()) + " characters)";
}

inline bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

inline int64_t parse_int(std::string_view name, const std::string& value) {
  const std::string_view digits = std::string_view(value).substr(!value.empty() && value[0] == '-' ? 1 : 0);
  if (all_digits(digits) && digits.size() > kMaxDigits)
    throw std::invalid_argument("environment variable " + std::string(name) + "=" + quote_value(value) + " has " +
                                std::to_string(digits.size()) + " digits (expected a base-10 integer of at most " +
                                std::to_string(kMaxDigits) + " digits)");
  int64_t out = 0;
  const char* first = value.data();
  const char* last = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(first, last, out);
  if (value.empty() || ec != std::errc() || ptr != last)
    throw std::invalid_argument("environment variable " + std::string(name) + "=" + quote_value(value) +
                                " is not an integer (expected a base-10 integer such as 0 or 4)");
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

/// A process count (WORLD_SIZE, SLURM_NTASKS, ...): 1..kMaxWorldSize.
inline std::optional<int64_t> get_count(const Env& env, std::string_view name) {
  auto v = get_int(env, name);
  if (v && (*v < 1 || *v > kMaxWorldSize))
    throw std::invalid_argument("environment variable " + std::string(name) + "=" + std::to_string(*v) +
                                " is out of range (expected a process count, 1 <= " + std::string(name) +
                                " <= " + std::to_string(kMaxWorldSize) + ")");
  return v;
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

/// Host counts saturate just above the cap, so no list can overflow them.
inline int64_t saturate(int64_t n) { return n > kMaxWorldSize ? kMaxWorldSize + 1 : n; }

/// One entry of a bracket, "003-005" or "9".
struct NodeRange {
  std::string_view first;  // the first number as written: SLURM keeps its zero padding
  int64_t lo = 0, hi = 0;
};

/// Reads the body of one bracket, e.g. "003-005,9", calling f for each entry.
template <class Bad, class F>
void parse_bracket(std::string_view body, const Bad& bad, F&& f) {
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t comma = body.find(',', start);
    if (comma == std::string_view::npos) comma = body.size();
    std::string_view item = body.substr(start, comma - start);
    if (item.empty()) throw bad("empty entry inside [...]");
    const std::size_t dash = item.find('-');
    NodeRange r;
    r.first = item.substr(0, dash);
    const std::string_view last = dash == std::string_view::npos ? r.first : item.substr(dash + 1);
    if (!all_digits(r.first) || !all_digits(last)) throw bad(quote_value(item) + " is not N or N-M");
    if (r.first.size() > kMaxDigits || last.size() > kMaxDigits)
      throw bad("a number in " + quote_value(item) + " has more than " + std::to_string(kMaxDigits) + " digits");
    std::from_chars(r.first.data(), r.first.data() + r.first.size(), r.lo);  // cannot fail: <= 18 digits
    std::from_chars(last.data(), last.data() + last.size(), r.hi);
    if (r.hi < r.lo) throw bad("range " + quote_value(item) + " goes backwards");
    f(r);
    start = comma + 1;
  }
}

/// What a SLURM host list names, found without expanding it.
struct NodeListShape {
  std::string first_host;  // "" for an empty list
  int64_t hosts = 0;       // saturated at kMaxWorldSize + 1
};

/// Checks a whole host list ("node[003-005,9],gpu7"; hosts separated by
/// commas outside brackets, or spaces) and returns its first host and how
/// many it names. Linear in the list's length; allocates only the first host.
inline NodeListShape scan_nodelist(std::string_view list, std::string_view variable) {
  auto bad = [&](const std::string& why) {
    return std::invalid_argument(
        "malformed SLURM node list " + quote_value(list) +
        (variable.empty() ? std::string() : " (environment variable " + std::string(variable) + ")") + ": " + why +
        "; expected host names separated by ',' with optional [N-M,K] ranges of numbers of at most " +
        std::to_string(kMaxDigits) + " digits, e.g. node[01-04],gpu7");
  };
  NodeListShape shape;
  std::size_t i = 0;
  while (i < list.size()) {
    if (list[i] == ',' || list[i] == ' ') {
      ++i;
      continue;
    }
    // One host expression, e.g. "rack[1-2]-n[01-02]": the product of its brackets.
    const bool first_expression = shape.hosts == 0;
    int64_t hosts = 1;
    while (i < list.size() && list[i] != ',' && list[i] != ' ') {
      if (list[i] == ']') throw bad("unmatched ']'");
      if (list[i] != '[') {
        if (first_expression) shape.first_host += list[i];
        ++i;
        continue;
      }
      const std::size_t close = list.find_first_of("[]", i + 1);
      if (close == std::string_view::npos) throw bad("unmatched '['");
      if (list[close] == '[') throw bad("'[' inside [...]");
      int64_t entries = 0;
      parse_bracket(list.substr(i + 1, close - i - 1), bad, [&](const NodeRange& r) {
        if (first_expression && entries == 0) shape.first_host += r.first;
        entries = saturate(entries + saturate(r.hi - r.lo + 1));
      });
      hosts = saturate(hosts * entries);
      i = close + 1;
    }
    shape.hosts = saturate(shape.hosts + hosts);
  }
  if (shape.hosts > kMaxWorldSize)
    throw std::invalid_argument(
        "SLURM node list " + quote_value(list) +
        (variable.empty() ? std::string() : " (environment variable " + std::string(variable) + ")") +
        " names more than " + std::to_string(kMaxWorldSize) +
        " hosts (expected at most one host per process, and at most " + std::to_string(kMaxWorldSize) +
        " processes)");
  return shape;
}

/// Expands one validated host expression without separators, e.g. "rack[1-2]-n[01-02]".
inline void expand_host(std::string_view host, std::vector<std::string>& out) {
  std::vector<std::string> acc{""};
  auto unreachable = [](const std::string& why) { return std::logic_error("expand_host: " + why); };
  std::size_t i = 0;
  while (i < host.size()) {
    const std::size_t open = std::min(host.find('[', i), host.size());
    for (auto& a : acc) a += host.substr(i, open - i);
    if (open == host.size()) break;
    const std::size_t close = host.find(']', open);
    std::vector<std::string> parts;  // at most the host count, which scan_nodelist bounded
    parse_bracket(host.substr(open + 1, close - open - 1), unreachable, [&](const NodeRange& r) {
      for (int64_t n = r.lo; n <= r.hi; ++n) parts.push_back(pad(n, r.first.size()));
    });
    std::vector<std::string> next;
    next.reserve(acc.size() * parts.size());
    for (const auto& a : acc)
      for (const auto& p : parts) next.push_back(a + p);
    acc = std::move(next);
    i = close + 1;
  }
  out.insert(out.end(), acc.begin(), acc.end());
}

}  // namespace detail_env

/// The first host of a SLURM host list ("node[003-005,9],gpu7" -> node003),
/// as Lightning takes it for MASTER_ADDR; "" for an empty list. The list is
/// checked whole but never expanded. `variable` names it in errors.
inline std::string first_slurm_host(std::string_view nodelist, std::string_view variable = "SLURM_NODELIST") {
  return detail_env::scan_nodelist(nodelist, variable).first_host;
}

/// Expands a SLURM host list: "node[003-005,9],gpu7" -> node003 node004
/// node005 node9 gpu7 (each range keeps the width of its first number).
/// Hosts are separated by commas outside brackets, or by spaces. A list
/// naming more than detail_env::kMaxWorldSize hosts is rejected before
/// anything is allocated.
inline std::vector<std::string> expand_slurm_nodelist(std::string_view nodelist) {
  const auto shape = detail_env::scan_nodelist(nodelist, "");
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(shape.hosts));
  std::size_t start = 0;
  int depth = 0;
  for (std::size_t i = 0; i <= nodelist.size(); ++i) {
    const char c = i == nodelist.size() ? ',' : nodelist[i];
    depth += c == '[' ? 1 : c == ']' ? -1 : 0;
    if ((c == ',' || c == ' ') && depth == 0) {
      if (i > start) detail_env::expand_host(nodelist.substr(start, i - start), out);
      start = i + 1;
    }
  }
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

namespace detail_env {
/// SLURM: srun started every task.
inline ClusterEnvironment slurm_environment(int64_t devices, int64_t num_nodes, const Env& env) {
  const int64_t expected_world = devices * num_nodes;
  ClusterEnvironment ce;
  ce.local_world_size = devices;
  ce.kind = "slurm";
  ce.launched_externally = true;
  ce.world_size = *get_count(env, "SLURM_NTASKS");
  if (ce.world_size != expected_world)
    throw std::invalid_argument("SLURM_NTASKS=" + std::to_string(ce.world_size) +
                                " (from SLURM: srun --ntasks) does not match " + world_from_options(devices, num_nodes) +
                                ". HINT: set --nodes=" + std::to_string(num_nodes) +
                                " and --ntasks-per-node=" + std::to_string(devices) + " in your SLURM script.");
  if (auto per_node = get_count(env, "SLURM_NTASKS_PER_NODE"); per_node && *per_node != devices)
    throw std::invalid_argument("You set `devices=" + std::to_string(devices) +
                                "` in Lightning, but the number of tasks per node configured in SLURM "
                                "`--ntasks-per-node=" + std::to_string(*per_node) + "` does not match. HINT: Set `devices=" +
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
    const std::string first = nodelist ? first_slurm_host(*nodelist, "SLURM_NODELIST") : std::string();
    ce.main_address = first.empty() ? "127.0.0.1" : first;
  }
  // Every task computes the same port from the job id, so no exchange is needed.
  if (auto p = env("MASTER_PORT")) {
    ce.port = parse_port("MASTER_PORT", *p);
  } else if (auto job = env("SLURM_JOB_ID")) {
    if (parse_int("SLURM_JOB_ID", *job) < 0 || job->front() == '-')  // garbage: an error naming the variable
      throw std::invalid_argument("environment variable SLURM_JOB_ID=" + quote_value(*job) +
                                  " is negative (expected a job id, a non-negative integer)");
    const std::string last4 = job->size() > 4 ? job->substr(job->size() - 4) : *job;
    ce.port = static_cast<int>(parse_int("SLURM_JOB_ID", last4) + 15000);
  } else {
    ce.port = 12910;  // Lightning's SLURMEnvironment default without a job id
  }
  return ce;
}

/// torchrun (or Lightning's own children): LOCAL_RANK marks a process that something else started.
inline ClusterEnvironment torchrun_environment(int64_t devices, int64_t num_nodes, int64_t local_rank, const Env& env) {
  const int64_t expected_world = devices * num_nodes;
  ClusterEnvironment ce;
  ce.local_world_size = devices;
  ce.kind = "torchrun";
  ce.launched_externally = true;
  ce.local_rank = local_rank;
  ce.node_rank = node_rank_from(env);
  ce.world_size = get_count(env, "WORLD_SIZE").value_or(expected_world);
  if (ce.world_size != expected_world)
    throw std::invalid_argument("WORLD_SIZE=" + std::to_string(ce.world_size) +
                                " (from the environment, set by torchrun) does not match " +
                                world_from_options(devices, num_nodes) + ". HINT: run torchrun --nnodes=" +
                                std::to_string(num_nodes) + " --nproc_per_node=" + std::to_string(devices) + ".");
  if (auto lws = get_count(env, "LOCAL_WORLD_SIZE"); lws && *lws != devices)
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

/// Local: this process is rank 0 of its node; the Trainer will start
/// devices-1 children. NODE_RANK lets several nodes be started by hand.
inline ClusterEnvironment local_environment(int64_t devices, int64_t num_nodes, const Env& env) {
  ClusterEnvironment ce;
  ce.local_world_size = devices;
  ce.kind = "local";
  ce.launched_externally = false;
  ce.world_size = devices * num_nodes;
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
}  // namespace detail_env

/// Decides the cluster environment as Lightning 2.2 does. Order follows
/// Lightning's connector: SLURM (if not an interactive shell), then
/// torchrun-style (LOCAL_RANK set), then local (the Trainer launches).
inline ClusterEnvironment detect_environment(int64_t devices, int64_t num_nodes, const Env& env = process_env) {
  using namespace detail_env;
  if (devices < 1) throw std::invalid_argument("devices must be >= 1, got " + std::to_string(devices));
  if (num_nodes < 1) throw std::invalid_argument("num_nodes must be >= 1, got " + std::to_string(num_nodes));
  if (devices > kMaxWorldSize / num_nodes)  // also keeps devices * num_nodes from overflowing
    throw std::invalid_argument("devices * num_nodes = " + std::to_string(devices) + " * " + std::to_string(num_nodes) +
                                " is more than " + std::to_string(kMaxWorldSize) +
                                " processes (expected at most that many)");
  // SLURM: job name bash/interactive means an interactive allocation where the user runs the script by hand.
  const auto job_name = env("SLURM_JOB_NAME");
  const bool interactive = job_name && (*job_name == "bash" || *job_name == "interactive");
  if (env("SLURM_NTASKS") && !interactive) return slurm_environment(devices, num_nodes, env);
  if (auto lr = get_int(env, "LOCAL_RANK")) return torchrun_environment(devices, num_nodes, *lr, env);
  return local_environment(devices, num_nodes, env);
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
