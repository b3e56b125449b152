#pragma once
// The ONNX exporter's built-in rules: one per torch::nn module type
// (Linear -> Gemm, Conv -> Conv, ...), found by the module's type when it
// has no onnx_forward and no registered rule. Included by onnx.hpp, whose
// OnnxGraph calls them; users include onnx.hpp.
#include "onnx.hpp"

namespace lightning {

// Each emits ops that OpenCV 4.6's importer runs too (the tests run every
// exported model there): no LayerNormalization, no broadcasting Sub.

namespace detail::onnx_rules {

using Graph = OnnxGraph;
using Value = OnnxValue;

/// The module's own output on the sample (a copy of it: some modules work in place).
template <class Impl>
torch::Tensor run(Impl& m, const Value& x) {
  return m.forward(x.sample.clone());
}

inline void expect_rank(Graph& g, const Value& x, std::initializer_list<int64_t> ranks, const char* what) {
  for (auto r : ranks)
    if (x.sample.dim() == r) return;
  g.fail(std::string("expected ") + what + ", got an input of shape " + shape_str(x.sample.sizes()));
}

template <class Array>
std::vector<int64_t> ints(const Array& a) {
  return std::vector<int64_t>(a->begin(), a->end());
}

inline Value linear(Graph& g, torch::nn::LinearImpl& m, const Value& x) {
  auto y = run(m, x);
  const bool bias = m.bias.defined();
  if (x.sample.dim() == 2) {
    std::vector<Value> in = {x, g.weight("weight", m.weight)};
    if (bias) in.push_back(g.weight("bias", m.bias));
    return g.node("Gemm", in, y, {{"transB", int64_t{1}}});
  }
  auto xw = g.node("MatMul", {x, g.weight("weight_t", m.weight.t())}, bias ? torch::Tensor() : y);
  return bias ? g.node("Add", {xw, g.weight("bias", m.bias)}, y) : xw;
}

template <size_t D, class Impl>
Value conv(Graph& g, Impl& m, const Value& x) {
  const auto& o = m.options;
  if (!c10::get_if<torch::enumtype::kZeros>(&o.padding_mode()))
    g.fail("padding_mode " + torch::enumtype::get_enum_name(o.padding_mode()) + " has no ONNX Conv attribute; expected kZeros");
  expect_rank(g, x, {int64_t(D) + 2}, D == 1 ? "a batch [N, C, L]" : "a batch [N, C, H, W]");
  const auto k = ints(o.kernel_size()), d = ints(o.dilation());
  std::vector<int64_t> pads(2 * D, 0);
  if (const auto* p = c10::get_if<torch::ExpandingArray<D>>(&o.padding())) {
    for (size_t i = 0; i < D; ++i) pads[i] = pads[i + D] = (**p)[i];
  } else if (c10::get_if<torch::enumtype::kSame>(&o.padding())) {
    for (size_t i = 0; i < D; ++i) {  // as LibTorch: the odd one on the right
      const int64_t total = d[i] * (k[i] - 1);
      pads[i] = total / 2, pads[i + D] = total - total / 2;
    }
  }
  auto y = run(m, x);
  std::vector<Value> in = {x, g.weight("weight", m.weight)};
  if (m.bias.defined()) in.push_back(g.weight("bias", m.bias));
  return g.node("Conv", in, y,
                {{"kernel_shape", k}, {"strides", ints(o.stride())}, {"pads", pads}, {"dilations", d}, {"group", o.groups()}});
}

template <class Impl>
Value batch_norm(Graph& g, Impl& m, const Value& x) {
  const auto& o = m.options;
  if (!o.track_running_stats())
    g.fail("track_running_stats=false normalizes with each batch's own statistics, even in eval mode; ONNX "
           "BatchNormalization uses stored ones: expected track_running_stats=true");
  auto y = run(m, x);
  const int64_t c = o.num_features();
  auto scale = o.affine() ? g.weight("weight", m.weight) : g.constant("scale", torch::ones({c}));
  auto shift = o.affine() ? g.weight("bias", m.bias) : g.constant("shift", torch::zeros({c}));
  return g.node("BatchNormalization",
                {x, scale, shift, g.weight("running_mean", m.running_mean), g.weight("running_var", m.running_var)}, y,
                {{"epsilon", o.eps()}});
}

// Rows of [rows, n] normalized with MatMuls for the mean (x @ 1/n, then back
// to n columns): every op stays row-wise and same-shape, which runtimes
// without LayerNormalization or broadcasting Sub (OpenCV 4.6) run.
inline Value layer_norm(Graph& g, torch::nn::LayerNormImpl& m, const Value& x) {
  const auto& o = m.options;
  const auto& normalized = o.normalized_shape();
  int64_t n = 1;
  for (auto s : normalized) n *= s;
  auto y = run(m, x);
  const bool as_rows = !(x.sample.dim() == 2 && normalized.size() == 1);
  Value rows = as_rows ? g.reshape(x, x.sample.reshape({-1, n})) : x;
  auto mean_weights = g.constant("mean_weights", torch::full({n, 1}, 1.0 / static_cast<double>(n)));
  auto spread_weights = g.constant("spread_weights", torch::ones({1, n}));
  auto row_mean = [&](const Value& v) {
    return g.node("MatMul", {g.node("MatMul", {v, mean_weights}, {}), spread_weights}, {});
  };
  auto centered = g.node("Sub", {rows, row_mean(rows)}, {});
  auto variance = row_mean(g.node("Mul", {centered, centered}, {}));
  auto eps = g.constant("eps", torch::tensor(static_cast<float>(o.eps())));
  auto out = g.node("Div", {centered, g.node("Sqrt", {g.node("Add", {variance, eps}, {})}, {})}, {});
  if (o.elementwise_affine())
    out = g.node("Add", {g.node("Mul", {out, g.weight("weight", m.weight.reshape({n}))}, {}), g.weight("bias", m.bias.reshape({n}))}, {});
  return as_rows ? g.reshape(out, y) : Value{out.name, y};
}

inline Value identity(Graph&, torch::nn::Module&, const Value& x) { return x; }
template <class Impl>
Value pass_through(Graph& g, Impl& m, const Value& x) {  // Dropout in eval mode
  return identity(g, m, x);
}

template <const char* Op, class Impl>
Value elementwise(Graph& g, Impl& m, const Value& x) {
  return g.node(Op, {x}, run(m, x));
}
inline constexpr char relu_op[] = "Relu", sigmoid_op[] = "Sigmoid", tanh_op[] = "Tanh";

inline Value leaky_relu(Graph& g, torch::nn::LeakyReLUImpl& m, const Value& x) {
  return g.node("LeakyRelu", {x}, run(m, x), {{"alpha", m.options.negative_slope()}});
}

inline Value scalar(Graph& g, const char* name, double v) { return g.constant(name, torch::tensor(static_cast<float>(v))); }

inline Value gelu(Graph& g, torch::nn::GELUImpl& m, const Value& x) {
  auto y = run(m, x);
  Value inner;  // GELU(x) = x * 0.5 * (1 + f(x))
  if (m.options.approximate() == "tanh") {  // f = tanh(sqrt(2/pi) * (x + 0.044715 x^3))
    auto cube = g.node("Mul", {g.node("Mul", {x, x}, {}), x}, {});
    auto poly = g.node("Add", {x, g.node("Mul", {cube, scalar(g, "coefficient", 0.044715)}, {})}, {});
    inner = g.node("Tanh", {g.node("Mul", {poly, scalar(g, "sqrt_2_over_pi", std::sqrt(2.0 / std::numbers::pi))}, {})}, {});
  } else if (m.options.approximate() == "none") {  // f = erf(x / sqrt(2))
    inner = g.node("Erf", {g.node("Div", {x, scalar(g, "sqrt_2", std::sqrt(2.0))}, {})}, {});
  } else {
    g.fail("approximate='" + m.options.approximate() + "'; expected 'none' or 'tanh'");
  }
  auto one_plus = g.node("Add", {inner, scalar(g, "one", 1.0)}, {});
  return g.node("Mul", {g.node("Mul", {x, one_plus}, {}), scalar(g, "half", 0.5)}, y);
}

inline Value silu(Graph& g, torch::nn::SiLUImpl& m, const Value& x) {
  return g.node("Mul", {x, g.node("Sigmoid", {x}, {})}, run(m, x));
}

template <class Impl>
Value softmax(Graph& g, Impl& m, const Value& x) {  // opset >= 13: one axis, as torch's dim
  constexpr bool log = std::is_same_v<Impl, torch::nn::LogSoftmaxImpl>;
  return g.node(log ? "LogSoftmax" : "Softmax", {x}, run(m, x), {{"axis", m.options.dim()}});
}

inline Value flatten(Graph& g, torch::nn::FlattenImpl& m, const Value& x) {
  auto y = run(m, x);
  const int64_t rank = x.sample.dim();
  const int64_t start = m.options.start_dim() < 0 ? m.options.start_dim() + rank : m.options.start_dim();
  const int64_t end = m.options.end_dim() < 0 ? m.options.end_dim() + rank : m.options.end_dim();
  if (start >= end) return {x.name, y};
  if (start == 1 && end == rank - 1) return g.node("Flatten", {x}, y, {{"axis", int64_t{1}}});
  return g.reshape(x, y);
}

/// ONNX pooling output sizes have no "last window must start inside the
/// input" rule that PyTorch's ceil_mode has: refuse where they differ.
inline void check_pool_shape(Graph& g, const Value& x, const torch::Tensor& y, const std::vector<int64_t>& k,
                             const std::vector<int64_t>& s, const std::vector<int64_t>& p, const std::vector<int64_t>& d,
                             bool ceil_mode, bool average) {
  const int64_t spatial = static_cast<int64_t>(k.size());
  for (int64_t i = 0; i < spatial; ++i) {
    const int64_t in = x.sample.size(x.sample.dim() - spatial + i);
    const int64_t span = in + 2 * p[i] - d[i] * (k[i] - 1) - 1;
    const int64_t floor_out = span / s[i] + 1, ceil_out = (span + s[i] - 1) / s[i] + 1;
    const int64_t onnx_out = ceil_mode ? ceil_out : floor_out;
    const int64_t torch_out = y.size(y.dim() - spatial + i);
    if (onnx_out != torch_out || (average && ceil_mode && ceil_out != floor_out))
      g.fail("ceil_mode=true with input size " + std::to_string(in) +
             " gives a last window that PyTorch and ONNX treat differently; expected ceil_mode=false, or an input "
             "size for which ceil_mode changes nothing");
  }
}

template <size_t D, class Impl>
Value max_pool(Graph& g, Impl& m, const Value& x) {
  const auto& o = m.options;
  expect_rank(g, x, {int64_t(D) + 2}, D == 1 ? "a batch [N, C, L]" : "a batch [N, C, H, W]");
  const auto k = ints(o.kernel_size()), s = ints(o.stride()), p = ints(o.padding()), d = ints(o.dilation());
  auto y = run(m, x);
  check_pool_shape(g, x, y, k, s, p, d, o.ceil_mode(), false);
  std::vector<int64_t> pads(p);
  pads.insert(pads.end(), p.begin(), p.end());
  return g.node("MaxPool", {x}, y,
                {{"kernel_shape", k}, {"strides", s}, {"pads", pads}, {"dilations", d}, {"ceil_mode", int64_t{o.ceil_mode()}}});
}

template <size_t D, class Impl>
Value avg_pool(Graph& g, Impl& m, const Value& x) {
  const auto& o = m.options;
  if (o.divisor_override()) g.fail("divisor_override has no ONNX AveragePool attribute; expected it unset");
  expect_rank(g, x, {int64_t(D) + 2}, D == 1 ? "a batch [N, C, L]" : "a batch [N, C, H, W]");
  const auto k = ints(o.kernel_size()), s = ints(o.stride()), p = ints(o.padding());
  auto y = run(m, x);
  check_pool_shape(g, x, y, k, s, p, std::vector<int64_t>(D, 1), o.ceil_mode(), true);
  const bool padded = std::any_of(p.begin(), p.end(), [](int64_t v) { return v > 0; });
  std::vector<int64_t> pads(p);
  pads.insert(pads.end(), p.begin(), p.end());
  Value in = x;
  if (padded && o.count_include_pad()) {
    // Zeros counted in the mean: an explicit Pad, as runtimes differ on
    // count_include_pad (OpenCV 4.6 ignores it).
    std::vector<int64_t> all(2 * (D + 2), 0);  // [begin of each dim..., end of each dim...]
    for (size_t i = 0; i < D; ++i) all[2 + i] = all[D + 4 + i] = p[i];
    in = g.node("Pad", {x, g.constant("pads", torch::tensor(all, torch::kLong))}, {});
    std::fill(pads.begin(), pads.end(), 0);
  }
  return g.node("AveragePool", {in}, y,
                {{"kernel_shape", k}, {"strides", s}, {"pads", pads}, {"count_include_pad", int64_t{0}},
                 {"ceil_mode", int64_t{o.ceil_mode()}}});
}

inline Value adaptive_avg_pool(Graph& g, torch::nn::AdaptiveAvgPool2dImpl& m, const Value& x) {
  expect_rank(g, x, {4}, "a batch [N, C, H, W]");
  auto y = run(m, x);
  const int64_t h = x.sample.size(2), w = x.sample.size(3), oh = y.size(2), ow = y.size(3);
  if (oh == 1 && ow == 1) return g.node("GlobalAveragePool", {x}, y);
  if (h % oh != 0 || w % ow != 0)
    g.fail("from " + std::to_string(h) + "x" + std::to_string(w) + " to " + std::to_string(oh) + "x" +
           std::to_string(ow) + " pools windows of different sizes, which no ONNX op does; expected an output of 1x1 "
           "or one that divides the input");
  const std::vector<int64_t> k = {h / oh, w / ow};
  return g.node("AveragePool", {x}, y, {{"kernel_shape", k}, {"strides", k}});
}

inline Value embedding(Graph& g, torch::nn::EmbeddingImpl& m, const Value& x) {
  if (m.options.max_norm()) g.fail("max_norm renormalizes the weights at each forward; expected max_norm unset");
  if (!c10::isIntegralType(x.sample.scalar_type(), /*includeBool=*/false))
    g.fail(std::string("expected integer indices, got ") + c10::toString(x.sample.scalar_type()));
  return g.node("Gather", {g.weight("weight", m.weight), x}, run(m, x), {{"axis", int64_t{0}}});
}

inline Value sequential(Graph& g, torch::nn::SequentialImpl& m, const Value& x) {
  Value y = x;
  for (auto& child : m) y = g.apply(*child.ptr(), y, [&child](const torch::Tensor& t) { return child.forward(t); });
  return y;
}

using Apply = std::optional<Value> (*)(Graph&, torch::nn::Module&, const Value&);
struct Builtin {
  const char* name;
  Apply apply;
};

template <class Impl, Value (*Rule)(Graph&, Impl&, const Value&)>
std::optional<Value> when(Graph& g, torch::nn::Module& m, const Value& x) {
  if (auto* impl = dynamic_cast<Impl*>(&m)) return Rule(g, *impl, x);
  return std::nullopt;
}

inline const std::vector<Builtin>& builtins() {
  namespace nn = torch::nn;
  static const std::vector<Builtin> table = {
      {"Linear", when<nn::LinearImpl, linear>},
      {"Conv1d", when<nn::Conv1dImpl, conv<1, nn::Conv1dImpl>>},
      {"Conv2d", when<nn::Conv2dImpl, conv<2, nn::Conv2dImpl>>},
      {"BatchNorm1d", when<nn::BatchNorm1dImpl, batch_norm<nn::BatchNorm1dImpl>>},
      {"BatchNorm2d", when<nn::BatchNorm2dImpl, batch_norm<nn::BatchNorm2dImpl>>},
      {"LayerNorm", when<nn::LayerNormImpl, layer_norm>},
      {"Dropout", when<nn::DropoutImpl, pass_through<nn::DropoutImpl>>},
      {"Dropout2d", when<nn::Dropout2dImpl, pass_through<nn::Dropout2dImpl>>},
      {"Identity", when<nn::IdentityImpl, pass_through<nn::IdentityImpl>>},
      {"ReLU", when<nn::ReLUImpl, elementwise<relu_op, nn::ReLUImpl>>},
      {"LeakyReLU", when<nn::LeakyReLUImpl, leaky_relu>},
      {"GELU", when<nn::GELUImpl, gelu>},
      {"SiLU", when<nn::SiLUImpl, silu>},
      {"Sigmoid", when<nn::SigmoidImpl, elementwise<sigmoid_op, nn::SigmoidImpl>>},
      {"Tanh", when<nn::TanhImpl, elementwise<tanh_op, nn::TanhImpl>>},
      {"Softmax", when<nn::SoftmaxImpl, softmax<nn::SoftmaxImpl>>},
      {"LogSoftmax", when<nn::LogSoftmaxImpl, softmax<nn::LogSoftmaxImpl>>},
      {"Flatten", when<nn::FlattenImpl, flatten>},
      {"MaxPool1d", when<nn::MaxPool1dImpl, max_pool<1, nn::MaxPool1dImpl>>},
      {"MaxPool2d", when<nn::MaxPool2dImpl, max_pool<2, nn::MaxPool2dImpl>>},
      {"AvgPool1d", when<nn::AvgPool1dImpl, avg_pool<1, nn::AvgPool1dImpl>>},
      {"AvgPool2d", when<nn::AvgPool2dImpl, avg_pool<2, nn::AvgPool2dImpl>>},
      {"AdaptiveAvgPool2d", when<nn::AdaptiveAvgPool2dImpl, adaptive_avg_pool>},
      {"Embedding", when<nn::EmbeddingImpl, embedding>},
      {"Sequential", when<nn::SequentialImpl, sequential>},
  };
  return table;
}

}  // namespace detail::onnx_rules

inline std::string detail::builtin_onnx_rule_names() {
  std::string names;
  for (const auto& b : onnx_rules::builtins()) names += (names.empty() ? "" : ", ") + std::string(b.name);
  return names;
}

inline std::optional<OnnxValue> detail::apply_builtin_onnx_rule(OnnxGraph& g, torch::nn::Module& m, const OnnxValue& x) {
  for (const auto& b : onnx_rules::builtins())
    if (auto y = b.apply(g, m, x)) return y;
  return std::nullopt;
}

}  // namespace lightning
