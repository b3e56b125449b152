// CSVLogger and TensorBoardLogger: the files they write, compared with what
// Lightning 2.2 writes (metrics.csv and hparams.yaml byte for byte; event
// files decoded by an independent Python reader, tests/loggers/read_tfevents.py).
#include "paths.hpp"
#include <doctest/doctest.h>
#include <unistd.h>

#include <boost/hana/adapt_struct.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <lightning/loggers/csv_logger.hpp>
#include <lightning/loggers/tensorboard_logger.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <utility>
#include <vector>

namespace test_loggers {
struct Params {
  double lr = 1e-3;
  int batch_size = 32;
  bool shuffle = true;
  std::string optimizer = "adam w";
  float momentum = 0.9f;  // logged as 0.9, not as the double 0.899999976...
  std::optional<int> seed;
  std::string note = "it's: tricky";
  std::string tag = "yes";  // a YAML 1.1 bool when unquoted
};
struct NotReflected {  // like lightning::NoHParams
  int hidden = 1;
};
}  // namespace test_loggers
BOOST_HANA_ADAPT_STRUCT(test_loggers::Params, lr, batch_size, shuffle, optimizer, momentum, seed, note, tag);

namespace {
namespace fs = std::filesystem;
using lightning::CSVLogger;
using lightning::TensorBoardLogger;
using Metrics = std::map<std::string, double>;

// A fresh directory, removed with everything in it at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() / ("lightning_loggers_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string kParamsYaml =
    "batch_size: 32\n"
    "lr: 0.001\n"
    "momentum: 0.9\n"
    "note: 'it''s: tricky'\n"
    "optimizer: adam w\n"
    "seed: null\n"
    "shuffle: true\n"
    "tag: 'yes'\n";

// The scripts live in tests/loggers.
fs::path script(const char* name) {
  const fs::path p = test::tests_dir() / "loggers" / name;
  REQUIRE_MESSAGE(fs::exists(p), "test script not found: " << fs::absolute(p));
  return p;
}

struct RunResult {
  int status = -1;
  std::string out;
};

// Runs Debian's /usr/bin/python3 (not a virtualenv's) on a script.
RunResult run_python(const fs::path& py, const fs::path& arg) {
  const std::string cmd = "/usr/bin/python3 '" + py.string() + "' '" + arg.string() + "' 2>&1";
  RunResult r;
  std::FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE_MESSAGE(p != nullptr, "cannot run " << cmd);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::vector<fs::path> event_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().starts_with("events.out.tfevents.")) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

TEST_CASE("CSVLogger: metrics.csv has Lightning's header, empty cells, number format and CRLF rows") {
  TempDir tmp;
  CSVLogger lg({.save_dir = tmp.path, .flush_logs_every_n_steps = 1000});
  lg.log_metrics({{"loss", 0.5}, {"epoch", 0}}, 0);
  lg.log_metrics({{"loss", 0.25}, {"acc", 1.0}, {"epoch", 0}}, 1);
  const fs::path file = tmp.path / "lightning_logs" / "version_0" / "metrics.csv";
  CHECK_FALSE(fs::exists(file));  // buffered until save()
  lg.save();
  CHECK(slurp(file) ==
        "acc,epoch,loss,step\r\n"
        ",0,0.5,0\r\n"
        "1.0,0,0.25,1\r\n");

  // A new key rewrites the file under the new header (sorted as strings:
  // upper case before '_' before lower case).
  lg.log_metrics({{"val_loss", 1e-05}, {"B", 3.0}, {"_x", 0.1}, {"epoch", 1}}, 2);
  lg.save();
  CHECK(slurp(file) ==
        "B,_x,acc,epoch,loss,step,val_loss\r\n"
        ",,,0,0.5,0,\r\n"
        ",,1.0,0,0.25,1,\r\n"
        "3.0,0.1,,1,,2,1e-05\r\n");

  // Known keys only: appended.
  lg.log_metrics({{"loss", std::nan("")}, {"acc", INFINITY}, {"B", -0.0}, {"epoch", 1}}, 3);
  lg.log_metrics({{"loss", 1e16}, {"acc", 123456789.125}, {"B", -1.5e-7}, {"epoch", 2}}, 4);
  lg.finalize("success");
  CHECK(slurp(file) ==
        "B,_x,acc,epoch,loss,step,val_loss\r\n"
        ",,,0,0.5,0,\r\n"
        ",,1.0,0,0.25,1,\r\n"
        "3.0,0.1,,1,,2,1e-05\r\n"
        "-0.0,,inf,1,nan,3,\r\n"
        "-1.5e-07,,123456789.125,2,1e+16,4,\r\n");
  CHECK_FALSE(fs::exists(file.string() + ".tmp"));
  // Lightning writes hparams.yaml on every save, `{}` without hyperparameters.
  CHECK(slurp(file.parent_path() / "hparams.yaml") == "{}\n");
}

TEST_CASE("CSVLogger: rows reach the file when (step + 1) % flush_logs_every_n_steps == 0") {
  TempDir tmp;
  CSVLogger lg({.save_dir = tmp.path, .name = "", .flush_logs_every_n_steps = 2});
  const fs::path file = tmp.path / "version_0" / "metrics.csv";  // empty name: no experiment folder
  lg.log_metrics({{"a", 1}}, 0);
  CHECK_FALSE(fs::exists(file));
  lg.log_metrics({{"a", 2}}, 1);
  CHECK(slurp(file) == "a,step\r\n1.0,0\r\n2.0,1\r\n");
  lg.log_metrics({{"a", 3}}, 2);
  CHECK(slurp(file) == "a,step\r\n1.0,0\r\n2.0,1\r\n");
  lg.finalize("failed");
  CHECK(slurp(file) == "a,step\r\n1.0,0\r\n2.0,1\r\n3.0,2\r\n");
}

TEST_CASE("CSVLogger: keys with separators, quotes and line breaks are quoted like Python's csv") {
  TempDir tmp;
  CSVLogger lg({.save_dir = tmp.path});
  lg.log_metrics({{"a,b", 1}, {"say \"x\"", 2}}, 0);
  lg.save();
  lg.log_metrics({{"line\nbreak", 3}}, 1);  // new key: the quoted file is read back and rewritten
  lg.save();
  CHECK(slurp(tmp.path / "lightning_logs" / "version_0" / "metrics.csv") ==
        "\"a,b\",\"line\nbreak\",\"say \"\"x\"\"\",step\r\n"
        "1.0,,2.0,0\r\n"
        ",3.0,,1\r\n");
}

TEST_CASE("CSVLogger and TensorBoardLogger: version_N is one more than the largest existing N") {
  TempDir tmp;
  CSVLogger a({.save_dir = tmp.path});
  CHECK(a.log_dir() == tmp.path / "lightning_logs" / "version_0");
  CHECK(fs::is_directory(a.log_dir()));  // created on first log_dir()
  CHECK(a.version() == 0);
  CSVLogger b({.save_dir = tmp.path});
  CHECK(b.version() == 1);
  b.log_metrics({{"x", 1}}, 0);  // first write creates version_1
  CHECK(fs::is_directory(tmp.path / "lightning_logs" / "version_1"));

  fs::create_directories(tmp.path / "lightning_logs" / "version_7_old");  // Lightning: split("_")[1] == "7"
  fs::create_directories(tmp.path / "lightning_logs" / "version_x");
  std::ofstream(tmp.path / "lightning_logs" / "version_20");  // a file, not a folder: ignored
  TensorBoardLogger c({.save_dir = tmp.path});
  CHECK(c.version() == 8);
  CHECK(c.name() == "lightning_logs");
  CHECK(c.save_dir() == tmp.path);

  CSVLogger d({.save_dir = tmp.path, .name = "exp", .version = 3});
  CHECK(d.version() == 3);
  CHECK(d.log_dir() == tmp.path / "exp" / "version_3");
  CSVLogger e({.save_dir = tmp.path, .name = "exp"});
  CHECK(e.version() == 4);
}

TEST_CASE("CSVLogger: a reused version folder gets a fresh metrics.csv, as in Lightning") {
  TempDir tmp;
  const fs::path dir = tmp.path / "lightning_logs" / "version_0";
  fs::create_directories(dir);
  std::ofstream(dir / "metrics.csv") << "old,step\r\n1,0\r\n";
  CSVLogger lg({.save_dir = tmp.path, .version = 0});
  lg.log_metrics({{"new", 1}}, 0);
  lg.save();
  CHECK(slurp(dir / "metrics.csv") == "new,step\r\n1.0,0\r\n");
}

TEST_CASE("CSVLogger: hparams.yaml is yaml.dump of the reflected struct; {} without hyperparameters") {
  TempDir tmp;
  CSVLogger lg({.save_dir = tmp.path});
  lg.log_hyperparams(test_loggers::Params{});
  const fs::path yaml = tmp.path / "lightning_logs" / "version_0" / "hparams.yaml";
  CHECK(slurp(yaml) == kParamsYaml);

  // Independent check where PyYAML is installed: the file is byte for byte
  // what yaml.dump writes for its own content.
  const RunResult r = run_python(script("check_yaml.py"), yaml);
  if (r.status == 2) {
    MESSAGE("PyYAML (python3-yaml) is missing: the PyYAML cross-check is skipped");
  } else {
    CHECK_MESSAGE(r.status == 0, r.out);
    CHECK(r.out ==
          "[('batch_size', 32), ('lr', 0.001), ('momentum', 0.9), ('note', \"it's: tricky\"), "
          "('optimizer', 'adam w'), ('seed', None), ('shuffle', True), ('tag', 'yes')]\n");
  }

  CSVLogger none({.save_dir = tmp.path});
  none.log_hyperparams(test_loggers::NotReflected{});
  CHECK(slurp(none.log_dir() / "hparams.yaml") == "{}\n");
}

TEST_CASE("CSVLogger: buffered rows are on disk after the logger dies in stack unwinding") {
  TempDir tmp;
  const fs::path file = tmp.path / "lightning_logs" / "version_0" / "metrics.csv";
  try {
    CSVLogger lg({.save_dir = tmp.path, .flush_logs_every_n_steps = 1000});
    lg.log_metrics({{"loss", 0.5}, {"epoch", 0}}, 0);
    lg.log_metrics({{"loss", 0.25}, {"epoch", 0}}, 1);
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  CHECK(slurp(file) == "epoch,loss,step\r\n0,0.5,0\r\n0,0.25,1\r\n");

  // Moving hands the rows over: written once, by the object that owns them.
  TempDir tmp2;
  {
    CSVLogger a({.save_dir = tmp2.path});
    a.log_metrics({{"x", 1}}, 0);
    CSVLogger b = std::move(a);
    CHECK_THROWS_AS(a.save(), std::logic_error);
  }
  CHECK(slurp(tmp2.path / "lightning_logs" / "version_0" / "metrics.csv") == "step,x\r\n0,1.0\r\n");
}

TEST_CASE("CSVLogger: other ranks write nothing; bad options throw") {
  TempDir tmp;
  CSVLogger lg({.save_dir = tmp.path});
  lg.set_rank_zero(false);
  lg.log_metrics({{"x", 1}}, 0);
  lg.log_hyperparams(test_loggers::Params{});
  lg.finalize("success");
  CHECK(lg.log_dir() == tmp.path / "lightning_logs" / "version_0");
  CHECK(fs::is_empty(tmp.path));
  CHECK_THROWS_WITH_AS(CSVLogger({.flush_logs_every_n_steps = 0}),
                       "lightning: CSVLogger flush_logs_every_n_steps is 0; expected 1 or more",
                       std::invalid_argument);
}

TEST_CASE("TensorBoardLogger: the event file decodes to the logged scalars and hparams") {
  TempDir tmp;
  fs::path events;
  {
    TensorBoardLogger lg({.save_dir = tmp.path});
    lg.log_hyperparams(test_loggers::Params{});
    lg.log_metrics({{"loss", 0.5}, {"epoch", 0}}, 9);
    lg.log_metrics({{"val/acc", 0.1}, {"epoch", 0}}, 19);
    lg.log_metrics({{"x", 2}}, int64_t{1} << 40);
    lg.log_metrics({{"x", -3}}, -1);
    lg.log_metrics({}, 5);  // nothing to write
    events = lg.event_file();
    lg.finalize("success");
  }
  const fs::path dir = tmp.path / "lightning_logs" / "version_0";
  REQUIRE(event_files(dir) == std::vector<fs::path>{events});
  const std::regex name(R"(events\.out\.tfevents\.\d{10}\..+\.)" + std::to_string(::getpid()) + R"(\.\d+)");
  CHECK(std::regex_match(events.filename().string(), name));

  const RunResult r = run_python(script("read_tfevents.py"), events);
  CHECK_MESSAGE(r.status == 0, r.out);
  CHECK(r.out ==
        "file_version brain.Event:2\n"
        "scalars step=0 hp_metric=-1.0\n"
        "hparams/experiment lr:FLOAT64 batch_size:FLOAT64 shuffle:FLOAT64 optimizer:STRING momentum:FLOAT64 "
        "seed:STRING note:STRING tag:STRING | hp_metric\n"
        "hparams/session_start_info lr=0.001 batch_size=32.0 shuffle=1.0 optimizer='adam w' momentum=0.9 "
        "seed='None' note=\"it's: tricky\" tag='yes'\n"
        "hparams/session_end_info status=1\n"
        "scalars step=9 epoch=0.0 loss=0.5\n"
        "scalars step=19 epoch=0.0 val/acc=0.10000000149011612\n"
        "scalars step=1099511627776 x=2.0\n"
        "scalars step=-1 x=-3.0\n");
  // Lightning's TensorBoardLogger also keeps hparams.yaml next to the events.
  CHECK(slurp(dir / "hparams.yaml") == kParamsYaml);
}

TEST_CASE("TensorBoardLogger: writes are flushed; after finalize a new event file starts") {
  TempDir tmp;
  TensorBoardLogger lg({.save_dir = tmp.path, .name = "tb", .version = 2, .default_hp_metric = false});
  lg.log_hyperparams(test_loggers::NotReflected{});  // no metric: no hparams summaries, hparams.yaml `{}`
  lg.log_metrics({{"a", 1.5}}, 1);
  const fs::path first = lg.event_file();
  CHECK(first.parent_path() == tmp.path / "tb" / "version_2");
  // Readable while the logger is alive: every record is flushed.
  RunResult r = run_python(script("read_tfevents.py"), first);
  CHECK_MESSAGE(r.status == 0, r.out);
  CHECK(r.out == "file_version brain.Event:2\nscalars step=1 a=1.5\n");
  CHECK(slurp(first.parent_path() / "hparams.yaml") == "{}\n");

  lg.finalize("success");
  lg.log_metrics({{"b", 0.25}}, 2);  // as Trainer.test() after fit()
  const fs::path second = lg.event_file();
  CHECK(second != first);
  CHECK(event_files(first.parent_path()).size() == 2);
  r = run_python(script("read_tfevents.py"), second);
  CHECK_MESSAGE(r.status == 0, r.out);
  CHECK(r.out == "file_version brain.Event:2\nscalars step=2 b=0.25\n");
}

TEST_CASE("TensorBoardLogger: the reader rejects a corrupted record") {
  TempDir tmp;
  fs::path events;
  {
    TensorBoardLogger lg({.save_dir = tmp.path});
    lg.log_metrics({{"a", 1}}, 0);
    events = lg.event_file();
  }
  std::string bytes = slurp(events);
  bytes[bytes.size() - 6] ^= 0x01;  // a payload byte of the last record
  std::ofstream(events, std::ios::binary | std::ios::trunc) << bytes;
  const RunResult r = run_python(script("read_tfevents.py"), events);
  CHECK(r.status == 1);
  CHECK(r.out.find("bad data CRC") != std::string::npos);
}
