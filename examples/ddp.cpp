// The classifier on two processes: the same module and data code as
// lit_classifier.cpp, with strategy::DDP and devices = 2. Run it once; the
// Trainer starts rank 1 as a copy of this program (as Lightning's launcher
// does), each rank trains on half of every epoch, gradients are averaged, and
// only rank 0 prints the progress bar and writes logs and checkpoints.
// Under torchrun or SLURM the same binary joins the ranks they started.
// DDP is an opt-in include with its own dependency (lightning-cpp-ddp).
#include <lightning/ddp.hpp>

#include <cstdio>
#include <cstdlib>

#include "fashion_mnist.hpp"
#include "lit_classifier.hpp"

int main(int argc, char** argv) {
  const int64_t epochs = argc > 1 ? std::atoll(argv[1]) : 3;
  L::seed_everything(42);
  L::Trainer<LitClassifier, L::strategy::DDP>
      trainer({.devices = 2, .max_epochs = epochs, .default_root_dir = "ddp_logs"},
              L::ModelCheckpoint({.monitor = "val_loss", .mode = L::Mode::min}));
  LitClassifier model;
  fashion_mnist::DataModule data({.batch_size = 64});  // 64 per process: 128 per step
  trainer.fit(model, data);

  // Every rank tests its half; the logged accuracy is reduced over both.
  auto results = trainer.test(model, data);
  const double acc = results.at(0).at("test_acc");
  if (trainer.is_global_zero())
    std::printf("world size %lld; test accuracy %.4f (both ranks' halves of the test set)\nbest checkpoint: %s\n",
                static_cast<long long>(trainer.world_size()), acc,
                trainer.checkpoint_callback().best_model_path().c_str());
  return acc > 0.5 ? 0 : 1;
}
