// Checkpoint IO policies: the asynchronous default writes what the state was
// when the checkpoint was taken, in order, bounded, durable before fit ends,
// and a failure stops the run without removing an older checkpoint.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <thread>

#include "paths.hpp"
#include "recorder.hpp"

namespace {
using namespace test;
namespace F = torch::nn::functional;
namespace ck = L::checkpoint;

std::string bytes_of(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

struct Lin : L::LightningModule<Lin> {
  torch::nn::Linear layer{nullptr};
  Lin() : layer(register_module("layer", torch::nn::Linear(3, 1))) {}
  torch::Tensor training_step(const L::Batch& b, int64_t) {
    auto loss = F::mse_loss(layer(b.data), b.target);
    log("train_loss", loss);
    return loss;
  }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
};

std::vector<L::Batch> batches(int n) {
  torch::manual_seed(0);
  std::vector<L::Batch> out;
  for (int i = 0; i < n; ++i) {
    auto x = torch::randn({4, 3});
    out.emplace_back(x, x.sum(1, true));
  }
  return out;
}

/// Sees every checkpoint ModelCheckpoint kept, once fit is over.
struct FitEndProbe {
  std::vector<std::string>* seen = nullptr;
  template <class T, class M>
  void on_fit_end(T& trainer, M&) {
    const auto& best = trainer.checkpoint_callback().best_model_path();
    seen->push_back(std::filesystem::exists(best) ? best : "missing: " + best);
  }
};

}  // namespace

TEST_CASE("AsyncCheckpointIO writes the state as it was when the checkpoint was taken") {
  TmpDir dir;
  auto w = torch::arange(6, torch::kFloat).reshape({2, 3});
  ck::Dict d = ck::make_dict();
  d.insert("w", w);
  d.insert("row", w.select(0, 1));  // a view of the same storage
  L::AsyncCheckpointIO io;
  io.save_checkpoint(d, dir.path / "a.ckpt");
  w.mul_(-1);  // training goes on: the file must not see this
  io.teardown();
  auto back = ck::read(dir.path / "a.ckpt");
  CHECK(torch::equal(back.at("w").toTensor(), torch::arange(6, torch::kFloat).reshape({2, 3})));
  CHECK(torch::equal(back.at("row").toTensor(), torch::tensor({3.f, 4.f, 5.f})));
}

TEST_CASE("AsyncCheckpointIO and TorchCheckpointIO write the same bytes") {
  TmpDir dir;
  torch::manual_seed(3);
  ck::Dict d = ck::make_dict();
  d.insert("weight", torch::randn({4, 5}));
  d.insert("step", int64_t{7});
  d.insert("tied", d.at("weight").toTensor().view({20}));
  L::AsyncCheckpointIO async;
  L::TorchCheckpointIO sync;
  async.save_checkpoint(d, dir.path / "async.ckpt");
  async.teardown();
  sync.save_checkpoint(d, dir.path / "sync.ckpt");
  const auto a = bytes_of(dir.path / "async.ckpt"), s = bytes_of(dir.path / "sync.ckpt");
  REQUIRE(!a.empty());
  CHECK(a == s);
}

TEST_CASE("a removal queued after a write runs only once the write is done, and never after a failed one") {
  TmpDir dir;
  ck::Dict d = ck::make_dict();
  d.insert("x", torch::ones({2}));
  const auto old_ckpt = dir.path / "old.ckpt";
  L::TorchCheckpointIO().save_checkpoint(d, old_ckpt);

  SUBCASE("write succeeds: the older file goes") {
    L::AsyncCheckpointIO io;
    io.save_checkpoint(d, dir.path / "new.ckpt");
    bool new_was_there = false;
    io.remove_checkpoint(old_ckpt, [&] { return new_was_there = std::filesystem::exists(dir.path / "new.ckpt"); });
    io.teardown();
    CHECK(new_was_there);
    CHECK(!std::filesystem::exists(old_ckpt));
  }
  SUBCASE("write fails: the older file stays and the error names the file") {
    std::ofstream(dir.path / "blocker") << "a file where a directory should be";
    L::AsyncCheckpointIO io;
    const auto bad = dir.path / "blocker" / "new.ckpt";
    io.save_checkpoint(d, bad);
    try {
      // The failure surfaces here if the write already failed, else at teardown.
      io.remove_checkpoint(old_ckpt);
      io.teardown();
      FAIL("expected the failed write to be reported");
    } catch (const std::exception& e) {
      CHECK(std::string(e.what()).find("blocker") != std::string::npos);
    }
    CHECK(std::filesystem::exists(old_ckpt));
    io.teardown();  // reported once: nothing more to throw
  }
}

TEST_CASE("jobs queued behind a failed one are dropped, and the error says so") {
  L::detail::BackgroundWriter writer(4);
  std::promise<void> release;
  auto gate = release.get_future().share();
  bool later_ran = false;
  writer.submit("first.ckpt", [gate] {
    gate.wait();
    throw std::runtime_error("cannot write 'first.ckpt'");
  });
  writer.submit("old.ckpt", [&later_ran] { later_ran = true; }, L::detail::BackgroundWriter::Effect::removes);
  release.set_value();
  CHECK_THROWS_WITH(writer.wait(), doctest::Contains("0 queued checkpoint write(s), 1 removal(s)"));
  CHECK(!later_ran);
  writer.submit({}, [&later_ran] { later_ran = true; });  // reported once: the writer goes on
  writer.wait();
  CHECK(later_ran);
  // Nothing dropped: the error as thrown, type included.
  writer.submit("x.ckpt", [] { throw L::CheckpointError("x.ckpt is bad"); });
  CHECK_THROWS_AS(writer.wait(), L::CheckpointError);
}

TEST_CASE("AsyncCheckpointIO::exists answers as the disk will be once the queue has run") {
  TmpDir dir;
  ck::Dict d = ck::make_dict();
  d.insert("x", torch::ones({2}));
  L::AsyncCheckpointIO io;
  const auto f = dir.path / "f.ckpt";
  io.save_checkpoint(d, f);
  CHECK(io.exists(f));  // queued or written: there either way
  io.remove_checkpoint(f);
  CHECK(!io.exists(f));  // waits for the removal
  io.teardown();
  CHECK(!std::filesystem::exists(f));
}

TEST_CASE("AsyncCheckpointIO refuses at once what it could not write later") {
  ck::Dict d = ck::make_dict();
  d.insert("sparse", torch::eye(3).to_sparse());
  L::AsyncCheckpointIO io;
  CHECK_THROWS_WITH_AS(io.save_checkpoint(d, "never.ckpt"), doctest::Contains("sparse"), L::CheckpointError);
}

TEST_CASE("the writer's queue is bounded: a save waits while max_pending snapshots wait") {
  L::detail::BackgroundWriter writer(1);
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::atomic<int> ran{0};
  std::promise<void> started;
  writer.submit("a", [gate, &ran, &started] {
    started.set_value();
    gate.wait();
    ++ran;
  });
  started.get_future().wait();  // the writer holds "a": the queue is empty
  writer.submit("b", [&ran] { ++ran; });  // fills the queue
  std::atomic<bool> third_queued{false};
  std::thread t([&] {
    writer.submit("c", [&ran] { ++ran; });
    third_queued = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(!third_queued.load());  // still waiting for room
  CHECK(writer.pending("b"));
  release.set_value();
  t.join();
  writer.wait();
  CHECK(third_queued.load());
  CHECK(ran.load() == 3);
  CHECK(!writer.pending("c"));
}

TEST_CASE("a removal does not wait for room behind a waiting write, and runs after it") {
  L::detail::BackgroundWriter writer(1);
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::promise<void> started;
  std::vector<std::string> order;  // written by the writer thread only
  writer.submit("a", [gate, &started, &order] {
    started.set_value();
    gate.wait();
    order.push_back("write a");
  });
  started.get_future().wait();
  writer.submit("b", [&order] { order.push_back("write b"); });  // the queue's one waiting write
  // A save then the removal of the file it replaces: the removal holds no
  // snapshot, so it queues at once instead of waiting for the writer.
  std::promise<void> queued;
  std::thread t([&] {
    writer.submit("old", [&order] { order.push_back("remove old"); }, L::detail::BackgroundWriter::Effect::removes);
    queued.set_value();
  });
  CHECK(queued.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(writer.last_pending("old") == L::detail::BackgroundWriter::Effect::removes);
  release.set_value();
  t.join();
  writer.wait();
  CHECK(order == std::vector<std::string>{"write a", "write b", "remove old"});
}

TEST_CASE("a finished job is destroyed by the thread that submits or waits, not by the writer") {
  // What a job holds (a snapshot) is freed where it was allocated.
  struct Witness {
    std::shared_ptr<std::thread::id> destroyed_on = std::make_shared<std::thread::id>();
    bool live = true;
    Witness() = default;
    Witness(const Witness& o) = default;
    Witness(Witness&& o) noexcept : destroyed_on(o.destroyed_on) { o.live = false; }
    ~Witness() {
      if (live) *destroyed_on = std::this_thread::get_id();
    }
  };
  L::detail::BackgroundWriter writer(1);
  Witness w;
  const auto destroyed_on = w.destroyed_on;
  std::thread::id ran_on;
  writer.submit("a", [w = std::move(w), &ran_on] { ran_on = std::this_thread::get_id(); });
  writer.wait();
  CHECK(ran_on != std::this_thread::get_id());  // it ran on the writer thread
  CHECK(*destroyed_on == std::this_thread::get_id());

  // release_if_finished(), which AsyncCheckpointIO::check() calls before each batch, frees it too.
  Witness w2;
  const auto destroyed_on2 = w2.destroyed_on;
  std::promise<void> ran;
  writer.submit("b", [w2 = std::move(w2), &ran] { ran.set_value(); });
  ran.get_future().wait();
  for (int i = 0; i < 10000 && *destroyed_on2 == std::thread::id(); ++i) {
    writer.release_if_finished();  // the job may still be between its end and the finished list
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(*destroyed_on2 == std::this_thread::get_id());
}

TEST_CASE("fit with the default asynchronous checkpoints: durable before on_fit_end, top-k kept exact") {
  TmpDir dir;
  std::vector<std::string> seen;
  Lin m;
  L::Trainer<Lin, L::Callbacks<FitEndProbe>> t(
      {.max_epochs = 4, .enable_progress_bar = false, .enable_model_summary = false, .default_root_dir = dir.path},
      FitEndProbe{&seen});
  t.fit(m, batches(5));
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].find("missing") == std::string::npos);
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path))
    if (e.path().extension() == ".ckpt") files.push_back(e.path().filename().string());
  CHECK(files == std::vector<std::string>{"epoch=3-step=20.ckpt"});
  auto back = ck::read(t.checkpoint_callback().best_model_path());
  CHECK(back.at("global_step").toInt() == 20);
}

/// Before epoch 1's checkpoint, the checkpoint directory becomes a file
/// (works for root too, whom permissions do not stop); epoch 2 starts late
/// enough for the failed write to have failed.
struct Sabotage {
  std::filesystem::path dir;
  template <class T, class M>
  void on_train_epoch_end(T& trainer, M&) {
    if (trainer.current_epoch() != 1) return;
    trainer.checkpoint_io().teardown();
    std::filesystem::rename(dir, dir.string() + ".kept");
    std::ofstream(dir) << "not a directory";
  }
  template <class T, class M>
  void on_train_epoch_start(T& trainer, M&) {
    if (trainer.current_epoch() == 2) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
};

TEST_CASE("a background checkpoint write that fails stops fit and keeps the checkpoints written before") {
  TmpDir dir;
  const auto ckpts = dir.path / "ckpts";
  Lin m;
  L::Trainer<Lin, L::Callbacks<Sabotage>> t({.max_epochs = 6, .enable_progress_bar = false,
                                             .enable_model_summary = false, .default_root_dir = dir.path},
                                            L::ModelCheckpoint({.dirpath = ckpts.string(), .filename = "{epoch}",
                                                                .save_top_k = -1}),
                                            Sabotage{ckpts});
  // Sabotage runs before ModelCheckpoint's epoch end (callbacks before the
  // checkpoint callback): epoch 1's write fails, and the run stops before
  // epoch 2's first batch (not at epoch 2's own save), with the file named.
  CHECK_THROWS_WITH(t.fit(m, batches(3)), doctest::Contains("ckpts"));
  CHECK(t.global_step() == 6);
  const auto kept = dir.path / "ckpts.kept";
  CHECK(std::filesystem::exists(kept / "epoch=0.ckpt"));
  CHECK(ck::read(kept / "epoch=0.ckpt").at("epoch").toInt() == 0);
}

TEST_CASE("save_checkpoint outside fit is durable when it returns; TorchCheckpointIO is a policy") {
  TmpDir dir;
  Lin m;
  L::Trainer<Lin, L::TorchCheckpointIO> sync({.max_epochs = 1, .enable_progress_bar = false,
                                              .enable_model_summary = false, .default_root_dir = dir.path});
  sync.fit(m, batches(2));
  L::BareTrainer<Lin> bare({.max_epochs = 1});
  bare.fit(m, batches(2));
  bare.save_checkpoint(dir.path / "after_fit.ckpt");
  CHECK(std::filesystem::exists(dir.path / "after_fit.ckpt"));
  CHECK(ck::read(dir.path / "after_fit.ckpt").at("global_step").toInt() == 2);
  static_assert(std::is_same_v<decltype(bare)::checkpoint_io_type, L::AsyncCheckpointIO>);
  static_assert(std::is_same_v<decltype(sync)::checkpoint_io_type, L::TorchCheckpointIO>);
}
