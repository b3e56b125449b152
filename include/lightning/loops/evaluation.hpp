#pragma once
// The evaluation loop: validation (during fit, and its sanity check) and
// test, in inference mode with the module in eval(), with Lightning's hooks.
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "../connectors/data.hpp"
#include "../connectors/logging.hpp"
#include "../data/datamodule.hpp"
#include "../hooks.hpp"
#include "../stage.hpp"
#include "batches.hpp"
#include "entry.hpp"

namespace lightning::loops {

/// The hooks of validation (`Test` false) or test.
template <bool Test>
struct EvaluationHooks {
  using start = std::conditional_t<Test, hooks::on_test_start, hooks::on_validation_start>;
  using end = std::conditional_t<Test, hooks::on_test_end, hooks::on_validation_end>;
  using epoch_start = std::conditional_t<Test, hooks::on_test_epoch_start, hooks::on_validation_epoch_start>;
  using epoch_end = std::conditional_t<Test, hooks::on_test_epoch_end, hooks::on_validation_epoch_end>;
  using batch_start = std::conditional_t<Test, hooks::on_test_batch_start, hooks::on_validation_batch_start>;
  using batch_end = std::conditional_t<Test, hooks::on_test_batch_end, hooks::on_validation_batch_end>;
  using step = std::conditional_t<Test, hooks::test_step, hooks::validation_step>;
};

template <class T, bool Test>
class EvaluationLoop {
  using H = EvaluationHooks<Test>;
  using Model = typename T::model_type;
  static constexpr Stage kStage = Test ? Stage::test : Stage::validate;

 public:
  explicit EvaluationLoop(T& t) : t_(t) {}

  /// Runs `limit` batches of `loader`. A sanity check's results are
  /// discarded; otherwise the epoch values are published and logged.
  template <class L>
  void run(L& loader, int64_t limit, bool sanity) {
    auto& progress = t_.module_link_.progress;
    const bool was_training = t_.model_->is_training();
    const bool training_before = progress.training;
    progress.training = false;
    (Test ? progress.testing : progress.validating) = true;
    t_.model_->eval();
    t_.eval_results_.reset();
    t_.module_link_.results = &t_.eval_results_;
    t_.num_eval_batches_ = limit;
    {
      c10::InferenceMode no_autograd;
      t_.template hook<typename H::start>();
      t_.template hook<typename H::epoch_start>();
      auto&& source = connectors::Data<T>(t_).shard(loader, /*even=*/false);
      for (typename Batches<T>::template Walk<std::remove_reference_t<decltype(source)>> walk(t_, source, limit);
           !walk.done();)
        walk.take([&](auto& batch, int64_t idx) {
          t_.template hook<typename H::batch_start>(batch, idx);
          auto out = Batches<T>::template step<typename H::step>(t_, batch, idx);
          t_.template hook<typename H::batch_end>(out, batch, idx);
        });
      t_.template hook<typename H::epoch_end>();
      if (!sanity) {
        t_.eval_results_.publish_epoch(t_.published_metrics_);
        connectors::Logging<T>(t_).log_epoch(t_.eval_results_);
      }
      t_.template hook<typename H::end>();
    }
    if (sanity) t_.eval_results_.reset();  // sanity results are discarded
    (Test ? progress.testing : progress.validating) = false;
    progress.training = training_before;
    if (was_training) t_.model_->train();
  }

  /// `trainer.validate(model, loader)` / `trainer.test(...)`: the loop once,
  /// on its own; returns the logged epoch metrics (one map per loader).
  template <class L>
  std::vector<std::map<std::string, double>> stage(Model& model, L& loader) {
    return Entry<T>::run(t_, model, kStage, static_cast<connectors::NoDataModule*>(nullptr),
                         [&]() -> L& { return loader; }, [&](auto& l) { return evaluate(l); });
  }
  /// The same on a datamodule's val (test) loader.
  template <class DM>
  std::vector<std::map<std::string, double>> stage_datamodule(Model& model, DM& dm) {
    if constexpr (Test) {
      static_assert(HasTestDataloader<DM>, "lightning: test(model, datamodule) needs datamodule.test_dataloader()");
      return Entry<T>::run(t_, model, kStage, &dm, [&] { return dm.test_dataloader(); }, [&](auto& l) { return evaluate(l); });
    } else {
      static_assert(HasValDataloader<DM>, "lightning: validate(model, datamodule) needs datamodule.val_dataloader()");
      return Entry<T>::run(t_, model, kStage, &dm, [&] { return dm.val_dataloader(); }, [&](auto& l) { return evaluate(l); });
    }
  }

  /// The sanity check before training: `num_sanity_val_steps` batches whose
  /// results nobody sees.
  template <class L>
  void sanity_check(L& val) {
    const int64_t steps = t_.opts_.num_sanity_val_steps;
    const int64_t n = steps == -1 ? t_.num_val_batches_ : std::min(steps, t_.num_val_batches_);
    if (n <= 0) return;
    t_.module_link_.progress.sanity_checking = true;
    t_.template callback_hook<hooks::on_sanity_check_start>();
    run(val, n, /*sanity=*/true);
    t_.template callback_hook<hooks::on_sanity_check_end>();
    t_.module_link_.progress.sanity_checking = false;
  }

 private:
  template <class L>
  std::vector<std::map<std::string, double>> evaluate(L& loader) {
    using step = typename H::step;
    using batch_t = typename Batches<T>::template batch_type<L>;
    static_assert(step::template named<Model>,
                  "lightning: trainer.validate()/test() need `validation_step(batch, batch_idx)` / "
                  "`test_step(batch, batch_idx)` in the module");
    static_assert(step::template check_module<Model, batch_t&, int64_t&>());
    Stage stage = kStage;
    std::vector<std::map<std::string, double>> results;
    Entry<T>::guarded(t_, [&] {
      t_.template hook<hooks::setup>(stage);
      t_.strategy_.setup_module(*t_.model_);
      t_.setup_precision();
      connectors::Logging<T>(t_).sync_results();
      connectors::Data<T> data(t_);
      const auto len = data.shard_length(loader, false);
      data.check_shards(len, Test ? "test" : "validation");
      const int64_t n = data.num_batches(len, Test ? t_.opts_.limit_test : t_.opts_.limit_val,
                                         Test ? "limit_test_batches" : "limit_val_batches");
      run(loader, n, /*sanity=*/false);
      results.push_back(connectors::Logging<T>::to_host(t_.eval_results_.epoch_values(/*logger_only=*/true)));
      t_.template hook<hooks::teardown>(stage);
    });
    return results;
  }

  T& t_;
};

}  // namespace lightning::loops
