// The hook order of fit, validate, test and predict, seen by a module and a
// callback, against Lightning 2.x's (tests/tests_pytorch/models/test_hooks.py).
#include "recorder.hpp"

namespace {
using namespace test;

struct Expect {
  Calls calls;
  Expect& both(const std::string& h) {
    calls.push_back("Callback." + h);
    calls.push_back(h);
    return *this;
  }
  Expect& cb(const std::string& h) {
    calls.push_back("Callback." + h);
    return *this;
  }
  Expect& mod(const std::string& h) {
    calls.push_back(h);
    return *this;
  }
  Expect& eval_epoch(const std::string& fn, int64_t batches) {
    both("on_" + fn + "_epoch_start");
    for (int64_t i = 0; i < batches; ++i) {
      both(with_idx(("on_" + fn + "_batch_start").c_str(), i));
      mod(with_idx((fn == "validation" ? "validation_step" : fn + "_step").c_str(), i));
      both(with_idx(("on_" + fn + "_batch_end").c_str(), i));
    }
    return both("on_" + fn + "_epoch_end");
  }
  Expect& validation(int64_t batches) {
    both("on_validation_start");
    eval_epoch("validation", batches);
    return both("on_validation_end");
  }
  Expect& train_batches(int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      both(with_idx("on_train_batch_start", i));
      mod(with_idx("training_step", i));
      both("on_before_zero_grad").both("on_before_backward").both("on_after_backward");
      both("on_before_optimizer_step");
      both(with_idx("on_train_batch_end", i));
    }
    return *this;
  }
};

}  // namespace

TEST_CASE("fit with validation calls hooks in Lightning's order") {
  Calls calls;
  RecordingModule model(&calls);
  L::Trainer<RecordingModule, L::OnlyCallbacks<RecordingCallback>> trainer(
      {.max_epochs = 1, .limit_val_batches = 2, .num_sanity_val_steps = 1}, RecordingCallback{&calls});
  auto train = make_loader(2);
  auto val = make_loader(3);
  trainer.fit(model, train, val);

  Expect e;
  e.both("setup(fit)").mod("configure_optimizers").both("on_fit_start");
  e.cb("on_sanity_check_start").validation(1).cb("on_sanity_check_end");
  e.both("on_train_start").both("on_train_epoch_start").train_batches(2);
  e.validation(2);
  e.both("on_train_epoch_end").both("on_train_end").both("on_fit_end").both("teardown(fit)");
  CHECK(calls == e.calls);
}

TEST_CASE("validate, test and predict call hooks in Lightning's order") {
  Calls calls;
  RecordingModule model(&calls);
  L::Trainer<RecordingModule, L::OnlyCallbacks<RecordingCallback>> trainer({}, RecordingCallback{&calls});
  auto loader = make_loader(2);

  SUBCASE("validate") {
    trainer.validate(model, loader);
    Expect e;
    e.both("setup(validate)").validation(2).both("teardown(validate)");
    CHECK(calls == e.calls);
  }
  SUBCASE("test") {
    trainer.test(model, loader);
    Expect e;
    e.both("setup(test)").both("on_test_start").eval_epoch("test", 2).both("on_test_end").both("teardown(test)");
    CHECK(calls == e.calls);
  }
  SUBCASE("predict") {
    auto out = trainer.predict(model, loader);
    CHECK(out.size() == 2);
    Expect e;
    e.both("setup(predict)").both("on_predict_start").both("on_predict_epoch_start");
    for (int64_t i = 0; i < 2; ++i)
      e.both(with_idx("on_predict_batch_start", i)).mod(with_idx("predict_step", i)).both(with_idx("on_predict_batch_end", i));
    e.both("on_predict_epoch_end").both("on_predict_end").both("teardown(predict)");
    CHECK(calls == e.calls);
  }
}

TEST_CASE("gradient accumulation zeroes and steps on Lightning's batches") {
  Calls calls;
  RecordingModule model(&calls);
  L::Trainer<RecordingModule, L::OnlyCallbacks<>> trainer({.max_epochs = 1, .accumulate_grad_batches = 2});
  auto train = make_loader(3);
  trainer.fit(model, train);
  // zero_grad before batches 0 and 2; steps after batch 1 and after the last (2).
  Calls expected = {"configure_optimizers",
                    "on_fit_start", "on_train_start", "on_train_epoch_start",
                    "on_train_batch_start(0)", "training_step(0)", "on_before_zero_grad", "on_before_backward",
                    "on_after_backward", "on_train_batch_end(0)",
                    "on_train_batch_start(1)", "training_step(1)", "on_before_backward", "on_after_backward",
                    "on_before_optimizer_step", "on_train_batch_end(1)",
                    "on_train_batch_start(2)", "training_step(2)", "on_before_zero_grad", "on_before_backward",
                    "on_after_backward", "on_before_optimizer_step", "on_train_batch_end(2)",
                    "on_train_epoch_end", "on_train_end", "on_fit_end", "teardown(fit)"};
  expected.insert(expected.begin(), "setup(fit)");
  CHECK(calls == expected);
  CHECK(trainer.global_step() == 2);
}

namespace {
struct Stopper {
  std::vector<std::string>* log;
  void on_train_batch_end(auto& trainer, auto&, const auto&, const auto&, int64_t) {
    log->push_back("stopper");
    trainer.should_stop = true;
  }
};
struct After {
  std::vector<std::string>* log;
  void on_train_batch_end(auto&, auto&, const auto&, const auto&, int64_t) { log->push_back("after"); }
};
}  // namespace

TEST_CASE("every callback sees every hook, in the listed order, even after one asks to stop") {
  std::vector<std::string> log;
  RecordingModule model;
  L::Trainer<RecordingModule, L::OnlyCallbacks<Stopper, After>> trainer({.max_epochs = 5}, Stopper{&log}, After{&log});
  auto train = make_loader(4);
  trainer.fit(model, train);
  CHECK(log == std::vector<std::string>{"stopper", "after"});
  CHECK(trainer.global_step() == 1);
  CHECK(trainer.current_epoch() == 1);
}
