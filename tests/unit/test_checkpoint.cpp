// Checkpoints: exact resume, the file format Python reads, atomic writes,
// corrupt files, hyperparameter versioning, load_from_checkpoint.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/hana/adapt_struct.hpp>
#include <boost/serialization/version.hpp>
#include <lightning/checkpoint/boost_hparams.hpp>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "paths.hpp"
#include "recorder.hpp"

namespace {
using namespace test;
namespace F = torch::nn::functional;
namespace ck = L::checkpoint;

struct NetParams {
  int64_t hidden = 8;
  double lr = 0.05;
  double dropout = 0.25;
};
}  // namespace
BOOST_HANA_ADAPT_STRUCT(NetParams, hidden, lr, dropout);

namespace {
/// Dropout, Adam with a per-step scheduler, logging on step and epoch: every
/// piece of state a resume has to carry.
struct Net : L::LightningModule<Net, NetParams> {
  torch::nn::Sequential net;
  explicit Net(NetParams p = {})
      : LightningModule(p),
        net(register_module("net", torch::nn::Sequential(torch::nn::Linear(2, p.hidden), torch::nn::ReLU(),
                                                          torch::nn::Dropout(p.dropout), torch::nn::Linear(p.hidden, 1)))) {}
  torch::Tensor forward(torch::Tensor x) { return net->forward(x); }
  torch::Tensor training_step(const L::Batch& b, int64_t) {
    auto loss = F::mse_loss(forward(b.data), b.target);
    log("train_loss", loss, {.on_step = true, .on_epoch = true});
    return loss;
  }
  void validation_step(const L::Batch& b, int64_t) { log("val_loss", F::mse_loss(forward(b.data), b.target)); }
  auto configure_optimizers() {
    torch::optim::Adam opt(parameters(), torch::optim::AdamOptions(hparams().lr));
    L::optim::StepLR sched(opt, {.step_size = 3, .gamma = 0.7});
    return L::OptimizerConfig{.optimizer = std::move(opt),
                              .lr_scheduler = L::LRSchedulerConfig{.scheduler = std::move(sched),
                                                                   .interval = L::Interval::step}};
  }
};

/// Records what loggers receive.
struct RowLogger {
  std::vector<std::pair<int64_t, std::map<std::string, double>>>* rows = nullptr;
  void log_metrics(const std::map<std::string, double>& m, int64_t step) {
    if (rows) rows->emplace_back(step, m);
  }
};

/// Saves a checkpoint at one global step (after the batch) or one epoch's end.
struct SaveAt {
  std::filesystem::path path;
  int64_t at_step = -1, at_epoch = -1, at_val_step = -1;
  std::size_t* rows_at_save = nullptr;
  const std::vector<std::pair<int64_t, std::map<std::string, double>>>* rows = nullptr;
  void on_train_batch_end(auto& trainer, auto&, const auto&, const auto&, int64_t) {
    if (trainer.global_step() == at_step && !std::filesystem::exists(path)) save(trainer);
  }
  void on_validation_end(auto& trainer, auto&) {
    if (!trainer.sanity_checking() && trainer.global_step() == at_val_step && !std::filesystem::exists(path)) save(trainer);
  }
  void on_train_epoch_end(auto& trainer, auto&) {
    if (trainer.current_epoch() == at_epoch) save(trainer);
  }
  void save(auto& trainer) {
    trainer.save_checkpoint(path);
    if (rows_at_save) *rows_at_save = rows->size();
  }
};

using ResumeTrainer = L::Trainer<Net, L::OnlyCallbacks<SaveAt>, L::Loggers<RowLogger>>;

L::TrainerOptions resume_options() {
  return {.max_epochs = 3, .limit_val_batches = 2, .num_sanity_val_steps = 1, .log_every_n_steps = 1,
          .accumulate_grad_batches = 2};
}

std::pair<L::data::TensorLoader<2>, L::data::TensorLoader<2>> resume_data() {
  torch::manual_seed(3);
  auto x = torch::randn({44, 2});
  auto y = x.sum(1, true) + 0.1 * x.pow(2).sum(1, true);
  L::data::TensorLoader<2> train({x, y}, {.batch_size = 4, .shuffle = true, .seed = 11});  // 11 batches
  L::data::TensorLoader<2> val({x.slice(0, 0, 8), y.slice(0, 0, 8)}, {.batch_size = 4});
  return {std::move(train), std::move(val)};
}

void check_resume(int64_t at_step, int64_t at_epoch, int64_t at_val_step = -1,
                  L::TrainerOptions opts = resume_options()) {
  TmpDir dir;
  const auto path = dir.path / "mid.ckpt";
  auto [train, val] = resume_data();

  // A: uninterrupted, saving a checkpoint on the way.
  L::seed_everything(5);
  Net a;
  std::vector<std::pair<int64_t, std::map<std::string, double>>> rows_a, rows_b;
  std::size_t rows_at_save = 0;
  ResumeTrainer ta(opts, SaveAt{path, at_step, at_epoch, at_val_step, &rows_at_save, &rows_a}, RowLogger{&rows_a});
  ta.fit(a, train, val);
  REQUIRE(std::filesystem::exists(path));

  // B: a fresh module, trainer and generator state, resumed from the file.
  L::seed_everything(99);
  Net b;
  ResumeTrainer tb(opts, SaveAt{}, RowLogger{&rows_b});
  tb.fit(b, train, val, {.ckpt_path = path.string()});

  CHECK(tb.global_step() == ta.global_step());
  CHECK(tb.current_epoch() == ta.current_epoch());
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  for (const auto& p : pa) {
    INFO(p.key());
    CHECK(torch::equal(p.value(), pb[p.key()]));  // bitwise
  }
  auto& oa = ta.optimizer();
  auto& ob = tb.optimizer();
  CHECK(oa.param_groups()[0].options().get_lr() == ob.param_groups()[0].options().get_lr());
  for (const auto& p : a.parameters()) {
    const auto key = c10::guts::to_string(p.unsafeGetTensorImpl());
    auto& sa = static_cast<torch::optim::AdamParamState&>(*oa.state().at(key));
    bool found = false;
    for (auto& [k, s] : ob.state()) {
      auto& sb = static_cast<torch::optim::AdamParamState&>(*s);
      if (sb.exp_avg().sizes() == sa.exp_avg().sizes() && torch::equal(sb.exp_avg(), sa.exp_avg())) {
        found = true;
        CHECK(sb.step() == sa.step());
        CHECK(torch::equal(sb.exp_avg_sq(), sa.exp_avg_sq()));
      }
    }
    CHECK(found);
  }
  // Everything A logged after the checkpoint, B logged too, with the same values.
  REQUIRE(rows_at_save <= rows_a.size());
  std::vector<std::pair<int64_t, std::map<std::string, double>>> tail(rows_a.begin() + static_cast<long>(rows_at_save),
                                                                       rows_a.end());
  CHECK(tail.size() > 2);
  CHECK(rows_b == tail);
}
}  // namespace

TEST_CASE("resume mid-epoch (after a step, with accumulation, dropout, shuffle, Adam and a scheduler) is bitwise exact") {
  check_resume(/*at_step=*/7, -1);
}

TEST_CASE("resume from an end-of-epoch checkpoint is bitwise exact") { check_resume(-1, /*at_epoch=*/0); }

TEST_CASE("resume from a checkpoint taken in a mid-epoch validation continues after it, exactly") {
  auto opts = resume_options();
  opts.val_check_interval = L::BatchCount(int64_t{4});
  check_resume(-1, -1, /*at_val_step=*/4, opts);
}

TEST_CASE("a checkpoint saved after fit() is between epochs; resuming with more epochs continues from there") {
  TmpDir dir;
  auto [train, val] = resume_data();
  auto opts = resume_options();
  L::seed_everything(5);
  Net a;
  std::vector<std::pair<int64_t, std::map<std::string, double>>> rows_a, rows_b;
  ResumeTrainer ta(opts, SaveAt{}, RowLogger{&rows_a});
  ta.fit(a, train, val);
  const auto path = dir.path / "after.ckpt";
  ta.save_checkpoint(path);
  const auto ckpt = ck::read(path);
  const auto fs = ck::get<ck::Dict>(ck::get<ck::Dict>(ckpt, ck::kMetaKey, "test"), "fit_state", "test");
  CHECK(ck::get<int64_t>(fs, "phase", "test") == 0);  // idle: nothing pending
  CHECK(ck::get<int64_t>(ckpt, "epoch", "test") == 3);
  L::seed_everything(99);
  Net b;
  opts.max_epochs = 4;
  ResumeTrainer tb(opts, SaveAt{}, RowLogger{&rows_b});
  tb.fit(b, train, val, {.ckpt_path = path.string()});
  CHECK(tb.current_epoch() == 4);
  CHECK(tb.global_step() == ta.global_step() + 6);  // 11 batches, accumulating 2: 6 steps an epoch
}

TEST_CASE("Python's torch.load reads a checkpoint: Lightning's keys, parameter names, hyperparameters, and the same outputs") {
  TmpDir dir;
  auto [train, val] = resume_data();
  L::seed_everything(1);
  Net model(NetParams{.hidden = 5, .lr = 0.01, .dropout = 0.0});
  L::Trainer<Net, L::OnlyCallbacks<>, L::Loggers<>> trainer({.max_epochs = 1});
  trainer.fit(model, train);
  const auto ckpt_path = dir.path / "model.ckpt";
  trainer.save_checkpoint(ckpt_path);
  auto x = torch::randn({6, 2});
  model.eval();
  const auto y = model.forward(x).detach();
  {
    auto bytes = torch::pickle_save(x);
    std::ofstream(dir.path / "x.pt", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  const auto script = test::tests_dir() / "unit" / "read_checkpoint.py";
  const std::string cmd = "/usr/bin/python3 " + script.string() + " " + ckpt_path.string() + " " +
                          (dir.path / "x.pt").string() + " " + (dir.path / "y.pt").string() + " > " +
                          (dir.path / "py.txt").string() + " 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(dir.path / "py.txt");
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  INFO(out);
  REQUIRE(rc == 0);
  CHECK(out.find("keys ok") != std::string::npos);
  CHECK(out.find("hyper_parameters {'hidden': 5, 'lr': 0.01, 'dropout': 0.0}") != std::string::npos);
  CHECK(out.find("state_dict ['net.0.weight', 'net.0.bias', 'net.3.weight', 'net.3.bias']") != std::string::npos);
  // StepLR decayed 0.01 three times over 11 steps: 0.01 * 0.7^3, as C++ computed it.
  CHECK(out.find("optimizer loaded Adam lr 0.003429999999999999") != std::string::npos);
  std::ifstream yf(dir.path / "y.pt", std::ios::binary);
  std::vector<char> ybytes((std::istreambuf_iterator<char>(yf)), std::istreambuf_iterator<char>());
  const auto y_py = torch::pickle_load(ybytes).toTensor();
  CHECK(torch::allclose(y_py, y, 1e-6, 1e-6));
}

TEST_CASE("load_from_checkpoint rebuilds the module from its hyperparameters; an overload edits them") {
  TmpDir dir;
  auto [train, val] = resume_data();
  Net model(NetParams{.hidden = 6, .lr = 0.02, .dropout = 0.1});
  L::Trainer<Net, L::OnlyCallbacks<>, L::Loggers<>> trainer({.max_epochs = 1});
  trainer.fit(model, train);
  const auto path = dir.path / "m.ckpt";
  trainer.save_checkpoint(path, /*weights_only=*/true);

  auto back = Net::load_from_checkpoint(path);
  CHECK(back.hparams().hidden == 6);
  CHECK(back.hparams().lr == 0.02);
  for (const auto& p : model.named_parameters()) CHECK(torch::equal(p.value(), back.named_parameters()[p.key()]));

  auto edited = Net::load_from_checkpoint(path, [](NetParams& p) { p.lr = 0.5; });
  CHECK(edited.hparams().lr == 0.5);
  CHECK(edited.hparams().hidden == 6);

  // A module whose shapes differ: every mismatch named, nothing loaded.
  try {
    (void)Net::load_from_checkpoint(path, [](NetParams& p) { p.hidden = 4; });
    FAIL("expected an error");
  } catch (const L::CheckpointError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("size mismatch for net.0.weight: copying a param with shape [6, 2] from checkpoint, the shape in "
                   "current model is [4, 2]") != std::string::npos);
    CHECK(msg.find("net.3.weight") != std::string::npos);
  }

  // weights-only files cannot resume a fit, and say so.
  Net fresh(NetParams{.hidden = 6});
  L::Trainer<Net, L::OnlyCallbacks<>, L::Loggers<>> t2({.max_epochs = 2});
  CHECK_THROWS_WITH_AS(t2.fit(fresh, train, {.ckpt_path = path.string()}),
                       doctest::Contains("save_weights_only"), L::CheckpointError);
}

namespace {
struct ParamsV1 {
  int64_t width = 3;
  double lr = 0.1;
};
struct ParamsV2 {  // the same struct, a release later: one field more
  int64_t width = 3;
  double lr = 0.1;
  std::string activation = "relu";
  std::optional<int64_t> seed = 7;
};
// Versioned by hand, Boost's way.
struct BoostV1 {
  int a = 1;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & a;
  }
};
struct BoostV2 {
  int a = 1;
  double b = 2.5;
  template <class Ar>
  void serialize(Ar& ar, unsigned version) {
    ar & a;
    if (version >= 1) ar & b;
  }
};
}  // namespace
BOOST_HANA_ADAPT_STRUCT(ParamsV1, width, lr);
BOOST_HANA_ADAPT_STRUCT(ParamsV2, width, lr, activation, seed);
BOOST_CLASS_VERSION(BoostV2, 1)

TEST_CASE("hyperparameters written before a field was added still load; the new field keeps its default") {
  const auto v1 = ck::hparams_to_archive(ParamsV1{.width = 9, .lr = 1e-3});
  const auto v2 = ck::hparams_from_archive<ParamsV2>(v1);
  CHECK(v2.width == 9);
  CHECK(v2.lr == 1e-3);  // exact: floats go through their shortest round-trip text
  CHECK(v2.activation == "relu");
  CHECK(v2.seed == std::optional<int64_t>(7));
  // And a full V2 round trip keeps every field, including an empty optional.
  const auto again = ck::hparams_from_archive<ParamsV2>(
      ck::hparams_to_archive(ParamsV2{.width = 1, .lr = 0.3, .activation = "gelu", .seed = std::nullopt}));
  CHECK(again.activation == "gelu");
  CHECK_FALSE(again.seed.has_value());
  CHECK(again.lr == 0.3);

  // A struct with its own Boost serialize() and BOOST_CLASS_VERSION.
  const auto b1 = ck::hparams_to_archive(BoostV1{.a = 4});
  const auto b2 = ck::hparams_from_archive<BoostV2>(b1);
  CHECK(b2.a == 4);
  CHECK(b2.b == 2.5);
  CHECK(ck::hparams_from_archive<BoostV2>(ck::hparams_to_archive(BoostV2{.a = 5, .b = 7.0})).b == 7.0);

  CHECK_THROWS_AS(ck::hparams_from_archive<ParamsV2>("garbage"), L::CheckpointError);
}

namespace {
ck::Dict small_checkpoint(float fill) {
  auto d = ck::make_dict();
  auto sd = ck::make_dict();
  sd.insert("w", torch::full({64, 64}, fill));
  sd.insert("b", torch::arange(16).to(torch::kFloat));
  d.insert("state_dict", sd);
  d.insert("epoch", int64_t{2});
  return d;
}
bool same_state(const ck::Dict& a, const ck::Dict& b) {
  const auto sa = ck::get<ck::Dict>(a, "state_dict", "a"), sb = ck::get<ck::Dict>(b, "state_dict", "b");
  for (const char* k : {"w", "b"})
    if (!torch::equal(sa.at(std::string(k)).toTensor(), sb.at(std::string(k)).toTensor())) return false;
  return ck::get<int64_t>(a, "epoch", "a") == ck::get<int64_t>(b, "epoch", "b");
}
std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void spit(const std::filesystem::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }
/// The temporary files an atomic write of `target` leaves while it runs.
std::vector<std::filesystem::path> temp_files(const std::filesystem::path& target) {
  std::vector<std::filesystem::path> out;
  const std::string prefix = target.filename().string() + ".tmp";
  for (const auto& e : std::filesystem::directory_iterator(target.parent_path()))
    if (e.path().filename().string().starts_with(prefix)) out.push_back(e.path());
  return out;
}
}  // namespace

TEST_CASE("a truncated or bit-flipped checkpoint is an error that says so, never a crash or a silent different load") {
  TmpDir dir;
  const auto good = dir.path / "good.ckpt";
  ck::write(good, small_checkpoint(1.5f));
  const auto original = ck::read(good);
  const std::string bytes = slurp(good);
  const auto bad = dir.path / "bad.ckpt";

  int errors = 0, same = 0;
  // Cut anywhere before the zip's trailing directory records: always an error.
  for (std::size_t n = 0; n + 100 < bytes.size(); n += 97) {
    spit(bad, bytes.substr(0, n));
    try {
      (void)ck::read(bad);
      FAIL("a truncated file loaded, length " << n);
    } catch (const L::CheckpointError& e) {
      const std::string msg = e.what();
      CHECK((msg.find("truncated") != std::string::npos || msg.find("not a checkpoint") != std::string::npos ||
             msg.find("corrupt") != std::string::npos || msg.find("is empty") != std::string::npos));
      ++errors;
    }
  }
  // Cut inside those records, the reader may still find everything: then it
  // must load exactly what was saved.
  for (std::size_t n = bytes.size() - 100; n < bytes.size(); ++n) {
    spit(bad, bytes.substr(0, n));
    try {
      const auto loaded = ck::read(bad);
      CHECK(same_state(loaded, original));
      ++same;
    } catch (const L::CheckpointError&) {
      ++errors;
    }
  }
  for (std::size_t i = 0; i < bytes.size(); i += 13) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x04);
    spit(bad, flipped);
    try {
      const auto loaded = ck::read(bad);
      // Bytes the reader does not use (zip padding, timestamps) may flip harmlessly.
      CHECK(same_state(loaded, original));
      ++same;
    } catch (const L::CheckpointError&) {
      ++errors;
    }
  }
  CHECK(errors > 50);
  MESSAGE("bit flips: " << errors << " rejected, " << same << " harmless");

  spit(bad, "epoch: 3\n");
  CHECK_THROWS_WITH_AS(ck::read(bad), doctest::Contains("is not a checkpoint"), L::CheckpointError);
  CHECK_THROWS_WITH_AS(ck::read(dir.path / "missing.ckpt"), doctest::Contains("does not exist"), L::CheckpointError);
}

TEST_CASE("a checkpoint from a newer format version is refused with both versions named") {
  TmpDir dir;
  auto d = small_checkpoint(0.f);
  auto meta = ck::make_dict();
  meta.insert("format_version", int64_t{99});
  meta.insert("library_version", std::string("9.0.0"));
  d.insert(std::string(ck::kMetaKey), meta);
  const auto bytes = torch::pickle_save(d);
  spit(dir.path / "new.ckpt", std::string(bytes.begin(), bytes.end()));
  CHECK_THROWS_WITH_AS(ck::read(dir.path / "new.ckpt"),
                       doctest::Contains("format version 99 (written by lightning-cpp 9.0.0); this build reads format "
                                         "versions up to 2"),
                       L::CheckpointError);
}

TEST_CASE("a failure between write and rename leaves the previous checkpoint whole and no temporary file") {
  TmpDir dir;
  const auto path = dir.path / "last.ckpt";
  ck::write(path, small_checkpoint(1.f));
  CHECK_THROWS_WITH(ck::write(path, small_checkpoint(2.f), [] { throw std::runtime_error("power cut"); }), "power cut");
  CHECK(same_state(ck::read(path), small_checkpoint(1.f)));
  CHECK(temp_files(path).empty());
  ck::write(path, small_checkpoint(3.f));
  CHECK(same_state(ck::read(path), small_checkpoint(3.f)));
}

TEST_CASE("a process killed in the middle of saving leaves the previous checkpoint whole") {
  TmpDir dir;
  const auto path = dir.path / "last.ckpt";
  ck::write(path, small_checkpoint(1.f));
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // A big checkpoint written over and over until the parent kills us.
    auto big = ck::make_dict();
    auto sd = ck::make_dict();
    sd.insert("w", torch::ones({64 << 20}, torch::kUInt8));
    big.insert("state_dict", sd);
    for (;;) ck::write(path, big);
  }
  for (int i = 0; i < 2000 && temp_files(path).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status));
  // Either the old file, or (if a rename completed) the new one: never a broken one.
  const auto loaded = ck::read(path);
  const auto w = ck::get<ck::Dict>(loaded, "state_dict", "test").at(std::string("w")).toTensor();
  CHECK((w.numel() == 64 * 64 || w.numel() == (64 << 20)));
  // The killed writer's temporary file is removed by the next writer of that path.
  const auto stale = temp_files(path);
  CHECK(stale.size() == 1);
  ck::write(path, small_checkpoint(4.f));
  CHECK(temp_files(path).empty());
  CHECK(same_state(ck::read(path), small_checkpoint(4.f)));
}

namespace {
/// A callback with its own state and checkpoint hooks.
struct Counter {
  int64_t batches = 0;
  std::string* loaded_note = nullptr;
  void on_train_batch_end(auto&, auto&, const auto&, const auto&, int64_t) { ++batches; }
  ck::Dict state_dict() const {
    auto d = ck::make_dict();
    d.insert("batches", batches);
    return d;
  }
  void load_state_dict(const ck::Dict& d) { batches = ck::get<int64_t>(d, "batches", "Counter"); }
  void on_save_checkpoint(auto&, auto&, ck::Dict& checkpoint) { checkpoint.insert("note", std::string("from Counter")); }
  void on_load_checkpoint(auto&, auto&, const ck::Dict& checkpoint) {
    if (loaded_note) *loaded_note = ck::get<std::string>(checkpoint, "note", "checkpoint");
  }
};
struct NoteModule : test::RecordingModule {
  int64_t saved = 0, loaded = 0;
  void on_save_checkpoint(ck::Dict& checkpoint) { checkpoint.insert("module_note", ++saved); }
  void on_load_checkpoint(const ck::Dict& checkpoint) { loaded = ck::get<int64_t>(checkpoint, "module_note", "ckpt"); }
};
}  // namespace

TEST_CASE("callbacks' state and checkpoint hooks, and the module's, round-trip through a checkpoint") {
  TmpDir dir;
  auto loader = test::make_loader(3);
  NoteModule a;
  L::Trainer<NoteModule, L::OnlyCallbacks<Counter>, L::Loggers<>> ta({.max_epochs = 2});
  ta.fit(a, loader);
  CHECK(ta.callback<Counter>().batches == 6);
  ta.save_checkpoint(dir.path / "c.ckpt");
  const auto ckpt = ck::read(dir.path / "c.ckpt");
  CHECK(ck::get<std::string>(ckpt, "note", "test") == "from Counter");
  CHECK(ck::get<int64_t>(ckpt, "module_note", "test") == 1);
  // Stored under the callback's type name (it has no state_key()).
  CHECK(ck::get<int64_t>(ck::get<ck::Dict>(ck::get<ck::Dict>(ckpt, "callbacks", "test"), "(anonymous namespace)::Counter",
                                           "callbacks"),
                         "batches", "Counter") == 6);

  std::string note;
  NoteModule b;
  L::Trainer<NoteModule, L::OnlyCallbacks<Counter>, L::Loggers<>> tb({.max_epochs = 3}, Counter{0, &note});
  tb.fit(b, loader, {.ckpt_path = (dir.path / "c.ckpt").string()});
  CHECK(note == "from Counter");
  CHECK(b.loaded == 1);
  CHECK(tb.callback<Counter>().batches == 9);  // 6 restored + one more epoch of 3
}

TEST_CASE("ckpt_path \"last\" finds the newest last.ckpt under default_root_dir; \"best\" uses ModelCheckpoint's best") {
  TmpDir dir;
  auto train = test::make_loader(3), val = test::make_loader(2);
  using T = L::Trainer<test::RecordingModule, L::OnlyCallbacks<L::ModelCheckpoint>, L::Loggers<>>;
  test::RecordingModule a;
  T ta({.max_epochs = 2, .num_sanity_val_steps = 0, .default_root_dir = dir.path.string()},
       L::ModelCheckpoint({.monitor = "val_loss", .save_last = true}));
  ta.fit(a, train, val);
  CHECK(std::filesystem::exists(dir.path / "checkpoints" / "last.ckpt"));
  CHECK_FALSE(ta.checkpoint_callback().best_model_path().empty());
  // "best" on the same trainer: resumes from the best file (nothing left to train at max_epochs = 2).
  ta.fit(a, train, val, {.ckpt_path = "best"});
  CHECK(ta.global_step() >= 3);

  test::RecordingModule b;
  T tb({.max_epochs = 3, .num_sanity_val_steps = 0, .default_root_dir = dir.path.string()});
  tb.fit(b, train, val, {.ckpt_path = "last"});
  CHECK(tb.current_epoch() == 3);
  CHECK(tb.global_step() == 9);  // 6 from the checkpoint, 3 more

  test::RecordingModule c;
  L::Trainer<test::RecordingModule, L::OnlyCallbacks<>, L::Loggers<>> tc({.max_epochs = 1});
  CHECK_THROWS_WITH_AS(tc.fit(c, train, val, {.ckpt_path = "best"}), doctest::Contains("`ModelCheckpoint` is not configured"),
                       std::invalid_argument);
}
