#pragma once
// A checkpoint in memory: the nested dict of IValues that `torch.load` in
// Python returns, with typed accessors whose errors say where a value was
// expected and what was found.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "error.hpp"

namespace lightning {
namespace checkpoint {

/// Python's `dict` with string keys (the key type of every Lightning checkpoint level).
using Dict = c10::impl::GenericDict;
using List = c10::impl::GenericList;

inline Dict make_dict() { return Dict(c10::StringType::get(), c10::AnyType::get()); }
/// A dict keyed by int, as `optimizer.state_dict()["state"]` is.
inline Dict make_int_dict() { return Dict(c10::IntType::get(), c10::AnyType::get()); }
inline List make_list() { return List(c10::AnyType::get()); }

inline bool contains(const Dict& d, std::string_view key) { return d.contains(std::string(key)); }

/// `d[key]`, or a CheckpointError naming `where` and the keys that exist.
c10::IValue at(const Dict& d, std::string_view key, std::string_view where);

/// What a value is, as Python would name it: "an int", "a dict", "a tensor".
std::string describe(const c10::IValue& v);

namespace detail {
[[noreturn]] inline void wrong_type(std::string_view key, std::string_view where, std::string_view expected,
                                    const c10::IValue& v) {
  throw CheckpointError("lightning: checkpoint: '" + std::string(key) + "' in " + std::string(where) +
                        " should be " + std::string(expected) + ", found " + describe(v));
}
}  // namespace detail

/// `d[key]` converted to T (int64_t, double, bool, std::string, Tensor, Dict, List).
template <class T>
T get(const Dict& d, std::string_view key, std::string_view where) {
  const c10::IValue v = at(d, key, where);
  if constexpr (std::is_same_v<T, int64_t>) {
    if (!v.isInt()) detail::wrong_type(key, where, "an int", v);
    return v.toInt();
  } else if constexpr (std::is_same_v<T, double>) {
    if (v.isInt()) return static_cast<double>(v.toInt());  // Python writes 0 for 0.0 in hand-made dicts
    if (!v.isDouble()) detail::wrong_type(key, where, "a float", v);
    return v.toDouble();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.isBool()) detail::wrong_type(key, where, "a bool", v);
    return v.toBool();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.isString()) detail::wrong_type(key, where, "a string", v);
    return v.toStringRef();
  } else if constexpr (std::is_same_v<T, torch::Tensor>) {
    if (!v.isTensor()) detail::wrong_type(key, where, "a tensor", v);
    return v.toTensor();
  } else if constexpr (std::is_same_v<T, Dict>) {
    if (!v.isGenericDict()) detail::wrong_type(key, where, "a dict", v);
    return v.toGenericDict();
  } else if constexpr (std::is_same_v<T, List>) {
    if (!v.isList()) detail::wrong_type(key, where, "a list", v);
    return v.toList();
  } else {
    static_assert(sizeof(T) == 0, "lightning: checkpoint::get<T>: unsupported T");
  }
}

/// `d[key]` as T, or `fallback` when the key is absent or None.
template <class T>
T get_or(const Dict& d, std::string_view key, std::string_view where, T fallback) {
  auto it = d.find(std::string(key));
  if (it == d.end() || it->value().isNone()) return fallback;
  return get<T>(d, key, where);
}

}  // namespace checkpoint
}  // namespace lightning
