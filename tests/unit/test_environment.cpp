// Cluster environments (SLURM, torchrun, local) read from fake environments.
#include <doctest/doctest.h>

#include <lightning/strategy/environment.hpp>

#include <map>
#include <string>

namespace {
namespace S = lightning::strategy;
using Vars = std::map<std::string, std::string>;

/// An Env over a fixed map, so no test touches the real process environment.
S::Env fake(Vars vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

/// The message of the std::invalid_argument that `f` throws ("" if none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

Vars torchrun_vars() {
  return {{"LOCAL_RANK", "1"}, {"RANK", "3"},           {"WORLD_SIZE", "4"},
          {"GROUP_RANK", "1"}, {"MASTER_ADDR", "10.0.0.1"}, {"MASTER_PORT", "29500"}};
}

Vars slurm_vars() {
  return {{"SLURM_NTASKS", "4"},  {"SLURM_PROCID", "2"},  {"SLURM_LOCALID", "0"},
          {"SLURM_NODEID", "1"},  {"SLURM_JOB_ID", "1234567"}, {"SLURM_JOB_NAME", "train"},
          {"SLURM_NODELIST", "node[003-005,9],gpu7"}};
}
}  // namespace

TEST_CASE("expand_slurm_nodelist: ranges, padding, lists") {
  using V = std::vector<std::string>;
  CHECK(S::expand_slurm_nodelist("node[003-005,9],gpu7") == V{"node003", "node004", "node005", "node9", "gpu7"});
  CHECK(S::expand_slurm_nodelist("host1,host2") == V{"host1", "host2"});
  CHECK(S::expand_slurm_nodelist("host1 host2") == V{"host1", "host2"});
  CHECK(S::expand_slurm_nodelist("a-b[1-2]") == V{"a-b1", "a-b2"});
  CHECK(S::expand_slurm_nodelist("n[8-10]") == V{"n8", "n9", "n10"});
  CHECK(S::expand_slurm_nodelist("n[08-10]") == V{"n08", "n09", "n10"});
  CHECK(S::expand_slurm_nodelist("node[5]") == V{"node5"});
  CHECK(S::expand_slurm_nodelist("r[1-2]-n[01-02]") == V{"r1-n01", "r1-n02", "r2-n01", "r2-n02"});
  CHECK(S::expand_slurm_nodelist("single") == V{"single"});
  CHECK(S::expand_slurm_nodelist("").empty());

  CHECK(contains(error_of([] { S::expand_slurm_nodelist("node[1-3"); }), "unmatched '['"));
  CHECK(contains(error_of([] { S::expand_slurm_nodelist("node1-3]"); }), "unmatched ']'"));
  CHECK(contains(error_of([] { S::expand_slurm_nodelist("node[5-3]"); }), "goes backwards"));
  CHECK(contains(error_of([] { S::expand_slurm_nodelist("node[a-b]"); }), "'a-b' is not N or N-M"));
  CHECK(contains(error_of([] { S::expand_slurm_nodelist("node[1,,2]"); }), "empty entry"));
}

TEST_CASE("SLURM node list: the first host without expanding; absurd lists rejected, not allocated") {
  CHECK(S::first_slurm_host("node[003-005,9],gpu7") == "node003");
  CHECK(S::first_slurm_host("r[1-2]-n[01-02]") == "r1-n01");
  CHECK(S::first_slurm_host("n[8-10]") == "n8");
  CHECK(S::first_slurm_host(" ,host2,host3") == "host2");
  CHECK(S::first_slurm_host("single") == "single");
  CHECK(S::first_slurm_host("").empty());
  // The cap (one host per process at most): 2^20 hosts pass, one more does not.
  CHECK(S::first_slurm_host("n[1-1048576]") == "n1");
  CHECK(S::first_slurm_host("n[0-524287],m[0-524287]") == "n0");

  auto msg = error_of([] { S::first_slurm_host("n[0-99999999]"); });
  CHECK(contains(msg, "SLURM node list 'n[0-99999999]' (environment variable SLURM_NODELIST) "
                      "names more than 1048576 hosts"));
  CHECK(contains(msg, "expected at most one host per process"));
  CHECK(contains(error_of([] { S::first_slurm_host("n[0-1048576]"); }), "names more than 1048576 hosts"));
  CHECK(contains(error_of([] { S::first_slurm_host("a[1-1024]-b[1-1025]"); }), "names more than"));  // a product
  CHECK(contains(error_of([] { S::first_slurm_host("n[0-999999999999999999]"); }), "names more than"));
  std::string many;  // a sum that would overflow int64_t without saturation
  for (int i = 0; i < 20; ++i) many += "n[0-999999999999999999],";
  CHECK(contains(error_of([&] { S::first_slurm_host(many); }), "names more than"));
  // expand_slurm_nodelist checks the count before it allocates (this was 2 GB, then bad_alloc).
  CHECK(contains(error_of([] { S::expand_slurm_nodelist("n[0-99999999]"); }), "names more than 1048576 hosts"));

  // Numbers past 18 digits were parsed into 0 and became a host name.
  msg = error_of([] { S::first_slurm_host("n[99999999999999999999]"); });
  CHECK(contains(msg, "malformed SLURM node list 'n[99999999999999999999]' (environment variable SLURM_NODELIST)"));
  CHECK(contains(msg, "a number in '99999999999999999999' has more than 18 digits"));
  CHECK(contains(msg, "expected host names separated by ',' with optional [N-M,K] ranges"));
  CHECK(contains(error_of([] { S::expand_slurm_nodelist("n[1-99999999999999999999]"); }), "more than 18 digits"));
  CHECK(contains(error_of([] { S::first_slurm_host("n[5-3]"); }), "range '5-3' goes backwards"));
  CHECK(contains(error_of([] { S::first_slurm_host("n[1-3"); }), "unmatched '['"));
  CHECK(contains(error_of([] { S::first_slurm_host("n[1-3,gpu7"); }), "unmatched '['"));
  CHECK(contains(error_of([] { S::first_slurm_host("n1-3],a"); }), "unmatched ']'"));
  CHECK(contains(error_of([] { S::first_slurm_host("n[1[2]]"); }), "'[' inside [...]"));
  CHECK(contains(error_of([] { S::first_slurm_host("n[]"); }), "empty entry"));
  CHECK(contains(error_of([] { S::first_slurm_host("n[1-2-3]"); }), "'1-2-3' is not N or N-M"));
  CHECK(contains(error_of([] { S::first_slurm_host("n[-1]"); }), "'-1' is not N or N-M"));
  // Only the first host is used, but a damaged tail is still an error, not ignored.
  CHECK(contains(error_of([] { S::first_slurm_host("good1,bad[2-1]"); }), "goes backwards"));
  // An error quotes at most 200 characters of the value.
  msg = error_of([] { S::first_slurm_host(std::string(1000, 'x') + "]"); });
  CHECK(contains(msg, "...' (1001 characters)"));
  CHECK(msg.size() < 600);
}

TEST_CASE("torchrun: LOCAL_RANK set means launched externally") {
  auto ce = S::detect_environment(2, 2, fake(torchrun_vars()));
  CHECK(ce.kind == "torchrun");
  CHECK(ce.launched_externally);
  CHECK(ce.world_size == 4);
  CHECK(ce.global_rank == 3);
  CHECK(ce.local_rank == 1);
  CHECK(ce.node_rank == 1);  // from GROUP_RANK
  CHECK(ce.local_world_size == 2);
  CHECK(ce.main_address == "10.0.0.1");
  CHECK(ce.port == 29500);
}

TEST_CASE("torchrun: node rank is NODE_RANK, else GROUP_RANK, else 0; address defaults to loopback") {
  auto v = torchrun_vars();
  v["NODE_RANK"] = "0";  // NODE_RANK wins over GROUP_RANK=1
  v["RANK"] = "1";
  CHECK(S::detect_environment(2, 2, fake(v)).node_rank == 0);

  v = torchrun_vars();
  v.erase("GROUP_RANK");
  v["RANK"] = "1";
  v.erase("MASTER_ADDR");
  auto ce = S::detect_environment(2, 2, fake(v));
  CHECK(ce.node_rank == 0);
  CHECK(ce.main_address == "127.0.0.1");

  // Without RANK/WORLD_SIZE (Lightning's own children set only some): derived.
  v = {{"LOCAL_RANK", "1"}, {"NODE_RANK", "1"}, {"MASTER_PORT", "1234"}};
  ce = S::detect_environment(2, 2, fake(v));
  CHECK(ce.world_size == 4);
  CHECK(ce.global_rank == 3);
}

TEST_CASE("torchrun: errors") {
  auto v = torchrun_vars();
  v.erase("MASTER_PORT");
  auto msg = error_of([&] { S::detect_environment(2, 2, fake(v)); });
  CHECK(contains(msg, "MASTER_PORT is not"));
  CHECK(contains(msg, "LOCAL_RANK is set"));

  v = torchrun_vars();
  v["WORLD_SIZE"] = "8";
  msg = error_of([&] { S::detect_environment(2, 2, fake(v)); });
  CHECK(contains(msg, "WORLD_SIZE=8 (from the environment, set by torchrun)"));
  CHECK(contains(msg, "devices * num_nodes = 2 * 2 = 4 (from the Trainer options)"));

  v = torchrun_vars();
  v["LOCAL_WORLD_SIZE"] = "4";
  msg = error_of([&] { S::detect_environment(2, 2, fake(v)); });
  CHECK(contains(msg, "LOCAL_WORLD_SIZE=4"));
  CHECK(contains(msg, "devices = 2"));

  v = torchrun_vars();
  v["RANK"] = "abc";
  msg = error_of([&] { S::detect_environment(2, 2, fake(v)); });
  CHECK(contains(msg, "RANK='abc' is not an integer"));

  v = torchrun_vars();
  v["LOCAL_RANK"] = "2x";
  CHECK(contains(error_of([&] { S::detect_environment(2, 2, fake(v)); }), "LOCAL_RANK='2x' is not an integer"));

  v = torchrun_vars();
  v["LOCAL_RANK"] = "";
  CHECK(contains(error_of([&] { S::detect_environment(2, 2, fake(v)); }), "LOCAL_RANK='' is not an integer"));

  v = torchrun_vars();
  v["LOCAL_RANK"] = "2";
  msg = error_of([&] { S::detect_environment(2, 2, fake(v)); });
  CHECK(contains(msg, "LOCAL_RANK = 2 is out of range"));
  CHECK(contains(msg, "< 2 (devices)"));

  v = torchrun_vars();
  v["RANK"] = "4";
  CHECK(contains(error_of([&] { S::detect_environment(2, 2, fake(v)); }), "RANK = 4 is out of range"));

  v = torchrun_vars();
  v["RANK"] = "-1";
  CHECK(contains(error_of([&] { S::detect_environment(2, 2, fake(v)); }), "RANK = -1 is out of range"));

  v = torchrun_vars();
  v["GROUP_RANK"] = "2";
  CHECK(contains(error_of([&] { S::detect_environment(2, 2, fake(v)); }), "node rank (NODE_RANK/GROUP_RANK) = 2"));

  v = torchrun_vars();
  v["MASTER_PORT"] = "70000";
  CHECK(contains(error_of([&] { S::detect_environment(2, 2, fake(v)); }), "MASTER_PORT=70000 is not a valid TCP port"));

  v = torchrun_vars();
  v["MASTER_PORT"] = "http";
  CHECK(contains(error_of([&] { S::detect_environment(2, 2, fake(v)); }), "MASTER_PORT='http' is not an integer"));
}

TEST_CASE("slurm: ranks, first host, port from job id") {
  auto ce = S::detect_environment(2, 2, fake(slurm_vars()));
  CHECK(ce.kind == "slurm");
  CHECK(ce.launched_externally);
  CHECK(ce.world_size == 4);
  CHECK(ce.global_rank == 2);
  CHECK(ce.local_rank == 0);
  CHECK(ce.node_rank == 1);
  CHECK(ce.main_address == "node003");
  CHECK(ce.port == 4567 + 15000);

  auto v = slurm_vars();
  v["SLURM_JOB_ID"] = "42";  // fewer than 4 digits: all of them
  CHECK(S::detect_environment(2, 2, fake(v)).port == 15042);

  v["MASTER_PORT"] = "23456";  // MASTER_PORT wins over the job id
  CHECK(S::detect_environment(2, 2, fake(v)).port == 23456);

  v = slurm_vars();
  v.erase("SLURM_JOB_ID");
  CHECK(S::detect_environment(2, 2, fake(v)).port == 12910);  // Lightning's default

  v = slurm_vars();
  v["SLURM_NODELIST"] = "host1,host2";
  CHECK(S::detect_environment(2, 2, fake(v)).main_address == "host1");
  v["SLURM_NODELIST"] = "a-b[1-2]";
  CHECK(S::detect_environment(2, 2, fake(v)).main_address == "a-b1");
  v["MASTER_ADDR"] = "explicit";  // MASTER_ADDR wins over the node list
  CHECK(S::detect_environment(2, 2, fake(v)).main_address == "explicit");
  v.erase("MASTER_ADDR");
  v.erase("SLURM_NODELIST");
  CHECK(S::detect_environment(2, 2, fake(v)).main_address == "127.0.0.1");
}

TEST_CASE("slurm: interactive shells are not SLURM-launched; SLURM beats LOCAL_RANK") {
  for (const char* name : {"bash", "interactive"}) {
    auto v = slurm_vars();
    v["SLURM_JOB_NAME"] = name;
    auto ce = S::detect_environment(1, 1, fake(v));
    CHECK(ce.kind == "local");
    CHECK_FALSE(ce.launched_externally);
  }
  // Lightning's connector checks SLURMEnvironment before torchelastic.
  auto v = slurm_vars();
  v["LOCAL_RANK"] = "1";
  CHECK(S::detect_environment(2, 2, fake(v)).kind == "slurm");
  // No job name at all is still a batch job.
  v = slurm_vars();
  v.erase("SLURM_JOB_NAME");
  CHECK(S::detect_environment(2, 2, fake(v)).kind == "slurm");
}

TEST_CASE("slurm: errors") {
  auto v = slurm_vars();
  v["SLURM_NTASKS"] = "8";
  auto msg = error_of([&] { S::detect_environment(2, 2, fake(v)); });
  CHECK(contains(msg, "SLURM_NTASKS=8 (from SLURM"));
  CHECK(contains(msg, "devices * num_nodes = 2 * 2 = 4 (from the Trainer options)"));

  v = slurm_vars();
  v["SLURM_NTASKS_PER_NODE"] = "4";
  msg = error_of([&] { S::detect_environment(2, 2, fake(v)); });
  CHECK(contains(msg, "You set `devices=2` in Lightning"));
  CHECK(contains(msg, "`--ntasks-per-node=4` does not match"));

  v = slurm_vars();
  v.erase("SLURM_PROCID");
  CHECK(contains(error_of([&] { S::detect_environment(2, 2, fake(v)); }), "SLURM_PROCID is not set"));

  v = slurm_vars();
  v["SLURM_NTASKS"] = "four";
  CHECK(contains(error_of([&] { S::detect_environment(2, 2, fake(v)); }), "SLURM_NTASKS='four' is not an integer"));

  v = slurm_vars();
  v["SLURM_PROCID"] = "4";
  CHECK(contains(error_of([&] { S::detect_environment(2, 2, fake(v)); }), "SLURM_PROCID = 4 is out of range"));

  v = slurm_vars();
  v["SLURM_LOCALID"] = "2";
  CHECK(contains(error_of([&] { S::detect_environment(2, 2, fake(v)); }), "SLURM_LOCALID = 2 is out of range"));

  v = slurm_vars();
  v["SLURM_NODEID"] = "2";
  CHECK(contains(error_of([&] { S::detect_environment(2, 2, fake(v)); }), "SLURM_NODEID = 2 is out of range"));

  v = slurm_vars();
  v["SLURM_JOB_ID"] = "12_3";
  CHECK(contains(error_of([&] { S::detect_environment(2, 2, fake(v)); }), "SLURM_JOB_ID='12_3' is not an integer"));

  v = slurm_vars();
  v["SLURM_NODELIST"] = "node[1-";
  CHECK(contains(error_of([&] { S::detect_environment(2, 2, fake(v)); }), "malformed SLURM node list 'node[1-'"));
}

TEST_CASE("integer variables: absurd values are errors naming the variable, never wrapped or misread") {
  auto torchrun_error = [](const char* name, const char* value) {
    auto v = torchrun_vars();
    v[name] = value;
    return error_of([&] { S::detect_environment(2, 2, fake(v)); });
  };
  // More than 18 digits: rejected, not parsed modulo 2^64 nor as 0.
  for (const char* name : {"WORLD_SIZE", "RANK", "LOCAL_RANK", "GROUP_RANK", "LOCAL_WORLD_SIZE", "MASTER_PORT"}) {
    CAPTURE(name);
    CHECK(contains(torchrun_error(name, "99999999999999999999"),
                   std::string(name) +
                       "='99999999999999999999' has 20 digits (expected a base-10 integer of at most 18 digits)"));
    CHECK(contains(torchrun_error(name, "-99999999999999999999"),
                   std::string(name) + "='-99999999999999999999' has 20 digits"));
  }
  CHECK(contains(torchrun_error("NODE_RANK", "123456789012345678901234567890"),
                 "NODE_RANK='123456789012345678901234567890' has 30 digits"));
  CHECK(contains(torchrun_error("RANK", " 3"), "RANK=' 3' is not an integer"));
  CHECK(contains(torchrun_error("RANK", "+3"), "RANK='+3' is not an integer"));
  CHECK(contains(torchrun_error("RANK", "0x3"), "RANK='0x3' is not an integer"));
  auto long_garbage = torchrun_error("RANK", std::string(5000, 'z').c_str());
  CHECK(contains(long_garbage, "...' (5000 characters) is not an integer"));
  CHECK(long_garbage.size() < 600);

  // Counts: 1 .. 2^20.
  CHECK(contains(torchrun_error("WORLD_SIZE", "0"), "environment variable WORLD_SIZE=0 is out of range "
                                                    "(expected a process count, 1 <= WORLD_SIZE <= 1048576)"));
  CHECK(contains(torchrun_error("WORLD_SIZE", "-4"), "WORLD_SIZE=-4 is out of range"));
  CHECK(contains(torchrun_error("WORLD_SIZE", "1048577"), "WORLD_SIZE=1048577 is out of range"));
  CHECK(contains(torchrun_error("LOCAL_WORLD_SIZE", "0"), "LOCAL_WORLD_SIZE=0 is out of range"));
  // Ranks: >= 0 and below their bound.
  CHECK(contains(torchrun_error("LOCAL_RANK", "-1"),
                 "LOCAL_RANK = -1 is out of range: expected 0 <= LOCAL_RANK < 2 (devices)"));
  CHECK(contains(torchrun_error("NODE_RANK", "-1"), "node rank (NODE_RANK/GROUP_RANK) = -1 is out of range"));
  CHECK(contains(torchrun_error("RANK", "999999999999999999"), "RANK = 999999999999999999 is out of range"));
  // Ports: 1 .. 65535.
  CHECK(contains(torchrun_error("MASTER_PORT", "0"), "MASTER_PORT=0 is not a valid TCP port (expected 1..65535)"));
  CHECK(contains(torchrun_error("MASTER_PORT", "-29500"), "MASTER_PORT=-29500 is not a valid TCP port"));
  CHECK(contains(torchrun_error("MASTER_PORT", "65536"), "MASTER_PORT=65536 is not a valid TCP port"));
  auto top_port = torchrun_vars();
  top_port["MASTER_PORT"] = "65535";
  CHECK(S::detect_environment(2, 2, fake(top_port)).port == 65535);

  auto slurm_error = [](const char* name, const std::string& value) {
    auto v = slurm_vars();
    v[name] = value;
    return error_of([&] { S::detect_environment(2, 2, fake(v)); });
  };
  for (const char* name : {"SLURM_NTASKS", "SLURM_NTASKS_PER_NODE", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NODEID",
                           "SLURM_JOB_ID"}) {
    CAPTURE(name);
    CHECK(contains(slurm_error(name, "99999999999999999999"),
                   std::string(name) + "='99999999999999999999' has 20 digits"));
  }
  CHECK(contains(slurm_error("SLURM_NTASKS", "0"), "SLURM_NTASKS=0 is out of range (expected a process count"));
  CHECK(contains(slurm_error("SLURM_NTASKS", "-4"), "SLURM_NTASKS=-4 is out of range"));
  CHECK(contains(slurm_error("SLURM_NTASKS_PER_NODE", "0"), "SLURM_NTASKS_PER_NODE=0 is out of range"));
  CHECK(contains(slurm_error("SLURM_PROCID", "-1"), "SLURM_PROCID = -1 is out of range"));
  CHECK(contains(slurm_error("SLURM_LOCALID", "-1"), "SLURM_LOCALID = -1 is out of range"));
  CHECK(contains(slurm_error("SLURM_NODEID", "-1"), "SLURM_NODEID = -1 is out of range"));
  CHECK(contains(slurm_error("SLURM_JOB_ID", "-1234"),
                 "SLURM_JOB_ID='-1234' is negative (expected a job id, a non-negative integer)"));
  CHECK(contains(slurm_error("SLURM_JOB_ID", "-0"), "SLURM_JOB_ID='-0' is negative"));
  auto v = slurm_vars();
  v["SLURM_JOB_ID"] = "999999999999999999";  // 18 digits: a (large) job id
  CHECK(S::detect_environment(2, 2, fake(v)).port == 15000 + 9999);

  // The node list, through the variable: named in the error.
  auto msg = slurm_error("SLURM_NODELIST", "n[0-99999999]");
  CHECK(contains(msg, "(environment variable SLURM_NODELIST) names more than 1048576 hosts"));
  msg = slurm_error("SLURM_NODELIST", "n[99999999999999999999]");
  CHECK(contains(msg, "(environment variable SLURM_NODELIST): "
                      "a number in '99999999999999999999' has more than 18 digits"));
  CHECK(contains(slurm_error("SLURM_NODELIST", "n[9-1]"), "SLURM_NODELIST): range '9-1' goes backwards"));
  CHECK(contains(slurm_error("SLURM_NODELIST", "n[1-2"), "SLURM_NODELIST): unmatched '['"));
  // MASTER_ADDR wins, so a damaged node list is not read at all then (as Lightning).
  v = slurm_vars();
  v["SLURM_NODELIST"] = "n[0-99999999]";
  v["MASTER_ADDR"] = "10.0.0.9";
  CHECK(S::detect_environment(2, 2, fake(v)).main_address == "10.0.0.9");

  // The Trainer's own numbers: their product is capped too, so it cannot overflow.
  CHECK(contains(error_of([] { S::detect_environment(int64_t{1} << 40, int64_t{1} << 40, fake({})); }),
                 "devices * num_nodes = 1099511627776 * 1099511627776 is more than 1048576 processes"));
  CHECK(contains(error_of([] { S::detect_environment(1025, 1024, fake({{"MASTER_PORT", "1"}})); }),
                 "is more than 1048576 processes"));
}

TEST_CASE("local: the Trainer launches, rank 0, a free port unless MASTER_PORT") {
  auto ce = S::detect_environment(3, 1, fake({}));
  CHECK(ce.kind == "local");
  CHECK_FALSE(ce.launched_externally);
  CHECK(ce.world_size == 3);
  CHECK(ce.global_rank == 0);
  CHECK(ce.local_rank == 0);
  CHECK(ce.node_rank == 0);
  CHECK(ce.local_world_size == 3);
  CHECK(ce.main_address == "127.0.0.1");
  CHECK(ce.port > 0);
  CHECK(ce.port <= 65535);

  ce = S::detect_environment(1, 1, fake({{"MASTER_PORT", "31337"}, {"MASTER_ADDR", "10.1.1.1"}}));
  CHECK(ce.port == 31337);
  CHECK(ce.main_address == "10.1.1.1");

  // Multi-node started by hand: NODE_RANK (or GROUP_RANK) places this node.
  ce = S::detect_environment(2, 3, fake({{"NODE_RANK", "2"}, {"MASTER_PORT", "30000"}}));
  CHECK(ce.world_size == 6);
  CHECK(ce.node_rank == 2);
  CHECK(ce.global_rank == 4);
  ce = S::detect_environment(2, 3, fake({{"GROUP_RANK", "1"}, {"MASTER_PORT", "30000"}}));
  CHECK(ce.node_rank == 1);

  CHECK(contains(error_of([] { S::detect_environment(2, 3, fake({{"NODE_RANK", "3"}, {"MASTER_PORT", "1"}})); }),
                 "node rank (NODE_RANK/GROUP_RANK) = 3 is out of range"));
  CHECK(contains(error_of([] { S::detect_environment(2, 2, fake({})); }), "MASTER_PORT is not set"));
  CHECK(contains(error_of([] { S::detect_environment(0, 1, fake({})); }), "devices must be >= 1, got 0"));
  CHECK(contains(error_of([] { S::detect_environment(1, 0, fake({})); }), "num_nodes must be >= 1, got 0"));
}

TEST_CASE("find_free_port returns a bindable loopback port") {
  const int p = S::find_free_port();
  CHECK(p > 0);
  CHECK(p <= 65535);
}

TEST_CASE("launch_environment: what a self-launched child gets, and it round-trips") {
  auto parent = S::detect_environment(2, 2, fake({{"NODE_RANK", "1"}, {"MASTER_PORT", "29501"}}));
  auto vars = S::launch_environment(parent, 1);
  CHECK(vars == Vars{{"MASTER_ADDR", "127.0.0.1"},
                     {"MASTER_PORT", "29501"},
                     {"WORLD_SIZE", "4"},
                     {"RANK", "3"},
                     {"LOCAL_RANK", "1"},
                     {"NODE_RANK", "1"},
                     {"GROUP_RANK", "1"},
                     {"LOCAL_WORLD_SIZE", "2"}});

  // The child, reading those variables, sees itself as externally launched.
  auto child = S::detect_environment(2, 2, fake(vars));
  CHECK(child.kind == "torchrun");
  CHECK(child.launched_externally);
  CHECK(child.global_rank == 3);
  CHECK(child.local_rank == 1);
  CHECK(child.node_rank == 1);
  CHECK(child.world_size == 4);
  CHECK(child.port == 29501);
  CHECK(child.main_address == "127.0.0.1");

  CHECK(contains(error_of([&] { S::launch_environment(parent, 2); }), "local_rank = 2 is out of range"));
  CHECK(contains(error_of([&] { S::launch_environment(parent, -1); }), "local_rank = -1 is out of range"));
}

TEST_CASE("process_env reads the real environment") {
  ::setenv("LIGHTNING_CPP_TEST_ENV_VAR", "7", 1);
  CHECK(S::process_env("LIGHTNING_CPP_TEST_ENV_VAR") == std::optional<std::string>("7"));
  ::unsetenv("LIGHTNING_CPP_TEST_ENV_VAR");
  CHECK_FALSE(S::process_env("LIGHTNING_CPP_TEST_ENV_VAR").has_value());
}
