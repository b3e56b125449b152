#pragma once
// Callbacks' own state in a checkpoint: `checkpoint["callbacks"][state_key]`,
// as Lightning stores it. A callback opts in with `state_dict()` and
// `load_state_dict(const Dict&)`; `state_key()` names it (default: its type).
#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <typeinfo>

#include "dict.hpp"

namespace lightning::checkpoint {

template <class C>
std::string callback_state_key(const C& cb) {
  if constexpr (requires { { cb.state_key() } -> std::convertible_to<std::string>; }) {
    return cb.state_key();
  } else {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(typeid(C).name(), nullptr, nullptr, &status),
                                                std::free);
    return status == 0 && name ? std::string(name.get()) : std::string(typeid(C).name());
  }
}

template <class C>
concept StatefulCallback = requires(C& c, const Dict& d) {
  { c.state_dict() } -> std::convertible_to<Dict>;
  c.load_state_dict(d);
};

/// Every stateful callback's state_dict(), by state key.
template <class Cbs>
Dict callbacks_state_dict(Cbs& callbacks) {
  Dict out = make_dict();
  callbacks.for_each([&](auto& cb) {
    if constexpr (StatefulCallback<std::remove_cvref_t<decltype(cb)>>) out.insert(callback_state_key(cb), cb.state_dict());
  });
  return out;
}

/// Gives each stateful callback its saved state; a callback whose key is
/// absent (a new callback, or one configured differently) keeps its own, as in Lightning.
template <class Cbs>
void load_callbacks_state_dict(Cbs& callbacks, const Dict& states) {
  callbacks.for_each([&](auto& cb) {
    if constexpr (StatefulCallback<std::remove_cvref_t<decltype(cb)>>) {
      const std::string key = callback_state_key(cb);
      auto it = states.find(key);
      if (it == states.end()) return;
      if (!it->value().isGenericDict())
        throw CheckpointError("lightning: checkpoint: callbacks['" + key + "'] should be a dict, found " +
                              it->value().tagKind());
      cb.load_state_dict(it->value().toGenericDict());
    }
  });
}

}  // namespace lightning::checkpoint
