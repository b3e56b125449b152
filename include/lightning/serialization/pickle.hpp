#pragma once
// Python's pickle, as torch.save and LibTorch write it, read by the
// library itself: a fixed set of opcodes, an allow-list of the globals a
// checkpoint needs (nothing is ever called or imported), and every size
// checked against the bytes that remain. The result is a flat table of
// nodes (no recursion to build or destroy it); containers refer to nodes by
// index, so sharing and even cycles are representable and are checked by
// whoever walks the table (with a depth limit). No LibTorch involved.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace lightning::serialization::pickle {

/// The element types of tensor storages torch.save writes.
enum class DType : uint8_t { f32, f64, f16, bf16, i64, i32, i16, i8, u8, b8, c64, c128 };
std::size_t element_size(DType d) noexcept;
/// "FloatStorage" for f32, as torch names the storage classes.
std::string_view storage_class(DType d) noexcept;

enum class Kind : uint8_t { none, boolean, integer, real, string, tuple, list, dict, tensor, storage, global };

/// A tensor storage: the record `data/<key>` holding `numel` elements of `dtype`.
struct Storage {
  std::string key;
  DType dtype;
  int64_t numel;
};

/// A tensor: a strided view into a storage (not yet checked against it).
struct Tensor {
  uint32_t storage;  // index into Document::storages
  int64_t offset;
  std::vector<int64_t> sizes, strides;
};

struct Node {
  Kind kind = Kind::none;
  bool ordered = false;  // dict: an OrderedDict
  uint32_t index = 0;    // tensor, storage: into Document::tensors, ::storages; global: which one
  int64_t integer = 0;   // integer, boolean
  double real = 0.0;
  std::string_view text;       // string (a view into Document::data)
  std::vector<uint32_t> items;  // tuple, list: elements; dict: key, value, key, value...
};

struct Limits {
  std::size_t max_size = std::size_t{256} << 20;  // of the pickle itself
};

/// A parsed pickle. `data` owns the bytes that string nodes view.
struct Document {
  std::string data;
  std::deque<Node> nodes;  // a deque: a node's address never changes
  std::vector<Storage> storages;
  std::vector<Tensor> tensors;
  uint32_t root = 0;
};

/// Parses `data` (the content of `data.pkl`). Throws CheckpointError naming
/// the byte offset and what was found there, for anything not in the subset
/// described above (unknown opcodes and globals included).
Document parse(std::string data, const Limits& limits = {});

/// What a node is, for error messages ("a dict", "a tuple").
std::string describe(const Document& doc, uint32_t node);

// ---------------------------------------------------------------- writing

/// Emits a pickle (protocol 2) of plain values, as Python's torch.save
/// would write them: no LibTorch type tags, tensors as persistent ids into
/// the zip's `data/<key>` records. Containers are written by opening them,
/// writing their items (keys and values alternating for dicts), closing them.
class Writer {
 public:
  Writer();
  void none();
  void boolean(bool b);
  void integer(int64_t v);
  void real(double v);
  void string(std::string_view s);
  void begin_tuple();
  void end_tuple();
  void begin_list();
  void end_list();
  /// `ordered`: a `collections.OrderedDict` (what `model.state_dict()` is).
  void begin_dict(bool ordered = false);
  void end_dict();
  /// `torch._utils._rebuild_tensor_v2` of a view into storage `key`.
  void tensor(std::string_view key, DType dtype, int64_t storage_numel, int64_t offset,
              const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides);
  /// Ends the pickle and returns its bytes.
  std::string finish();

 private:
  void op(char c) { out_.push_back(c); }
  void global(std::string_view module, std::string_view name);
  void u32(uint32_t v);
  std::string out_;
  std::vector<char> open_;  // kind of each open container, and whether it has items
};

}  // namespace lightning::serialization::pickle
