#pragma once
// The classifier of the Lightning docs, in C++: a 784-128-10 MLP trained with
// Adam on Fashion-MNIST (shared by lit_classifier.cpp and ddp.cpp).
#include <lightning/lightning.hpp>

namespace L = lightning;
namespace F = torch::nn::functional;

struct Params {  // hyperparameters: a plain aggregate
  int64_t in_dim = 784, hidden = 128, n_classes = 10;
  double lr = 1e-3;
};
BOOST_HANA_ADAPT_STRUCT(Params, in_dim, hidden, n_classes, lr);

struct LitClassifier : L::LightningModule<LitClassifier, Params> {
  torch::nn::Sequential net;
  L::metrics::Accuracy val_acc{{.num_classes = 10}};
  L::metrics::Accuracy test_acc{{.num_classes = 10}};

  explicit LitClassifier(Params p = {})
      : LightningModule(p),
        net(register_module("net", torch::nn::Sequential(torch::nn::Linear(p.in_dim, p.hidden), torch::nn::ReLU(),
                                                         torch::nn::Linear(p.hidden, p.n_classes)))) {}

  torch::Tensor forward(torch::Tensor x) { return net->forward(x); }

  torch::Tensor training_step(L::Batch batch, int64_t) {
    auto [x, y] = batch;
    auto loss = F::cross_entropy(forward(x), y);
    log("train_loss", loss, {.prog_bar = true});
    return loss;
  }
  void validation_step(L::Batch batch, int64_t) {
    auto [x, y] = batch;
    auto logits = forward(x);
    // sync_dist: under DDP the epoch value is over every rank's batches (a no-op in one process).
    log("val_loss", F::cross_entropy(logits, y), {.prog_bar = true, .sync_dist = true});
    val_acc.update(logits, y);
    log("val_acc", val_acc, {.prog_bar = true});  // epoch value computed by the metric
  }
  void test_step(L::Batch batch, int64_t) {
    auto [x, y] = batch;
    auto logits = forward(x);
    log("test_loss", F::cross_entropy(logits, y), {.sync_dist = true});
    test_acc.update(logits, y);
    log("test_acc", test_acc);
  }
  auto configure_optimizers() {  // return type deduced: no type erasure
    return torch::optim::Adam(parameters(), torch::optim::AdamOptions(hparams().lr));
  }
};
