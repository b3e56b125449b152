// (see include/lightning/callbacks/detail/callback_state.hpp)
#include "lightning/callbacks/detail/callback_state.hpp"

#include <ATen/ATen.h>

namespace lightning::detail {

c10::impl::GenericDict new_state_dict() { return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get()); }

c10::IValue optional_ivalue(const std::optional<double>& v) { return v ? score_ivalue(*v) : c10::IValue(); }

// Lightning keeps monitored scores as the 0-dim float32 tensors they were logged as.
c10::IValue score_ivalue(double v) { return at::scalar_tensor(v, at::kFloat); }

c10::IValue optional_ivalue(const std::optional<std::string>& v) { return v ? c10::IValue(*v) : c10::IValue(); }

}  // namespace lightning::detail
// (see callbacks/detail/callback_state.hpp)

namespace lightning::detail {

StateReader::StateReader(const c10::impl::GenericDict& d, std::string owner) : d_(d), owner_(std::move(owner)) {}

const c10::IValue& StateReader::at(const std::string& key) const {
  auto it = d_.find(c10::IValue(key));
  if (it == d_.end()) throw std::runtime_error(owner_ + ".load_state_dict: the state has no key '" + key + "'");
  return it->value();
}

int64_t StateReader::integer(const std::string& key) const {
  const auto& v = at(key);
  if (v.isInt()) return v.toInt();
  if (v.isBool()) return v.toBool() ? 1 : 0;
  wrong_type(key, "an int");
}

double StateReader::number(const std::string& key) const { return number_of(at(key), key); }

std::optional<double> StateReader::optional_number(const std::string& key) const {
  const auto& v = at(key);
  if (v.isNone()) return std::nullopt;
  return number_of(v, key);
}

std::string StateReader::string(const std::string& key) const {
  const auto& v = at(key);
  if (v.isString()) return v.toStringRef();
  wrong_type(key, "a str");
}

std::optional<std::string> StateReader::optional_string(const std::string& key) const {
  const auto& v = at(key);
  if (v.isNone()) return std::nullopt;
  if (v.isString()) return v.toStringRef();
  wrong_type(key, "a str or None");
}

c10::impl::GenericDict StateReader::dict(const std::string& key) const {
  const auto& v = at(key);
  if (v.isGenericDict()) return v.toGenericDict();
  wrong_type(key, "a dict");
}

double StateReader::number_of(const c10::IValue& v, const std::string& key) const {
  if (v.isDouble()) return v.toDouble();
  if (v.isInt()) return static_cast<double>(v.toInt());
  if (v.isTensor() && v.toTensor().numel() == 1) return v.toTensor().item<double>();
  throw std::runtime_error(owner_ + ".load_state_dict: '" + key + "' should be a float, got " + v.tagKind());
}

}  // namespace lightning::detail
