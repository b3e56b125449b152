#pragma once
// ONNX export: `L::export_onnx(model, input_sample, "model.onnx")` writes the
// graph of a model built from torch::nn modules, weights included, for the
// runtimes that read ONNX (onnxruntime, OpenCV, TensorRT).
//
// LibTorch's C++ frontend has no tracer, so the exporter walks the module
// tree with one rule per module type (Linear -> Gemm, ...). A module of yours
// says what its forward() is with `onnx_forward` (see OnnxGraph); a module
// without one is exported as its children in registration order, and only if
// that reproduces its forward() on the sample. Anything else is an error that
// names the module: never a silently wrong graph.
//
// Needs Debian's libonnx-dev, which lightning.hpp does not: compile with
// -DONNX_ML=1 -DONNX_NAMESPACE=onnx and link onnx, onnx_proto and protobuf.
#if !defined(ONNX_ML) || !defined(ONNX_NAMESPACE)
#error "lightning/export/onnx.hpp: compile with -DONNX_ML=1 -DONNX_NAMESPACE=onnx and link -lonnx -lonnx_proto -lprotobuf (apt-get install libonnx-dev libprotobuf-dev)"
#endif
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <numbers>
#include <optional>
#include <stdexcept>
#include <string>
#include <typeindex>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "../detail/files.hpp"
#include "../version.hpp"
#include "state_dict.hpp"

namespace lightning {

struct OnnxOptions {
  int64_t opset = 17;                                // ai.onnx opset, 13 to 17 (libonnx 1.12 knows up to 17)
  std::vector<std::string> input_names = {"input"};  // one input, one output (lists as in torch.onnx.export)
  std::vector<std::string> output_names = {"output"};
  bool dynamic_batch = true;                         // dim 0 of the input and output: "batch", any size
};

/// A value of the graph being built: its name, and what LibTorch computes for
/// it from the export sample (shapes come from it, and the checks).
struct OnnxValue {
  std::string name;
  torch::Tensor sample;
};

using OnnxAttribute = std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;
using OnnxAttributes = std::vector<std::pair<std::string, OnnxAttribute>>;

class OnnxGraph;
/// A module type's export rule: the value `module` computes from `x`.
using OnnxRule = std::function<OnnxValue(OnnxGraph&, torch::nn::Module&, const OnnxValue&)>;

namespace detail {

template <class T>
struct contained_module {
  using type = T;
};
template <class T>
  requires requires { typename T::ContainedType; }
struct contained_module<T> {  // a ModuleHolder: torch::nn::Linear -> LinearImpl
  using type = typename T::ContainedType;
};

template <class M>
concept HasOnnxForward = requires(M& m, OnnxGraph& g, const OnnxValue& x) {
  { m.onnx_forward(g, x) } -> std::convertible_to<OnnxValue>;
};
template <class M>
concept HasTensorForward = requires(M& m, torch::Tensor x) {
  { m.forward(x) } -> std::convertible_to<torch::Tensor>;
};

struct OnnxRuleRegistry {
  std::mutex mutex;
  std::unordered_map<std::type_index, OnnxRule> rules;
};
inline OnnxRuleRegistry& onnx_rule_registry() {
  static OnnxRuleRegistry registry;
  return registry;
}
inline OnnxRule find_onnx_rule(const std::type_info& type) {
  auto& r = onnx_rule_registry();
  std::lock_guard lock(r.mutex);
  auto it = r.rules.find(type);
  return it == r.rules.end() ? OnnxRule{} : it->second;
}

/// The names of the module types with a built-in rule (for error messages).
inline std::string builtin_onnx_rule_names();
/// The built-in rule's output for `m`, or nullopt when `m`'s type has none.
inline std::optional<OnnxValue> apply_builtin_onnx_rule(OnnxGraph& g, torch::nn::Module& m, const OnnxValue& x);

}  // namespace detail

/// Registers how modules of type `T` (an Impl, or its ModuleHolder) are
/// exported: `rule(OnnxGraph& g, TImpl& module, const OnnxValue& x) -> OnnxValue`.
/// For types you cannot give an onnx_forward, or to replace a built-in rule
/// (LayerNormalization for a runtime that has it, say).
template <class T, class F>
void register_onnx_rule(F rule) {
  using Impl = typename detail::contained_module<T>::type;
  auto& r = detail::onnx_rule_registry();
  std::lock_guard lock(r.mutex);
  r.rules[typeid(Impl)] = [rule = std::move(rule)](OnnxGraph& g, torch::nn::Module& m, const OnnxValue& x) -> OnnxValue {
    return rule(g, dynamic_cast<Impl&>(m), x);  // Module can be a virtual base
  };
}

/// Registers `T`'s own onnx_forward: needed where the exporter meets `T` only
/// as a torch::nn::Module (inside a Sequential, whose children are type-erased).
template <class T>
void register_onnx_rule() {
  using Impl = typename detail::contained_module<T>::type;
  static_assert(detail::HasOnnxForward<Impl>,
                "lightning: register_onnx_rule<T>() without a rule uses T's onnx_forward: define "
                "`L::OnnxValue onnx_forward(L::OnnxGraph& g, const L::OnnxValue& x)` in T, or pass a rule");
  register_onnx_rule<Impl>([](OnnxGraph& g, Impl& m, const OnnxValue& x) { return OnnxValue(m.onnx_forward(g, x)); });
}

template <class M>
::onnx::ModelProto onnx_model(M& module, const torch::Tensor& input_sample, const OnnxOptions& options = {});

/// The graph under construction, as a module's onnx_forward sees it:
///
///   struct BlockImpl : torch::nn::Module {           // a residual block
///     torch::nn::Linear fc{...}; torch::nn::LayerNorm ln{...};
///     torch::Tensor forward(torch::Tensor x) { return x + fc(ln(x)); }
///     L::OnnxValue onnx_forward(L::OnnxGraph& g, const L::OnnxValue& x) { return g.add(x, g(fc, g(ln, x))); }
///   };
class OnnxGraph {
 public:
  using Forward = std::function<torch::Tensor(const torch::Tensor&)>;

  explicit OnnxGraph(OnnxOptions options) : options_(std::move(options)) {}

  /// What `module` (a module, a ModuleHolder such as torch::nn::Linear, or a
  /// shared_ptr to one) computes from `x`: its onnx_forward, a registered or
  /// built-in rule, or its children in order (checked against its forward()).
  template <class M>
  OnnxValue operator()(M& module, const OnnxValue& x) {
    auto& impl = detail::as_module(module);
    using Impl = std::remove_cvref_t<decltype(impl)>;
    Forward forward;
    if constexpr (detail::HasTensorForward<Impl>)
      forward = [&impl](const torch::Tensor& t) -> torch::Tensor { return impl.forward(t); };
    if constexpr (detail::HasOnnxForward<Impl>) {
      Scope scope(*this, impl);
      OnnxValue y = impl.onnx_forward(*this, x);
      if (forward) check_same(impl, x, y, forward, "the graph of its onnx_forward()");
      return y;
    } else {
      return apply(impl, x, forward);
    }
  }

  /// A module known only as a torch::nn::Module (a container's child);
  /// `forward` (may be empty) is its type-erased forward, for the checks.
  OnnxValue apply(torch::nn::Module& module, const OnnxValue& x, const Forward& forward, bool checked_above = false);

  /// One node: `op_type` applied to `inputs`, with `sample` what it computes
  /// on the export sample (may be undefined for a rule's inner values).
  OnnxValue node(const std::string& op_type, const std::vector<OnnxValue>& inputs, torch::Tensor sample,
                 const OnnxAttributes& attributes = {});
  /// A constant (initializer) named after the current module.
  OnnxValue constant(const std::string& name, const torch::Tensor& value);
  /// A weight of the current module, named as in its state_dict (`net.0.weight`).
  OnnxValue weight(const std::string& name, const torch::Tensor& value);
  /// `x` reshaped to the shape of `sample`, dim 0 left free for the batch.
  OnnxValue reshape(const OnnxValue& x, const torch::Tensor& sample);

  OnnxValue add(const OnnxValue& a, const OnnxValue& b) { return node("Add", {a, b}, a.sample + b.sample); }
  OnnxValue sub(const OnnxValue& a, const OnnxValue& b) { return node("Sub", {a, b}, a.sample - b.sample); }
  OnnxValue mul(const OnnxValue& a, const OnnxValue& b) { return node("Mul", {a, b}, a.sample * b.sample); }
  OnnxValue div(const OnnxValue& a, const OnnxValue& b) { return node("Div", {a, b}, a.sample / b.sample); }
  OnnxValue concat(const std::vector<OnnxValue>& values, int64_t axis) {
    std::vector<torch::Tensor> samples;
    for (const auto& v : values) samples.push_back(v.sample);
    return node("Concat", values, torch::cat(samples, axis), {{"axis", axis}});
  }

  const OnnxOptions& options() const noexcept { return options_; }
  /// The state_dict path of the module being exported ("net.0"; "" for the exported module).
  const std::string& path() const noexcept {
    static const std::string root;
    return frames_.empty() ? root : frames_.back().path;
  }
  /// Throws "lightning: export_onnx: <path> (<type>): <what>".
  [[noreturn]] void fail(const std::string& what) const;

 private:
  template <class M>
  friend ::onnx::ModelProto onnx_model(M& module, const torch::Tensor& input_sample, const OnnxOptions& options);

  struct Frame {
    std::string path;
    const torch::nn::Module* module;
  };
  /// Enters a module for as long as it lives: its path names its nodes and weights.
  struct Scope {
    OnnxGraph& g;
    Scope(OnnxGraph& graph, const torch::nn::Module& m) : g(graph) { g.frames_.push_back({g.child_path(m), &m}); }
    ~Scope() { g.frames_.pop_back(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
  };

  std::string child_path(const torch::nn::Module& m);
  std::string unique(const std::string& base);
  void check_same(const torch::nn::Module& m, const OnnxValue& x, const OnnxValue& y, const Forward& forward,
                  const std::string& how) const;
  OnnxValue input(const torch::Tensor& sample);
  ::onnx::ModelProto finish(const OnnxValue& out, const std::string& model_name);
  std::string where(const torch::nn::Module& m) const;

  OnnxOptions options_;
  ::onnx::GraphProto graph_;
  std::vector<Frame> frames_;
  std::unordered_set<std::string> names_;
  std::unordered_set<std::string> consumed_;
  std::unordered_map<std::string, int> producer_;                // value -> index of its node
  std::unordered_map<const void*, std::string> weight_names_;    // TensorImpl -> initializer (shared weights)
  std::vector<std::pair<std::string, torch::Tensor>> samples_;   // node outputs, for the shape check
  std::string input_name_;
  int64_t sample_batch_ = -1;  // the sample's batch size: is the output's dim 0 the batch?
};

// ---------------------------------------------------------------- implementation

namespace detail {

inline int32_t onnx_elem_type(c10::ScalarType t) {
  switch (t) {
    case torch::kFloat: return ::onnx::TensorProto::FLOAT;
    case torch::kDouble: return ::onnx::TensorProto::DOUBLE;
    case torch::kLong: return ::onnx::TensorProto::INT64;
    case torch::kInt: return ::onnx::TensorProto::INT32;
    case torch::kBool: return ::onnx::TensorProto::BOOL;
    default: throw std::runtime_error(std::string("lightning: export_onnx: no ONNX type for ") + c10::toString(t));
  }
}

inline void to_tensor_proto(::onnx::TensorProto* p, const std::string& name, const torch::Tensor& value) {
  auto t = value.detach().to(torch::kCPU).contiguous();
  p->set_name(name);
  p->set_data_type(onnx_elem_type(t.scalar_type()));
  for (auto d : t.sizes()) p->add_dims(d);
  p->set_raw_data(std::string(static_cast<const char*>(t.data_ptr()), t.nbytes()));  // little-endian, as ONNX wants
}

enum class BatchDim { symbolic, unknown, fixed };

inline void set_value_info(::onnx::ValueInfoProto* v, const std::string& name, const torch::Tensor& sample, BatchDim batch) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx_elem_type(sample.scalar_type()));
  auto* shape = t->mutable_shape();
  for (int64_t i = 0; i < sample.dim(); ++i) {
    auto* d = shape->add_dim();
    if (i > 0 || batch == BatchDim::fixed) d->set_dim_value(sample.size(i));
    else if (batch == BatchDim::symbolic) d->set_dim_param("batch");
  }
}

inline void set_attribute(::onnx::AttributeProto* a, const std::string& name, const OnnxAttribute& value) {
  a->set_name(name);
  std::visit(
      [a](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, int64_t>) a->set_type(::onnx::AttributeProto::INT), a->set_i(v);
        else if constexpr (std::is_same_v<V, double>) a->set_type(::onnx::AttributeProto::FLOAT), a->set_f(static_cast<float>(v));
        else if constexpr (std::is_same_v<V, std::string>) a->set_type(::onnx::AttributeProto::STRING), a->set_s(v);
        else if constexpr (std::is_same_v<V, std::vector<int64_t>>) {
          a->set_type(::onnx::AttributeProto::INTS);
          for (auto i : v) a->add_ints(i);
        } else {
          a->set_type(::onnx::AttributeProto::FLOATS);
          for (auto f : v) a->add_floats(static_cast<float>(f));
        }
      },
      value);
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

/// The module's training flags, put back when the export ends: exporting
/// runs the modules in eval mode (BatchNorm's running statistics, no dropout).
class TrainingModeGuard {
 public:
  explicit TrainingModeGuard(torch::nn::Module& root) : root_(&root), root_training_(root.is_training()) {
    for (auto& m : root.modules(/*include_self=*/false)) saved_.emplace_back(m, m->is_training());
    root.eval();
  }
  ~TrainingModeGuard() {
    root_->train(root_training_);  // train() recurses: parents first, then each module its own flag
    for (auto& [m, training] : saved_) m->train(training);
  }
  TrainingModeGuard(const TrainingModeGuard&) = delete;
  TrainingModeGuard& operator=(const TrainingModeGuard&) = delete;

 private:
  torch::nn::Module* root_;
  bool root_training_;
  std::vector<std::pair<std::shared_ptr<torch::nn::Module>, bool>> saved_;
};

}  // namespace detail

inline std::string OnnxGraph::where(const torch::nn::Module& m) const {
  const std::string& p = path();
  return p.empty() ? m.name() : p + " (" + m.name() + ")";
}

inline void OnnxGraph::fail(const std::string& what) const {
  const std::string module = frames_.empty() ? std::string("the model") : where(*frames_.back().module);
  throw std::runtime_error("lightning: export_onnx: " + module + ": " + what);
}

inline std::string OnnxGraph::unique(const std::string& base) {
  std::string name = base;
  for (int i = 1; names_.count(name); ++i) name = base + "_" + std::to_string(i);
  names_.insert(name);
  return name;
}

inline std::string OnnxGraph::child_path(const torch::nn::Module& m) {
  if (frames_.empty()) return "";
  const auto& parent = frames_.back();
  auto join = [&](const std::string& name) { return parent.path.empty() ? name : parent.path + "." + name; };
  for (const auto& c : parent.module->named_children())
    if (c.value().get() == &m) return join(c.key());
  // A module that is not a registered child (a temporary in onnx_forward): named by its type.
  std::string type = m.name();
  if (auto colon = type.rfind(':'); colon != std::string::npos) type = type.substr(colon + 1);
  return unique(join(type));
}

inline OnnxValue OnnxGraph::node(const std::string& op_type, const std::vector<OnnxValue>& inputs, torch::Tensor sample,
                                 const OnnxAttributes& attributes) {
  const std::string name = unique(path().empty() ? op_type : path() + "/" + op_type);
  auto* n = graph_.add_node();
  n->set_name(name);
  n->set_op_type(op_type);
  for (const auto& in : inputs) {
    n->add_input(in.name);
    consumed_.insert(in.name);
  }
  n->add_output(name);
  for (const auto& [key, value] : attributes) detail::set_attribute(n->add_attribute(), key, value);
  producer_[name] = graph_.node_size() - 1;
  if (sample.defined()) samples_.emplace_back(name, sample);
  return {name, std::move(sample)};
}

inline OnnxValue OnnxGraph::constant(const std::string& name, const torch::Tensor& value) {
  const std::string full = unique(path().empty() ? name : path() + "/" + name);
  detail::to_tensor_proto(graph_.add_initializer(), full, value);
  return {full, value};
}

inline OnnxValue OnnxGraph::weight(const std::string& name, const torch::Tensor& value) {
  const void* impl = value.unsafeGetTensorImpl();
  if (auto it = weight_names_.find(impl); it != weight_names_.end()) return {it->second, value};  // shared or reused
  const std::string full = unique(path().empty() ? name : path() + "." + name);
  detail::to_tensor_proto(graph_.add_initializer(), full, value);
  weight_names_[impl] = full;
  return {full, value};
}

inline OnnxValue OnnxGraph::reshape(const OnnxValue& x, const torch::Tensor& sample) {
  std::vector<int64_t> shape(sample.sizes().begin(), sample.sizes().end());
  if (!shape.empty()) shape[0] = -1;  // the batch: every other dim is static
  return node("Reshape", {x, constant("shape", torch::tensor(shape, torch::kLong))}, sample);
}

inline void OnnxGraph::check_same(const torch::nn::Module& m, const OnnxValue& x, const OnnxValue& y,
                                  const Forward& forward, const std::string& how) const {
  const torch::Tensor expected = forward(x.sample.clone());
  std::string problem;
  if (!y.sample.defined()) problem = how + " returned a value without a sample";
  else if (expected.sizes() != y.sample.sizes())
    problem = how + " gives shape " + detail::shape_str(y.sample.sizes()) + ", its forward() " + detail::shape_str(expected.sizes());
  else if (expected.numel() > 0) {
    const double diff = detail::max_abs_diff(expected, y.sample);
    const double scale = 1.0 + expected.abs().max().to(torch::kDouble).item<double>();
    if (!(diff <= 1e-5 * scale))
      problem = how + " does not compute what its forward() computes on the sample (max abs difference " +
                std::to_string(diff) + ")";
  }
  if (!problem.empty())
    throw std::runtime_error("lightning: export_onnx: " + where(m) + ": " + problem +
                             ". Describe its forward() for the exporter: define `L::OnnxValue onnx_forward(L::OnnxGraph& "
                             "g, const L::OnnxValue& x)` in it, and call L::register_onnx_rule<T>() when it sits in a "
                             "Sequential (README: Export)");
}

inline OnnxValue OnnxGraph::apply(torch::nn::Module& module, const OnnxValue& x, const Forward& forward, bool checked_above) {
  Scope scope(*this, module);
  if (auto rule = detail::find_onnx_rule(typeid(module))) {
    OnnxValue y = rule(*this, module, x);
    if (forward) check_same(module, x, y, forward, "the graph of its registered rule");
    return y;
  }
  if (auto y = detail::apply_builtin_onnx_rule(*this, module, x)) return *y;
  const auto children = module.named_children();
  if (!children.is_empty() && (forward || checked_above)) {
    OnnxValue y = x;
    try {
      for (const auto& c : children) y = apply(*c.value(), y, {}, /*checked_above=*/true);
    } catch (const std::runtime_error& e) {
      if (!forward) throw;
      throw std::runtime_error(std::string(e.what()) + " (while exporting " + where(module) +
                               " as its children in registration order; if its forward() is not that, define its "
                               "onnx_forward)");
    }
    if (forward) check_same(module, x, y, forward, "the graph of its children in registration order");
    return y;
  }
  fail("no ONNX export rule for this module type. Supported: " + detail::builtin_onnx_rule_names() +
       "; a module of yours: define `L::OnnxValue onnx_forward(L::OnnxGraph& g, const L::OnnxValue& x)` in it (and "
       "call L::register_onnx_rule<T>() when it sits in a Sequential); a type you cannot change: "
       "L::register_onnx_rule<T>(rule)");
}

// ---------------------------------------------------------------- the model

inline OnnxValue OnnxGraph::input(const torch::Tensor& sample) {
  input_name_ = options_.input_names.at(0);
  names_.insert(input_name_);
  detail::set_value_info(graph_.add_input(), input_name_, sample,
                         options_.dynamic_batch ? detail::BatchDim::symbolic : detail::BatchDim::fixed);
  return {input_name_, sample};
}

inline ::onnx::ModelProto OnnxGraph::finish(const OnnxValue& out, const std::string& model_name) {
  const std::string& output_name = options_.output_names.at(0);
  if (names_.count(output_name))
    throw std::invalid_argument("lightning: export_onnx: output name '" + output_name +
                                "' is already the name of a value or weight of the graph; expected another");
  // The output is the last node's own output when nothing else reads it; else an Identity.
  auto it = producer_.find(out.name);
  if (it != producer_.end() && !consumed_.count(out.name)) {
    graph_.mutable_node(it->second)->set_output(0, output_name);
  } else {
    auto* n = graph_.add_node();
    n->set_name(output_name + "/Identity");
    n->set_op_type("Identity");
    n->add_input(out.name);
    n->add_output(output_name);
  }
  const bool batch_kept = out.sample.dim() > 0 && out.sample.size(0) == sample_batch_;
  detail::set_value_info(graph_.add_output(), output_name, out.sample,
                         !options_.dynamic_batch ? detail::BatchDim::fixed
                         : batch_kept            ? detail::BatchDim::symbolic
                                                 : detail::BatchDim::unknown);
  graph_.set_name(model_name);

  ::onnx::ModelProto model;
  model.set_ir_version(::onnx::IR_VERSION);
  model.set_producer_name("lightning-cpp");
  model.set_producer_version(lightning::version);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(options_.opset);
  *model.mutable_graph() = std::move(graph_);

  // onnx.checker.check_model(model, full_check=True), plus every node's
  // inferred shape against the one LibTorch computed on the sample.
  try {
    ::onnx::checker::check_model(model);
    ::onnx::ModelProto checked = model;
    for (const auto& [name, sample] : samples_)
      if (name != out.name)
        detail::set_value_info(checked.mutable_graph()->add_value_info(), name, sample,
                               options_.dynamic_batch ? detail::BatchDim::unknown : detail::BatchDim::fixed);
    ::onnx::shape_inference::InferShapes(checked, ::onnx::OpSchemaRegistry::Instance(),
                                         ::onnx::ShapeInferenceOptions(/*check_type=*/true, /*strict_mode=*/1));
  } catch (const std::exception& e) {
    throw std::runtime_error("lightning: export_onnx: the ONNX checker rejects the graph of " + model_name + ": " +
                             e.what() + " (a bug in an export rule: the module's rule or its onnx_forward)");
  }
  return model;
}

/// The checked ONNX model of `module` (a module, a ModuleHolder or a
/// shared_ptr) run on `input_sample`, without writing it.
template <class M>
::onnx::ModelProto onnx_model(M& module, const torch::Tensor& input_sample, const OnnxOptions& options) {
  const std::string where = "lightning: export_onnx: ";
  if (options.opset < 13 || options.opset > 17)
    throw std::invalid_argument(where + "opset " + std::to_string(options.opset) +
                                " is not supported; expected 13 to 17 (libonnx 1.12 knows opsets up to 17)");
  if (options.input_names.size() != 1 || options.output_names.size() != 1)
    throw std::invalid_argument(where + "expected one input name and one output name, got " +
                                std::to_string(options.input_names.size()) + " and " +
                                std::to_string(options.output_names.size()));
  if (options.input_names[0].empty() || options.output_names[0].empty() || options.input_names[0] == options.output_names[0])
    throw std::invalid_argument(where + "expected non-empty, different input and output names, got '" +
                                options.input_names[0] + "' and '" + options.output_names[0] + "'");
  if (!input_sample.defined()) throw std::invalid_argument(where + "input_sample is undefined; expected a tensor");
  if (options.dynamic_batch && input_sample.dim() == 0)
    throw std::invalid_argument(where + "dynamic_batch needs an input sample with a batch dimension, got a scalar");
  if (input_sample.is_floating_point() && input_sample.scalar_type() != torch::kFloat)
    throw std::invalid_argument(where + "input_sample is " + c10::toString(input_sample.scalar_type()) +
                                "; expected float32 (or integer indices for an Embedding)");
  torch::nn::Module& root = detail::as_module(module);
  for (const auto& [name, t] : detail::state_entries(root))
    if (t.is_floating_point() && t.scalar_type() != torch::kFloat)
      throw std::invalid_argument(where + name + " is " + c10::toString(t.scalar_type()) +
                                  "; expected float32 weights: module->to(torch::kFloat) before exporting");

  detail::TrainingModeGuard eval_mode(root);
  torch::NoGradGuard no_grad;
  OnnxGraph graph(options);
  graph.sample_batch_ = input_sample.dim() > 0 ? input_sample.size(0) : -1;
  auto out = graph(module, graph.input(input_sample));
  return graph.finish(out, root.name());
}

/// Writes the ONNX graph of `module` run on `input_sample` to `path`
/// (checked first, then written through a temporary file).
template <class M>
void export_onnx(M& module, const torch::Tensor& input_sample, const std::filesystem::path& path,
                 const OnnxOptions& options = {}) {
  const auto model = onnx_model(module, input_sample, options);
  std::string bytes;
  if (model.ByteSizeLong() > (std::size_t{1} << 31) - 1 || !model.SerializeToString(&bytes))
    throw std::runtime_error("lightning: export_onnx: the model exceeds protobuf's 2 GiB limit (ONNX external data "
                             "is not supported)");
  detail::write_file_atomic(path, bytes);
}

}  // namespace lightning

// The built-in rules OnnxGraph falls back to (Linear -> Gemm, ...): their own header.
#include "onnx_rules.hpp"
