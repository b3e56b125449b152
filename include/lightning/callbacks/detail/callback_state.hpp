#pragma once
// Reading and writing a callback's state dict (`checkpoint["callbacks"][key]`):
// a dict of str keys to None / int / float / str / nested dict IValues, with
// errors that name the callback and the key.
#include <torch/torch.h>

#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>
#include <ATen/core/jit_type.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace lightning::detail {

c10::impl::GenericDict new_state_dict();

/// A monitored score as Lightning stores it: a 0-dim float32 tensor (None when unset).
c10::IValue score_ivalue(double v);
c10::IValue optional_ivalue(const std::optional<double>& v);
c10::IValue optional_ivalue(const std::optional<std::string>& v);

/// One entry of a state dict; `owner` names the callback in errors.
class StateReader {
 public:
  StateReader(const c10::impl::GenericDict& d, std::string owner);

  const c10::IValue& at(const std::string& key) const;
  bool contains(const std::string& key) const { return d_.find(c10::IValue(key)) != d_.end(); }

  [[noreturn]] void wrong_type(const std::string& key, const char* expected) const {
    throw std::runtime_error(owner_ + ".load_state_dict: '" + key + "' should be " + expected + ", got " +
                             at(key).tagKind());
  }

  int64_t integer(const std::string& key) const;
  /// A float; ints and 0-dim tensors (Lightning keeps scores as tensors) are accepted too.
  double number(const std::string& key) const;
  std::optional<double> optional_number(const std::string& key) const;
  std::string string(const std::string& key) const;
  std::optional<std::string> optional_string(const std::string& key) const;
  c10::impl::GenericDict dict(const std::string& key) const;

  double number_of(const c10::IValue& v, const std::string& key) const;

 private:
  const c10::impl::GenericDict& d_;
  std::string owner_;
};

}  // namespace lightning::detail
