#pragma once
// An optimizer's state in PyTorch's `optimizer.state_dict()` layout
// ({"state": {0: {...}}, "param_groups": [{"lr": ..., "params": [0, 1]}]}),
// so Python can load it, and back. LibTorch 1.13's own Optimizer::load
// drops the groups' options (lr, momentum...): here they are restored too.
#include <torch/torch.h>

#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dict.hpp"

namespace lightning::checkpoint {

/// How one optimizer type's options and per-parameter state map to
/// PyTorch's keys. Specialize it for an optimizer of your own; types without
/// one are stored through LibTorch's archive (readable by C++ only).
template <class Opt>
struct OptimizerCodec;

namespace detail {

inline torch::Tensor step_tensor(int64_t step) { return torch::scalar_tensor(static_cast<double>(step), torch::kFloat); }
/// Python stores `step` as a float tensor (Adam) or an int (RMSprop).
inline int64_t read_step(const Dict& d, std::string_view where) {
  const auto v = at(d, "step", where);
  if (v.isInt()) return v.toInt();
  if (v.isTensor()) return static_cast<int64_t>(v.toTensor().item<double>());
  if (v.isDouble()) return static_cast<int64_t>(v.toDouble());
  throw CheckpointError("lightning: checkpoint: 'step' in " + std::string(where) + " should be a number, found " +
                        v.tagKind());
}
inline c10::IValue tensor_or_none(const torch::Tensor& t) { return t.defined() ? c10::IValue(t) : c10::IValue(); }
inline torch::Tensor tensor_or_undefined(const Dict& d, std::string_view key, std::string_view where) {
  auto it = d.find(std::string(key));
  if (it == d.end() || it->value().isNone()) return {};
  return get<torch::Tensor>(d, key, where);
}
inline c10::IValue betas(const std::tuple<double, double>& b) {
  return c10::ivalue::Tuple::create(std::get<0>(b), std::get<1>(b));
}
inline std::tuple<double, double> read_betas(const Dict& d, std::string_view where) {
  const auto v = at(d, "betas", where);
  std::vector<c10::IValue> el;
  if (v.isTuple()) el = v.toTupleRef().elements().vec();
  else if (v.isList()) for (const c10::IValue& e : v.toList()) el.push_back(e);
  if (el.size() != 2 || !el[0].isDouble() || !el[1].isDouble())
    throw CheckpointError("lightning: checkpoint: 'betas' in " + std::string(where) + " should be two floats");
  return {el[0].toDouble(), el[1].toDouble()};
}

template <class Options, class State>
struct CodecTypes {
  using options_type = Options;
  using state_type = State;
};
}  // namespace detail

template <>
struct OptimizerCodec<torch::optim::SGD> : detail::CodecTypes<torch::optim::SGDOptions, torch::optim::SGDParamState> {
  static void save_options(const options_type& o, Dict& d) {
    d.insert("lr", o.lr());
    d.insert("momentum", o.momentum());
    d.insert("dampening", o.dampening());
    d.insert("weight_decay", o.weight_decay());
    d.insert("nesterov", o.nesterov());
  }
  static void load_options(options_type& o, const Dict& d, std::string_view w) {
    o.lr(get<double>(d, "lr", w)).momentum(get<double>(d, "momentum", w)).dampening(get<double>(d, "dampening", w));
    o.weight_decay(get<double>(d, "weight_decay", w)).nesterov(get<bool>(d, "nesterov", w));
  }
  static void save_state(const state_type& s, Dict& d) { d.insert("momentum_buffer", detail::tensor_or_none(s.momentum_buffer())); }
  static void load_state(state_type& s, const Dict& d, std::string_view w) {
    s.momentum_buffer(detail::tensor_or_undefined(d, "momentum_buffer", w));
  }
};

namespace detail {
/// Adam and AdamW share every key.
template <class Options, class State>
struct AdamCodec : CodecTypes<Options, State> {
  static void save_options(const Options& o, Dict& d) {
    d.insert("lr", o.lr());
    d.insert("betas", betas(o.betas()));
    d.insert("eps", o.eps());
    d.insert("weight_decay", o.weight_decay());
    d.insert("amsgrad", o.amsgrad());
  }
  static void load_options(Options& o, const Dict& d, std::string_view w) {
    o.lr(get<double>(d, "lr", w)).betas(read_betas(d, w)).eps(get<double>(d, "eps", w));
    o.weight_decay(get<double>(d, "weight_decay", w)).amsgrad(get<bool>(d, "amsgrad", w));
  }
  static void save_state(const State& s, Dict& d) {
    d.insert("step", step_tensor(s.step()));
    d.insert("exp_avg", s.exp_avg());
    d.insert("exp_avg_sq", s.exp_avg_sq());
    if (s.max_exp_avg_sq().defined()) d.insert("max_exp_avg_sq", s.max_exp_avg_sq());
  }
  static void load_state(State& s, const Dict& d, std::string_view w) {
    s.step(read_step(d, w));
    s.exp_avg(get<torch::Tensor>(d, "exp_avg", w));
    s.exp_avg_sq(get<torch::Tensor>(d, "exp_avg_sq", w));
    s.max_exp_avg_sq(tensor_or_undefined(d, "max_exp_avg_sq", w));
  }
};
}  // namespace detail

template <>
struct OptimizerCodec<torch::optim::Adam> : detail::AdamCodec<torch::optim::AdamOptions, torch::optim::AdamParamState> {};
template <>
struct OptimizerCodec<torch::optim::AdamW>
    : detail::AdamCodec<torch::optim::AdamWOptions, torch::optim::AdamWParamState> {};

template <>
struct OptimizerCodec<torch::optim::RMSprop>
    : detail::CodecTypes<torch::optim::RMSpropOptions, torch::optim::RMSpropParamState> {
  static void save_options(const options_type& o, Dict& d) {
    d.insert("lr", o.lr());
    d.insert("alpha", o.alpha());
    d.insert("eps", o.eps());
    d.insert("weight_decay", o.weight_decay());
    d.insert("momentum", o.momentum());
    d.insert("centered", o.centered());
  }
  static void load_options(options_type& o, const Dict& d, std::string_view w) {
    o.lr(get<double>(d, "lr", w)).alpha(get<double>(d, "alpha", w)).eps(get<double>(d, "eps", w));
    o.weight_decay(get<double>(d, "weight_decay", w)).momentum(get<double>(d, "momentum", w));
    o.centered(get<bool>(d, "centered", w));
  }
  static void save_state(const state_type& s, Dict& d) {
    d.insert("step", s.step());
    d.insert("square_avg", s.square_avg());
    if (s.momentum_buffer().defined()) d.insert("momentum_buffer", s.momentum_buffer());
    if (s.grad_avg().defined()) d.insert("grad_avg", s.grad_avg());
  }
  static void load_state(state_type& s, const Dict& d, std::string_view w) {
    s.step(detail::read_step(d, w));
    s.square_avg(get<torch::Tensor>(d, "square_avg", w));
    s.momentum_buffer(detail::tensor_or_undefined(d, "momentum_buffer", w));
    s.grad_avg(detail::tensor_or_undefined(d, "grad_avg", w));
  }
};

template <>
struct OptimizerCodec<torch::optim::Adagrad>
    : detail::CodecTypes<torch::optim::AdagradOptions, torch::optim::AdagradParamState> {
  static void save_options(const options_type& o, Dict& d) {
    d.insert("lr", o.lr());
    d.insert("lr_decay", o.lr_decay());
    d.insert("weight_decay", o.weight_decay());
    d.insert("initial_accumulator_value", o.initial_accumulator_value());
    d.insert("eps", o.eps());
  }
  static void load_options(options_type& o, const Dict& d, std::string_view w) {
    o.lr(get<double>(d, "lr", w)).lr_decay(get<double>(d, "lr_decay", w)).weight_decay(get<double>(d, "weight_decay", w));
    o.initial_accumulator_value(get<double>(d, "initial_accumulator_value", w)).eps(get<double>(d, "eps", w));
  }
  static void save_state(const state_type& s, Dict& d) {
    d.insert("step", detail::step_tensor(s.step()));
    d.insert("sum", s.sum());
  }
  static void load_state(state_type& s, const Dict& d, std::string_view w) {
    s.step(detail::read_step(d, w));
    s.sum(get<torch::Tensor>(d, "sum", w));
  }
};

template <class Opt>
concept HasOptimizerCodec = requires { typename OptimizerCodec<Opt>::options_type; };

namespace detail {
inline std::string state_key(const torch::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }
}  // namespace detail

/// `optimizer.state_dict()` as PyTorch lays it out. Optimizers without a
/// codec are stored through LibTorch's archive under "lightning_cpp_archive",
/// which LibTorch's own reader loads back: unlike the rest of a checkpoint,
/// not bounded against hostile bytes (give such an optimizer a codec).
template <class Opt>
Dict optimizer_state_dict(Opt& opt) {
  Dict out = make_dict();
  if constexpr (requires { opt.visit([](auto&) { return Dict(make_dict()); }); }) {
    // Chosen at run time (optim::AnyOptimizer): the concrete optimizer's layout.
    return opt.visit([](auto& o) { return optimizer_state_dict(o); });
  } else if constexpr (HasOptimizerCodec<Opt>) {
    using C = OptimizerCodec<Opt>;
    Dict state = make_int_dict();
    List groups = make_list();
    int64_t index = 0;
    for (auto& g : opt.param_groups()) {
      Dict gd = make_dict();
      C::save_options(static_cast<const typename C::options_type&>(g.options()), gd);
      c10::List<int64_t> params;
      for (const auto& p : g.params()) {
        auto it = opt.state().find(detail::state_key(p));
        if (it != opt.state().end()) {
          Dict sd = make_dict();
          C::save_state(static_cast<const typename C::state_type&>(*it->second), sd);
          state.insert(index, sd);
        }
        params.push_back(index++);
      }
      gd.insert("params", params);
      groups.push_back(gd);
    }
    out.insert("state", state);
    out.insert("param_groups", groups);
  } else if constexpr (std::is_base_of_v<torch::optim::Optimizer, Opt>) {
    torch::serialize::OutputArchive archive;
    opt.save(archive);
    std::ostringstream bytes;
    archive.save_to(bytes);
    const std::string s = bytes.str();
    out.insert("lightning_cpp_archive", torch::from_blob(const_cast<char*>(s.data()), {static_cast<int64_t>(s.size())},
                                                         torch::kUInt8).clone());
    List lrs = make_list();
    for (auto& g : opt.param_groups()) lrs.push_back(g.options().get_lr());
    out.insert("lrs", lrs);
  }
  return out;
}

namespace detail {
/// One parameter group's options and its parameters' states, decoded (not applied).
template <class C>
struct DecodedGroup {
  std::unique_ptr<torch::optim::OptimizerOptions> options;
  std::vector<std::pair<std::string, std::unique_ptr<typename C::state_type>>> states;
};

template <class C>
DecodedGroup<C> decode_group(const torch::optim::OptimizerParamGroup& own, const c10::IValue& gv, const Dict& state,
                             const std::string& where, const std::string& gw) {
  using S = typename C::state_type;
  if (!gv.isGenericDict()) throw CheckpointError("lightning: checkpoint: " + gw + " should be a dict");
  const auto gd = gv.toGenericDict();
  const auto ids = at(gd, "params", gw);
  if (!ids.isList()) throw CheckpointError("lightning: checkpoint: " + gw + ".params should be a list");
  const auto id_list = ids.toList();
  const auto& params = own.params();
  if (id_list.size() != params.size())
    throw CheckpointError("lightning: checkpoint: " + gw + " has " + std::to_string(id_list.size()) +
                          " parameters, the optimizer's group has " + std::to_string(params.size()));
  DecodedGroup<C> out;
  auto o = std::make_unique<typename C::options_type>(static_cast<const typename C::options_type&>(own.options()));
  C::load_options(*o, gd, gw);
  out.options = std::move(o);
  for (std::size_t pi = 0; pi < params.size(); ++pi) {
    const c10::IValue idv = id_list.get(pi);
    if (!idv.isInt()) throw CheckpointError("lightning: checkpoint: " + gw + ".params should hold ints");
    auto it = state.find(idv.toInt());
    if (it == state.end()) continue;  // a parameter that never had a step
    const std::string sw = where + ".state[" + std::to_string(idv.toInt()) + "]";
    if (!it->value().isGenericDict()) throw CheckpointError("lightning: checkpoint: " + sw + " should be a dict");
    auto s = std::make_unique<S>();
    C::load_state(*s, it->value().toGenericDict(), sw);
    for (const auto& e : it->value().toGenericDict()) {
      if (!e.value().isTensor() || e.value().toTensor().dim() == 0) continue;
      if (e.value().toTensor().sizes() != params[pi].sizes())
        throw CheckpointError("lightning: checkpoint: " + sw + "." + e.key().toStringRef() + " has shape " +
                              c10::str(e.value().toTensor().sizes()) + ", the parameter has shape " +
                              c10::str(params[pi].sizes()));
    }
    out.states.emplace_back(state_key(params[pi]), std::move(s));
  }
  return out;
}
}  // namespace detail

/// Restores `opt` from optimizer_state_dict()'s layout, checking group and
/// parameter counts and every state tensor's shape before changing anything.
template <class Opt>
void load_optimizer_state_dict(Opt& opt, const Dict& sd, const std::string& where = "optimizer_states[0]") {
  if constexpr (requires { opt.visit([](auto&) {}); }) {
    opt.visit([&](auto& o) { load_optimizer_state_dict(o, sd, where); });
  } else if constexpr (HasOptimizerCodec<Opt>) {
    using C = OptimizerCodec<Opt>;
    auto groups = get<List>(sd, "param_groups", where);
    auto state = get<Dict>(sd, "state", where);
    auto& own = opt.param_groups();
    if (groups.size() != own.size())
      throw CheckpointError("lightning: checkpoint: " + where + " has " + std::to_string(groups.size()) +
                            " parameter groups, the optimizer has " + std::to_string(own.size()));
    // Decode everything first: a mismatch must leave the optimizer as it was.
    std::vector<detail::DecodedGroup<C>> decoded;
    for (std::size_t gi = 0; gi < own.size(); ++gi)
      decoded.push_back(detail::decode_group<C>(own[gi], groups.get(gi), state, where,
                                                where + ".param_groups[" + std::to_string(gi) + "]"));
    opt.state().clear();
    for (std::size_t gi = 0; gi < own.size(); ++gi) {
      own[gi].set_options(std::move(decoded[gi].options));
      for (auto& [k, s] : decoded[gi].states) opt.state()[k] = std::move(s);
    }
  } else if constexpr (std::is_base_of_v<torch::optim::Optimizer, Opt>) {
    const auto blob = get<torch::Tensor>(sd, "lightning_cpp_archive", where).contiguous();
    if (blob.scalar_type() != torch::kByte || blob.dim() != 1)
      throw CheckpointError("lightning: checkpoint: " + where + ".lightning_cpp_archive should be a uint8 tensor");
    const auto lrs = get<List>(sd, "lrs", where);
    auto& own = opt.param_groups();
    if (lrs.size() != own.size())
      throw CheckpointError("lightning: checkpoint: " + where + " has " + std::to_string(lrs.size()) +
                            " parameter groups, the optimizer has " + std::to_string(own.size()));
    torch::serialize::InputArchive archive;
    archive.load_from(static_cast<const char*>(blob.data_ptr()), static_cast<std::size_t>(blob.numel()));
    opt.load(archive);
    for (std::size_t i = 0; i < own.size(); ++i) {
      const c10::IValue lr = lrs.get(i);
      if (!lr.isDouble()) throw CheckpointError("lightning: checkpoint: " + where + ".lrs should hold floats");
      own[i].options().set_lr(lr.toDouble());
    }
  }
}

}  // namespace lightning::checkpoint

// LibTorch's optimizers: compiled once in the library, not in every program.
namespace lightning::checkpoint {
#define LIGHTNING_EXTERN_OPTIMIZER_STATE(Opt)                    \
  extern template Dict optimizer_state_dict<Opt>(Opt&);          \
  extern template void load_optimizer_state_dict<Opt>(Opt&, const Dict&, const std::string&);
LIGHTNING_EXTERN_OPTIMIZER_STATE(torch::optim::SGD)
LIGHTNING_EXTERN_OPTIMIZER_STATE(torch::optim::Adam)
LIGHTNING_EXTERN_OPTIMIZER_STATE(torch::optim::AdamW)
LIGHTNING_EXTERN_OPTIMIZER_STATE(torch::optim::RMSprop)
LIGHTNING_EXTERN_OPTIMIZER_STATE(torch::optim::Adagrad)
#undef LIGHTNING_EXTERN_OPTIMIZER_STATE
}  // namespace lightning::checkpoint
