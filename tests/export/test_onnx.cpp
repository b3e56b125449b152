// ONNX export: each model is exported, checked by python3-onnx's
// check_model(full_check=True), then run by an independent runtime (OpenCV's
// ONNX importer, tests/export/run_onnx.py) on random inputs, at the export
// batch size and at another one, against LibTorch's outputs.
#include <lightning/export/onnx.hpp>
#include <lightning/module.hpp>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support.hpp"

namespace L = lightning;
namespace nn = torch::nn;
using export_test::error_of;
using export_test::ScratchDir;

namespace {

using Input = std::function<torch::Tensor(int64_t)>;

struct Exported {
  export_test::fs::path model, io;
};

/// Exports `model` (on an input of the first batch size) and writes LibTorch's
/// outputs for fresh random inputs at each batch size, for run_onnx.py.
template <class M>
Exported export_with_io(M& model, const ScratchDir& dir, const std::string& name, const std::vector<int64_t>& batches,
                        const Input& make_input) {
  Exported e{dir / (name + ".onnx"), dir / (name + "_io.pt")};
  L::export_onnx(model, make_input(batches.at(0)), e.model);
  std::vector<std::pair<std::string, torch::Tensor>> io;
  torch::NoGradGuard no_grad;
  L::detail::as_module(model).eval();
  for (auto b : batches) {
    auto x = make_input(b);
    io.emplace_back("x_" + std::to_string(b), x);
    io.emplace_back("y_" + std::to_string(b), L::detail::as_module(model).forward(x));
  }
  export_test::save_tensors(e.io, io);
  return e;
}

/// Each prefix of `seq` (sharing its modules) exported: every layer's output
/// is compared, not only the last one's, which a final Softmax would flatten.
std::vector<Exported> export_prefixes(const nn::Sequential& seq, const ScratchDir& dir, const std::string& name,
                                      const std::vector<int64_t>& batches, const Input& make_input) {
  std::vector<Exported> out;
  for (size_t k = 1; k <= seq->size(); ++k) {
    nn::Sequential prefix;
    for (size_t i = 0; i < k; ++i) prefix->push_back(std::to_string(i), *(seq->begin() + static_cast<std::ptrdiff_t>(i)));
    out.push_back(export_with_io(prefix, dir, name + "_to_layer_" + std::to_string(k - 1), batches, make_input));
  }
  return out;
}

/// run_onnx.py's verdict on each model: the full check passed, every batch
/// size ran, with outputs within `tolerance` of LibTorch's.
void check_runtime(const std::vector<Exported>& models, const std::vector<int64_t>& batches,
                   const std::string& mode = "opencv", double tolerance = 1e-4) {
  std::vector<std::string> args = {mode};
  for (const auto& m : models) args.insert(args.end(), {m.model.string(), m.io.string()});
  auto run = export_test::run_python("run_onnx.py", args);
  std::map<int64_t, double> worst;
  {
    INFO(run.output);
    REQUIRE(run.status == 0);
    for (const auto& m : models) {
      const std::string name = m.model.stem().string();
      INFO(name);
      CHECK(run.results.count(name + ":full_check"));
      for (auto b : batches) {
        const std::string key = name + ":max_abs_diff_" + std::to_string(b);
        CHECK(run.results[name + ":shape_ok_" + std::to_string(b)] == 1);
        REQUIRE(run.results.count(key));
        CHECK(run.results[key] <= tolerance);
        worst[b] = std::max(worst[b], run.results[key]);
      }
    }
  }
  std::ostringstream report;
  for (auto [b, d] : worst) report << " batch " << b << ": " << d << ";";
  MESSAGE(models.back().model.stem().string() << " (" << models.size() << " model(s), " << mode
                                              << "): max abs difference to LibTorch" << report.str());
}

std::vector<std::string> op_types(const ::onnx::ModelProto& m) {
  std::vector<std::string> ops;
  for (const auto& n : m.graph().node()) ops.push_back(n.op_type());
  return ops;
}

std::vector<std::string> initializer_names(const ::onnx::ModelProto& m) {
  std::vector<std::string> names;
  for (const auto& i : m.graph().initializer()) names.push_back(i.name());
  return names;
}

/// BatchNorm running statistics away from their 0/1 defaults.
template <class M>
void update_batch_norm_stats(M& model, const std::function<torch::Tensor()>& make_input) {
  torch::NoGradGuard no_grad;
  model->train();
  for (int i = 0; i < 5; ++i) model->forward(make_input());
}

// The README's classifier, as a LightningModule: exported with to_onnx.
struct Classifier : L::LightningModule<Classifier> {
  nn::Sequential net;
  Classifier()
      : net(register_module("net", nn::Sequential(nn::Linear(784, 128), nn::ReLU(), nn::Linear(128, 10)))) {}
  torch::Tensor forward(torch::Tensor x) { return net->forward(x); }
};

// A residual block, whose forward is not its children in order: it says what
// it is with onnx_forward.
struct ResidualImpl : nn::Module {
  nn::LayerNorm norm;
  nn::Linear fc1, fc2;
  explicit ResidualImpl(int64_t dim)
      : norm(register_module("norm", nn::LayerNorm(nn::LayerNormOptions({dim})))),
        fc1(register_module("fc1", nn::Linear(dim, 2 * dim))),
        fc2(register_module("fc2", nn::Linear(2 * dim, dim))) {}
  torch::Tensor forward(torch::Tensor x) { return x + fc2(torch::relu(fc1(norm(x)))); }
  L::OnnxValue onnx_forward(L::OnnxGraph& g, const L::OnnxValue& x) {
    auto h = g(fc1, g(norm, x));
    h = g.node("Relu", {h}, torch::relu(h.sample));
    return g.add(x, g(fc2, h));
  }
};
TORCH_MODULE(Residual);

// The same block without onnx_forward: exporting it must fail, not drop the residual.
struct UndescribedImpl : nn::Module {
  nn::Linear fc;
  explicit UndescribedImpl(int64_t dim) : fc(register_module("fc", nn::Linear(dim, dim))) {}
  torch::Tensor forward(torch::Tensor x) { return x + fc(x); }
};
TORCH_MODULE(Undescribed);

}  // namespace

TEST_CASE("the classifier: to_onnx writes a graph OpenCV runs, at any batch size") {
  ScratchDir dir("classifier");
  torch::manual_seed(0);
  Classifier model;
  model.to_onnx((dir / "classifier_to_onnx.onnx").string(), torch::randn({8, 784}));
  CHECK(model.is_training());  // exporting ran in eval mode and put the flag back
  model.to_onnx((dir / "classifier_opset13.onnx").string(), torch::randn({8, 784}), {.opset = 13});
  for (auto [file, opset] : {std::pair{"classifier_to_onnx.onnx", 17}, std::pair{"classifier_opset13.onnx", 13}}) {
    ::onnx::ModelProto written;
    std::ifstream in(dir / file, std::ios::binary);
    REQUIRE(written.ParseFromIstream(&in));
    CHECK(written.opset_import(0).version() == opset);
    CHECK(written.graph().node_size() == 3);
  }

  const auto m = L::onnx_model(model, torch::randn({8, 784}));
  CHECK(op_types(m) == std::vector<std::string>{"Gemm", "Relu", "Gemm"});
  CHECK(initializer_names(m) == std::vector<std::string>{"net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias"});
  CHECK(m.opset_import(0).version() == 17);
  CHECK(m.graph().input(0).name() == "input");
  CHECK(m.graph().output(0).name() == "output");
  CHECK(m.graph().input(0).type().tensor_type().shape().dim(0).dim_param() == "batch");
  CHECK(m.graph().output(0).type().tensor_type().shape().dim(0).dim_param() == "batch");

  const auto e = export_with_io(model, dir, "classifier", {8, 3, 33}, [](int64_t b) { return torch::randn({b, 784}); });
  check_runtime({e}, {8, 3, 33});
}

TEST_CASE("a small CNN: Conv2d, BatchNorm2d, pooling, Flatten, Softmax; every layer's output compared") {
  ScratchDir dir("cnn");
  torch::manual_seed(1);
  nn::Sequential cnn(nn::Conv2d(nn::Conv2dOptions(1, 8, 3).padding(1)), nn::BatchNorm2d(8), nn::ReLU(),
                     nn::MaxPool2d(2),                                                                  // 28 -> 14
                     nn::Conv2d(nn::Conv2dOptions(8, 16, 4).padding(torch::kSame).bias(false)),        // pads 1 and 2
                     nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.1)),
                     nn::AvgPool2d(nn::AvgPool2dOptions(3).stride(2).padding(1)),                       // 14 -> 7
                     nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(1).padding(1)),                       // 7 -> 7
                     nn::Conv2d(nn::Conv2dOptions(16, 16, 3).stride(2)),                                // 7 -> 3
                     nn::AvgPool2d(nn::AvgPool2dOptions(2).stride(1).padding(1).count_include_pad(false)),  // 3 -> 4
                     nn::Sigmoid(), nn::AdaptiveAvgPool2d(1), nn::Flatten(), nn::Dropout(0.3), nn::Linear(16, 10),
                     nn::Softmax(1));
  auto input = [](int64_t b) { return torch::randn({b, 1, 28, 28}); };
  update_batch_norm_stats(cnn, [&] { return input(16) * 2 + 0.5; });
  check_runtime(export_prefixes(cnn, dir, "cnn", {2, 5}, input), {2, 5});

  const auto m = L::onnx_model(cnn, input(2));
  CHECK(op_types(m) == std::vector<std::string>{"Conv", "BatchNormalization", "Relu", "MaxPool", "Conv", "LeakyRelu",
                                                "Pad", "AveragePool", "MaxPool", "Conv", "AveragePool", "Sigmoid",
                                                "GlobalAveragePool", "Flatten", "Gemm", "Softmax"});
}

TEST_CASE("BatchNorm1d, LayerNorm, GELU (both forms), SiLU, Tanh, LogSoftmax; every layer's output compared") {
  ScratchDir dir("norms");
  torch::manual_seed(2);
  nn::Sequential mlp(nn::Linear(20, 32), nn::BatchNorm1d(32), nn::GELU(), nn::LayerNorm(nn::LayerNormOptions({32})),
                     nn::SiLU(), nn::Linear(32, 32), nn::GELU(nn::GELUOptions().approximate("tanh")),
                     nn::LayerNorm(nn::LayerNormOptions({32}).elementwise_affine(false).eps(1e-3)), nn::Tanh(),
                     nn::Dropout(0.5), nn::Linear(32, 10), nn::LogSoftmax(1));
  auto input = [](int64_t b) { return torch::randn({b, 20}) * 2; };
  update_batch_norm_stats(mlp, [&] { return input(32) * 3 - 1; });
  {  // LayerNorm weights away from 1 and 0
    torch::NoGradGuard no_grad;
    for (auto& p : mlp->named_parameters())
      if (p.key().rfind("3.", 0) == 0) p.value().uniform_(-2, 2);
  }
  check_runtime(export_prefixes(mlp, dir, "norms", {4, 9}, input), {4, 9});
}

TEST_CASE("3-d inputs: Conv1d, BatchNorm1d, pools, LayerNorm over the last dims, Linear on [N, C, L]") {
  ScratchDir dir("conv1d");
  torch::manual_seed(3);
  // L = 600: cv2 reads a numpy [N, C, L] with L <= 512 as an image with channels.
  nn::Sequential net(nn::Conv1d(nn::Conv1dOptions(4, 6, 5).padding(2)), nn::BatchNorm1d(6), nn::ReLU(),
                     nn::LayerNorm(nn::LayerNormOptions({600})), nn::MaxPool1d(nn::MaxPool1dOptions(3).stride(1).padding(1)),
                     nn::Conv1d(nn::Conv1dOptions(6, 6, 3).padding(torch::kValid).dilation(2)),  // 600 -> 596
                     nn::AvgPool1d(nn::AvgPool1dOptions(3).stride(1).padding(1)),
                     nn::LayerNorm(nn::LayerNormOptions({6, 596})), nn::Linear(596, 520), nn::AvgPool1d(2), nn::Flatten(),
                     nn::Linear(6 * 260, 5));
  auto input = [](int64_t b) { return torch::randn({b, 4, 600}); };
  update_batch_norm_stats(net, [&] { return input(8) + 1; });
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net->named_parameters())
      if (p.key().rfind("3.", 0) == 0 || p.key().rfind("7.", 0) == 0) p.value().uniform_(-2, 2);
  }
  check_runtime(export_prefixes(net, dir, "conv1d", {2, 3}, input), {2, 3});
}

TEST_CASE("a module of yours: onnx_forward describes it, register_onnx_rule finds it inside a Sequential") {
  ScratchDir dir("residual");
  torch::manual_seed(4);
  L::register_onnx_rule<Residual>();
  nn::Sequential net(nn::Linear(16, 32), Residual(32), Residual(32), nn::Linear(32, 4));
  auto input = [](int64_t b) { return torch::randn({b, 16}); };
  check_runtime({export_with_io(net, dir, "residual", {3, 6}, input)}, {3, 6});

  const auto m = L::onnx_model(net, input(3));
  const auto names = initializer_names(m);
  CHECK(std::count(names.begin(), names.end(), "1.fc1.weight") == 1);  // a block's weights, by state_dict name
  CHECK(std::count(names.begin(), names.end(), "2.fc2.bias") == 1);

  SUBCASE("the module alone, its type known: no registration needed") {
    Residual block(32);
    check_runtime({export_with_io(block, dir, "block", {2, 7}, [](int64_t b) { return torch::randn({b, 32}); })}, {2, 7});
  }
}

TEST_CASE("a module without onnx_forward whose forward is not its children in order is an error, not a wrong graph") {
  Undescribed alone(8);
  auto e = error_of([&] { L::onnx_model(alone, torch::randn({2, 8})); });
  INFO(e);
  CHECK(e.find("the graph of its children in registration order does not compute what its forward() computes") !=
        std::string::npos);
  CHECK(e.find("onnx_forward") != std::string::npos);

  nn::Sequential inside(nn::Linear(8, 8), Undescribed(8));
  e = error_of([&] { L::onnx_model(inside, torch::randn({2, 8})); });
  INFO(e);
  CHECK(e.find("lightning: export_onnx: 1 (") != std::string::npos);  // names the Sequential's child
  CHECK(e.find("UndescribedImpl") != std::string::npos);
}

namespace {
// A wrong description: its node's shape is not the sample's.
struct MisdescribedImpl : nn::Module {
  torch::Tensor forward(torch::Tensor x) { return x; }
  L::OnnxValue onnx_forward(L::OnnxGraph& g, const L::OnnxValue& x) { return g.node("Flatten", {x}, x.sample); }
};
TORCH_MODULE(Misdescribed);
}  // namespace

TEST_CASE("a node whose ONNX shape is not the shape LibTorch computed is rejected before writing") {
  Misdescribed m;
  const auto e = error_of([&] { L::onnx_model(m, torch::randn({2, 3, 4})); });
  INFO(e);
  CHECK(e.find("lightning: export_onnx: the ONNX checker rejects the graph of") == 0);
  CHECK(e.find("a bug in an export rule") != std::string::npos);
}

TEST_CASE("Embedding: a Gather of the weights (evaluated with numpy: OpenCV 4.6 gathers constant indices only)") {
  ScratchDir dir("embedding");
  torch::manual_seed(5);
  nn::Embedding emb(50, 8);
  auto input = [](int64_t b) { return torch::randint(0, 50, {b, 5}, torch::kLong); };
  check_runtime({export_with_io(emb, dir, "embedding", {2, 4}, input)}, {2, 4}, "gather", 0.0);
  const auto m = L::onnx_model(emb, input(2));
  CHECK(m.graph().input(0).type().tensor_type().elem_type() == ::onnx::TensorProto::INT64);
}

TEST_CASE("an unsupported module is an error naming it and the supported ones") {
  nn::Sequential net(nn::Linear(4, 4), nn::PReLU(), nn::Linear(4, 2));
  const auto e = error_of([&] { L::onnx_model(net, torch::randn({2, 4})); });
  INFO(e);
  CHECK(e.find("lightning: export_onnx: 1 (torch::nn::PReLUImpl): no ONNX export rule for this module type") !=
        std::string::npos);
  CHECK(e.find("Supported: Linear, Conv1d, Conv2d, BatchNorm1d, BatchNorm2d, LayerNorm,") != std::string::npos);
  CHECK(e.find("Embedding, Sequential") != std::string::npos);
  CHECK(e.find("onnx_forward") != std::string::npos);
  CHECK(e.find("register_onnx_rule") != std::string::npos);

  SUBCASE("a rule registered for it makes it exportable") {
    L::register_onnx_rule<nn::PReLU>([](L::OnnxGraph& g, nn::PReLUImpl& m, const L::OnnxValue& x) {
      return g.node("PRelu", {x, g.weight("weight", m.weight)}, m.forward(x.sample));
    });
    CHECK(op_types(L::onnx_model(net, torch::randn({2, 4}))) == std::vector<std::string>{"Gemm", "PRelu", "Gemm"});
  }
}

TEST_CASE("options and module settings ONNX cannot express are errors that say what was expected") {
  nn::Sequential mlp(nn::Linear(4, 2));
  auto x = torch::randn({2, 4});
  CHECK(error_of([&] { L::onnx_model(mlp, x, {.opset = 18}); }) ==
        "lightning: export_onnx: opset 18 is not supported; expected 13 to 17 (libonnx 1.12 knows opsets up to 17)");
  CHECK(error_of([&] { L::onnx_model(mlp, x, {.input_names = {"a", "b"}}); }) ==
        "lightning: export_onnx: expected one input name and one output name, got 2 and 1");
  CHECK(error_of([&] { L::onnx_model(mlp, x.to(torch::kDouble)); }).find("input_sample is Double; expected float32") !=
        std::string::npos);
  CHECK(error_of([&] { L::onnx_model(mlp, x, {.output_names = {"0.weight"}}); })
            .find("output name '0.weight' is already the name of a value or weight") != std::string::npos);

  nn::Sequential dbl(nn::Linear(4, 2));
  dbl->to(torch::kDouble);
  CHECK(error_of([&] { L::onnx_model(dbl, x); }) ==
        "lightning: export_onnx: 0.weight is Double; expected float32 weights: module->to(torch::kFloat) before exporting");

  nn::Sequential reflect(nn::Conv2d(nn::Conv2dOptions(1, 2, 3).padding(1).padding_mode(torch::kReflect)));
  CHECK(error_of([&] { L::onnx_model(reflect, torch::randn({1, 1, 8, 8})); }) ==
        "lightning: export_onnx: 0 (torch::nn::Conv2dImpl): padding_mode kReflect has no ONNX Conv attribute; expected kZeros");

  nn::Sequential batch_stats(nn::BatchNorm1d(nn::BatchNormOptions(4).track_running_stats(false)));
  CHECK(error_of([&] { L::onnx_model(batch_stats, x); }).find("expected track_running_stats=true") != std::string::npos);

  nn::Sequential adaptive(nn::AdaptiveAvgPool2d(3));
  CHECK(error_of([&] { L::onnx_model(adaptive, torch::randn({1, 2, 8, 8})); })
            .find("from 8x8 to 3x3 pools windows of different sizes") != std::string::npos);

  nn::Sequential ceil(nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(2).padding(1).ceil_mode(true)));
  CHECK(error_of([&] { L::onnx_model(ceil, torch::randn({1, 1, 5, 5})); }).find("ceil_mode=true with input size 5") !=
        std::string::npos);

  nn::Sequential wrong_rank(nn::Conv2d(1, 2, 3));
  CHECK(error_of([&] { L::onnx_model(wrong_rank, torch::randn({1, 8, 8})); })
            .find("expected a batch [N, C, H, W], got an input of shape [1, 8, 8]") != std::string::npos);
}

TEST_CASE("dynamic_batch=false fixes the batch size; exporting restores each module's training flag") {
  nn::Sequential net(nn::Linear(4, 3), nn::Dropout(0.5), nn::BatchNorm1d(3));
  net->train();
  net[2]->eval();
  const auto m = L::onnx_model(net, torch::randn({5, 4}), {.input_names = {"features"}, .output_names = {"scores"},
                                                           .dynamic_batch = false});
  CHECK(m.graph().input(0).name() == "features");
  CHECK(m.graph().output(0).name() == "scores");
  CHECK(m.graph().input(0).type().tensor_type().shape().dim(0).dim_value() == 5);
  CHECK(m.graph().output(0).type().tensor_type().shape().dim(0).dim_value() == 5);
  CHECK(net->is_training());
  CHECK(net[0]->is_training());
  CHECK(!net[2]->is_training());
}

TEST_CASE("a model that is the identity still has an output node; the file is written whole") {
  ScratchDir dir("identity");
  nn::Sequential net(nn::Dropout(0.1));
  L::export_onnx(net, torch::randn({2, 3}), dir / "identity.onnx");
  const auto m = L::onnx_model(net, torch::randn({2, 3}));
  CHECK(op_types(m) == std::vector<std::string>{"Identity"});
  CHECK(export_test::fs::exists(dir / "identity.onnx"));
  CHECK(!export_test::fs::exists(dir / "identity.onnx.tmp"));
}
