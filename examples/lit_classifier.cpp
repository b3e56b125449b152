// The classifier of the Lightning docs, in C++: a 784-128-10 MLP trained with
// Adam on Fashion-MNIST, validated on a held-out split, then tested.
#include <cstdio>
#include <cstdlib>

#include "fashion_mnist.hpp"
#include "lit_classifier.hpp"

int main(int argc, char** argv) try {  // an error ends the program with its message, not "terminate called"
  const int64_t epochs = argc > 1 ? std::atoll(argv[1]) : 5;
  L::seed_everything(42);
  // Lightning's defaults (model summary, progress bar, ModelCheckpoint: kept
  // by L::Callbacks<...>, as `callbacks=[...]` keeps them) plus EarlyStopping;
  // the CSV logger plus TensorBoard, both writing into the same
  // lightning_logs/version_N. The best checkpoint by val_loss is kept, and
  // training stops when it plateaus.
  L::CSVLogger csv;
  L::TensorBoardLogger tensorboard({.version = csv.version()});
  L::Trainer<LitClassifier,
             L::Callbacks<L::EarlyStopping>,
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
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
