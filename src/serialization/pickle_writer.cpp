// Writing the pickle of torch.save files (see pickle.hpp): protocol 2, the
// opcodes Python's pickler uses for these types, no memo (nothing is shared).
#include <cstring>
#include <stdexcept>

#include "lightning/serialization/pickle.hpp"

namespace lightning::serialization::pickle {

namespace {
enum Open : char { kTuple, kList, kDict };
}

Writer::Writer() {
  out_ += "\x80\x02";  // PROTO 2
}

void Writer::u32(uint32_t v) {
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void Writer::none() { op('N'); }
void Writer::boolean(bool b) { op(b ? '\x88' : '\x89'); }

void Writer::integer(int64_t v) {
  if (v >= 0 && v < 256) {
    op('K');
    out_.push_back(static_cast<char>(v));
  } else if (v >= 0 && v < 65536) {
    op('M');
    out_.push_back(static_cast<char>(v & 0xFF));
    out_.push_back(static_cast<char>(v >> 8));
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    op('J');
    u32(static_cast<uint32_t>(static_cast<int32_t>(v)));
  } else {  // LONG1: 8 bytes, two's complement, little-endian
    op('\x8a');
    out_.push_back(8);
    const auto u = static_cast<uint64_t>(v);
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((u >> (8 * i)) & 0xFF));
  }
}

void Writer::real(double v) {
  op('G');
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  for (int i = 7; i >= 0; --i) out_.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
}

void Writer::string(std::string_view s) {
  if (s.size() > UINT32_MAX) throw std::length_error("pickle: a string longer than 4 GiB");
  op('X');
  u32(static_cast<uint32_t>(s.size()));
  out_ += s;
}

void Writer::global(std::string_view module, std::string_view name) {
  op('c');
  out_ += module;
  out_ += '\n';
  out_ += name;
  out_ += '\n';
}

void Writer::begin_tuple() {
  op('(');
  open_.push_back(kTuple);
}
void Writer::end_tuple() {
  open_.pop_back();
  op('t');
}
void Writer::begin_list() {
  op(']');
  op('(');
  open_.push_back(kList);
}
void Writer::end_list() {
  open_.pop_back();
  op('e');  // APPENDS (an empty MARK range appends nothing)
}
void Writer::begin_dict(bool ordered) {
  if (ordered) {
    global("collections", "OrderedDict");
    op(')');
    op('R');
  } else {
    op('}');
  }
  op('(');
  open_.push_back(kDict);
}
void Writer::end_dict() {
  open_.pop_back();
  op('u');  // SETITEMS
}

void Writer::tensor(std::string_view key, DType dtype, int64_t storage_numel, int64_t offset,
                    const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides) {
  global("torch._utils", "_rebuild_tensor_v2");
  op('(');
  op('(');  // the persistent id
  string("storage");
  global("torch", storage_class(dtype));
  string(key);
  string("cpu");
  integer(storage_numel);
  op('t');
  op('Q');  // BINPERSID
  integer(offset);
  op('(');
  for (auto s : sizes) integer(s);
  op('t');
  op('(');
  for (auto s : strides) integer(s);
  op('t');
  boolean(false);  // requires_grad
  global("collections", "OrderedDict");  // no backward hooks
  op(')');
  op('R');
  op('t');
  op('R');
}

std::string Writer::finish() {
  if (!open_.empty()) throw std::logic_error("pickle::Writer::finish with an unclosed container");
  op('.');
  return std::move(out_);
}

}  // namespace lightning::serialization::pickle
