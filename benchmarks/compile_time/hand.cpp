// The seed program written by hand against LibTorch alone, for the
// compile-time benchmark's reference rows: what any LibTorch program of this
// size costs to compile (the floor under the seed's numbers).
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>

struct Regression : torch::nn::Module {
  torch::nn::Linear layer{nullptr};
  Regression() : layer(register_module("layer", torch::nn::Linear(10, 1))) {}
  torch::Tensor forward(const torch::Tensor& x) { return layer(x); }
};

int main() {
  torch::manual_seed(42);
  auto x = torch::randn({1000, 10});
  auto y = x.sum(1, true);  // EDIT-ME: the benchmark changes this line
  Regression model;
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(1e-3));
  for (int epoch = 0; epoch < 3; ++epoch) {
    auto order = torch::randperm(x.size(0));
    double last = 0;
    for (int64_t i = 0; i < x.size(0); i += 32) {
      auto idx = order.slice(0, i, std::min<int64_t>(i + 32, x.size(0)));
      auto loss = torch::mse_loss(model.forward(x.index_select(0, idx)), y.index_select(0, idx));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      last = loss.item<double>();
    }
    std::printf("epoch %d: train_loss=%.3f\n", epoch, last);
  }
  torch::save(model.parameters(), "last.pt");
}
