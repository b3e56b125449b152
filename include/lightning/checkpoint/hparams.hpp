#pragma once
// Hyperparameters in a checkpoint, twice: a Boost.Serialization archive that
// C++ rebuilds the exact struct from (versioned, so a struct that gained a
// field since still loads, the new field keeping its default), and a plain
// dict Python reads as `checkpoint["hyper_parameters"]`.
#include <boost/archive/archive_exception.hpp>
#include <boost/archive/text_iarchive.hpp>
#include <boost/archive/text_oarchive.hpp>
#include <boost/hana/accessors.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>
#include <boost/serialization/split_member.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/version.hpp>

#include <charconv>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>

#include "../loggers/detail/hparams.hpp"
#include "dict.hpp"
#include "hparams_archive.hpp"

namespace lightning::checkpoint {

/// A struct that serializes itself with Boost (a `serialize(ar, version)`
/// member or a free `serialize(ar, h, version)`): used as is, so its own
/// BOOST_CLASS_VERSION decides what an old archive holds.
template <class H>
concept BoostSerializable = requires(boost::archive::text_oarchive& ar, H& h, const unsigned v) {
  h.serialize(ar, v);
} || requires(boost::archive::text_oarchive& ar, H& h, const unsigned v) { serialize(ar, h, v); };

namespace detail {

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

/// A Hana-reflected struct as Boost writes it: the field count, then each
/// field as (name, text). Reading is parse_reflected_archive's (bounded, by
/// name: fields added since keep their defaults, removed ones are skipped).
template <class H>
struct ReflectedHParams {
  H* h;

  template <class Ar>
  void save(Ar& ar, const unsigned /*version*/) const {
    std::size_t n = 0;
    if constexpr (boost::hana::Struct<H>::value) n = boost::hana::length(boost::hana::accessors<H>());
    ar << n;
    if constexpr (boost::hana::Struct<H>::value) {
      boost::hana::for_each(boost::hana::accessors<H>(), [&](auto pair) {
        const std::string name = boost::hana::to<char const*>(boost::hana::first(pair));
        const std::string text = to_text(boost::hana::second(pair)(*h));
        ar << name << text;
      });
    }
  }

  BOOST_SERIALIZATION_SPLIT_MEMBER()
};

}  // namespace detail

/// The hyperparameters as a Boost text archive.
template <class H>
std::string hparams_to_archive(const H& h) {
  std::ostringstream out;
  {
    boost::archive::text_oarchive ar(out);
    if constexpr (BoostSerializable<H>) {
      ar << h;
    } else {
      const detail::ReflectedHParams<H> wrapped{const_cast<H*>(&h)};
      ar << wrapped;
    }
  }
  return out.str();
}

/// Rebuilds hyperparameters from hparams_to_archive()'s text, starting from
/// `h` (so fields the archive lacks keep their defaults). A Hana-reflected
/// struct's archive is read by a bounded parser of the library's own;
/// a struct with its own Boost `serialize` is read by Boost (trusted input only).
template <class H>
H hparams_from_archive(const std::string& text, H h = H{}) {
  if constexpr (BoostSerializable<H>) {
    try {
      std::istringstream in(text);
      boost::archive::text_iarchive ar(in);
      ar >> h;
    } catch (const boost::archive::archive_exception& e) {
      throw CheckpointError(std::string("lightning: checkpoint: the hyperparameters archive is corrupt: ") + e.what());
    }
  } else {
    for (const auto& [name, value] : detail::parse_reflected_archive(text)) {
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
