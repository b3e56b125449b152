#pragma once
// The keys of a config section: a struct's fields (BOOST_HANA_ADAPT_STRUCT, or
// a `cli::field_list<S>` specialization for the library's own option
// structs), each read from text and printed back by its type.
#include <boost/hana/accessors.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>
#include <boost/hana/unpack.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/config.hpp"

namespace lightning::cli {

/// One key of a section: its name and how to reach it in the struct.
template <class Get>
struct Field {
  std::string_view name;
  Get get;  ///< get(s) -> the member (const or not, as s)
  bool required = false;  ///< a std::optional that must be given
};
template <class Get>
constexpr Field<Get> make_field(std::string_view name, Get get, bool required = false) {
  return {name, get, required};
}
/// `LIGHTNING_CLI_FIELD(member)` inside a field_list: the key named like the member.
#define LIGHTNING_CLI_FIELD(m) ::lightning::cli::make_field(#m, [](auto& s) -> auto& { return s.m; })
#define LIGHTNING_CLI_REQUIRED_FIELD(m) ::lightning::cli::make_field(#m, [](auto& s) -> auto& { return s.m; }, true)

/// Specialize with `static auto get() { return std::make_tuple(LIGHTNING_CLI_FIELD(a), ...); }`
/// for an options struct that is not Hana-adapted.
template <class S>
struct field_list;

/// How a value type that is neither a scalar, a list nor an enum is read and
/// printed: `static std::string name()`, `static std::optional<T> parse(const detail::Setting&)`,
/// `static detail::HParamValue print(const T&)`.
template <class T>
struct value_codec;

/// Maps the names of an enum's values (specialize: `static constexpr std::pair<E, std::string_view> values[]`).
template <class E>
struct enum_names;

/// The fields of `S`, in declaration order.
template <class S>
auto fields_of() {
  if constexpr (requires { field_list<S>::get(); }) {
    return field_list<S>::get();
  } else if constexpr (boost::hana::Struct<S>::value) {
    return boost::hana::unpack(boost::hana::accessors<S>(), [](auto... pairs) {
      return std::make_tuple(
          make_field(std::string_view(boost::hana::to<char const*>(boost::hana::first(pairs))), boost::hana::second(pairs))...);
    });
  } else {
    return std::tuple<>{};
  }
}

template <class S>
concept Reflectable = requires { field_list<S>::get(); } || boost::hana::Struct<S>::value;

namespace detail {
using lightning::detail::HParamValue;

template <class T>
inline constexpr bool is_optional_v = false;
template <class T>
inline constexpr bool is_optional_v<std::optional<T>> = true;
template <class T>
inline constexpr bool is_vector_v = false;
template <class T>
inline constexpr bool is_vector_v<std::vector<T>> = true;
template <class T>
inline constexpr bool is_duration_v = false;
template <class R, class P>
inline constexpr bool is_duration_v<std::chrono::duration<R, P>> = true;
template <class>
inline constexpr bool always_false = false;

/// A value type the CLI can read: how --help and errors name it (Python's spelling).
template <class T>
std::string type_name() {
  if constexpr (is_optional_v<T>) return "Optional[" + type_name<typename T::value_type>() + "]";
  else if constexpr (is_vector_v<T>) return "List[" + type_name<typename T::value_type>() + "]";
  else if constexpr (std::is_same_v<T, bool>) return "bool";
  else if constexpr (std::is_integral_v<T>) return "int";
  else if constexpr (std::is_floating_point_v<T>) return "float";
  else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::filesystem::path>) return "str";
  else if constexpr (is_duration_v<T>) return "float (seconds)";
  else if constexpr (requires { enum_names<T>::values; }) {
    std::string out = "Literal[";
    bool first = true;
    for (const auto& [v, n] : enum_names<T>::values) {
      out += (first ? "'" : ", '") + std::string(n) + "'";
      first = false;
    }
    return out + "]";
  } else if constexpr (requires { value_codec<T>::name(); }) return value_codec<T>::name();
  else static_assert(always_false<T>, "lightning::cli: a field of this type cannot be set from the command line");
}

/// Reads `s` as a T (bad_value naming the key, the type and the text when it does not parse).
template <class T>
T parse_value(const Setting& s, const std::string& expected = type_name<T>()) {
  if constexpr (is_optional_v<T>) {
    if (s.null) return std::nullopt;
    return T(parse_value<typename T::value_type>(s, expected));
  } else {
    if (s.null && !std::is_same_v<T, std::string>) bad_value(s, expected);
    if constexpr (std::is_same_v<T, bool>) {
      if (auto v = parse_bool(s.text)) return *v;
    } else if constexpr (std::is_integral_v<T>) {
      if (auto v = parse_int(s.text); v && std::in_range<T>(*v)) return static_cast<T>(*v);
    } else if constexpr (std::is_floating_point_v<T>) {
      if (auto v = parse_float(s.text)) return static_cast<T>(*v);
    } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::filesystem::path>) {
      return s.null ? T() : T(s.text);
    } else if constexpr (is_duration_v<T>) {
      if (auto v = parse_float(s.text)) return std::chrono::duration_cast<T>(std::chrono::duration<double>(*v));
    } else if constexpr (is_vector_v<T>) {
      if (auto items = parse_list(s.text)) {
        T out;
        for (const auto& item : *items) out.push_back(parse_value<typename T::value_type>(Setting{s.key, item, false, false, s.origin}, expected));
        return out;
      }
    } else if constexpr (requires { enum_names<T>::values; }) {
      for (const auto& [v, n] : enum_names<T>::values)
        if (s.text == n) return v;
    } else if constexpr (requires { value_codec<T>::parse(s); }) {
      if (auto v = value_codec<T>::parse(s)) return *v;
    }
    bad_value(s, expected);
  }
}

/// The value as a YAML scalar (what --print_config writes).
template <class T>
HParamValue print_value(const T& v) {
  if constexpr (is_optional_v<T>) return v ? print_value(*v) : HParamValue{};
  else if constexpr (std::is_same_v<T, bool>) return v;
  else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) return static_cast<std::int64_t>(v);
  else if constexpr (std::is_integral_v<T>) return static_cast<std::uint64_t>(v);
  else if constexpr (std::is_floating_point_v<T>) return static_cast<double>(v);
  else if constexpr (std::is_same_v<T, std::string>) return v;
  else if constexpr (std::is_same_v<T, std::filesystem::path>) return v.string();
  else if constexpr (is_duration_v<T>) return std::chrono::duration<double>(v).count();
  else if constexpr (is_vector_v<T>) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + scalar_text(print_value(v[i]));
    return out + "]";
  } else if constexpr (requires { enum_names<T>::values; }) {
    for (const auto& [e, n] : enum_names<T>::values)
      if (e == v) return std::string(n);
    return HParamValue{};
  } else {
    return value_codec<T>::print(v);
  }
}

template <class S, class F>
void for_each_field(F&& f) {
  std::apply([&](auto... field) { (f(field), ...); }, fields_of<S>());
}

}  // namespace detail

/// The names of a section's keys.
template <class S>
std::vector<std::string> key_names() {
  std::vector<std::string> out;
  detail::for_each_field<S>([&](auto field) { out.emplace_back(field.name); });
  return out;
}

/// Sets `s`'s fields from the settings under `section` (`settings` keys are
/// relative to it); an unknown key or an ill-typed value is a CliError.
template <class S>
void apply_settings(S& s, const std::string& section, const std::vector<detail::Setting>& settings) {
  for (const auto& setting : settings) {
    const std::string rel = setting.key.substr(section.size() + 1);
    bool found = false;
    detail::for_each_field<S>([&](auto field) {
      if (found || field.name != rel) return;
      found = true;
      auto& member = field.get(s);
      member = detail::parse_value<std::remove_cvref_t<decltype(member)>>(setting);
    });
    if (!found) detail::unknown_key(setting, section, key_names<S>());
  }
}

/// A required field left empty is a CliError.
template <class S>
void check_required(const S& s, const std::string& section, const std::string& hint) {
  detail::for_each_field<S>([&](auto field) {
    if constexpr (detail::is_optional_v<std::remove_cvref_t<decltype(field.get(s))>>)
      if (field.required && !field.get(s)) detail::missing_value(section + "." + std::string(field.name), hint);
  });
}

/// The fields as printed by --print_config.
template <class S>
std::vector<detail::PrintNode> print_fields(const S& s) {
  std::vector<detail::PrintNode> out;
  detail::for_each_field<S>([&](auto field) {
    out.push_back(detail::PrintNode{std::string(field.name), detail::print_value(field.get(s)), {}, false});
  });
  return out;
}

/// The --help lines of a section, with `defaults`' values.
template <class S>
void help_lines(const S& defaults, const std::string& section, std::vector<detail::HelpLine>& out) {
  detail::for_each_field<S>([&](auto field) {
    using M = std::remove_cvref_t<decltype(field.get(defaults))>;
    out.push_back(detail::HelpLine{section + "." + std::string(field.name), detail::type_name<M>(),
                                   detail::scalar_text(detail::print_value(field.get(defaults))), field.required});
  });
}

}  // namespace lightning::cli
