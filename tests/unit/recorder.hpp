#pragma once
// A module and a callback that record every hook they receive, for
// comparing the Trainer's call order with Lightning's.
#include <doctest/doctest.h>
#include <lightning/lightning.hpp>

#include <string>
#include <vector>

namespace test {
namespace L = lightning;

using Calls = std::vector<std::string>;

inline std::string with_idx(const char* name, int64_t i) { return std::string(name) + "(" + std::to_string(i) + ")"; }
inline std::string with_stage(const char* name, L::Stage s) {
  return std::string(name) + "(" + std::string(L::to_string(s)) + ")";
}

struct RecordingCallback {
  Calls* calls = nullptr;
  void add(std::string s) {
    if (calls) calls->push_back("Callback." + s);
  }
#define REC_CB(hook) \
  void hook(auto&, auto&) { add(#hook); }
#define REC_CB_IDX(hook) \
  void hook(auto&, auto&, const auto&, int64_t i) { add(with_idx(#hook, i)); }
#define REC_CB_OUT_IDX(hook) \
  void hook(auto&, auto&, const auto&, const auto&, int64_t i) { add(with_idx(#hook, i)); }
  void setup(auto&, auto&, L::Stage s) { add(with_stage("setup", s)); }
  void teardown(auto&, auto&, L::Stage s) { add(with_stage("teardown", s)); }
  REC_CB(on_fit_start) REC_CB(on_fit_end) REC_CB(on_sanity_check_start) REC_CB(on_sanity_check_end)
  REC_CB(on_train_start) REC_CB(on_train_end) REC_CB(on_train_epoch_start) REC_CB(on_train_epoch_end)
  REC_CB_IDX(on_train_batch_start) REC_CB_OUT_IDX(on_train_batch_end)
  void on_before_backward(auto&, auto&, const torch::Tensor&) { add("on_before_backward"); }
  REC_CB(on_after_backward)
  void on_before_optimizer_step(auto&, auto&, auto&) { add("on_before_optimizer_step"); }
  void on_before_zero_grad(auto&, auto&, auto&) { add("on_before_zero_grad"); }
  REC_CB(on_validation_start) REC_CB(on_validation_end) REC_CB(on_validation_epoch_start)
  REC_CB(on_validation_epoch_end) REC_CB_IDX(on_validation_batch_start) REC_CB_OUT_IDX(on_validation_batch_end)
  REC_CB(on_test_start) REC_CB(on_test_end) REC_CB(on_test_epoch_start) REC_CB(on_test_epoch_end)
  REC_CB_IDX(on_test_batch_start) REC_CB_OUT_IDX(on_test_batch_end)
  REC_CB(on_predict_start) REC_CB(on_predict_end) REC_CB(on_predict_epoch_start) REC_CB(on_predict_epoch_end)
  REC_CB_IDX(on_predict_batch_start) REC_CB_OUT_IDX(on_predict_batch_end)
#undef REC_CB
#undef REC_CB_IDX
#undef REC_CB_OUT_IDX
};

struct RecordingModule : L::LightningModule<RecordingModule> {
  torch::nn::Linear layer{nullptr};
  Calls* calls = nullptr;
  void add(std::string s) {
    if (calls) calls->push_back(std::move(s));
  }

  explicit RecordingModule(Calls* c = nullptr) : layer(register_module("layer", torch::nn::Linear(2, 1))), calls(c) {}

  torch::Tensor forward(const torch::Tensor& x) { return layer(x); }
  torch::Tensor training_step(const L::Batch& b, int64_t i) {
    add(with_idx("training_step", i));
    return torch::mse_loss(forward(b.data), b.target);
  }
  void validation_step(const L::Batch& b, int64_t i) {
    add(with_idx("validation_step", i));
    log("val_loss", torch::mse_loss(forward(b.data), b.target));
  }
  void test_step(const L::Batch& b, int64_t i) {
    add(with_idx("test_step", i));
    log("test_loss", torch::mse_loss(forward(b.data), b.target));
  }
  torch::Tensor predict_step(const L::Batch& b, int64_t i) {
    add(with_idx("predict_step", i));
    return forward(b.data);
  }
  auto configure_optimizers() {
    add("configure_optimizers");
    return torch::optim::SGD(parameters(), torch::optim::SGDOptions(0.01));
  }
#define REC(hook) \
  void hook() { add(#hook); }
#define REC_IDX(hook) \
  void hook(const L::Batch&, int64_t i) { add(with_idx(#hook, i)); }
#define REC_OUT_IDX(hook) \
  void hook(const auto&, const L::Batch&, int64_t i) { add(with_idx(#hook, i)); }
  void setup(L::Stage s) { add(with_stage("setup", s)); }
  void teardown(L::Stage s) { add(with_stage("teardown", s)); }
  REC(on_fit_start) REC(on_fit_end) REC(on_train_start) REC(on_train_end) REC(on_train_epoch_start)
  REC(on_train_epoch_end) REC_IDX(on_train_batch_start) REC_OUT_IDX(on_train_batch_end)
  void on_before_backward(const torch::Tensor&) { add("on_before_backward"); }
  REC(on_after_backward)
  void on_before_optimizer_step(auto&) { add("on_before_optimizer_step"); }
  void on_before_zero_grad(auto&) { add("on_before_zero_grad"); }
  REC(on_validation_start) REC(on_validation_end) REC(on_validation_epoch_start) REC(on_validation_epoch_end)
  REC_IDX(on_validation_batch_start) REC_OUT_IDX(on_validation_batch_end)
  REC(on_test_start) REC(on_test_end) REC(on_test_epoch_start) REC(on_test_epoch_end)
  REC_IDX(on_test_batch_start) REC_OUT_IDX(on_test_batch_end)
  REC(on_predict_start) REC(on_predict_end) REC(on_predict_epoch_start) REC(on_predict_epoch_end)
  REC_IDX(on_predict_batch_start) REC_OUT_IDX(on_predict_batch_end)
#undef REC
#undef REC_IDX
#undef REC_OUT_IDX
};

/// `n` batches of `bs` samples of a 2-feature regression problem.
inline L::data::TensorLoader<2> make_loader(int64_t n, int64_t bs = 4, bool shuffle = false) {
  auto x = torch::randn({n * bs, 2});
  auto y = x.sum(1, true);
  return L::data::TensorLoader({x, y}, {.batch_size = bs, .shuffle = shuffle, .seed = 7});
}

}  // namespace test
