// Export for serving: train the Fashion-MNIST classifier briefly, write it as
// an ONNX graph (for onnxruntime, OpenCV, TensorRT, ...) and its weights as a
// file Python's torch.load reads, then run the graph in OpenCV's ONNX importer
// from Python and show that its predictions are LibTorch's.
//
//   ./build/examples/export [epochs]     (writes classifier.onnx, classifier_weights.pt)
#include <lightning/export/onnx.hpp>  // not in lightning.hpp: it needs the ONNX libraries
#include <lightning/lightning.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "fashion_mnist.hpp"

namespace L = lightning;
namespace F = torch::nn::functional;

struct LitClassifier : L::LightningModule<LitClassifier> {
  torch::nn::Sequential net;

  LitClassifier()
      : net(register_module("net", torch::nn::Sequential(torch::nn::Linear(784, 128), torch::nn::ReLU(),
                                                         torch::nn::Linear(128, 10)))) {}

  torch::Tensor forward(torch::Tensor x) { return net->forward(x); }

  torch::Tensor training_step(L::Batch batch, int64_t) {
    auto [x, y] = batch;
    auto loss = F::cross_entropy(forward(x), y);
    log("train_loss", loss, {.prog_bar = true});
    return loss;
  }
  auto configure_optimizers() { return torch::optim::Adam(parameters(), torch::optim::AdamOptions(1e-3)); }
};

// Runs the exported graph in OpenCV on the saved test images: prints the share
// of predictions equal to LibTorch's and the largest logit difference.
const char* opencv_check = R"(import sys, cv2, torch
net = cv2.dnn.readNetFromONNX(sys.argv[1])
batch = torch.load(sys.argv[2])
net.setInput(batch['x'].numpy())
logits = net.forward()
torch_logits = batch['logits'].numpy()
print((logits.argmax(1) == torch_logits.argmax(1)).mean(), abs(logits - torch_logits).max())
)";

int main(int argc, char** argv) {
  const int64_t epochs = argc > 1 ? std::atoll(argv[1]) : 1;
  L::seed_everything(42);
  L::Trainer<LitClassifier, L::Loggers<>> trainer({.max_epochs = epochs});
  LitClassifier model;
  fashion_mnist::DataModule data({.batch_size = 64});
  trainer.fit(model, data);

  const std::string root = fashion_mnist::Options{}.root;
  auto images = fashion_mnist::images(root + "/t10k-images-idx3-ubyte.gz").slice(0, 0, 1000);
  auto labels = fashion_mnist::read_idx_gz(root + "/t10k-labels-idx1-ubyte.gz").slice(0, 0, 1000).to(torch::kLong);

  // The graph, traced from a sample of 64 images; its batch size stays free.
  model.to_onnx("classifier.onnx", images.slice(0, 0, 64));
  // The weights, for Python: model.load_state_dict(torch.load("classifier_weights.pt")).
  L::save_state_dict(model, "classifier_weights.pt");
  std::printf("wrote classifier.onnx and classifier_weights.pt\n");

  model.eval();
  torch::NoGradGuard no_grad;
  const auto logits = model.forward(images);
  const double accuracy = logits.argmax(1).eq(labels).to(torch::kDouble).mean().item<double>();
  std::printf("LibTorch on 1000 test images: accuracy %.4f\n", accuracy);
  c10::Dict<std::string, at::Tensor> batch;
  batch.insert("x", images);
  batch.insert("logits", logits);
  const auto bytes = torch::pickle_save(batch);  // what torch.load reads
  std::ofstream("classifier_test_batch.pt", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));

  const std::string command =
      "/usr/bin/python3 -c \"" + std::string(opencv_check) + "\" classifier.onnx classifier_test_batch.pt";
  std::printf("OpenCV (cv2.dnn.readNetFromONNX) on the same images:\n");
  std::FILE* p = ::popen((command + " 2>/dev/null").c_str(), "r");
  double agree = -1, max_diff = -1;
  if (!p || std::fscanf(p, "%lf %lf", &agree, &max_diff) != 2) {
    if (p) ::pclose(p);
    std::printf("  could not run it (apt-get install python3-opencv python3-torch); the command:\n%s\n", command.c_str());
    return accuracy > 0.5 ? 0 : 1;
  }
  ::pclose(p);
  std::printf("  predictions equal to LibTorch's: %.1f%%, largest logit difference %.2g\n", 100 * agree, max_diff);
  return accuracy > 0.5 && agree == 1.0 && max_diff <= 1e-4 ? 0 : 1;
}
