// Checkpoint and weights files (see file.hpp): the library's zip and pickle
// reader/writer (serialization/) joined to LibTorch's values and tensors.
#include "lightning/checkpoint/file.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lightning/detail/files.hpp"
#include "lightning/serialization/pickle.hpp"
#include "lightning/serialization/zip.hpp"
#include "lightning/version.hpp"

namespace lightning::checkpoint {

namespace {

namespace pk = serialization::pickle;
using serialization::ZipReader;
using serialization::ZipWriter;

constexpr std::string_view kDigestRecord = ".data/lightning_cpp_digest";

[[noreturn]] void fail(const std::string& what) { throw CheckpointError(what); }

c10::ScalarType to_scalar_type(pk::DType d) {
  switch (d) {
    case pk::DType::f32: return torch::kFloat;
    case pk::DType::f64: return torch::kDouble;
    case pk::DType::f16: return torch::kHalf;
    case pk::DType::bf16: return torch::kBFloat16;
    case pk::DType::i64: return torch::kLong;
    case pk::DType::i32: return torch::kInt;
    case pk::DType::i16: return torch::kShort;
    case pk::DType::i8: return torch::kChar;
    case pk::DType::u8: return torch::kByte;
    case pk::DType::b8: return torch::kBool;
    case pk::DType::c64: return torch::kComplexFloat;
    case pk::DType::c128: return torch::kComplexDouble;
  }
  return torch::kFloat;
}

std::optional<pk::DType> to_dtype(c10::ScalarType t) {
  for (int i = 0; i <= static_cast<int>(pk::DType::c128); ++i)
    if (to_scalar_type(static_cast<pk::DType>(i)) == t) return static_cast<pk::DType>(i);
  return std::nullopt;
}

/// a * b for non-negative values, or nullopt when it overflows int64.
std::optional<int64_t> mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}
std::optional<int64_t> add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

/// FNV-1a over (name, size, CRC-32) of every record but the digest, by name:
/// the CRC-32s are checked against the bytes as they are read, so this
/// covers every byte of every record.
std::string records_digest(const std::vector<std::tuple<std::string, uint64_t, uint32_t>>& records) {
  uint64_t h = 1469598103934665603ull;
  auto bytes = [&](const void* p, std::size_t n) {
    auto* c = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ c[i]) * 1099511628211ull;
  };
  for (const auto& [name, size, crc] : records) {
    if (name == kDigestRecord) continue;
    bytes(name.data(), name.size() + 1);  // with its terminating NUL
    unsigned char le[12];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(size >> (8 * i));
    for (int i = 0; i < 4; ++i) le[8 + i] = static_cast<unsigned char>(crc >> (8 * i));
    bytes(le, sizeof le);
  }
  static const char* hex = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 0; i < 16; ++i) out[static_cast<std::size_t>(15 - i)] = hex[(h >> (4 * i)) & 15];
  return out;
}

// ---------------------------------------------------------------- reading

/// Builds LibTorch values from a parsed pickle, bottom-up with an explicit
/// stack: shared nodes are built once, a cycle or nesting deeper than the
/// limit is an error before any deep value exists, and every tensor is
/// checked to lie inside its storage before it is made.
class Converter {
 public:
  Converter(const pk::Document& doc, const ZipReader& zip, std::size_t max_depth)
      : doc_(doc), zip_(zip), max_depth_(max_depth), values_(doc.nodes.size()), height_(doc.nodes.size(), 0),
        state_(doc.nodes.size(), 0), storages_(doc.storages.size()), storage_users_(doc.storages.size(), 0) {
    for (const auto& t : doc.tensors) ++storage_users_[t.storage];
  }

  c10::IValue convert() {
    std::vector<uint32_t> stack{doc_.root};
    while (!stack.empty()) {
      const uint32_t id = stack.back();
      if (state_[id] == 2) {
        stack.pop_back();
        continue;
      }
      const pk::Node& n = doc_.nodes[id];
      if (state_[id] == 0) {
        state_[id] = 1;  // open: its children go first
        for (uint32_t c : n.items) {
          if (state_[c] == 1) fail("holds a container that contains itself (a cycle)");
          if (state_[c] == 0) stack.push_back(c);
        }
        continue;
      }
      std::size_t h = 0;
      for (uint32_t c : n.items) h = std::max(h, height_[c]);
      height_[id] = h + 1;
      if (height_[id] > max_depth_)
        fail("holds containers nested deeper than " + std::to_string(max_depth_) + " levels");
      values_[id] = build(n);
      state_[id] = 2;
      stack.pop_back();
    }
    return values_[doc_.root];
  }

  std::size_t node_count() const noexcept { return doc_.nodes.size(); }

 private:
  c10::IValue build(const pk::Node& n) {
    switch (n.kind) {
      case pk::Kind::none: return {};
      case pk::Kind::boolean: return n.integer != 0;
      case pk::Kind::integer: return n.integer;
      case pk::Kind::real: return n.real;
      case pk::Kind::string: return std::string(n.text);
      case pk::Kind::tuple: {
        std::vector<c10::IValue> items;
        items.reserve(n.items.size());
        for (uint32_t c : n.items) items.push_back(values_[c]);
        return c10::ivalue::Tuple::create(std::move(items));
      }
      case pk::Kind::list: {
        c10::impl::GenericList list(c10::AnyType::get());
        list.reserve(n.items.size());
        for (uint32_t c : n.items) list.push_back(values_[c]);
        return list;
      }
      case pk::Kind::dict: return dict(n);
      case pk::Kind::tensor: return tensor(doc_.tensors[n.index]);
      case pk::Kind::storage: fail("holds a tensor storage outside a tensor");
      case pk::Kind::global: fail("holds a Python class or function as a value");
    }
    fail("holds an unknown value");
  }

  c10::IValue dict(const pk::Node& n) {
    bool strings = true, ints = true, tensors = true;
    for (std::size_t i = 0; i < n.items.size(); i += 2) {
      const auto k = doc_.nodes[n.items[i]].kind;
      strings = strings && k == pk::Kind::string;
      ints = ints && k == pk::Kind::integer;
      tensors = tensors && doc_.nodes[n.items[i + 1]].kind == pk::Kind::tensor;
    }
    if (!strings && !ints)
      fail("holds a dict whose keys are not all strings or all ints (a key is " +
           pk::describe(doc_, n.items[0]) + ")");
    // An OrderedDict of tensors is a state_dict: typed so it is written back as one.
    const c10::TypePtr value_type =
        n.ordered && tensors && !n.items.empty() ? c10::TypePtr(c10::TensorType::get()) : c10::TypePtr(c10::AnyType::get());
    Dict d(strings ? c10::TypePtr(c10::StringType::get()) : c10::TypePtr(c10::IntType::get()), value_type);
    d.reserve(n.items.size() / 2);
    for (std::size_t i = 0; i < n.items.size(); i += 2) d.insert_or_assign(values_[n.items[i]], values_[n.items[i + 1]]);
    return d;
  }

  torch::Tensor storage(uint32_t index) {
    if (storages_[index].defined()) return storages_[index];
    const pk::Storage& s = doc_.storages[index];
    const auto* record = zip_.find("data/" + s.key);
    if (!record) fail("is missing the record 'data/" + s.key + "' of a tensor's storage");
    const auto bytes = mul(s.numel, static_cast<int64_t>(pk::element_size(s.dtype)));
    if (!bytes || static_cast<uint64_t>(*bytes) != record->size)
      fail("is corrupt: the record 'data/" + s.key + "' holds " + std::to_string(record->size) +
           " bytes, but its tensor storage claims " + std::to_string(s.numel) + " elements of " +
           std::to_string(pk::element_size(s.dtype)) + " bytes");
    auto t = torch::empty({s.numel}, torch::TensorOptions().dtype(to_scalar_type(s.dtype)));
    zip_.read(*record, std::span(static_cast<std::byte*>(t.data_ptr()), static_cast<std::size_t>(*bytes)));
    storages_[index] = t;
    return t;
  }

  torch::Tensor tensor(const pk::Tensor& t) {
    const pk::Storage& s = doc_.storages[t.storage];
    const std::string where = "a tensor in storage '" + s.key + "'";
    if (t.sizes.size() > 64) fail("holds " + where + " with " + std::to_string(t.sizes.size()) + " dimensions");
    if (t.offset < 0) fail("holds " + where + " with a negative storage offset");
    int64_t numel = 1, last = t.offset;
    bool empty = false;
    for (std::size_t i = 0; i < t.sizes.size(); ++i) {
      if (t.sizes[i] < 0 || t.strides[i] < 0) fail("holds " + where + " with a negative size or stride");
      empty = empty || t.sizes[i] == 0;
    }
    if (!empty) {
      for (std::size_t i = 0; i < t.sizes.size(); ++i) {
        const auto n = mul(numel, t.sizes[i]);
        const auto step = mul(t.sizes[i] - 1, t.strides[i]);
        const auto end = step ? add(last, *step) : std::nullopt;
        if (!n || !end) fail("holds " + where + " whose size overflows");
        numel = *n;
        last = *end;
      }
    }
    if (empty ? t.offset > s.numel : last >= s.numel)
      fail("is corrupt: " + where + " reaches past its storage (" + std::to_string(s.numel) + " elements)");
    if (!empty && numel > s.numel)
      fail("holds " + where + " with more elements than its storage (overlapping strides)");
    auto base = storage(t.storage);
    // The whole storage, in order: used as it is. Anything else is copied, so
    // no two loaded tensors share memory.
    bool whole = t.offset == 0 && numel == s.numel && storage_users_[t.storage] == 1;
    for (std::size_t i = t.sizes.size(), expected = 1; whole && i-- > 0;) {
      if (t.sizes[i] != 1 && t.strides[i] != static_cast<int64_t>(expected)) whole = false;
      expected *= static_cast<std::size_t>(t.sizes[i]);
    }
    auto view = base.as_strided(t.sizes, t.strides, t.offset);
    return whole ? view : view.clone(at::MemoryFormat::Contiguous);
  }

  const pk::Document& doc_;
  const ZipReader& zip_;
  std::size_t max_depth_;
  std::vector<c10::IValue> values_;
  std::vector<std::size_t> height_;
  std::vector<uint8_t> state_;  // 0 new, 1 open, 2 built
  std::vector<torch::Tensor> storages_;
  std::vector<int> storage_users_;
};

/// Format version 1's content checksum (FNV-1a over values, not bytes),
/// which files written before the digest record carry. Its work is bounded
/// by `budget` visits, whatever sharing the file's values have.
class LegacyChecksum {
 public:
  explicit LegacyChecksum(std::size_t budget) : budget_(budget) {}
  uint64_t of(const Dict& ckpt) {
    for (const auto& e : ckpt) {
      if (e.key().isString() && e.key().toStringRef() == kMetaKey) continue;
      value(e.key());
      value(e.value());
    }
    return h_;
  }

 private:
  void bytes(const void* p, std::size_t n) {
    auto* c = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h_ = (h_ ^ c[i]) * 1099511628211ull;
  }
  template <class T>
  void pod(const T& v) {
    bytes(&v, sizeof v);
  }
  void str(std::string_view s) {
    pod(s.size());
    bytes(s.data(), s.size());
  }
  // Recursion is bounded: the reader limits nesting depth.
  void value(const c10::IValue& v) {
    if (budget_-- == 0) fail("is corrupt: verifying its checksum took more work than its size allows");
    str(v.tagKind());
    if (v.isNone()) return;
    if (v.isBool()) return pod(v.toBool());
    if (v.isInt()) return pod(v.toInt());
    if (v.isDouble()) return pod(std::bit_cast<uint64_t>(v.toDouble()));
    if (v.isString()) return str(v.toStringRef());
    if (v.isTensor()) {
      const auto t = v.toTensor().contiguous();
      str(c10::toString(t.scalar_type()));
      for (auto s : t.sizes()) pod(s);
      return bytes(t.data_ptr(), static_cast<std::size_t>(t.numel()) * t.element_size());
    }
    if (v.isGenericDict()) {
      const auto d = v.toGenericDict();
      pod(d.size());
      for (const auto& e : d) {
        value(e.key());
        value(e.value());
      }
      return;
    }
    if (v.isList()) {
      const auto l = v.toList();
      pod(l.size());
      for (const c10::IValue& e : l) value(e);
      return;
    }
    if (v.isTuple()) {
      const auto& el = v.toTupleRef().elements();
      pod(el.size());
      for (const auto& e : el) value(e);
      return;
    }
    fail("is corrupt: it holds " + describe(v));
  }
  uint64_t h_ = 1469598103934665603ull;
  std::size_t budget_;
};

/// Recognises the formats a file is not, to say so.
void check_head(const std::filesystem::path& path, std::string_view what) {
  char head[4] = {};
  std::FILE* f = std::fopen(path.c_str(), "rb");
  const std::size_t n = f ? std::fread(head, 1, 4, f) : 0;
  if (f) std::fclose(f);
  if (n == 0) fail("is empty: expected the zip archive torch.save writes");
  if (n >= 2 && head[0] == '\x80' && head[1] == '\x02')
    fail("was written in torch.save's legacy format (PyTorch < 1.6, or _use_new_zipfile_serialization=False); "
         "re-save it with torch.save(obj, path)");
  if (n < 4 || std::memcmp(head, "PK\x03\x04", 4) != 0)
    fail("is not a " + std::string(what) + ": expected the zip archive torch.save writes");
}

/// Whose file it is: format 2 is trusted with its digest, format 1 with its
/// content checksum; anything else is foreign.
void trust(ReadResult& out, bool digest_ok, std::size_t nodes) {
  if (!out.value.isGenericDict()) return;
  auto d = out.value.toGenericDict();
  auto it = d.keyType()->kind() == c10::TypeKind::StringType ? d.find(std::string(kMetaKey)) : d.end();
  if (it == d.end() || !it->value().isGenericDict()) return;
  const auto m = it->value().toGenericDict();
  const auto fmt = m.find(std::string("format_version"));
  const int64_t version = fmt != m.end() && fmt->value().isInt() ? fmt->value().toInt() : 0;
  if (version > kFormatVersion) {
    const auto lib = m.find(std::string("library_version"));
    fail("has format version " + std::to_string(version) + " (written by lightning-cpp " +
         (lib != m.end() && lib->value().isString() ? lib->value().toStringRef() : std::string("?")) +
         "); this build reads format versions up to " + std::to_string(kFormatVersion) + ": upgrade lightning-cpp");
  }
  if (version == kFormatVersion && digest_ok) {
    out.trusted = true;
  } else if (version == 1) {
    const auto sum = m.find(std::string("checksum"));
    if (sum != m.end() && sum->value().isInt()) {
      LegacyChecksum legacy(16 * nodes + 1024);
      if (legacy.of(d) != std::bit_cast<uint64_t>(sum->value().toInt()))
        fail("is corrupt: its content does not match the checksum written with it");
      out.trusted = true;
    }
  }
  if (out.trusted) out.format_version = version;
}

std::string prefixed(std::string_view what, const std::filesystem::path& path) {
  return "lightning: " + std::string(what) + " '" + path.string() + "' ";
}

}  // namespace

ReadResult read_value(const std::filesystem::path& path, std::string_view what, const ReadLimits& limits) {
  const std::string who = prefixed(what, path);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw CheckpointError(who + "does not exist (or is not a file)");
  try {
    check_head(path, what);
    ZipReader zip(path);
    if (const auto* order = zip.find("byteorder"))
      if (zip.read_string(*order, 16) != "little") fail("stores its tensors big-endian; expected little-endian");
    const auto* pkl = zip.find("data.pkl");
    if (!pkl) fail("has no data.pkl record: it was not written by torch.save");
    ReadResult out;
    bool digest_ok = false;
    if (const auto* digest = zip.find(kDigestRecord)) {
      std::vector<std::tuple<std::string, uint64_t, uint32_t>> records;
      for (const auto& r : zip.records()) records.emplace_back(r.name, r.size, r.crc);
      if (zip.read_string(*digest, 64) != records_digest(records))
        fail("is corrupt: its records do not match the digest written with them");
      digest_ok = true;
    }
    auto doc = pk::parse(zip.read_string(*pkl, limits.max_pickle), {.max_size = limits.max_pickle});
    Converter converter(doc, zip, limits.max_depth);
    out.value = converter.convert();
    trust(out, digest_ok, converter.node_count());
    return out;
  } catch (const CheckpointError& e) {
    throw CheckpointError(who + e.what());
  } catch (const c10::Error& e) {  // an allocation LibTorch refused, say
    const std::string msg = e.what();
    throw CheckpointError(who + "cannot be read: " + msg.substr(0, msg.find('\n')));
  } catch (const std::bad_alloc&) {
    throw CheckpointError(who + "cannot be read: out of memory");
  }
}

ReadResult read_checkpoint(const std::filesystem::path& path, const ReadLimits& limits) {
  auto r = read_value(path, "checkpoint", limits);
  if (!r.value.isGenericDict() || !r.value.toGenericDict().keyType()->isSubtypeOf(*c10::StringType::get()))
    throw CheckpointError(prefixed("checkpoint", path) + "is not a checkpoint: it holds " +
                          (r.value.isGenericDict() ? std::string("a dict with int keys") : describe(r.value)) +
                          ", expected a dict with string keys");
  if (!r.trusted) {
    auto d = r.value.toGenericDict();
    (void)d.erase(std::string(kMetaKey));  // never trusted from a foreign file
  }
  return r;
}

// ---------------------------------------------------------------- writing

namespace {

/// Walks a value, writing its pickle and collecting its tensors' storages.
class Pickling {
 public:
  struct StorageOut {
    torch::Tensor holder;  // keeps the memory alive
    const std::byte* data;
    std::size_t bytes;
  };

  void value(const c10::IValue& v) {
    if (v.isNone()) return w_.none();
    if (v.isBool()) return w_.boolean(v.toBool());
    if (v.isInt()) return w_.integer(v.toInt());
    if (v.isDouble()) return w_.real(v.toDouble());
    if (v.isString()) return w_.string(v.toStringRef());
    if (v.isTensor()) return tensor(v.toTensor());
    if (v.isTuple()) {
      w_.begin_tuple();
      for (const auto& e : v.toTupleRef().elements()) value(e);
      return w_.end_tuple();
    }
    if (v.isList()) {
      w_.begin_list();
      for (const c10::IValue& e : v.toListRef()) value(e);
      return w_.end_list();
    }
    if (v.isGenericDict()) {
      const auto d = v.toGenericDict();
      w_.begin_dict(/*ordered=*/d.valueType()->kind() == c10::TypeKind::TensorType);
      for (const auto& e : d) {
        value(e.key());
        value(e.value());
      }
      return w_.end_dict();
    }
    throw CheckpointError(std::string("cannot store a value of type ") + v.tagKind() +
                          " in a checkpoint; expected None, bool, int, float, str, tensor, list, tuple or dict");
  }

  std::string finish() { return w_.finish(); }
  std::vector<StorageOut>& storages() { return storages_; }

 private:
  void tensor(torch::Tensor t) {
    if (t.is_sparse() || t.is_quantized() || t.is_mkldnn())
      throw CheckpointError("cannot store a sparse, quantized or MKL-DNN tensor in a checkpoint; convert it to a dense one");
    if (!t.device().is_cpu()) t = t.cpu();
    t = t.detach();
    auto dtype = to_dtype(t.scalar_type());
    if (!dtype) throw CheckpointError(std::string("cannot store a tensor of dtype ") + c10::toString(t.scalar_type()));
    const auto& st = t.storage();
    const auto key = st.unsafeGetStorageImpl();
    auto it = keys_.find(key);
    // A storage seen with another dtype (a reinterpreting view): stored apart.
    if (it != keys_.end() && it->second.second != *dtype) {
      t = t.clone();
      return tensor(t);
    }
    if (it == keys_.end()) {
      const std::size_t esize = pk::element_size(*dtype);
      storages_.push_back({t, static_cast<const std::byte*>(st.data()), st.nbytes() / esize * esize});
      it = keys_.emplace(key, std::pair{storages_.size() - 1, *dtype}).first;
    }
    const auto& out = storages_[it->second.first];
    w_.tensor(std::to_string(it->second.first), *dtype,
              static_cast<int64_t>(out.bytes / pk::element_size(*dtype)), t.storage_offset(), t.sizes().vec(),
              t.strides().vec());
  }

  pk::Writer w_;
  std::vector<StorageOut> storages_;
  std::map<const void*, std::pair<std::size_t, pk::DType>> keys_;
};

}  // namespace

bool storable_dtype(c10::ScalarType t) { return to_dtype(t).has_value(); }

void write_value(const std::filesystem::path& path, const c10::IValue& value,
                 const std::function<void()>& before_rename) {
  Pickling p;
  p.value(value);
  const std::string pkl = p.finish();
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  lightning::detail::AtomicFile file(path);
  auto sink = [](void* f, const void* data, std::size_t size) { static_cast<lightning::detail::AtomicFile*>(f)->write(data, size); };
  // torch.save names the folder after the file; "archive" is what LibTorch uses.
  ZipWriter zip("archive", sink, &file);
  zip.add("data.pkl", pkl);
  zip.add("byteorder", "little");
  for (std::size_t i = 0; i < p.storages().size(); ++i) {
    const auto& s = p.storages()[i];
    const std::span<const std::byte> part(s.data, s.bytes);
    zip.add("data/" + std::to_string(i), std::span(&part, 1));
  }
  zip.add("version", "3\n");
  std::vector<std::tuple<std::string, uint64_t, uint32_t>> records;
  for (const auto& r : zip.written()) records.emplace_back(r.name, r.size, r.crc);
  records.emplace_back(std::string(kDigestRecord), 0, 0);
  std::sort(records.begin(), records.end());
  zip.add(kDigestRecord, records_digest(records));
  zip.finish();
  file.commit(before_rename);
}

Dict meta(Dict& ckpt) {
  if (!contains(ckpt, kMetaKey)) ckpt.insert(std::string(kMetaKey), make_dict());
  return get<Dict>(ckpt, kMetaKey, "the checkpoint");
}

void write(const std::filesystem::path& path, Dict ckpt, const std::function<void()>& before_rename) {
  auto m = meta(ckpt);
  m.insert_or_assign(std::string("format_version"), kFormatVersion);
  m.insert_or_assign(std::string("library_version"), std::string(lightning::version));
  (void)m.erase(std::string("checksum"));  // format 1's; the digest record replaced it
  write_value(path, ckpt, before_rename);
}

}  // namespace lightning::checkpoint
