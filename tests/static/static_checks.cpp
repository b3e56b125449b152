// Compile-time facts: compiling this file is passing.
#include <lightning/lightning.hpp>

namespace L = lightning;

namespace {
struct M : L::LightningModule<M> {
  torch::Tensor training_step(const L::Batch& b, int64_t) { return b.data.sum(); }
  auto configure_optimizers() { return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.1)); }
};
struct Cb {
  void on_train_epoch_end(auto&, auto&) {}
};

// Policies are found by kind, in any order, with defaults for the rest.
using T1 = L::Trainer<M, L::Loggers<>, L::Callbacks<Cb>, L::precision::F32>;
using T2 = L::Trainer<M, L::precision::F32, L::Callbacks<Cb>, L::Loggers<>>;
static_assert(std::is_same_v<T1::callbacks_type, L::Callbacks<Cb>>);
static_assert(std::is_same_v<T2::callbacks_type, T1::callbacks_type>);
static_assert(std::is_same_v<T1::strategy_type, L::strategy::Single>);
static_assert(std::is_same_v<L::Trainer<M>::callbacks_type, L::DefaultCallbacks>);
static_assert(std::is_same_v<L::Trainer<M>::precision_type, L::precision::F32>);
static_assert(std::is_same_v<L::BareTrainer<M>::callbacks_type, L::Callbacks<>>);
static_assert(std::is_same_v<L::BareTrainer<M>::loggers_type, L::Loggers<>>);

// The optimizer type is what configure_optimizers returns: no type erasure.
static_assert(std::is_same_v<L::Trainer<M>::optimizer_type, torch::optim::SGD>);
static_assert(L::Trainer<M>::automatic_optimization);

// Hook detection by whether the call compiles.
static_assert(L::hooks::on_train_epoch_end::callable<Cb, int&, M&>);
static_assert(!L::hooks::on_train_epoch_end::callable<Cb>);
static_assert(L::hooks::on_train_epoch_end::named<Cb>);
static_assert(!L::hooks::on_fit_start::named<Cb>);
static_assert(L::hooks::training_step::named<M>);

// Options read like Lightning's keyword arguments.
constexpr L::BatchCount count = 5, fraction = 0.25;
static_assert(count.is_count() && count.count() == 5);
static_assert(!fraction.is_count() && fraction.fraction() == 0.25);
static_assert(L::FastDevRun(true).batches() == 1 && L::FastDevRun(7).batches() == 7 && !L::FastDevRun(false));

// What counts as a loader and as a datamodule.
static_assert(L::data::Loader<L::data::TensorLoader<2>>);
static_assert(L::data::Loader<std::vector<L::Batch>>);
static_assert(L::data::Loader<std::unique_ptr<std::vector<L::Batch>>>);
static_assert(!L::data::Loader<int>);
static_assert(std::is_same_v<L::data::batch_t<L::data::TensorLoader<2>>, L::Batch>);
static_assert(std::is_same_v<L::data::batch_t<L::data::TensorLoader<1>>, torch::Tensor>);
static_assert(std::is_same_v<L::data::batch_t<L::data::TensorLoader<3>>, std::array<torch::Tensor, 3>>);

// Metrics.
static_assert(L::metrics::Metric<L::metrics::Accuracy>);
static_assert(!L::metrics::Metric<torch::Tensor>);

// Empty policy sets cost no storage.
static_assert(std::is_empty_v<L::Callbacks<>> && std::is_empty_v<L::Loggers<>> && std::is_empty_v<L::precision::F32>);
}  // namespace
