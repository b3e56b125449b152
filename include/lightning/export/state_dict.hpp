#pragma once
// Weights for Python: a module's parameters and buffers as the file that
// `torch.save(model.state_dict(), path)` writes, under the names a Python
// module of the same structure has (`net.0.weight`, `net.1.running_mean`).
//
//   L::save_state_dict(model, "weights.pt");   // Python: model.load_state_dict(torch.load("weights.pt"))
//   L::load_state_dict(model, "weights.pt");   // Python: torch.save(model.state_dict(), "weights.pt")
//
// Reading does not go through torch::pickle_load: LibTorch 1.13's unpickler
// rejects a one-entry dict (opcode SETITEM) and reads Python's OrderedDict
// (what `model.state_dict()` is) as None. The reader below understands what
// torch.save writes for a dict of tensors, and nothing more.
#include <torch/torch.h>
#include <caffe2/serialize/inline_container.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../checkpoint/module_state.hpp"
#include "../detail/files.hpp"

namespace lightning {

namespace detail {

/// The torch::nn::Module behind a module, a ModuleHolder (torch::nn::Linear) or a shared_ptr.
template <class M>
decltype(auto) as_module(M& m) {
  if constexpr (std::is_base_of_v<torch::nn::Module, std::remove_cv_t<M>>) return (m);
  else return (*m);
}


// ---------------------------------------------------------------- pickle
// A pickle virtual machine for the opcodes torch.save (protocols 2 to 5)
// emits for containers of tensors. Objects it does not know (a Lightning
// checkpoint's hyperparameters, say) become opaque values: an error only
// where a tensor was needed.
namespace pickle {

struct Object;
using Ref = std::shared_ptr<Object>;

struct Object {
  enum class Kind { none, boolean, integer, real, string, tuple, list, dict, global, storage, tensor, opaque };
  Kind kind = Kind::none;
  int64_t integer = 0;
  double real = 0.0;
  std::string text;                          // string; "module.name" of a global or an opaque object's class
  std::vector<Ref> items;                    // tuple, list
  std::vector<std::pair<Ref, Ref>> entries;  // dict, in insertion order
  torch::Tensor tensor;                      // tensor; a storage as a flat 1-d tensor
};

inline Ref make(Object::Kind kind) {
  auto r = std::make_shared<Object>();
  r->kind = kind;
  return r;
}

inline const char* kind_name(Object::Kind k) {
  switch (k) {
    case Object::Kind::none: return "None";
    case Object::Kind::boolean: return "bool";
    case Object::Kind::integer: return "int";
    case Object::Kind::real: return "float";
    case Object::Kind::string: return "str";
    case Object::Kind::tuple: return "tuple";
    case Object::Kind::list: return "list";
    case Object::Kind::dict: return "dict";
    case Object::Kind::global: return "class or function";
    case Object::Kind::storage: return "storage";
    case Object::Kind::tensor: return "Tensor";
    case Object::Kind::opaque: return "object";
  }
  return "object";
}

inline std::string describe(const Object& o) {
  return o.kind == Object::Kind::opaque ? "a " + o.text + " object" : std::string("a ") + kind_name(o.kind);
}

inline c10::ScalarType storage_dtype(const std::string& storage_class) {
  static const std::map<std::string, c10::ScalarType> types = {
      {"torch.FloatStorage", torch::kFloat},     {"torch.DoubleStorage", torch::kDouble},
      {"torch.HalfStorage", torch::kHalf},       {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kLong},       {"torch.IntStorage", torch::kInt},
      {"torch.ShortStorage", torch::kShort},     {"torch.CharStorage", torch::kChar},
      {"torch.ByteStorage", torch::kByte},       {"torch.BoolStorage", torch::kBool},
      {"torch.ComplexFloatStorage", torch::kComplexFloat}, {"torch.ComplexDoubleStorage", torch::kComplexDouble}};
  auto it = types.find(storage_class);
  if (it == types.end()) throw std::runtime_error("tensor storage of unsupported type " + storage_class);
  return it->second;
}

/// Runs the pickle program in `data`; `storage(key, dtype, numel)` returns the
/// flat tensor stored under `data/<key>` in the archive.
class Machine {
 public:
  using StorageReader = std::function<torch::Tensor(const std::string&, c10::ScalarType, int64_t)>;
  Machine(std::string_view data, StorageReader storage) : data_(data), storage_(std::move(storage)) {}

  Ref run() {
    for (;;) {
      const std::size_t at = pos_;
      const auto op = static_cast<unsigned char>(byte());
      switch (op) {
        case 0x80: byte(); break;                  // PROTO
        case 0x95: bytes(8); break;                // FRAME
        case '.': return pop();                    // STOP
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case '0': pop(); break;                    // POP
        case '1': since_mark(); break;             // POP_MARK
        case '2': stack_.push_back(top()); break;  // DUP
        case 'N': stack_.push_back(make(Object::Kind::none)); break;
        case 0x88: push_bool(true); break;         // NEWTRUE
        case 0x89: push_bool(false); break;        // NEWFALSE
        case 'J': push_int(static_cast<int32_t>(little(4))); break;  // BININT
        case 'K': push_int(static_cast<int64_t>(little(1))); break;  // BININT1
        case 'M': push_int(static_cast<int64_t>(little(2))); break;  // BININT2
        case 0x8a: push_long(static_cast<std::size_t>(little(1)), at); break;  // LONG1
        case 0x8b: push_long(static_cast<std::size_t>(little(4)), at); break;  // LONG4
        case 'G': push_float(); break;             // BINFLOAT
        case 'X': push_string(little(4)); break;   // BINUNICODE
        case 0x8c: push_string(little(1)); break;  // SHORT_BINUNICODE
        case 0x8d: push_string(little(8)); break;  // BINUNICODE8
        case 'T': case 'B': push_string(little(4)); break;  // BINSTRING, BINBYTES
        case 'U': case 'C': push_string(little(1)); break;  // SHORT_BINSTRING, SHORT_BINBYTES
        case 0x8e: push_string(little(8)); break;  // BINBYTES8
        case ')': stack_.push_back(make(Object::Kind::tuple)); break;  // EMPTY_TUPLE
        case 't': push_sequence(Object::Kind::tuple, since_mark()); break;
        case 0x85: push_tuple(1); break;           // TUPLE1
        case 0x86: push_tuple(2); break;           // TUPLE2
        case 0x87: push_tuple(3); break;           // TUPLE3
        case ']': stack_.push_back(make(Object::Kind::list)); break;   // EMPTY_LIST
        case 'l': push_sequence(Object::Kind::list, since_mark()); break;  // LIST
        case 'a': { auto v = pop(); append(top(), {v}, at); break; }  // APPEND
        case 'e': { auto vs = since_mark(); append(top(), vs, at); break; }  // APPENDS
        case '}': stack_.push_back(make(Object::Kind::dict)); break;   // EMPTY_DICT
        case 'd': { auto d = make(Object::Kind::dict); set_items(d, since_mark(), at); stack_.push_back(d); break; }
        case 's': { auto v = pop(); auto k = pop(); set_items(top(), {k, v}, at); break; }  // SETITEM
        case 'u': { auto kv = since_mark(); set_items(top(), kv, at); break; }           // SETITEMS
        case 'q': memo_[little(1)] = top(); break;         // BINPUT
        case 'r': memo_[little(4)] = top(); break;         // LONG_BINPUT
        case 0x94: memo_[memo_.size()] = top(); break;     // MEMOIZE
        case 'h': stack_.push_back(memo(little(1), at)); break;  // BINGET
        case 'j': stack_.push_back(memo(little(4), at)); break;  // LONG_BINGET
        case 'c': { auto module = line(); auto name = line(); push_global(module + "." + name); break; }  // GLOBAL
        case 0x93: { auto name = pop(); auto module = pop(); push_global(module->text + "." + name->text); break; }
        case 'R': case 0x81: { auto args = pop(); auto callable = pop(); stack_.push_back(call(*callable, *args, at)); break; }
        case 'b': pop(); break;  // BUILD: attributes of an object (OrderedDict._metadata): not needed
        case 'Q': { auto pid = pop(); stack_.push_back(persistent(*pid, at)); break; }  // BINPERSID
        default:
          throw std::runtime_error("unsupported pickle opcode 0x" + hex(op) + " at byte " + std::to_string(at) +
                                   "; expected what torch.save writes for a dict of tensors");
      }
    }
  }

 private:
  static std::string hex(unsigned v) {
    const char* digits = "0123456789abcdef";
    return {digits[(v >> 4) & 15], digits[v & 15]};
  }
  char byte() {
    if (pos_ >= data_.size()) throw std::runtime_error("truncated pickle (no STOP opcode)");
    return data_[pos_++];
  }
  std::string_view bytes(uint64_t n) {
    if (n > data_.size() - pos_) throw std::runtime_error("truncated pickle");
    auto s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  uint64_t little(int n) {
    auto s = bytes(n);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[i]);
    return v;
  }
  std::string line() {
    auto end = data_.find('\n', pos_);
    if (end == std::string_view::npos) throw std::runtime_error("truncated pickle");
    std::string s(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  Ref pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back()))
      throw std::runtime_error("malformed pickle: stack underflow");
    auto r = std::move(stack_.back());
    stack_.pop_back();
    return r;
  }
  Ref& top() {
    if (stack_.empty()) throw std::runtime_error("malformed pickle: stack underflow");
    return stack_.back();
  }
  std::vector<Ref> since_mark() {
    if (marks_.empty()) throw std::runtime_error("malformed pickle: no MARK");
    std::vector<Ref> out(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return out;
  }
  Ref memo(uint64_t i, std::size_t at) {
    auto it = memo_.find(i);
    if (it == memo_.end()) throw std::runtime_error("malformed pickle: memo " + std::to_string(i) + " unset at byte " + std::to_string(at));
    return it->second;
  }
  static Ref& expect(Ref& r, Object::Kind kind, std::size_t at) {
    if (r->kind != kind)
      throw std::runtime_error(std::string("expected a ") + kind_name(kind) + " at byte " + std::to_string(at) +
                               ", got " + describe(*r));
    return r;
  }
  void set_items(Ref& dict, const std::vector<Ref>& kv, std::size_t at) {
    if (dict->kind == Object::Kind::opaque) return;  // a dict subclass we do not model
    expect(dict, Object::Kind::dict, at);
    for (std::size_t i = 0; i + 1 < kv.size(); i += 2) dict->entries.emplace_back(kv[i], kv[i + 1]);
  }
  void append(Ref& list, const std::vector<Ref>& values, std::size_t at) {
    if (list->kind == Object::Kind::opaque) return;  // a list subclass we do not model
    auto& items = expect(list, Object::Kind::list, at)->items;
    items.insert(items.end(), values.begin(), values.end());
  }
  void push_bool(bool b) { auto r = make(Object::Kind::boolean); r->integer = b; stack_.push_back(r); }
  void push_int(int64_t v) { auto r = make(Object::Kind::integer); r->integer = v; stack_.push_back(r); }
  void push_long(std::size_t n, std::size_t at) {
    if (n > 8) throw std::runtime_error("integer wider than 64 bits at byte " + std::to_string(at));
    auto s = bytes(n);
    uint64_t v = 0;
    for (std::size_t i = n; i-- > 0;) v = (v << 8) | static_cast<unsigned char>(s[i]);
    if (n > 0 && n < 8 && (static_cast<unsigned char>(s[n - 1]) & 0x80)) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    push_int(static_cast<int64_t>(v));
  }
  void push_float() {
    auto s = bytes(8);  // big-endian IEEE 754
    uint64_t bits = 0;
    for (char c : s) bits = (bits << 8) | static_cast<unsigned char>(c);
    auto r = make(Object::Kind::real);
    std::memcpy(&r->real, &bits, sizeof bits);
    stack_.push_back(r);
  }
  void push_string(uint64_t n) { auto r = make(Object::Kind::string); r->text = std::string(bytes(n)); stack_.push_back(r); }
  void push_global(std::string name) { auto r = make(Object::Kind::global); r->text = std::move(name); stack_.push_back(r); }
  void push_sequence(Object::Kind kind, std::vector<Ref> items) {
    auto r = make(kind);
    r->items = std::move(items);
    stack_.push_back(r);
  }
  void push_tuple(std::size_t n) {
    std::vector<Ref> items(n);
    for (std::size_t i = n; i-- > 0;) items[i] = pop();
    push_sequence(Object::Kind::tuple, std::move(items));
  }

  static std::vector<int64_t> ints(const Object& tuple) {
    std::vector<int64_t> out;
    for (const auto& i : tuple.items) out.push_back(i->integer);
    return out;
  }

  /// REDUCE / NEWOBJ: the few callables torch.save uses for tensors and
  /// state dicts; anything else becomes an opaque object.
  Ref call(const Object& callable, const Object& args, std::size_t at) {
    const std::string& f = callable.text;
    const auto& a = args.items;
    if (f == "collections.OrderedDict") {
      auto d = make(Object::Kind::dict);
      if (!a.empty() && a[0]->kind == Object::Kind::list)
        for (const auto& pair : a[0]->items)
          if (pair->items.size() == 2) d->entries.emplace_back(pair->items[0], pair->items[1]);
      return d;
    }
    if (f == "torch._utils._rebuild_tensor_v2" || f == "torch._utils._rebuild_tensor") {
      if (a.size() < 4 || a[0]->kind != Object::Kind::storage)
        throw std::runtime_error(f + " with unexpected arguments at byte " + std::to_string(at));
      auto r = make(Object::Kind::tensor);
      r->tensor = a[0]->tensor.as_strided(ints(*a[2]), ints(*a[3]), a[1]->integer);
      return r;
    }
    if (f == "torch._utils._rebuild_parameter" || f == "torch._utils._rebuild_parameter_with_state" ||
        f == "torch.jit._pickle.restore_type_tag") {
      if (a.empty()) throw std::runtime_error(f + " without arguments at byte " + std::to_string(at));
      return a[0];
    }
    auto r = make(Object::Kind::opaque);
    r->text = f;
    return r;
  }

  /// BINPERSID: ('storage', torch.FloatStorage, key, location, numel).
  Ref persistent(const Object& pid, std::size_t at) {
    const auto& p = pid.items;
    if (pid.kind != Object::Kind::tuple || p.size() < 5 || p[0]->text != "storage")
      throw std::runtime_error("unexpected persistent id at byte " + std::to_string(at) + "; expected a tensor storage");
    const std::string& key = p[2]->text;
    auto it = storages_.find(key);
    if (it == storages_.end()) {
      auto r = make(Object::Kind::storage);
      r->tensor = storage_(key, storage_dtype(p[1]->text), p[4]->integer);
      it = storages_.emplace(key, r).first;  // views of one storage share it
    }
    return it->second;
  }

  std::string_view data_;
  StorageReader storage_;
  std::size_t pos_ = 0;
  std::vector<Ref> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<uint64_t, Ref> memo_;
  std::unordered_map<std::string, Ref> storages_;
};

}  // namespace pickle
}  // namespace detail

/// The tensors of a file written by `torch.save(state_dict, path)` (Python),
/// `L::save_state_dict` or `torch::pickle_save`, by name, in file order. A
/// PyTorch Lightning checkpoint (.ckpt) gives its "state_dict" entry.
inline torch::OrderedDict<std::string, torch::Tensor> read_state_dict(const std::filesystem::path& path) {
  const std::string where = "lightning: read_state_dict('" + path.string() + "'): ";
  if (!std::filesystem::exists(path)) throw std::runtime_error(where + "no such file");
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> archive;
  try {
    archive = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path.string());
  } catch (const c10::Error&) {
    const std::string head = detail::read_file(path).substr(0, 2);
    throw std::runtime_error(where + (head == "\x80\x02" ? "written in torch.save's legacy format; re-save it with "
                                                            "torch.save(model.state_dict(), path) (the zip format, "
                                                            "the default since PyTorch 1.6)"
                                                          : "not a torch.save zip archive"));
  }
  if (!archive->hasRecord("data.pkl")) throw std::runtime_error(where + "the archive has no data.pkl: not written by torch.save");
  if (archive->hasRecord("byteorder")) {
    auto [ptr, size] = archive->getRecord("byteorder");
    if (std::string(static_cast<const char*>(ptr.get()), size) != "little")
      throw std::runtime_error(where + "tensors stored big-endian; expected little-endian");
  }
  auto [pkl, pkl_size] = archive->getRecord("data.pkl");
  auto read_storage = [&](const std::string& key, c10::ScalarType dtype, int64_t numel) {
    auto [ptr, size] = archive->getRecord("data/" + key);
    const auto want = static_cast<std::size_t>(numel) * c10::elementSize(dtype);
    if (size < want)
      throw std::runtime_error("data/" + key + " holds " + std::to_string(size) + " bytes, expected " + std::to_string(want));
    auto t = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
    if (want) std::memcpy(t.data_ptr(), ptr.get(), want);
    return t;
  };
  detail::pickle::Ref root;
  try {
    root = detail::pickle::Machine({static_cast<const char*>(pkl.get()), pkl_size}, read_storage).run();
  } catch (const std::exception& e) {
    throw std::runtime_error(where + e.what());
  }
  using Kind = detail::pickle::Object::Kind;
  if (root->kind == Kind::dict) {
    detail::pickle::Ref nested;  // a Lightning checkpoint: its "state_dict" entry
    for (const auto& [k, v] : root->entries)
      if (k->kind == Kind::string && k->text == "state_dict" && v->kind == Kind::dict) nested = v;
    if (nested) root = nested;
  }
  if (root->kind != Kind::dict)
    throw std::runtime_error(where + "holds " + detail::pickle::describe(*root) + "; expected a dict of tensors");
  torch::OrderedDict<std::string, torch::Tensor> out;
  for (const auto& [k, v] : root->entries) {
    if (k->kind != Kind::string) throw std::runtime_error(where + "a key is " + detail::pickle::describe(*k) + "; expected str");
    if (v->kind != Kind::tensor)
      throw std::runtime_error(where + "'" + k->text + "' is " + detail::pickle::describe(*v) + "; expected a Tensor");
    out.insert(k->text, v->tensor);
  }
  return out;
}

/// Writes `module`'s parameters and buffers to `path` (through a temporary
/// file, fsync'ed, then renamed): Python's `torch.load(path)` reads it as a
/// dict of tensors that `model.load_state_dict` takes.
template <class M>
void save_state_dict(const M& module, const std::filesystem::path& path) {
  c10::Dict<std::string, at::Tensor> dict;
  for (auto& [name, t] : detail::state_entries(detail::as_module(module)))
    dict.insert(name, t.detach().to(torch::kCPU).contiguous());
  const auto bytes = torch::pickle_save(dict);
  detail::write_file_atomic(path, std::string_view(bytes.data(), bytes.size()));
}

/// Copies the tensors of `path` (see read_state_dict) into `module`'s
/// parameters and buffers, by name, as Python's `model.load_state_dict`:
/// with `strict`, a name missing from the file or unknown to the module is an
/// error; a shape that differs always is. All problems are listed in one
/// error, and nothing is copied unless everything fits.
template <class M>
void load_state_dict(M& module, const std::filesystem::path& path, bool strict = true) {
  const auto file = read_state_dict(path);
  checkpoint::Dict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& item : file) dict.insert(item.key(), item.value());
  auto& target = detail::as_module(module);
  checkpoint::load_module_state_dict(target, dict, strict, "'" + path.string() + "' into " + target.name());
}

}  // namespace lightning
