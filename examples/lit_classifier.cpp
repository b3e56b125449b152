// The classifier of the Lightning docs, in C++: a 784-128-10 MLP trained with
// Adam on Fashion-MNIST, validated on a held-out split, then tested.
#include <lightning/lightning.hpp>

#include <cstdio>
#include <cstdlib>

#include "fashion_mnist.hpp"

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
    log("val_loss", F::cross_entropy(logits, y), {.prog_bar = true});
    val_acc.update(logits, y);
    log("val_acc", val_acc, {.prog_bar = true});  // epoch value computed by the metric
  }
  void test_step(L::Batch batch, int64_t) {
    auto [x, y] = batch;
    auto logits = forward(x);
    log("test_loss", F::cross_entropy(logits, y));
    test_acc.update(logits, y);
    log("test_acc", test_acc);
  }
  auto configure_optimizers() {  // return type deduced: no type erasure
    return torch::optim::Adam(parameters(), torch::optim::AdamOptions(hparams().lr));
  }
};

int main(int argc, char** argv) {
  const int64_t epochs = argc > 1 ? std::atoll(argv[1]) : 5;
  L::seed_everything(42);
  // Lightning's defaults (model summary, progress bar, CSV logger) plus
  // TensorBoard, both writing into the same lightning_logs/version_N; the
  // best checkpoint by val_loss is kept, and training stops when it plateaus.
  L::CSVLogger csv;
  L::TensorBoardLogger tensorboard({.version = csv.version()});
  L::Trainer<LitClassifier,
             L::Callbacks<L::ModelSummary, L::ProgressBar, L::ModelCheckpoint, L::EarlyStopping>,
             L::Loggers<L::CSVLogger, L::TensorBoardLogger>>
      trainer({.max_epochs = epochs}, std::move(csv), std::move(tensorboard),
              L::ModelCheckpoint({.monitor = "val_loss", .mode = L::Mode::min}),
              L::EarlyStopping({.monitor = "val_loss", .patience = 3}));
  LitClassifier model;
  fashion_mnist::DataModule data({.batch_size = 64});
  trainer.fit(model, data);

  // Reload the best model from its checkpoint and test it.
  const std::string best_path = trainer.checkpoint_callback().best_model_path();
  auto best = LitClassifier::load_from_checkpoint(best_path);
  auto results = trainer.test(best, data);
  std::printf("best checkpoint: %s (val_loss %.4f)\ntest accuracy: %.4f\nlogs: %s\n", best_path.c_str(),
              trainer.checkpoint_callback().best_model_score().value_or(0.0), results.at(0).at("test_acc"),
              trainer.logger<L::CSVLogger>().log_dir().c_str());
  return results.at(0).at("test_acc") > 0.5 ? 0 : 1;
}
