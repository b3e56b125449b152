#pragma once
// What every entry point (fit, validate, test, predict) does around its
// loop: the model attached to the trainer for the call, whatever happens;
// the data prepared (a datamodule's prepare_data and setup) and a
// datamodule's teardown after; an exception reported to the strategy, the
// on_exception hooks and the loggers before it propagates.
#include <cstdio>
#include <exception>
#include <utility>

#include "../connectors/data.hpp"
#include "../connectors/logging.hpp"
#include "../hooks.hpp"
#include "../stage.hpp"

namespace lightning::loops {

template <class T>
struct Entry {
  using Model = typename T::model_type;

  /// Attaches `model` to `t` while it lives (the module's log(),
  /// current_epoch() and manual optimization reach the trainer through it).
  class Attach {
   public:
    Attach(T& t, Model& model, Stage stage) : t_(t) {
      t_.model_ = &model;
      t_.running_stage_ = stage;
      auto& link = t_.module_link_;
      link.trainer = &t_;
      link.view_ops = T::view_ops_table();
      link.manual_backward = &T::manual_backward_thunk;
      link.manual_step = &T::manual_step_thunk;
      link.results = &t_.train_results_;
      model.lightning_attach_(&link);
    }
    ~Attach() {
      t_.model_->lightning_attach_(nullptr);
      auto& link = t_.module_link_;
      auto& p = link.progress;
      p.training = p.validating = p.testing = p.predicting = p.sanity_checking = false;
      link.fx = lightning::detail::Fx::none;
      link.clear_batch();
      link.trainer = nullptr;
      t_.model_ = nullptr;
    }
    Attach(const Attach&) = delete;
    Attach& operator=(const Attach&) = delete;

   private:
    T& t_;
  };

  /// Runs `body(loader)` with `model` attached, after preparing the data:
  /// `make_loader()` gives the loader (from the datamodule `dm`, when there is one).
  template <class DM, class MakeLoader, class Body>
  static auto run(T& t, Model& model, Stage stage, DM* dm, MakeLoader&& make_loader, Body&& body) {
    auto out = [&] {
      Attach attach(t, model, stage);
      connectors::Data<T>(t).prepare(stage, dm);
      auto&& loader = make_loader();
      auto result = body(loader);
      t.checkpoint_io_.teardown();  // saved in any hook of the stage: durable before it returns
      return result;
    }();
    if constexpr (!std::is_same_v<DM, connectors::NoDataModule>) connectors::Data<T>::teardown(*dm, stage);
    return out;
  }

  /// Runs `body`; an exception is reported (strategy, on_exception hooks,
  /// loggers finalized as "failed") and rethrown.
  template <class Body>
  static void guarded(T& t, Body&& body) {
    try {
      body();
    } catch (const std::exception& e) {
      t.strategy_.on_exception(e);
      t.template hook<hooks::on_exception>(e);
      finish_checkpoint_writes(t);  // after on_exception, which may save one more
      connectors::Logging<T>(t).finalize("failed");
      throw;
    }
  }

  /// Checkpoints queued before the failure still become durable; a write
  /// failing too is reported beside the error that propagates.
  static void finish_checkpoint_writes(T& t) noexcept {
    try {
      t.checkpoint_io_.teardown();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lightning: a checkpoint write failed too: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "lightning: a checkpoint write failed too (not a std::exception)\n");
    }
  }
};

}  // namespace lightning::loops
