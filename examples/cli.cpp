// The classifier of the Lightning docs through LightningCLI: hyperparameters,
// Trainer flags, callbacks, the optimizer and its LR scheduler set from YAML
// configs and the command line, without recompiling.
//
//   ./cli fit --config c.yaml --trainer.max_epochs=2 --model.lr=0.01 --optimizer=SGD
//   ./cli fit --print_config > c.yaml
//   ./cli test --ckpt_path=lightning_logs/version_0/checkpoints/last.ckpt
#include <lightning/cli.hpp>

#include "fashion_mnist.hpp"

namespace L = lightning;
namespace F = torch::nn::functional;

namespace cli_example {

struct Params {
  int64_t in_dim = 784, hidden = 128, n_classes = 10;
  double lr = 1e-3;  // the optimizer's lr when --optimizer.lr is not given
};

/// The classifier without configure_optimizers(): the optimizer is chosen at run time.
struct Classifier : L::LightningModule<Classifier, Params> {
  torch::nn::Sequential net;
  L::metrics::Accuracy val_acc{{.num_classes = 10}};
  L::metrics::Accuracy test_acc{{.num_classes = 10}};

  explicit Classifier(Params p = {})
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
    log("val_acc", val_acc, {.prog_bar = true});
  }
  void test_step(L::Batch batch, int64_t) {
    auto [x, y] = batch;
    auto logits = forward(x);
    log("test_loss", F::cross_entropy(logits, y));
    test_acc.update(logits, y);
    log("test_acc", test_acc);
  }
};

}  // namespace cli_example

BOOST_HANA_ADAPT_STRUCT(cli_example::Params, in_dim, hidden, n_classes, lr);

// fashion_mnist::Options is a plain struct shared with other examples: its
// keys are listed here, and the datamodule is told which struct it takes.
template <>
struct L::cli::field_list<fashion_mnist::Options> {
  static auto get() {
    return std::make_tuple(LIGHTNING_CLI_FIELD(batch_size), LIGHTNING_CLI_FIELD(val_size), LIGHTNING_CLI_FIELD(root),
                           LIGHTNING_CLI_FIELD(split_seed));
  }
};
template <>
struct L::cli::datamodule_options<fashion_mnist::DataModule> {
  using type = fashion_mnist::Options;
};

int main(int argc, char** argv) {
  // Without `--optimizer.lr`, the model's lr (Lightning users link them the same way in YAML).
  return L::cli::LightningCLI<cli_example::Classifier, fashion_mnist::DataModule,
                              L::Callbacks<L::LearningRateMonitor>,
                              L::Loggers<L::CSVLogger>>(argc, argv)
      .exit_code();
}
