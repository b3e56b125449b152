#pragma once
// precision::F64 ("64-true"): everything in float64, as Lightning's
// DoublePrecision: the module's floating parameters and buffers are cast to
// double at setup, the batch's floating tensors too (integer tensors such as
// class labels stay as they are), and inside forward the default dtype is
// double so tensors made in training_step match. The "-true" half precisions
// (bf16_true.hpp, f16_true.hpp) are the same with another dtype.
#include <torch/torch.h>

#include <type_traits>
#include <utility>

#include "../data/apply_to_collection.hpp"
#include "f32.hpp"

namespace lightning::precision {

/// `torch.set_default_dtype(dtype)` for as long as the guard lives, then the
/// previous default again. The default dtype is process-wide, as in Python.
class DefaultDtype {
 public:
  explicit DefaultDtype(torch::ScalarType dtype) : prev_(c10::get_default_dtype()) {
    c10::set_default_dtype(caffe2::TypeMeta::fromScalarType(dtype));
  }
  ~DefaultDtype() { c10::set_default_dtype(prev_); }
  DefaultDtype(const DefaultDtype&) = delete;
  DefaultDtype& operator=(const DefaultDtype&) = delete;

 private:
  caffe2::TypeMeta prev_;
};

namespace detail {

/// The body of a "-true" precision: module, floating inputs and default dtype
/// all in `Dtype`; backward, step and (empty) state are F32's. Derived types add `name`.
template <torch::ScalarType Dtype>
struct TruePrecision : F32 {
  static constexpr torch::ScalarType dtype = Dtype;

  /// Default dtype `Dtype` while the guard lives (torch::ones etc. in training_step).
  static DefaultDtype forward_context() { return DefaultDtype(Dtype); }

  /// Casts the floating parameters (and their gradients) and buffers of
  /// `module` and its children to `Dtype`, in place (Python's module.double():
  /// unlike torch::nn::Module::to(dtype), integer buffers keep their type).
  template <class Module>
  static void convert_module(Module& module) {
    if constexpr (requires { module.ptr(); }) {  // a ModuleHolder such as torch::nn::Linear
      convert_module(*module);
    } else {
      torch::NoGradGuard no_grad;
      for (auto& p : module.parameters(/*recurse=*/true)) {
        if (!castable(p)) continue;
        p.set_data(p.to(Dtype));
        if (p.grad().defined() && castable(p.grad())) p.mutable_grad().set_data(p.grad().to(Dtype));
      }
      for (auto& b : module.buffers(/*recurse=*/true))
        if (castable(b)) b.set_data(b.to(Dtype));
    }
  }

  /// `batch` with every floating tensor cast to `Dtype`, through nested
  /// collections (data::map_tensors); other tensors are left as they are.
  template <class B>
  static std::remove_cvref_t<B> convert_input(B&& batch) {
    return data::map_tensors(std::remove_cvref_t<B>(std::forward<B>(batch)),
                             [](torch::Tensor t) { return castable(t) ? t.to(Dtype) : t; });
  }

 private:
  static bool castable(const torch::Tensor& t) { return t.is_floating_point() && t.scalar_type() != Dtype; }
};

}  // namespace detail

/// "64-true" (see the top of this file).
struct F64 : detail::TruePrecision<torch::kDouble> {
  static constexpr const char* name = "64-true";
};

}  // namespace lightning::precision
