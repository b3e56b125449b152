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
