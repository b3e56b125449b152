// The same work by hand, for the binary-size comparison.
#include <torch/torch.h>

struct Regression : torch::nn::Module {
  torch::nn::Linear layer{nullptr};
  Regression() : layer(register_module("layer", torch::nn::Linear(10, 1))) {}
};

int main() {
  auto x = torch::randn({64, 10});
  auto y = x.sum(1, true);
  Regression model;
  torch::optim::Adam opt(model.parameters(), torch::optim::AdamOptions(1e-3));
  for (int64_t i = 0; i < 64; i += 32) {
    opt.zero_grad();
    auto loss = torch::mse_loss(model.layer(x.slice(0, i, i + 32)), y.slice(0, i, i + 32));
    loss.backward();
    opt.step();
  }
}
