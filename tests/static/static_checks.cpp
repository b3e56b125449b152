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
using T1 = L::Trainer<M, L::Loggers<>, L::OnlyCallbacks<Cb>, L::precision::F32>;
using T2 = L::Trainer<M, L::precision::F32, L::OnlyCallbacks<Cb>, L::Loggers<>>;
static_assert(std::is_same_v<T1::callbacks_type, L::Callbacks<Cb>>);  // the set: exactly Cb
static_assert(std::is_same_v<T2::callbacks_type, T1::callbacks_type>);
static_assert(std::is_same_v<T1::strategy_type, L::strategy::Single>);
static_assert(std::is_same_v<L::Trainer<M>::callbacks_type, L::DefaultCallbacks>);
static_assert(std::is_same_v<L::Trainer<M>::precision_type, L::precision::F32>);
static_assert(std::is_same_v<L::BareTrainer<M>::callbacks_type, L::Callbacks<>>);
// L::Callbacks<...> keeps Lightning's defaults after the listed callbacks.
static_assert(std::is_same_v<L::Trainer<M, L::Callbacks<Cb>>::callbacks_type,
                             L::Callbacks<Cb, L::ModelSummary, L::ProgressBar, L::ModelCheckpoint>>);
// An empty set costs nothing: no switch mask is stored.
static_assert(std::is_empty_v<L::Callbacks<>> && std::is_empty_v<L::Loggers<>>);
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

// Values stored in checkpoints are pinned: a renumbering would misread
// every checkpoint written before it (tests/data/resume_v1 holds some).
using Fx = L::detail::Fx;
static_assert(static_cast<int>(Fx::none) == 0 && static_cast<int>(Fx::setup) == 1 && static_cast<int>(Fx::teardown) == 2);
static_assert(static_cast<int>(Fx::configure_optimizers) == 3 && static_cast<int>(Fx::prepare_data) == 5);
static_assert(static_cast<int>(Fx::on_train_epoch_end) == 13 && static_cast<int>(Fx::training_step) == 16);
static_assert(static_cast<int>(Fx::on_before_optimizer_step) == 19 && static_cast<int>(Fx::validation_step) == 27);
static_assert(static_cast<int>(Fx::on_validation_epoch_end) == 24 && static_cast<int>(Fx::test_step) == 34);
static_assert(static_cast<int>(Fx::predict_step) == 41 && static_cast<int>(Fx::on_load_checkpoint) == 44);
static_assert(LIGHTNING_HOOK_ID_END == 45);
static_assert(static_cast<int>(L::Reduce::mean) == 0 && static_cast<int>(L::Reduce::sum) == 1 &&
              static_cast<int>(L::Reduce::max) == 2 && static_cast<int>(L::Reduce::min) == 3);
using Phase = L::loops::LoopPhase;
static_assert(static_cast<int>(Phase::idle) == 0 && static_cast<int>(Phase::epoch_start) == 1 &&
              static_cast<int>(Phase::in_batch) == 2 && static_cast<int>(Phase::after_batch) == 3 &&
              static_cast<int>(Phase::in_validation) == 4 && static_cast<int>(Phase::epoch_end) == 5);
// Each hook id once, and every id in range has a name.
constexpr bool hook_ids_distinct() {
  int seen[LIGHTNING_HOOK_ID_END] = {};
#define LIGHTNING_COUNT_ID(name, id, rule, m, c) ++seen[id];
  LIGHTNING_HOOK_LIST(LIGHTNING_COUNT_ID)
#undef LIGHTNING_COUNT_ID
  for (int i = 1; i < LIGHTNING_HOOK_ID_END; ++i)
    if (seen[i] != 1 || L::detail::fx_name(static_cast<Fx>(i)) == "?") return false;
  return true;
}
static_assert(hook_ids_distinct());
// Lightning's log rules, from the same list.
static_assert(L::detail::fx_log_rule(Fx::training_step)->default_on_step);
static_assert(L::detail::fx_log_rule(Fx::validation_step)->default_on_epoch);
static_assert(!L::detail::fx_log_rule(Fx::on_train_epoch_end)->step_allowed);
static_assert(!L::detail::fx_log_rule(Fx::on_save_checkpoint).has_value());
static_assert(!L::detail::fx_log_rule(Fx::prepare_data).has_value());

// Strategy::Single's collectives are the identity, at compile time where they can be.
static_assert(L::strategy::Single::reduce_boolean_decision(true, false) && !L::strategy::Single::reduce_boolean_decision(false));
static_assert(L::strategy::Single::broadcast(int64_t{7}) == 7 && L::strategy::Single::world_size() == 1);

// Empty policy sets cost no storage.
static_assert(std::is_empty_v<L::OnlyCallbacks<>> && std::is_empty_v<L::Loggers<>> && std::is_empty_v<L::precision::F32>);
}  // namespace
