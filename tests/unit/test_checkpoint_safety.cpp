// Loading checkpoints and weights files whatever their bytes: crafted files
// of every known class of attack or damage are refused with a CheckpointError
// naming the file and the problem; random damage is refused or harmless; the
// file cannot switch its own integrity check off.
#include <bit>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <lightning/serialization/zip.hpp>

#include "paths.hpp"
#include "recorder.hpp"

namespace {
using namespace test;
namespace ck = L::checkpoint;
namespace fs = std::filesystem;
namespace F = torch::nn::functional;

struct Scratch {
  fs::path path;
  explicit Scratch(const std::string& name) {
    path = fs::temp_directory_path() / ("lightning_safety_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Scratch() { fs::remove_all(path); }
  fs::path operator/(const std::string& f) const { return path / f; }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

/// Copies a zip archive record by record through `edit(name, bytes)`, which
/// may change a record's bytes or return false to drop it; CRCs are recomputed.
void rewrite_zip(const fs::path& in, const fs::path& out,
                 const std::function<bool(const std::string&, std::string&)>& edit) {
  L::serialization::ZipReader zip(in);
  std::string bytes_out;
  L::serialization::ZipWriter w(
      zip.prefix(), [](void* c, const void* d, std::size_t n) { static_cast<std::string*>(c)->append(static_cast<const char*>(d), n); },
      &bytes_out);
  for (const auto& r : zip.records()) {
    std::string bytes = zip.read_string(r, 1 << 30);
    if (edit(r.name, bytes)) w.add(r.name, bytes);
  }
  w.finish();
  spit(out, bytes_out);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const L::CheckpointError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("not a CheckpointError: ") + e.what();
  }
  return "no error";
}

/// Deep equality of two checkpoint values (tensors bitwise).
bool same_value(const c10::IValue& a, const c10::IValue& b) {
  if (a.tagKind() != b.tagKind()) return false;
  if (a.isTensor()) {
    const auto& x = a.toTensor();
    const auto& y = b.toTensor();
    return x.scalar_type() == y.scalar_type() && x.sizes() == y.sizes() && torch::equal(x, y);
  }
  if (a.isGenericDict()) {
    const auto x = a.toGenericDict(), y = b.toGenericDict();
    if (x.size() != y.size()) return false;
    auto i = x.begin();
    auto j = y.begin();
    for (; i != x.end(); ++i, ++j)
      if (!same_value(i->key(), j->key()) || !same_value(i->value(), j->value())) return false;
    return true;
  }
  if (a.isList()) {
    const auto x = a.toListRef(), y = b.toListRef();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!same_value(x[i], y[i])) return false;
    return true;
  }
  if (a.isTuple()) {
    const auto& x = a.toTupleRef().elements();
    const auto& y = b.toTupleRef().elements();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!same_value(x[i], y[i])) return false;
    return true;
  }
  if (a.isDouble()) return std::bit_cast<uint64_t>(a.toDouble()) == std::bit_cast<uint64_t>(b.toDouble());
  return a == b;
}

struct SmallNet : L::LightningModule<SmallNet> {
  torch::nn::Linear fc{nullptr};
  SmallNet() { fc = register_module("fc", torch::nn::Linear(3, 2)); }
  torch::Tensor training_step(const L::Batch& b, int64_t) { return F::mse_loss(fc->forward(b.data), b.target); }
  auto configure_optimizers() { return torch::optim::Adam(parameters(), torch::optim::AdamOptions(0.01)); }
};

L::data::TensorLoader<2> small_data() {
  torch::manual_seed(0);
  auto x = torch::randn({16, 3});
  return L::data::TensorLoader<2>({x, x.sum(1, true).repeat({1, 2})}, {.batch_size = 4});
}

/// A checkpoint of a short run, written by the Trainer.
fs::path trained_checkpoint(const Scratch& dir) {
  auto data = small_data();
  SmallNet m;
  L::BareTrainer<SmallNet> t({.max_epochs = 1});
  t.fit(m, data);
  const auto p = dir / "trained.ckpt";
  t.save_checkpoint(p);
  return p;
}
}  // namespace

TEST_CASE("crafted files: every one is refused with an error naming the file and the problem, or read as it is") {
  const auto dir = tests_dir() / "data" / "crafted";
  std::ifstream list(dir / "expected.tsv");
  REQUIRE(list);
  std::string line;
  int n = 0;
  while (std::getline(list, line)) {
    const auto tab = line.find('\t');
    const std::string name = line.substr(0, tab), expected = line.substr(tab + 1);
    INFO(name);
    ++n;
    const std::string err = error_of([&] { (void)ck::read_value(dir / name); });
    if (expected.empty()) {
      CHECK(err == "no error");
    } else {
      CHECK(err.find("lightning: checkpoint '" + (dir / name).string() + "'") == 0);
      CHECK(err.find(expected) != std::string::npos);
      if (err.find(expected) == std::string::npos) MESSAGE(err);
    }
  }
  CHECK(n >= 30);
}

TEST_CASE("a truncated checkpoint is always refused; bit flips are refused or change nothing") {
  Scratch dir("damage");
  const auto good = trained_checkpoint(dir);
  const auto original = ck::read_checkpoint(good);
  REQUIRE(original.trusted);
  const std::string bytes = slurp(good);
  const auto bad = dir / "bad.ckpt";
  for (std::size_t n = 0; n < bytes.size(); n += 61) {
    spit(bad, bytes.substr(0, n));
    CHECK(error_of([&] { (void)ck::read(bad); }).find("lightning: checkpoint '" + bad.string() + "'") == 0);
  }
  int rejected = 0, harmless = 0;
  for (std::size_t i = 0; i < bytes.size(); i += 7) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ (1 << (i % 8)));
    spit(bad, flipped);
    try {
      const auto loaded = ck::read_checkpoint(bad);
      // Only bytes the reader does not use (padding, timestamps) may flip: all content and trust the same.
      CHECK(loaded.trusted);
      CHECK(same_value(loaded.value, original.value));
      ++harmless;
    } catch (const L::CheckpointError&) {
      ++rejected;
    }
  }
  MESSAGE("bit flips: " << rejected << " refused, " << harmless << " harmless");
  CHECK(rejected > 10 * harmless);
}

TEST_CASE("integrity cannot be switched off by the file: without its digest a file is foreign, never trusted") {
  Scratch dir("integrity");
  const auto good = trained_checkpoint(dir);
  REQUIRE(ck::read_checkpoint(good).trusted);

  // The digest record removed: read, but foreign (lightning_cpp dropped).
  const auto no_digest = dir / "no_digest.ckpt";
  rewrite_zip(good, no_digest, [](const std::string& name, std::string&) { return name != ".data/lightning_cpp_digest"; });
  const auto foreign = ck::read_checkpoint(no_digest);
  CHECK_FALSE(foreign.trusted);
  CHECK_FALSE(ck::contains(foreign.value.toGenericDict(), ck::kMetaKey));
  CHECK(ck::contains(foreign.value.toGenericDict(), "state_dict"));
  auto data = small_data();
  SmallNet m;
  L::BareTrainer<SmallNet> t({.max_epochs = 2});
  // Resumed as a Python Lightning checkpoint is (issue 16): from its `loops`
  // counters, without the generator states and position lightning_cpp held.
  const std::string err = error_of([&] { t.fit(m, data, {.ckpt_path = no_digest.string()}); });
  INFO(err);
  CHECK(err == "no error");
  CHECK(t.current_epoch() == 2);

  // A record changed behind the digest's back (its CRC fixed up): corrupt.
  const auto edited = dir / "edited.ckpt";
  rewrite_zip(good, edited, [](const std::string& name, std::string& b) {
    if (name == "data/0") b[0] = static_cast<char>(b[0] ^ 1);
    return true;
  });
  CHECK(error_of([&] { (void)ck::read(edited); }).find("do not match the digest") != std::string::npos);

  // A file of format 1 (content checksum in the pickle) with a value changed: corrupt.
  const auto v1 = tests_dir() / "data" / "resume_v1" / "auto_epoch_end.ckpt";
  REQUIRE(ck::read_checkpoint(v1).trusted);
  const auto v1_edited = dir / "v1_edited.ckpt";
  rewrite_zip(v1, v1_edited, [](const std::string& name, std::string& b) {
    if (name == "data/0") b[1] = static_cast<char>(b[1] ^ 1);
    return true;
  });
  CHECK(error_of([&] { (void)ck::read(v1_edited); }).find("does not match the checksum") != std::string::npos);
}

TEST_CASE("a checkpoint edited and re-saved in Python is read as foreign; its weights still load") {
  Scratch dir("python_edit");
  const auto good = trained_checkpoint(dir);
  const auto edited = dir / "edited.ckpt";
  const std::string cmd = "/usr/bin/python3 -c \"import torch; c = torch.load('" + good.string() +
                          "'); c['lightning_cpp']['fit_state']['batch_idx'] = 3; torch.save(c, '" + edited.string() +
                          "')\" 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const auto r = ck::read_checkpoint(edited);
  CHECK_FALSE(r.trusted);
  CHECK_FALSE(ck::contains(r.value.toGenericDict(), ck::kMetaKey));
  auto m = SmallNet::load_from_checkpoint(edited);
  auto ref = SmallNet::load_from_checkpoint(good);
  CHECK(torch::equal(m.fc->weight, ref.fc->weight));
}

TEST_CASE("what the library writes, torch.load reads back equal; our reader reads Python's torch.save") {
  Scratch dir("round_trip");
  auto d = ck::make_dict();
  d.insert("int", int64_t{-5});
  d.insert("big", int64_t{1} << 40);
  d.insert("float", 0.1);
  d.insert("str", std::string("é\n"));
  d.insert("none", c10::IValue());
  d.insert("tuple", c10::ivalue::Tuple::create({c10::IValue(1.5), c10::IValue(true)}));
  auto list = ck::make_list();
  list.push_back(torch::arange(6, torch::kLong).view({2, 3}).t());  // a non-contiguous view
  list.push_back(torch::ones({2}, torch::kBFloat16));
  d.insert("list", list);
  auto ints = ck::make_int_dict();
  ints.insert(int64_t{3}, std::string("three"));
  d.insert("ints", ints);
  const auto path = dir / "values.pt";
  ck::write_value(path, d);
  const auto back = ck::read_value(path).value;
  CHECK(same_value(back, d));
  const std::string cmd = "/usr/bin/python3 -c \"import torch; c = torch.load('" + path.string() +
                          "'); assert c['int'] == -5 and c['big'] == 2**40 and c['float'] == 0.1 and c['str'] == "
                          "'\\u00e9\\n' and c['none'] is None and c['tuple'] == (1.5, True) and c['ints'] == {3: "
                          "'three'}; assert c['list'][0].tolist() == [[0, 3], [1, 4], [2, 5]] and c['list'][1].dtype "
                          "== torch.bfloat16; torch.save(c, '" + (dir / "py.pt").string() + "')\" 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  CHECK(same_value(ck::read_value(dir / "py.pt").value, d));
}

// ---------------------------------------------------------------- restore

namespace {
/// A stateful callback: its count must not change when a restore fails.
struct Counter {
  int64_t n = 0;
  void on_train_batch_end(auto&, auto&, const auto&, const auto&, int64_t) { ++n; }
  ck::Dict state_dict() const {
    auto d = ck::make_dict();
    d.insert("n", n);
    return d;
  }
  void load_state_dict(const ck::Dict& d) { n = ck::get<int64_t>(d, "n", "Counter"); }
};

struct StepNet : L::LightningModule<StepNet> {
  torch::nn::Linear fc{nullptr};
  StepNet() { fc = register_module("fc", torch::nn::Linear(3, 2)); }
  torch::Tensor training_step(const L::Batch& b, int64_t) { return F::mse_loss(fc->forward(b.data), b.target); }
  void validation_step(const L::Batch&, int64_t) { log("val_loss", 1.0 / static_cast<double>(current_epoch() + 1)); }
  auto configure_optimizers() {
    torch::optim::SGD opt(parameters(), torch::optim::SGDOptions(0.1));
    L::optim::MultiStepLR sched(opt, {.milestones = {2, 4}, .gamma = 0.5});
    return std::pair{std::move(opt), std::move(sched)};
  }
};
using CountingTrainer = L::Trainer<StepNet, L::OnlyCallbacks<Counter>, L::Loggers<>>;

struct SaveMid {
  fs::path path;
  void on_train_batch_end(auto& t, auto&, const auto&, const auto&, int64_t i) {
    if (i == 1 && !path.empty()) t.save_checkpoint(path);
  }
};

/// A checkpoint of `StepNet` after one epoch (or mid-epoch, at batch 1), this build's own.
fs::path step_checkpoint(const Scratch& dir, bool mid_epoch = false) {
  auto data = small_data();
  StepNet m;
  const auto p = dir / (mid_epoch ? "mid.ckpt" : "epoch.ckpt");
  L::Trainer<StepNet, L::OnlyCallbacks<Counter, SaveMid>, L::Loggers<>> t({.max_epochs = 1},
                                                                       SaveMid{mid_epoch ? p : fs::path()});
  t.fit(m, data);
  if (!mid_epoch) t.save_checkpoint(p);
  return p;
}

/// `path` rewritten (as this library writes: trusted) after `edit(checkpoint)`.
fs::path edited(const fs::path& path, const std::string& name, const std::function<void(ck::Dict&)>& edit) {
  auto c = ck::read_checkpoint(path);
  REQUIRE(c.trusted);
  auto d = c.value.toGenericDict();
  edit(d);
  const auto out = path.parent_path() / name;
  ck::write_value(out, d);
  REQUIRE(ck::read_checkpoint(out).trusted);
  return out;
}

ck::Dict sub(const ck::Dict& d, const char* key) { return ck::get<ck::Dict>(d, key, "test"); }

/// fit from `ckpt` must fail with `expected`, leaving the module's weights,
/// and the callback's state, exactly as they were.
void resume_fails_untouched(const fs::path& ckpt, const std::string& expected) {
  auto data = small_data();
  torch::manual_seed(42);
  StepNet m;
  const auto before = m.fc->weight.clone(), bias = m.fc->bias.clone();
  CountingTrainer t({.max_epochs = 3}, Counter{.n = 7});
  const std::string err = error_of([&] { t.fit(m, data, {.ckpt_path = ckpt.string()}); });
  INFO(err);
  CHECK(err.find("cannot resume from '" + ckpt.string() + "'") != std::string::npos);
  CHECK(err.find(expected) != std::string::npos);
  CHECK(torch::equal(m.fc->weight, before));
  CHECK(torch::equal(m.fc->bias, bias));
  CHECK(t.callback<Counter>().n == 7);
  CHECK(t.current_epoch() == 0);
  CHECK(t.global_step() == 0);
}
}  // namespace

TEST_CASE("a failed resume leaves the weights, callbacks and trainer as they were, whatever part is bad") {
  Scratch dir("all_or_nothing");
  const auto good = step_checkpoint(dir);
  // The optimizer's state is read after the weights in file order: a bad lr must still change nothing.
  resume_fails_untouched(edited(good, "lr.ckpt",
                                [](ck::Dict& d) {
                                  auto groups = ck::get<ck::List>(ck::get<ck::List>(d, "optimizer_states", "t").get(0).toGenericDict(),
                                                                  "param_groups", "t");
                                  groups.get(0).toGenericDict().insert_or_assign(std::string("lr"), std::string("bad"));
                                }),
                         "'lr' in optimizer_states[0].param_groups[0] should be a float, found a str");
  // A scheduler after a good optimizer: the optimizer is put back.
  resume_fails_untouched(edited(good, "sched.ckpt",
                                [](ck::Dict& d) {
                                  ck::get<ck::List>(d, "lr_schedulers", "t").get(0).toGenericDict().insert_or_assign(
                                      std::string("gamma"), std::string("x"));
                                }),
                         "lr_schedulers[0]");
  // A callback's state after the optimizer and scheduler.
  resume_fails_untouched(edited(good, "callback.ckpt",
                                [](ck::Dict& d) {
                                  auto cbs = sub(d, "callbacks");
                                  for (const auto& e : cbs) e.value().toGenericDict().insert_or_assign(std::string("n"), 1.5);
                                }),
                         "'n' in Counter should be an int");
  const auto mid = step_checkpoint(dir, /*mid_epoch=*/true);
  resume_fails_untouched(edited(mid, "ranks.ckpt", [](ck::Dict& d) { sub(d, "lightning_cpp").insert_or_assign(std::string("world_size"), int64_t{2}); }),
                         "saved mid-epoch by 2 process(es)");
  resume_fails_untouched(edited(good, "shape.ckpt",
                                [](ck::Dict& d) { sub(d, "state_dict").insert_or_assign(std::string("fc.bias"), torch::zeros({5})); }),
                         "size mismatch for fc.bias");
}

TEST_CASE("numbers from a checkpoint are checked before they are used: counts, milestones, phases, generator states") {
  Scratch dir("bounds");
  const auto good = step_checkpoint(dir);
  resume_fails_untouched(edited(good, "negative_epoch.ckpt", [](ck::Dict& d) { d.insert_or_assign(std::string("epoch"), -(int64_t{1} << 62)); }),
                         "'epoch' (-4611686018427387904) and 'global_step' (");
  resume_fails_untouched(edited(good, "milestones.ckpt",
                                [](ck::Dict& d) {
                                  auto m = ck::make_int_dict();
                                  m.insert(int64_t{2}, int64_t{100000000});
                                  ck::get<ck::List>(d, "lr_schedulers", "t").get(0).toGenericDict().insert_or_assign(
                                      std::string("milestones"), m);
                                }),
                         "repeats milestone 2 100000000 times");
  resume_fails_untouched(edited(good, "phase.ckpt", [](ck::Dict& d) { sub(sub(d, "lightning_cpp"), "fit_state").insert_or_assign(std::string("phase"), int64_t{9}); }),
                         "'phase' in lightning_cpp.fit_state is 9");
  resume_fails_untouched(edited(good, "rng.ckpt",
                                [](ck::Dict& d) {
                                  sub(sub(d, "lightning_cpp"), "rng_states").insert_or_assign(std::string("torch"), torch::zeros({3}, torch::kByte));
                                }),
                         "rng_states.torch should be a uint8 tensor");
  resume_fails_untouched(edited(good, "results.ckpt",
                                [](ck::Dict& d) {
                                  auto e = ck::make_dict();
                                  for (auto [k, v] : {std::pair{"name", c10::IValue(std::string("x"))}, {"fx", c10::IValue(int64_t{999})},
                                                      {"on_step", c10::IValue(true)}, {"on_epoch", c10::IValue(true)},
                                                      {"prog_bar", c10::IValue(false)}, {"logger", c10::IValue(true)},
                                                      {"reduce", c10::IValue(int64_t{0})}, {"sync_dist", c10::IValue(false)},
                                                      {"step_fresh", c10::IValue(false)}, {"cumulated_batch_size", c10::IValue(int64_t{1})}})
                                    e.insert(k, v);
                                  auto list = ck::make_list();
                                  list.push_back(e);
                                  sub(sub(d, "lightning_cpp"), "results").insert_or_assign(std::string("entries"), list);
                                }),
                         "names hook 999");
}

namespace {
struct WideParams {
  int64_t hidden = 4;
};
}  // namespace
BOOST_HANA_ADAPT_STRUCT(WideParams, hidden);
namespace {
struct WideNet : L::LightningModule<WideNet, WideParams> {
  torch::nn::Linear fc{nullptr};
  explicit WideNet(WideParams p = {}) : LightningModule(p) { fc = register_module("fc", torch::nn::Linear(2, p.hidden)); }
  torch::Tensor training_step(const L::Batch& b, int64_t) { return fc->forward(b.data).sum(); }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
};
}  // namespace

TEST_CASE("hyperparameters from a file cannot allocate what the weights do not justify") {
  Scratch dir("hparams");
  WideNet m;
  L::BareTrainer<WideNet> t({.max_epochs = 1});
  auto x = torch::randn({4, 2});
  t.fit(m, L::data::TensorLoader<2>({x, x}, {.batch_size = 2}));
  const auto good = dir / "wide.ckpt";
  t.save_checkpoint(good);
  CHECK(WideNet::load_from_checkpoint(good).hparams().hidden == 4);
  // hidden = 2^26: Linear(2, 2^26) would take 512 MiB for a file of a few KB.
  const auto wide = edited(good, "wide_hidden.ckpt", [](ck::Dict& d) {
    sub(d, "lightning_cpp").insert_or_assign(std::string("hparams_archive"),
                                             ck::hparams_to_archive(WideParams{.hidden = int64_t{1} << 26}));
  });
  const std::string err = error_of([&] { (void)WideNet::load_from_checkpoint(wide); });
  CHECK(err.find("the hyperparameters do not match the weights") != std::string::npos);
  INFO(err);
  // A string length of 2e9 in the archive: an error, not a 2 GB allocation.
  const std::string huge = "22 serialization::archive 18 0 0 1 6 hidden 2000000000 1";
  CHECK(error_of([&] { (void)ck::hparams_from_archive<WideParams>(huge); }).find("reaches past the archive's end") !=
        std::string::npos);
  CHECK(error_of([&] { (void)ck::hparams_from_archive<WideParams>("22 serialization::archive 18 0 0 99999999999 "); })
            .find("claims 99999999999 fields") != std::string::npos);
}

namespace {
struct LogsOnSave : StepNet {
  void on_save_checkpoint(ck::Dict&) { log("x", 1.0); }
};
}  // namespace

TEST_CASE("log() in on_save_checkpoint is refused, as in Lightning") {
  Scratch dir("log_on_save");
  auto data = small_data();
  LogsOnSave m;
  L::Trainer<LogsOnSave, L::OnlyCallbacks<SaveMid>, L::Loggers<>> t({.max_epochs = 1}, SaveMid{dir / "x.ckpt"});
  CHECK_THROWS_WITH(t.fit(m, data), doctest::Contains("You can't `log()` inside `on_save_checkpoint`"));
}

// ---------------------------------------------------------------- files named by a checkpoint

namespace {
std::set<std::string> names_in(const fs::path& d) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(d)) out.insert(e.path().filename().string());
  return out;
}
using CheckpointingTrainer = L::Trainer<StepNet, L::OnlyCallbacks<L::ModelCheckpoint>, L::Loggers<>>;
L::ModelCheckpoint top1(const fs::path& dir) {
  return L::ModelCheckpoint({.dirpath = dir, .filename = "{epoch}", .monitor = "val_loss", .save_top_k = 1});
}
}  // namespace

TEST_CASE("ModelCheckpoint never deletes the checkpoint training resumed from") {
  Scratch dir("resumed_from");
  auto data = small_data();
  const auto ckpts = dir / "ckpts";
  {
    StepNet m;
    CheckpointingTrainer t({.max_epochs = 1, .num_sanity_val_steps = 0}, top1(ckpts));
    t.fit(m, data, data);
  }
  REQUIRE(names_in(ckpts) == std::set<std::string>{"epoch=0.ckpt"});
  // Resumed from epoch=0.ckpt, epoch 1 scores better: top-1 would delete the file it resumed from.
  StepNet m;
  CheckpointingTrainer t({.max_epochs = 2, .num_sanity_val_steps = 0}, top1(ckpts));
  t.fit(m, data, data, {.ckpt_path = (ckpts / "epoch=0.ckpt").string()});
  CHECK(t.ckpt_path() == ckpts / "epoch=0.ckpt");
  CHECK(names_in(ckpts) == std::set<std::string>{"epoch=0.ckpt", "epoch=1.ckpt"});
}

TEST_CASE("paths restored from a checkpoint are deleted only if they are this callback's checkpoint files") {
  Scratch dir("hostile_paths");
  auto data = small_data();
  const auto ckpts = dir / "ckpts";
  {
    StepNet m;
    CheckpointingTrainer t({.max_epochs = 1, .num_sanity_val_steps = 0}, top1(ckpts));
    t.fit(m, data, data);
  }
  spit(dir / "unrelated.ckpt", "PK\x03\x04 someone else's file");
  spit(ckpts / "notes.txt", "PK\x03\x04 not a checkpoint name");
  fs::create_directories(ckpts / "sub.ckpt");
  // The callback's state now names the directory itself, a file outside it,
  // a file of another kind, and a directory, as the ones to drop next.
  const auto hostile = edited(ckpts / "epoch=0.ckpt", "hostile.ckpt", [&](ck::Dict& d) {
    for (const auto& e : sub(d, "callbacks")) {
      auto state = e.value().toGenericDict();
      auto best = ck::make_dict();
      const std::string kth = (ckpts / ".." / "unrelated.ckpt").string();
      best.insert(kth, torch::tensor(5.0));
      state.insert_or_assign(std::string("best_k_models"), best);
      state.insert_or_assign(std::string("kth_best_model_path"), kth);
      state.insert_or_assign(std::string("kth_value"), torch::tensor(5.0));
      state.insert_or_assign(std::string("best_model_path"), (ckpts / "notes.txt").string());
      state.insert_or_assign(std::string("last_model_path"), (ckpts / ".").string());
    }
  });
  fs::remove(ckpts / "epoch=0.ckpt");
  StepNet m;
  L::Trainer<StepNet, L::OnlyCallbacks<L::ModelCheckpoint>, L::Loggers<>> t(
      {.max_epochs = 3, .num_sanity_val_steps = 0},
      L::ModelCheckpoint({.dirpath = ckpts, .filename = "{epoch}", .monitor = "val_loss", .save_last = true, .save_top_k = 1}));
  t.fit(m, data, data, {.ckpt_path = hostile.string()});
  CHECK(fs::exists(dir / "unrelated.ckpt"));
  CHECK(fs::exists(ckpts / "notes.txt"));
  CHECK(fs::is_directory(ckpts / "sub.ckpt"));
  CHECK(fs::exists(ckpts / "epoch=2.ckpt"));
  CHECK(fs::exists(ckpts / "last.ckpt"));
}
