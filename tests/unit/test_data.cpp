// TensorLoader, LibTorch loaders, datamodules and batch transfer.
#include <boost/hana/adapt_struct.hpp>

#include "recorder.hpp"

namespace {
using namespace test;

struct Pair {
  torch::Tensor image;
  std::vector<torch::Tensor> extras;
  int tag = 0;
};
}  // namespace
BOOST_HANA_ADAPT_STRUCT(Pair, image, extras, tag);

TEST_CASE("TensorLoader: batches, last partial batch, drop_last") {
  auto x = torch::arange(10).reshape({10, 1});
  auto y = torch::arange(10);
  L::data::TensorLoader loader({x, y}, {.batch_size = 4});
  CHECK(loader.size() == 3);
  std::vector<int64_t> sizes;
  std::vector<int64_t> seen;
  for (auto batch : loader) {
    auto [bx, by] = batch;
    sizes.push_back(bx.size(0));
    CHECK(torch::equal(bx.squeeze(1), by));
    for (int64_t i = 0; i < by.size(0); ++i) seen.push_back(by[i].item<int64_t>());
  }
  CHECK(sizes == std::vector<int64_t>{4, 4, 2});
  CHECK(seen == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

  L::data::TensorLoader dropping({x, y}, {.batch_size = 4, .drop_last = true});
  CHECK(dropping.size() == 2);
  int64_t n = 0;
  for (auto b : dropping) n += b.data.size(0);
  CHECK(n == 8);
}

TEST_CASE("TensorLoader without shuffle slices views, no copies") {
  auto x = torch::randn({8, 3});
  L::data::TensorLoader loader({x}, {.batch_size = 4});
  auto b = *loader.begin();
  CHECK(b.data_ptr() == x.data_ptr());
}

TEST_CASE("TensorLoader shuffle: a permutation, reproducible under a seed, different each epoch") {
  auto y = torch::arange(100);
  auto order_of = [&](L::data::TensorLoader<1>& l) {
    std::vector<int64_t> out;
    for (auto b : l)
      for (int64_t i = 0; i < b.size(0); ++i) out.push_back(b[i].item<int64_t>());
    return out;
  };
  L::data::TensorLoader a({y}, {.batch_size = 7, .shuffle = true, .seed = 3});
  L::data::TensorLoader b({y}, {.batch_size = 7, .shuffle = true, .seed = 3});
  auto e0 = order_of(a);
  CHECK(e0 == order_of(b));
  auto sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> all(100);
  std::iota(all.begin(), all.end(), 0);
  CHECK(sorted == all);
  CHECK(e0 != all);
  auto e1 = order_of(a);  // a second pass is the next epoch
  CHECK(e1 != e0);
  a.set_epoch(0);
  CHECK(order_of(a) == e0);  // an epoch's order depends on the epoch alone

  L::seed_everything(11);
  L::data::TensorLoader c({y}, {.batch_size = 7, .shuffle = true});
  L::seed_everything(11);
  L::data::TensorLoader d({y}, {.batch_size = 7, .shuffle = true});
  CHECK(order_of(c) == order_of(d));
  L::seed_everything(12);
  L::data::TensorLoader e({y}, {.batch_size = 7, .shuffle = true});
  c.set_epoch(0);
  CHECK(order_of(c) != order_of(e));
}

TEST_CASE("TensorLoader rejects tensors of different lengths") {
  CHECK_THROWS_WITH_AS(L::data::TensorLoader({torch::zeros({4, 2}), torch::zeros({5})}), doctest::Contains("5 samples"),
                       std::invalid_argument);
}

TEST_CASE("nested batches: every tensor is transferred, other values kept") {
  Pair p{torch::ones({2, 3}), {torch::zeros({2}), torch::zeros({2, 1})}, 7};
  auto nested = std::make_tuple(p, std::map<std::string, torch::Tensor>{{"w", torch::ones({2})}},
                                std::optional<torch::Tensor>(torch::ones({1})), std::string("label"));
  const torch::Device meta(torch::kMeta);
  auto moved = L::data::transfer_batch_to_device(nested, meta);
  auto& mp = std::get<0>(moved);
  CHECK(mp.image.device() == meta);
  CHECK(mp.extras.at(0).device() == meta);
  CHECK(mp.extras.at(1).device() == meta);
  CHECK(mp.tag == 7);
  CHECK(std::get<1>(moved).at("w").device() == meta);
  CHECK(std::get<2>(moved)->device() == meta);
  CHECK(std::get<3>(moved) == "label");
  CHECK(std::get<0>(nested).image.device() == torch::Device(torch::kCPU));  // the input is untouched
  CHECK(L::data::extract_batch_size(nested) == 2);

  L::Batch example(torch::ones({5, 2}), torch::ones({5}));
  auto ex = L::data::transfer_batch_to_device(example, meta);
  CHECK(ex.data.device() == meta);
  CHECK(ex.target.device() == meta);
  CHECK(L::data::extract_batch_size(example) == 5);
}

TEST_CASE("a batch already on the device is passed through without a copy") {
  auto t = torch::ones({3});
  auto same = L::data::transfer_batch_to_device(L::Batch(t, t), torch::Device(torch::kCPU));
  CHECK(same.data.data_ptr() == t.data_ptr());
}

namespace {
struct VectorBatchModule : L::LightningModule<VectorBatchModule> {
  torch::nn::Linear layer{nullptr};
  int64_t seen = 0;
  VectorBatchModule() : layer(register_module("layer", torch::nn::Linear(2, 1))) {}
  // LibTorch's loaders without Stack<> yield a vector of examples.
  torch::Tensor training_step(const std::vector<L::Batch>& batch, int64_t) {
    seen += static_cast<int64_t>(batch.size());
    std::vector<torch::Tensor> xs, ys;
    for (auto& e : batch) xs.push_back(e.data), ys.push_back(e.target);
    return torch::mse_loss(layer(torch::stack(xs)), torch::stack(ys));
  }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
};

struct RangeDataset : torch::data::datasets::Dataset<RangeDataset> {
  torch::data::Example<> get(size_t i) override {
    auto x = torch::full({2}, static_cast<float>(i));
    return {x, x.sum().unsqueeze(0)};
  }
  torch::optional<size_t> size() const override { return 20; }
};
}  // namespace

TEST_CASE("LibTorch's data loaders are accepted as they are") {
  SUBCASE("with Stack<>: L::Batch") {
    auto loader = torch::data::make_data_loader(RangeDataset().map(torch::data::transforms::Stack<>()),
                                                torch::data::DataLoaderOptions().batch_size(4));
    RecordingModule model;
    L::Trainer<RecordingModule, L::OnlyCallbacks<>> trainer({.max_epochs = 2});
    trainer.fit(model, loader);  // the unique_ptr itself
    CHECK(trainer.global_step() == 10);
    CHECK(trainer.num_training_batches() == L::detail::kUnbounded);
  }
  SUBCASE("without a transform: a vector of examples, limited by count") {
    auto loader = torch::data::make_data_loader(RangeDataset(), torch::data::DataLoaderOptions().batch_size(5));
    VectorBatchModule model;
    L::Trainer<VectorBatchModule, L::OnlyCallbacks<>> trainer({.max_epochs = 1, .limit_train_batches = 3});
    trainer.fit(model, *loader);
    CHECK(model.seen == 15);
    CHECK(trainer.global_step() == 3);
  }
  SUBCASE("a fraction needs a length") {
    auto loader = torch::data::make_data_loader(RangeDataset().map(torch::data::transforms::Stack<>()),
                                                torch::data::DataLoaderOptions().batch_size(4));
    RecordingModule model;
    L::Trainer<RecordingModule, L::OnlyCallbacks<>> trainer({.max_epochs = 1, .limit_train_batches = 0.5});
    CHECK_THROWS_WITH_AS(trainer.fit(model, loader), doctest::Contains("has no length"), std::invalid_argument);
  }
}

namespace {
struct CountingDataModule {
  int prepared = 0, setups = 0, teardowns = 0;
  std::vector<L::Stage> stages;
  void prepare_data() { ++prepared; }
  void setup(L::Stage s) {
    ++setups;
    stages.push_back(s);
  }
  void teardown(L::Stage) { ++teardowns; }
  auto train_dataloader() { return make_loader(5); }
  auto val_dataloader() { return make_loader(2); }
  auto test_dataloader() { return make_loader(3); }
  auto predict_dataloader() { return make_loader(4); }
};
static_assert(L::LightningDataModule<CountingDataModule>);
static_assert(!L::LightningDataModule<L::data::TensorLoader<2>>);
}  // namespace

TEST_CASE("a LightningDataModule drives fit, validate, test and predict") {
  CountingDataModule dm;
  RecordingModule model;
  L::Trainer<RecordingModule, L::OnlyCallbacks<>> trainer({.max_epochs = 2});
  trainer.fit(model, dm);
  CHECK(trainer.global_step() == 10);
  CHECK(trainer.num_val_batches() == 2);
  auto v = trainer.validate(model, dm);
  REQUIRE(v.size() == 1);
  CHECK(v[0].count("val_loss") == 1);
  auto t = trainer.test(model, dm);
  REQUIRE(t.size() == 1);
  CHECK(t[0].count("test_loss") == 1);
  auto p = trainer.predict(model, dm);
  CHECK(p.size() == 4);
  CHECK(p[0].sizes() == torch::IntArrayRef({4, 1}));
  CHECK(dm.prepared == 4);
  CHECK(dm.teardowns == 4);
  CHECK(dm.stages == std::vector<L::Stage>{L::Stage::fit, L::Stage::validate, L::Stage::test, L::Stage::predict});
}
