// Batches, steps, epochs and validation runs under the Trainer's options,
// counted against Lightning's rules.
#include "recorder.hpp"

namespace {
using namespace test;

/// Counts what happened, by kind of call.
struct Counter {
  int64_t train_batches = 0, val_batches = 0, val_runs = 0, sanity_batches = 0, epochs = 0;
  std::vector<int64_t> val_after_batch;  // training batch index before each validation run
  int64_t last_train_batch = -1;
  void on_train_batch_end(auto&, auto&, const auto&, const auto&, int64_t i) {
    ++train_batches;
    last_train_batch = i;
  }
  void on_validation_batch_end(auto& t, auto&, const auto&, const auto&, int64_t) {
    if (t.sanity_checking()) ++sanity_batches;
    else ++val_batches;
  }
  void on_validation_end(auto& t, auto&) {
    if (!t.sanity_checking()) {
      ++val_runs;
      val_after_batch.push_back(last_train_batch);
    }
  }
  void on_train_epoch_end(auto&, auto&) { ++epochs; }
};

using CountingTrainer = L::Trainer<RecordingModule, L::OnlyCallbacks<Counter>>;

Counter run(const L::TrainerOptions& o, int64_t train_batches = 10, int64_t val_batches = 4, int64_t* steps = nullptr,
            int64_t* epoch = nullptr) {
  RecordingModule model;
  CountingTrainer trainer(o);
  auto train = make_loader(train_batches);
  auto val = make_loader(val_batches);
  trainer.fit(model, train, val);
  if (steps) *steps = trainer.global_step();
  if (epoch) *epoch = trainer.current_epoch();
  return trainer.callback<Counter>();
}
}  // namespace

TEST_CASE("max_epochs runs every batch of every epoch and ends with current_epoch == max_epochs") {
  int64_t steps = 0, epoch = 0;
  auto c = run({.max_epochs = 3}, 10, 4, &steps, &epoch);
  CHECK(c.train_batches == 30);
  CHECK(c.epochs == 3);
  CHECK(steps == 30);
  CHECK(epoch == 3);
  CHECK(c.val_runs == 3);
  CHECK(c.val_batches == 12);
  CHECK(c.sanity_batches == 2);
}

TEST_CASE("max_steps stops mid-epoch") {
  int64_t steps = 0, epoch = 0;
  auto c = run({.max_steps = 15}, 10, 4, &steps, &epoch);
  CHECK(steps == 15);
  CHECK(c.train_batches == 15);
  CHECK(c.epochs == 2);
  CHECK(epoch == 2);
}

TEST_CASE("limit_*_batches as counts and fractions") {
  SUBCASE("counts") {
    auto c = run({.max_epochs = 2, .limit_train_batches = 3, .limit_val_batches = 2});
    CHECK(c.train_batches == 6);
    CHECK(c.val_batches == 4);
  }
  SUBCASE("fractions truncate like int(n * f)") {
    auto c = run({.max_epochs = 1, .limit_train_batches = 0.25, .limit_val_batches = 0.5}, 10, 4);
    CHECK(c.train_batches == 2);
    CHECK(c.val_batches == 2);
  }
  SUBCASE("limit_val_batches = 0 disables validation and the sanity check") {
    auto c = run({.max_epochs = 1, .limit_val_batches = 0});
    CHECK(c.val_runs == 0);
    CHECK(c.sanity_batches == 0);
  }
  SUBCASE("a fraction that selects no batch is an error") {
    CHECK_THROWS_WITH_AS(run({.max_epochs = 1, .limit_train_batches = 0.01}, 10),
                         doctest::Contains("limit_train_batches"), std::invalid_argument);
  }
}

TEST_CASE("val_check_interval as a fraction and as a batch count") {
  SUBCASE("0.25 of 10 batches: every 2 batches") {
    auto c = run({.max_epochs = 1, .val_check_interval = 0.25});
    CHECK(c.val_after_batch == std::vector<int64_t>{1, 3, 5, 7, 9});
  }
  SUBCASE("0.3 of 10 batches: every 3 batches, and not at the last (Lightning's rule)") {
    auto c = run({.max_epochs = 1, .val_check_interval = 0.3});
    CHECK(c.val_after_batch == std::vector<int64_t>{2, 5, 8});
  }
  SUBCASE("4 batches") {
    auto c = run({.max_epochs = 1, .val_check_interval = 4});
    CHECK(c.val_after_batch == std::vector<int64_t>{3, 7});
  }
  SUBCASE("a count larger than the epoch is an error") {
    CHECK_THROWS_WITH_AS(run({.max_epochs = 1, .val_check_interval = 11}), doctest::Contains("val_check_interval"),
                         std::invalid_argument);
  }
  SUBCASE("without check_val_every_n_epoch the count runs across epochs") {
    auto c = run({.max_epochs = 2, .val_check_interval = 4, .check_val_every_n_epoch = std::nullopt}, 6);
    CHECK(c.val_after_batch == std::vector<int64_t>{3, 1, 5});
  }
}

TEST_CASE("check_val_every_n_epoch") {
  auto c = run({.max_epochs = 5, .check_val_every_n_epoch = 2});
  CHECK(c.val_runs == 2);  // after epochs 1 and 3 (0-based)
}

TEST_CASE("num_sanity_val_steps") {
  CHECK(run({.max_epochs = 1, .num_sanity_val_steps = 0}).sanity_batches == 0);
  CHECK(run({.max_epochs = 1, .num_sanity_val_steps = 3}).sanity_batches == 3);
  CHECK(run({.max_epochs = 1, .num_sanity_val_steps = -1}, 10, 4).sanity_batches == 4);
  CHECK(run({.max_epochs = 1, .num_sanity_val_steps = 9}, 10, 4).sanity_batches == 4);
}

TEST_CASE("fast_dev_run runs N batches of each stage, one epoch, no sanity check") {
  int64_t steps = 0, epoch = 0;
  auto c = run({.fast_dev_run = true, .max_epochs = 10}, 10, 4, &steps, &epoch);
  CHECK(c.train_batches == 1);
  CHECK(c.val_batches == 1);
  CHECK(c.sanity_batches == 0);
  CHECK(steps == 1);
  CHECK(epoch == 1);
  auto c3 = run({.fast_dev_run = 3});
  CHECK(c3.train_batches == 3);
  CHECK(c3.val_batches == 3);
}

TEST_CASE("on_train_batch_start returning -1 ends the epoch early") {
  struct Early : RecordingModule {
    int on_train_batch_start(const L::Batch&, int64_t i) { return i == 2 ? -1 : 0; }
  };
  Early model;
  L::Trainer<Early, L::OnlyCallbacks<>> trainer({.max_epochs = 2});
  auto train = make_loader(10);
  trainer.fit(model, train);
  CHECK(trainer.global_step() == 4);  // batches 0 and 1 of each epoch
  CHECK(trainer.current_epoch() == 2);
}

namespace {
struct StopNow {
  void on_train_epoch_end(auto& t, auto&) { t.should_stop = true; }
};
}  // namespace

TEST_CASE("should_stop waits for min_epochs") {
  RecordingModule model;
  L::Trainer<RecordingModule, L::OnlyCallbacks<StopNow>> trainer({.max_epochs = 10, .min_epochs = 3});
  auto train = make_loader(2);
  trainer.fit(model, train);
  CHECK(trainer.current_epoch() == 3);
}

TEST_CASE("a module without validation_step skips validation") {
  struct NoVal : L::LightningModule<NoVal> {
    torch::nn::Linear layer{nullptr};
    NoVal() : layer(register_module("layer", torch::nn::Linear(2, 1))) {}
    torch::Tensor training_step(const L::Batch& b, int64_t) { return torch::mse_loss(layer(b.data), b.target); }
    auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
  };
  NoVal model;
  L::Trainer<NoVal, L::OnlyCallbacks<Counter>> trainer({.max_epochs = 2});
  auto train = make_loader(3), val = make_loader(3);
  trainer.fit(model, train, val);
  CHECK(trainer.callback<Counter>().val_runs == 0);
  CHECK(trainer.callback<Counter>().sanity_batches == 0);
  CHECK(trainer.num_val_batches() == 0);
  CHECK(trainer.global_step() == 6);
}

TEST_CASE("invalid options are rejected with the option's name") {
  CHECK_THROWS_WITH_AS(CountingTrainer({.max_epochs = -2}), doctest::Contains("max_epochs"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(CountingTrainer({.limit_val_batches = 1.5}), doctest::Contains("limit_val_batches"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(CountingTrainer({.accumulate_grad_batches = 0}), doctest::Contains("accumulate_grad_batches"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(CountingTrainer({.devices = 2}), doctest::Contains("L::strategy::DDP"), std::invalid_argument);
  if (!torch::cuda::is_available())
    CHECK_THROWS_WITH_AS(CountingTrainer({.accelerator = L::Accelerator::gpu}), doctest::Contains("CUDA"),
                         std::invalid_argument);
}
