#pragma once
// Walks a batch (tensors nested in pairs, tuples, arrays, vectors, maps,
// optionals, torch::data::Example and Hana-adapted structs) and maps or
// visits every tensor: the one mechanism behind device transfer, precision
// casts and batch-size inference.
#include <torch/torch.h>

#include <array>
#include <boost/hana/accessors.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/concept/struct.hpp>
#include <map>
#include <optional>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lightning::data {
namespace detail {
template <class T> struct is_pair : std::false_type {};
template <class A, class B> struct is_pair<std::pair<A, B>> : std::true_type {};
template <class T> struct is_tuple : std::false_type {};
template <class... A> struct is_tuple<std::tuple<A...>> : std::true_type {};
template <class T> struct is_example : std::false_type {};
template <class D, class T> struct is_example<torch::data::Example<D, T>> : std::true_type {};
template <class T> struct is_std_array : std::false_type {};
template <class T, std::size_t N> struct is_std_array<std::array<T, N>> : std::true_type {};
template <class T> struct is_vector : std::false_type {};
template <class T, class A> struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};
template <class T> struct is_map : std::false_type {};
template <class K, class V, class C, class A> struct is_map<std::map<K, V, C, A>> : std::true_type {};
template <class K, class V, class H, class E, class A>
struct is_map<std::unordered_map<K, V, H, E, A>> : std::true_type {};
}  // namespace detail

/// Returns `batch` with `f(tensor)` applied to every tensor inside it.
template <class T, class F>
T map_tensors(T batch, F&& f) {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<U, torch::Tensor>) {
    return batch.defined() ? f(std::move(batch)) : batch;
  } else if constexpr (detail::is_example<U>::value) {
    batch.data = map_tensors(std::move(batch.data), f);
    if constexpr (!std::is_void_v<typename U::TargetType>) batch.target = map_tensors(std::move(batch.target), f);
    return batch;
  } else if constexpr (detail::is_pair<U>::value) {
    batch.first = map_tensors(std::move(batch.first), f);
    batch.second = map_tensors(std::move(batch.second), f);
    return batch;
  } else if constexpr (detail::is_tuple<U>::value) {
    std::apply([&](auto&... e) { ((e = map_tensors(std::move(e), f)), ...); }, batch);
    return batch;
  } else if constexpr (detail::is_std_array<U>::value || detail::is_vector<U>::value) {
    for (auto& e : batch) e = map_tensors(std::move(e), f);
    return batch;
  } else if constexpr (detail::is_optional<U>::value) {
    if (batch) *batch = map_tensors(std::move(*batch), f);
    return batch;
  } else if constexpr (detail::is_map<U>::value) {
    for (auto& kv : batch) kv.second = map_tensors(std::move(kv.second), f);
    return batch;
  } else if constexpr (boost::hana::Struct<U>::value) {
    boost::hana::for_each(boost::hana::accessors<U>(), [&](auto acc) {
      auto& member = boost::hana::second(acc)(batch);
      member = map_tensors(std::move(member), f);
    });
    return batch;
  } else {
    return batch;  // not a tensor and holds none we know of: left as is
  }
}

/// Calls `f(tensor)` on every tensor of `batch` in order until it returns true.
template <class T, class F>
bool visit_tensors(const T& batch, F&& f) {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<U, torch::Tensor>) {
    return batch.defined() && f(batch);
  } else if constexpr (detail::is_example<U>::value) {
    if (visit_tensors(batch.data, f)) return true;
    if constexpr (!std::is_void_v<typename U::TargetType>) return visit_tensors(batch.target, f);
    return false;
  } else if constexpr (detail::is_pair<U>::value) {
    return visit_tensors(batch.first, f) || visit_tensors(batch.second, f);
  } else if constexpr (detail::is_tuple<U>::value) {
    return std::apply([&](const auto&... e) { return (visit_tensors(e, f) || ...); }, batch);
  } else if constexpr (detail::is_std_array<U>::value || detail::is_vector<U>::value) {
    for (const auto& e : batch)
      if (visit_tensors(e, f)) return true;
    return false;
  } else if constexpr (detail::is_optional<U>::value) {
    return batch && visit_tensors(*batch, f);
  } else if constexpr (detail::is_map<U>::value) {
    for (const auto& kv : batch)
      if (visit_tensors(kv.second, f)) return true;
    return false;
  } else if constexpr (boost::hana::Struct<U>::value) {
    bool done = false;
    boost::hana::for_each(boost::hana::accessors<U>(), [&](auto acc) {
      if (!done) done = visit_tensors(boost::hana::second(acc)(batch), f);
    });
    return done;
  } else {
    return false;
  }
}

}  // namespace lightning::data
