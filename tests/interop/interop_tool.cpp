// The C++ side of the interoperability tests with Python Lightning
// (tests/interop/run_interop.py drives it): the same model, data and
// callbacks as lit_model.py, trained, resumed and loaded by C++.
//
//   interop_tool train <data.pt> <out_dir> <max_epochs> <every_n_train_steps> [ckpt_path]
//   interop_tool load <ckpt> <data.pt> <out.pt>
#include <torch/torch.h>

#include <boost/hana/adapt_struct.hpp>
#include <cstdlib>
#include <iostream>
#include <lightning/lightning.hpp>
#include <lightning/optim/any_optimizer.hpp>

namespace L = lightning;
namespace F = torch::nn::functional;

struct LitParams {
  int64_t hidden = 8;
  double lr = 0.01;
  std::string optimizer = "Adam";
};
BOOST_HANA_ADAPT_STRUCT(LitParams, hidden, lr, optimizer);

struct LitModel : L::LightningModule<LitModel, LitParams> {
  torch::nn::Sequential net;
  explicit LitModel(LitParams p = {})
      : LightningModule(p),
        net(register_module("net", torch::nn::Sequential(torch::nn::Linear(2, p.hidden), torch::nn::ReLU(),
                                                          torch::nn::Linear(p.hidden, 1)))) {}
  torch::Tensor forward(torch::Tensor x) { return net->forward(x); }
  torch::Tensor training_step(const L::Batch& b, int64_t) {
    auto loss = F::mse_loss(forward(b.data), b.target);
    log("train_loss", loss);
    return loss;
  }
  void validation_step(const L::Batch& b, int64_t) { log("val_loss", F::mse_loss(forward(b.data), b.target)); }
  auto configure_optimizers() {
    return L::optim::RuntimeOptimizer{L::optim::optimizer_args(hparams().optimizer, hparams().lr),
                                      L::optim::StepLROptions{.step_size = 1, .gamma = 0.5}}
        .make(*this);
  }
};

namespace {
std::pair<torch::Tensor, torch::Tensor> data(const std::string& path) {
  auto d = L::read_state_dict(path);
  return {d["x"], d["y"]};
}

int train(int argc, char** argv) {
  auto [x, y] = data(argv[2]);
  const std::filesystem::path out = argv[3];
  const int64_t max_epochs = std::atoll(argv[4]), every = std::atoll(argv[5]);
  const std::string ckpt = argc > 6 ? argv[6] : "";
  L::data::TensorLoader<2> train_dl({x, y}, {.batch_size = 8});
  L::data::TensorLoader<2> val_dl({x, y}, {.batch_size = 8});
  L::ModelCheckpoint::Options mo{.dirpath = out / "ck"};
  if (every > 0) mo.save_top_k = -1, mo.every_n_train_steps = every;
  else mo.monitor = "val_loss", mo.save_last = true;
  // metrics.csv and hparams.yaml under <out>/lightning_logs/version_0, for Lightning's readers.
  L::Trainer<LitModel, L::OnlyCallbacks<L::ModelCheckpoint, L::EarlyStopping>, L::Loggers<L::CSVLogger>> trainer(
      {.max_epochs = max_epochs, .log_every_n_steps = 2, .enable_progress_bar = false, .enable_model_summary = false},
      L::ModelCheckpoint(mo), L::EarlyStopping({.monitor = "val_loss", .patience = 5}),
      L::CSVLogger({.save_dir = out.string()}));
  LitModel model(LitParams{.hidden = 16, .lr = 0.01, .optimizer = std::getenv("INTEROP_SGD") ? "SGD" : "Adam"});
  if (ckpt.empty()) {
    torch::manual_seed(0);
    // The initial weights Python wrote, so both sides start alike.
    L::load_state_dict(model, out.parent_path() / "init.pt");
    trainer.fit(model, train_dl, val_dl);
  } else {
    trainer.fit(model, train_dl, val_dl, {.ckpt_path = ckpt});
  }
  trainer.save_checkpoint(out / "after.ckpt");
  L::save_state_dict(model, out / "final.pt");
  std::cout << "epoch " << trainer.current_epoch() << " global_step " << trainer.global_step() << "\n";
  return 0;
}

int load(char** argv) {
  auto model = LitModel::load_from_checkpoint(argv[2]);
  auto [x, y] = data(argv[3]);
  model.eval();
  torch::NoGradGuard g;
  auto out = L::checkpoint::make_dict();
  out.insert("y", model.forward(x));
  L::write_state_dict(argv[4], out);
  std::cout << "hidden " << model.hparams().hidden << " lr " << model.hparams().lr << " optimizer "
            << model.hparams().optimizer << "\n";
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "train" && argc >= 6) return train(argc, argv);
    if (cmd == "load" && argc == 5) return load(argv);
    std::cerr << "usage: interop_tool train <data.pt> <out_dir> <max_epochs> <every_n_train_steps> [ckpt]\n"
                 "       interop_tool load <ckpt> <data.pt> <out.pt>\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "interop_tool: " << e.what() << "\n";
    return 1;
  }
}
