#pragma once
// Reading and writing a callback's state dict (`checkpoint["callbacks"][key]`):
// a dict of str keys to None / int / float / str / nested dict IValues, with
// errors that name the callback and the key.
#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>
#include <ATen/core/jit_type.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace lightning::detail {

inline c10::impl::GenericDict new_state_dict() {
  return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get());
}

inline c10::IValue optional_ivalue(const std::optional<double>& v) { return v ? c10::IValue(*v) : c10::IValue(); }
inline c10::IValue optional_ivalue(const std::optional<std::string>& v) { return v ? c10::IValue(*v) : c10::IValue(); }

/// One entry of a state dict; `owner` names the callback in errors.
class StateReader {
 public:
  StateReader(const c10::impl::GenericDict& d, std::string owner) : d_(d), owner_(std::move(owner)) {}

  const c10::IValue& at(const std::string& key) const {
    auto it = d_.find(c10::IValue(key));
    if (it == d_.end())
      throw std::runtime_error(owner_ + ".load_state_dict: the state has no key '" + key + "'");
    return it->value();
  }
  bool contains(const std::string& key) const { return d_.find(c10::IValue(key)) != d_.end(); }

  [[noreturn]] void wrong_type(const std::string& key, const char* expected) const {
    throw std::runtime_error(owner_ + ".load_state_dict: '" + key + "' should be " + expected + ", got " +
                             at(key).tagKind());
  }

  int64_t integer(const std::string& key) const {
    const auto& v = at(key);
    if (v.isInt()) return v.toInt();
    if (v.isBool()) return v.toBool() ? 1 : 0;
    wrong_type(key, "an int");
  }
  /// A float; ints and 0-dim tensors (Lightning keeps scores as tensors) are accepted too.
  double number(const std::string& key) const { return number_of(at(key), key); }
  std::optional<double> optional_number(const std::string& key) const {
    const auto& v = at(key);
    if (v.isNone()) return std::nullopt;
    return number_of(v, key);
  }
  std::string string(const std::string& key) const {
    const auto& v = at(key);
    if (v.isString()) return v.toStringRef();
    wrong_type(key, "a str");
  }
  std::optional<std::string> optional_string(const std::string& key) const {
    const auto& v = at(key);
    if (v.isNone()) return std::nullopt;
    if (v.isString()) return v.toStringRef();
    wrong_type(key, "a str or None");
  }
  c10::impl::GenericDict dict(const std::string& key) const {
    const auto& v = at(key);
    if (v.isGenericDict()) return v.toGenericDict();
    wrong_type(key, "a dict");
  }

  double number_of(const c10::IValue& v, const std::string& key) const {
    if (v.isDouble()) return v.toDouble();
    if (v.isInt()) return static_cast<double>(v.toInt());
    if (v.isTensor() && v.toTensor().numel() == 1) return v.toTensor().item<double>();
    throw std::runtime_error(owner_ + ".load_state_dict: '" + key + "' should be a float, got " + v.tagKind());
  }

 private:
  const c10::impl::GenericDict& d_;
  std::string owner_;
};

}  // namespace lightning::detail
