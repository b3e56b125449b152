// Snapshots of checkpoint values (see snapshot.hpp).
#include "lightning/checkpoint/snapshot.hpp"

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <c10/core/CPUAllocator.h>

#include "lightning/checkpoint/error.hpp"
#include "lightning/checkpoint/file.hpp"
#include "lightning/detail/detached.hpp"

namespace lightning::checkpoint {

namespace {

/// snapshot()'s walk: tensors copied once per storage, so views keep sharing.
/// A container `owned` (referenced only from the walked tree, so nobody else
/// can change it) is reused with its entries replaced, not copied: a
/// checkpoint's dicts are mostly built for it, and copying them was most of
/// the snapshot's allocations.
class Snapshotting {
 public:
  c10::IValue value(const c10::IValue& v, std::size_t depth, bool owned) {
    if (depth > kMaxDepth)
      throw CheckpointError("cannot store a value nested more than " + std::to_string(kMaxDepth) +
                            " containers deep in a checkpoint");
    if (v.isNone() || v.isBool() || v.isInt() || v.isDouble() || v.isString()) return v;  // immutable
    if (v.isTensor()) return tensor(v.toTensor());
    // Whether a child is ours alone: this container is, and only it holds the child.
    auto child_owned = [owned](const c10::IValue& child) { return owned && child.use_count() == 1; };
    if (v.isTuple()) {
      std::vector<c10::IValue> out;
      for (const auto& e : v.toTupleRef().elements()) out.push_back(value(e, depth + 1, child_owned(e)));
      return c10::ivalue::Tuple::create(std::move(out));
    }
    if (v.isList()) {
      if (owned) {
        auto list = v.toList();
        const auto n = v.toListRef().size();
        for (std::size_t i = 0; i < n; ++i) {
          const c10::IValue& e = v.toListRef()[i];
          list.set(i, value(e, depth + 1, child_owned(e)));
        }
        return v;
      }
      const auto list = v.toList();
      c10::impl::GenericList out(list.elementType());
      for (const c10::IValue& e : list) out.push_back(value(e, depth + 1, false));
      return out;
    }
    if (v.isGenericDict()) {
      const auto d = v.toGenericDict();
      if (owned) {
        for (const auto& e : d) e.setValue(value(e.value(), depth + 1, child_owned(e.value())));
        return v;
      }
      c10::impl::GenericDict out(d.keyType(), d.valueType());
      for (const auto& e : d) out.insert(value(e.key(), depth + 1, false), value(e.value(), depth + 1, false));
      return out;
    }
    throw CheckpointError(std::string("cannot store a value of type ") + v.tagKind() +
                          " in a checkpoint; expected None, bool, int, float, str, tensor, list, tuple or dict");
  }

 private:
  static constexpr std::size_t kMaxDepth = 256;

  torch::Tensor tensor(const torch::Tensor& t) {
    if (!t.defined()) throw CheckpointError("cannot store an undefined tensor in a checkpoint");
    if (t.is_sparse() || t.is_quantized() || t.is_mkldnn())
      throw CheckpointError("cannot store a sparse, quantized or MKL-DNN tensor in a checkpoint; convert it to a dense one");
    if (!storable_dtype(t.scalar_type()))
      throw CheckpointError(std::string("cannot store a tensor of dtype ") + c10::toString(t.scalar_type()));
    // Off the CPU: a host copy now (the device may change it after this returns).
    if (!t.device().is_cpu())
      return lightning::detail::detached(t).to(torch::kCPU, /*non_blocking=*/false, /*copy=*/true);
    // Read in place: the copy below is a new tensor without autograd history,
    // so no detach() (a dispatched operator per tensor) is needed first.
    const auto& st = t.storage();
    auto it = copies_.find(st.unsafeGetStorageImpl());
    if (it == copies_.end()) {
      c10::Storage copy(c10::Storage::use_byte_size_t(), st.nbytes(), c10::GetCPUAllocator(), /*resizable=*/false);
      if (st.nbytes() > 0) std::memcpy(copy.data(), st.data(), st.nbytes());
      it = copies_.emplace(st.unsafeGetStorageImpl(), std::move(copy)).first;
    }
    // The view built directly on the copied storage: no operator dispatch
    // (a checkpoint holds a few dozen tensors, each was two dispatched calls).
    auto out = at::detail::make_tensor<c10::TensorImpl>(c10::Storage(it->second), t.key_set(), t.dtype());
    out.unsafeGetTensorImpl()->set_storage_offset(t.storage_offset());
    out.unsafeGetTensorImpl()->set_sizes_and_strides(t.sizes(), t.strides());
    return out;
  }

  std::map<const void*, c10::Storage> copies_;
};

}  // namespace

c10::IValue snapshot(const c10::IValue& value) { return Snapshotting().value(value, 0, false); }

c10::IValue snapshot_consuming(c10::IValue value) {
  const bool owned = value.use_count() == 1;  // the caller moved its only reference in
  return Snapshotting().value(value, 0, owned);
}

}  // namespace lightning::checkpoint
