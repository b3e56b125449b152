#pragma once
// Hyperparameters in a checkpoint, twice: an archive that C++ rebuilds the
// exact struct from (field by field by name, so a struct that gained a field
// since still loads, the new field keeping its default), and a plain dict
// Python reads as `checkpoint["hyper_parameters"]`. The archive is
// Boost.Serialization's text format, written and read by the library itself;
// a struct with its own Boost `serialize` goes through Boost
// (checkpoint/boost_hparams.hpp, included when needed).
#include <torch/torch.h>

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
#include <type_traits>
#include <utility>
#include <vector>

#include "../loggers/detail/hparams.hpp"
#include "dict.hpp"
#include "hparams_archive.hpp"

namespace lightning::checkpoint {

/// How the hyperparameters of type H are archived, when not field by field:
/// checkpoint/boost_hparams.hpp specializes it for structs with their own
/// Boost `serialize` (`static std::string save(const H&)`,
/// `static H load(const std::string&, H)`).
template <class H>
struct HParamsCodec {};

namespace detail {
/// Stands in for a Boost archive to see whether H has a `serialize` member template.
struct SerializeProbe {
  template <class T>
  SerializeProbe& operator&(T&);
};
template <class H>
concept HasSerializeMember = requires(H& h, SerializeProbe& ar, const unsigned v) { h.serialize(ar, v); };
template <class H>
concept HasCodec = requires(const H& h, const std::string& text) {
  { HParamsCodec<H>::save(h) } -> std::convertible_to<std::string>;
  HParamsCodec<H>::load(text, h);
};
template <class H>
constexpr bool check_no_unused_serialize() {
  static_assert(HasCodec<H> || !HasSerializeMember<H>,
                "lightning: the hyperparameters struct has its own Boost `serialize`: #include "
                "<lightning/checkpoint/boost_hparams.hpp> to store it through Boost.Serialization (or adapt it "
                "with BOOST_HANA_ADAPT_STRUCT and drop serialize)");
  return true;
}

/// Boost's text archive of (name, text) pairs, as a reflected struct is stored.
std::string reflected_archive(const std::vector<std::pair<std::string, std::string>>& fields);

template <class T>
std::string to_text(const T& v) {
  if constexpr (lightning::detail::is_std_optional_v<T>) {
    return v ? "=" + to_text(*v) : std::string("None");
  } else if constexpr (std::is_same_v<T, bool>) {
    return v ? "1" : "0";
  } else if constexpr (std::is_arithmetic_v<T>) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back to the same bits
    return std::string(buf, r.ptr);
  } else {
    return std::string(v);
  }
}

template <class T>
bool from_text(const std::string& s, T& out) {
  if constexpr (lightning::detail::is_std_optional_v<T>) {
    if (s == "None") {
      out.reset();
      return true;
    }
    if (s.empty() || s[0] != '=') return false;
    typename T::value_type v{};
    if (!from_text(s.substr(1), v)) return false;
    out = v;
    return true;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (s != "0" && s != "1") return false;
    out = s == "1";
    return true;
  } else if constexpr (std::is_arithmetic_v<T>) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
  } else {
    out = s;
    return true;
  }
}

}  // namespace detail

/// The hyperparameters as an archive (Boost.Serialization's text format).
template <class H>
std::string hparams_to_archive(const H& h) {
  static_assert(detail::check_no_unused_serialize<H>());
  if constexpr (detail::HasCodec<H>) {
    return HParamsCodec<H>::save(h);
  } else {
    std::vector<std::pair<std::string, std::string>> fields;
    if constexpr (boost::hana::Struct<H>::value)
      boost::hana::for_each(boost::hana::accessors<H>(), [&](auto pair) {
        fields.emplace_back(boost::hana::to<char const*>(boost::hana::first(pair)),
                            detail::to_text(boost::hana::second(pair)(h)));
      });
    return detail::reflected_archive(fields);
  }
}

/// Rebuilds hyperparameters from hparams_to_archive()'s text, starting from
/// `h` (so fields the archive lacks keep their defaults). A Hana-reflected
/// struct's archive is read by a bounded parser of the library's own;
/// a struct with its own Boost `serialize` is read by Boost (trusted input only).
template <class H>
H hparams_from_archive(const std::string& text, H h = H{}) {
  static_assert(detail::check_no_unused_serialize<H>());
  if constexpr (detail::HasCodec<H>) {
    return HParamsCodec<H>::load(text, std::move(h));
  } else {
    for (const auto& entry : detail::parse_reflected_archive(text)) {
      // Named, not structured bindings: those cannot be captured before C++20 in every compiler.
      const std::string& name = entry.first;
      const std::string& value = entry.second;
      if constexpr (boost::hana::Struct<H>::value) {
        boost::hana::for_each(boost::hana::accessors<H>(), [&](auto pair) {
          if (name != boost::hana::to<char const*>(boost::hana::first(pair))) return;
          auto& field = boost::hana::second(pair)(h);
          if (!detail::from_text(value, field))
            throw CheckpointError("lightning: checkpoint: hyperparameter '" + name + "' holds '" + value.substr(0, 100) +
                                  "', which does not fit the field's type");
        });
      }
    }
  }
  return h;
}

namespace detail {
/// Python's name for what a hyperparameter field of type T holds.
template <class T>
constexpr const char* python_type_name() {
  if constexpr (lightning::detail::is_std_optional_v<T>) return python_type_name<typename T::value_type>();
  else if constexpr (std::is_same_v<T, bool>) return "a bool";
  else if constexpr (std::is_integral_v<T>) return "an int";
  else if constexpr (std::is_floating_point_v<T>) return "a float";
  else return "a str";
}

/// Sets `out` from a value of Lightning's `hyper_parameters`; false when
/// the value's type does not fit T (an int does fit a float, as in Python).
template <class T>
bool from_ivalue(const c10::IValue& v, T& out) {
  if constexpr (lightning::detail::is_std_optional_v<T>) {
    if (v.isNone()) {
      out.reset();
      return true;
    }
    typename T::value_type inner{};
    if (!from_ivalue(v, inner)) return false;
    out = std::move(inner);
    return true;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.isBool()) return false;
    out = v.toBool();
    return true;
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.isInt()) return false;
    const int64_t i = v.toInt();
    if (!std::in_range<T>(i)) return false;
    out = static_cast<T>(i);
    return true;
  } else if constexpr (std::is_floating_point_v<T>) {
    if (v.isInt()) out = static_cast<T>(v.toInt());
    else if (v.isDouble()) out = static_cast<T>(v.toDouble());
    else return false;
    return true;
  } else if constexpr (std::is_assignable_v<T&, std::string>) {
    if (!v.isString()) return false;
    out = v.toStringRef();
    return true;
  } else {
    return false;
  }
}

inline std::string short_repr(const c10::IValue& v) {
  if (v.isString()) return "'" + v.toStringRef().substr(0, 60) + "'";
  if (v.isInt()) return std::to_string(v.toInt());
  if (v.isDouble()) return std::to_string(v.toDouble());
  if (v.isBool()) return v.toBool() ? "True" : "False";
  if (v.isNone()) return "None";
  return describe(v);
}
}  // namespace detail

/// Hyperparameters from a checkpoint's `hyper_parameters` dict (Lightning's
/// `save_hyperparameters()`, or this library's hparams_dict), field by field
/// by name, starting from `h` (fields the dict lacks keep their values).
/// A value whose type does not fit its field is a CheckpointError naming
/// both; keys no field has are appended to `unknown` (nullptr: ignored).
template <class H>
H hparams_from_dict(const Dict& d, H h = H{}, std::vector<std::string>* unknown = nullptr) {
  for (const auto& e : d) {
    if (!e.key().isString()) throw CheckpointError("lightning: checkpoint: hyper_parameters has a key that is not a string");
    const std::string& name = e.key().toStringRef();
    bool known = false;
    if constexpr (boost::hana::Struct<H>::value) {
      boost::hana::for_each(boost::hana::accessors<H>(), [&](auto pair) {
        if (known || name != boost::hana::to<char const*>(boost::hana::first(pair))) return;
        known = true;
        auto& field = boost::hana::second(pair)(h);
        using F = std::remove_cvref_t<decltype(field)>;
        if (!detail::from_ivalue(e.value(), field))
          throw CheckpointError("lightning: checkpoint: hyper_parameters['" + name + "'] is " + describe(e.value()) +
                                " (" + detail::short_repr(e.value()) + "); the hyperparameters field '" + name +
                                "' expects " + detail::python_type_name<F>() +
                                (lightning::detail::is_std_optional_v<F> ? " or None" : "") +
                                (std::is_integral_v<F> && !std::is_same_v<F, bool> ? " that fits its type" : ""));
      });
    }
    if (!known && unknown) unknown->push_back(name);
  }
  return h;
}

/// The hyperparameters as a plain dict (Python: `checkpoint["hyper_parameters"]`).
template <class H>
Dict hparams_dict(const H& h) {
  Dict out = make_dict();
  for (const auto& p : lightning::detail::reflect_hparams(h)) {
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::monostate>) out.insert(p.key, c10::IValue());
          else if constexpr (std::is_same_v<V, std::uint64_t>) out.insert(p.key, static_cast<int64_t>(v));
          else out.insert(p.key, v);
        },
        p.value);
  }
  return out;
}

}  // namespace lightning::checkpoint
