// Loading checkpoints and weights files whatever their bytes: crafted files
// of every known class of attack or damage are refused with a CheckpointError
// naming the file and the problem; random damage is refused or harmless; the
// file cannot switch its own integrity check off.
#include <bit>
#include <cstdlib>
#include <fstream>
#include <functional>
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
  const std::string err = error_of([&] { t.fit(m, data, {.ckpt_path = no_digest.string()}); });
  CHECK(err.find("not one lightning-cpp's Trainer wrote") != std::string::npos);
  INFO(err);

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
