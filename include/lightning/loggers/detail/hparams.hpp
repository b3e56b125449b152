#pragma once
// Hyperparameters seen by loggers: the members of a struct adapted with
// BOOST_HANA_ADAPT_STRUCT, as (name, scalar) pairs in declaration order.
#include <boost/hana/accessors.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "py_repr.hpp"

namespace lightning::detail {

/// A hyperparameter value as Python would hold it: None, bool, int, float or str.
using HParamValue = std::variant<std::monostate, bool, std::int64_t, std::uint64_t, double, std::string>;

/// One named hyperparameter.
struct HParam {
  std::string key;
  HParamValue value;
};

template <class T>
inline constexpr bool is_std_optional_v = false;
template <class T>
inline constexpr bool is_std_optional_v<std::optional<T>> = true;

template <class>
inline constexpr bool hparam_always_false = false;

/// Converts one member to a Python-like scalar; std::nullopt is None.
template <class T>
HParamValue to_hparam_value(const T& v) {
  if constexpr (is_std_optional_v<T>) {
    return v ? to_hparam_value(*v) : HParamValue{};
  } else if constexpr (std::is_same_v<T, bool>) {
    return v;
  } else if constexpr (std::is_integral_v<T>) {
    if constexpr (std::is_signed_v<T>) return static_cast<std::int64_t>(v);
    else return static_cast<std::uint64_t>(v);
  } else if constexpr (std::is_same_v<T, float>) {
    // Through the float's shortest digits, so 1e-3f logs as 0.001 and not as
    // the double 0.0010000000474974513 it widens to.
    const std::string s = py_float_repr(v);
    double d = static_cast<double>(v);
    std::from_chars(s.data(), s.data() + s.size(), d);
    return d;
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<double>(v);
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return std::string(std::string_view(v));
  } else {
    static_assert(hparam_always_false<T>,
                  "lightning: a hyperparameter member must be bool, an integer, a floating-point number, "
                  "a string or std::optional of one of those (nested structs are not supported)");
    return {};
  }
}

/// The members of `h` when its type is a Hana Struct; empty otherwise (a
/// module without hyperparameters, like lightning::NoHParams, logs none).
template <class H>
std::vector<HParam> reflect_hparams(const H& h) {
  std::vector<HParam> out;
  if constexpr (boost::hana::Struct<H>::value) {
    boost::hana::for_each(boost::hana::accessors<H>(), [&](auto pair) {
      out.push_back(HParam{std::string(boost::hana::to<char const*>(boost::hana::first(pair))),
                           to_hparam_value(boost::hana::second(pair)(h))});
    });
  }
  (void)h;
  return out;
}

/// Python's `dict.update`: replaces the values of known keys, appends new ones.
void update_hparams(std::vector<HParam>& into, const std::vector<HParam>& from);

}  // namespace lightning::detail
