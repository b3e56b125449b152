#pragma once
// Fashion-MNIST from Debian's dataset-fashion-mnist package, read straight
// from its gzipped IDX files, as a LightningDataModule.
#include <lightning/lightning.hpp>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace fashion_mnist {

/// Reads a gzipped IDX file (magic 0x0000080N, N dimensions, big-endian sizes, uint8 data).
inline torch::Tensor read_idx_gz(const std::string& path) {
  std::unique_ptr<gzFile_s, int (*)(gzFile)> f(gzopen(path.c_str(), "rb"), gzclose);
  if (!f) throw std::runtime_error("cannot open " + path + " (apt-get install dataset-fashion-mnist)");
  auto read_exact = [&](void* dst, unsigned n) {
    if (gzread(f.get(), dst, n) != static_cast<int>(n)) throw std::runtime_error(path + ": truncated IDX file");
  };
  auto be32 = [&] {
    unsigned char b[4];
    read_exact(b, 4);
    return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | uint32_t(b[3]);
  };
  const uint32_t magic = be32();
  if ((magic >> 8) != 0x08) throw std::runtime_error(path + ": not an unsigned-byte IDX file");
  std::vector<int64_t> shape(magic & 0xff);
  for (auto& d : shape) d = be32();
  auto t = torch::empty(shape, torch::kUInt8);
  read_exact(t.data_ptr(), static_cast<unsigned>(t.numel()));
  return t;
}

struct Options {
  int64_t batch_size = 64;
  int64_t val_size = 5000;  // held out of the 60000 training images
  std::string root = "/usr/share/datasets/fashion-mnist";
  uint64_t split_seed = 42;
};

/// Images as float [N, 784] normalized with the training set's mean and std.
inline torch::Tensor images(const std::string& path) {
  auto x = read_idx_gz(path).to(torch::kFloat).div_(255.0);
  return x.sub_(0.2860).div_(0.3530).reshape({x.size(0), -1});
}

class DataModule {
 public:
  explicit DataModule(Options o = {}) : opts_(std::move(o)) {}

  void prepare_data() {
    for (auto f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                   "t10k-labels-idx1-ubyte.gz"})
      if (!std::filesystem::exists(opts_.root + "/" + f))
        throw std::runtime_error(opts_.root + "/" + f + " is missing: apt-get install dataset-fashion-mnist");
  }

  void setup(lightning::Stage stage) {
    if ((stage == lightning::Stage::fit || stage == lightning::Stage::validate) && !train_x_.defined()) {
      auto x = images(opts_.root + "/train-images-idx3-ubyte.gz");
      auto y = read_idx_gz(opts_.root + "/train-labels-idx1-ubyte.gz").to(torch::kLong);
      auto gen = at::make_generator<at::CPUGeneratorImpl>(opts_.split_seed);
      auto perm = torch::randperm(x.size(0), gen, torch::kLong);
      auto val_idx = perm.slice(0, 0, opts_.val_size), train_idx = perm.slice(0, opts_.val_size);
      train_x_ = x.index_select(0, train_idx), train_y_ = y.index_select(0, train_idx);
      val_x_ = x.index_select(0, val_idx), val_y_ = y.index_select(0, val_idx);
    }
    if (stage == lightning::Stage::test && !test_x_.defined()) {
      test_x_ = images(opts_.root + "/t10k-images-idx3-ubyte.gz");
      test_y_ = read_idx_gz(opts_.root + "/t10k-labels-idx1-ubyte.gz").to(torch::kLong);
    }
  }

  auto train_dataloader() {
    return lightning::data::TensorLoader({train_x_, train_y_}, {.batch_size = opts_.batch_size, .shuffle = true});
  }
  auto val_dataloader() { return lightning::data::TensorLoader({val_x_, val_y_}, {.batch_size = 256}); }
  auto test_dataloader() { return lightning::data::TensorLoader({test_x_, test_y_}, {.batch_size = 256}); }

 private:
  Options opts_;
  torch::Tensor train_x_, train_y_, val_x_, val_y_, test_x_, test_y_;
};

}  // namespace fashion_mnist
