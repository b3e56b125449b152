// A small GAN in manual optimization: a generator and a discriminator (MLPs)
// on a 2-D mixture of 8 Gaussians around a ring, two optimizers stepped in
// training_step. Prints how far generated samples are from the nearest mode
// before and after training; exits 0 iff that distance dropped by half.
#include <lightning/lightning.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace L = lightning;
namespace F = torch::nn::functional;

constexpr double kPi = 3.14159265358979323846;

/// The 8 mode centres on a circle of radius 2.
torch::Tensor modes() {
  auto angles = torch::arange(8, torch::kFloat) * (2 * kPi / 8);
  return torch::stack({2 * torch::cos(angles), 2 * torch::sin(angles)}, 1);
}

torch::Tensor sample_mixture(int64_t n) {
  auto idx = torch::randint(0, 8, {n});
  return modes().index_select(0, idx) + 0.05 * torch::randn({n, 2});
}

/// Mean distance from each sample to its nearest mode centre.
double distance_to_modes(const torch::Tensor& samples) {
  return std::get<0>(torch::cdist(samples, modes()).min(1)).mean().item<double>();
}

struct Params {
  int64_t noise_dim = 4, hidden = 64;
  double lr = 1e-3;
};
BOOST_HANA_ADAPT_STRUCT(Params, noise_dim, hidden, lr);

struct LitGAN : L::LightningModule<LitGAN, Params> {
  static constexpr bool automatic_optimization = false;
  torch::nn::Sequential generator{nullptr}, discriminator{nullptr};

  explicit LitGAN(Params p = {}) : LightningModule(p) {
    generator = register_module("generator", torch::nn::Sequential(
        torch::nn::Linear(p.noise_dim, p.hidden), torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)),
        torch::nn::Linear(p.hidden, p.hidden), torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)),
        torch::nn::Linear(p.hidden, 2)));
    discriminator = register_module("discriminator", torch::nn::Sequential(
        torch::nn::Linear(2, p.hidden), torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)),
        torch::nn::Linear(p.hidden, p.hidden), torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)),
        torch::nn::Linear(p.hidden, 1)));
  }

  // Above training_step: optimizers() needs its deduced return type.
  auto configure_optimizers() {
    const auto betas = std::make_tuple(0.5, 0.999);
    return std::pair{torch::optim::Adam(generator->parameters(), torch::optim::AdamOptions(hparams().lr).betas(betas)),
                     torch::optim::Adam(discriminator->parameters(), torch::optim::AdamOptions(hparams().lr).betas(betas))};
  }

  torch::Tensor generate(int64_t n) { return generator->forward(torch::randn({n, hparams().noise_dim})); }

  void training_step(const torch::Tensor& real, int64_t) {
    auto [opt_g, opt_d] = optimizers();
    const int64_t n = real.size(0);

    // Discriminator: real -> 1, generated -> 0.
    toggle_optimizer(opt_d);
    auto fake = generate(n).detach();
    auto d_loss = F::binary_cross_entropy_with_logits(discriminator->forward(real), torch::ones({n, 1})) +
                  F::binary_cross_entropy_with_logits(discriminator->forward(fake), torch::zeros({n, 1}));
    opt_d.zero_grad();
    manual_backward(d_loss);
    opt_d.step();
    untoggle_optimizer(opt_d);

    // Generator: make the discriminator say 1.
    toggle_optimizer(opt_g);
    auto g_loss = F::binary_cross_entropy_with_logits(discriminator->forward(generate(n)), torch::ones({n, 1}));
    opt_g.zero_grad();
    manual_backward(g_loss);
    opt_g.step();
    untoggle_optimizer(opt_g);

    log("d_loss", d_loss, {.prog_bar = true});
    log("g_loss", g_loss, {.prog_bar = true});
  }

};

int main(int argc, char** argv) {
  const int64_t epochs = argc > 1 ? std::atoll(argv[1]) : 30;
  L::seed_everything(0);
  L::data::TensorLoader loader({sample_mixture(8192)}, {.batch_size = 128, .shuffle = true});
  LitGAN model;
  auto probe = [&] {
    torch::NoGradGuard no_grad;
    return distance_to_modes(model.generate(2000));
  };
  const double before = probe();
  L::Trainer<LitGAN, L::OnlyCallbacks<L::ProgressBar>, L::Loggers<>> trainer({.max_epochs = epochs});
  trainer.fit(model, loader);
  const double after = probe();
  std::printf("mean distance of generated samples to the nearest mode: %.4f before training, %.4f after\n", before,
              after);
  return after < 0.5 * before ? 0 : 1;
}
