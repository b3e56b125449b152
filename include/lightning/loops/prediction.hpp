#pragma once
// The prediction loop: every batch's predict_step (or forward), collected,
// in inference mode with the module in eval().
#include <torch/torch.h>

#include <cstdint>
#include <type_traits>
#include <vector>

#include "../connectors/data.hpp"
#include "../data/datamodule.hpp"
#include "../hooks.hpp"
#include "../stage.hpp"
#include "batches.hpp"
#include "entry.hpp"

namespace lightning::loops {

namespace detail {
template <class>
inline constexpr bool prediction_always_false = false;

/// What predict gives without a predict_step: `forward(batch)` (or the input of an Example).
template <class M, class B>
decltype(auto) default_predict(M& m, B& batch) {
  if constexpr (requires { m.forward(batch); }) return m.forward(batch);
  else if constexpr (requires { m.forward(batch.data); }) return m.forward(batch.data);
  else static_assert(prediction_always_false<M>, "lightning: predict needs `predict_step(batch, batch_idx)` or a `forward(batch)` in the module");
}
}  // namespace detail

template <class T>
class PredictionLoop {
  using Model = typename T::model_type;

 public:
  explicit PredictionLoop(T& t) : t_(t) {}

  /// `trainer.predict(model, loader)`: every batch's prediction, in order.
  template <class L>
  auto stage(Model& model, L& loader) {
    return Entry<T>::run(t_, model, Stage::predict, static_cast<connectors::NoDataModule*>(nullptr),
                         [&]() -> L& { return loader; }, [&](auto& l) { return predict_all(l); });
  }
  /// The same on a datamodule's predict loader.
  template <class DM>
  auto stage_datamodule(Model& model, DM& dm) {
    static_assert(HasPredictDataloader<DM>, "lightning: predict(model, datamodule) needs datamodule.predict_dataloader()");
    return Entry<T>::run(t_, model, Stage::predict, &dm, [&] { return dm.predict_dataloader(); },
                         [&](auto& l) { return predict_all(l); });
  }

 private:
  template <class L>
  auto predict_all(L& loader) {
    using batch_t = typename Batches<T>::template batch_type<L>;
    using result_t = std::remove_cvref_t<decltype(predict(std::declval<batch_t&>(), int64_t{}))>;
    std::vector<result_t> results;
    t_.module_link_.results = &t_.eval_results_;  // log() in predict hooks is refused with the hook's name
    Stage stage = Stage::predict;
    Entry<T>::guarded(t_, [&] {
      t_.template hook<hooks::setup>(stage);
      t_.strategy_.setup_module(*t_.model_);
      t_.setup_precision();
      connectors::Data<T> data(t_);
      const int64_t n = data.num_batches(data.shard_length(loader, false), t_.opts_.limit_predict, "limit_predict_batches");
      t_.num_eval_batches_ = n;
      const bool was_training = t_.model_->is_training();
      t_.module_link_.progress.predicting = true;
      t_.model_->eval();
      run(loader, n, results);
      t_.module_link_.progress.predicting = false;
      if (was_training) t_.model_->train();
      t_.template hook<hooks::teardown>(stage);
    });
    return results;
  }

  template <class L, class R>
  void run(L& loader, int64_t n, std::vector<R>& results) {
    c10::InferenceMode no_autograd;
    t_.template hook<hooks::on_predict_start>();
    t_.template hook<hooks::on_predict_epoch_start>();
    auto&& source = connectors::Data<T>(t_).shard(loader, /*even=*/false);
    for (typename Batches<T>::template Walk<std::remove_reference_t<decltype(source)>> walk(t_, source, n); !walk.done();)
      walk.take([&](auto& batch, int64_t idx) {
        t_.template hook<hooks::on_predict_batch_start>(batch, idx);
        t_.enter(lightning::detail::Fx::predict_step);
        auto& r = results.emplace_back([&] {
          [[maybe_unused]] auto scope = t_.precision_.forward_context();
          return predict(batch, idx);
        }());
        t_.template hook<hooks::on_predict_batch_end>(r, batch, idx);
      });
    t_.template hook<hooks::on_predict_epoch_end>();
    t_.template hook<hooks::on_predict_end>();
  }

  template <class B>
  auto predict(B& batch, int64_t idx) {
    if constexpr (hooks::predict_step::check_module<typename T::model_type, B&, int64_t&>()) {
      return t_.model_->predict_step(batch, idx);
    } else {
      return detail::default_predict(*t_.model_, batch);
    }
  }

  T& t_;
};

}  // namespace lightning::loops
