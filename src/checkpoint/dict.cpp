// (see checkpoint/dict.hpp)
#include "lightning/checkpoint/dict.hpp"

namespace lightning::checkpoint {

c10::IValue at(const Dict& d, std::string_view key, std::string_view where) {
  auto it = d.find(std::string(key));
  if (it == d.end()) {
    std::string keys;
    for (const auto& e : d) {
      if (!keys.empty()) keys += ", ";
      keys += e.key().isString() ? "'" + e.key().toStringRef() + "'" : e.key().tagKind();
    }
    throw CheckpointError("lightning: checkpoint: missing key '" + std::string(key) + "' in " + std::string(where) +
                          " (keys present: " + (keys.empty() ? std::string("none") : keys) + ")");
  }
  return it->value();
}

std::string describe(const c10::IValue& v) {
  if (v.isNone()) return "None";
  if (v.isBool()) return "a bool";
  if (v.isInt()) return "an int";
  if (v.isDouble()) return "a float";
  if (v.isString()) return "a str";
  if (v.isTensor()) return "a tensor";
  if (v.isTuple()) return "a tuple";
  if (v.isList()) return "a list";
  if (v.isGenericDict()) return "a dict";
  return std::string("a ") + v.tagKind();
}

}  // namespace lightning::checkpoint
