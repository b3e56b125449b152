// Reading the pickle of torch.save files (see pickle.hpp). The unpickler is
// a loop over opcodes with an explicit stack: it never recurses, calls
// nothing, and allocates at most a small constant per byte of input.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <unordered_map>

#include "lightning/checkpoint/error.hpp"
#include "lightning/serialization/pickle.hpp"

namespace lightning::serialization::pickle {

namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view storage;
  std::size_t size;
};
constexpr std::array<DTypeInfo, 12> kDTypes{{
    {DType::f32, "FloatStorage", 4},  {DType::f64, "DoubleStorage", 8},       {DType::f16, "HalfStorage", 2},
    {DType::bf16, "BFloat16Storage", 2}, {DType::i64, "LongStorage", 8},      {DType::i32, "IntStorage", 4},
    {DType::i16, "ShortStorage", 2},  {DType::i8, "CharStorage", 1},          {DType::u8, "ByteStorage", 1},
    {DType::b8, "BoolStorage", 1},    {DType::c64, "ComplexFloatStorage", 8}, {DType::c128, "ComplexDoubleStorage", 16},
}};

/// The globals a checkpoint may name. Storage classes follow, one per DType.
enum Global : uint32_t {
  kOrderedDict,
  kRebuildTensorV2,
  kRebuildTensor,
  kRebuildParameter,
  kRebuildParameterWithState,
  kRestoreTypeTag,
  kBuildList,  // torch.jit._pickle.build_intlist and its siblings
  kAttributeDict,
  kTorchSize,
  kTorchDevice,
  kStorageBase,
};

struct Allowed {
  std::string_view module, name;
  uint32_t code;
};
constexpr std::array<Allowed, 16> kAllowed{{
    {"collections", "OrderedDict", kOrderedDict},
    {"torch._utils", "_rebuild_tensor_v2", kRebuildTensorV2},
    {"torch._utils", "_rebuild_tensor", kRebuildTensor},
    {"torch._utils", "_rebuild_parameter", kRebuildParameter},
    {"torch._utils", "_rebuild_parameter_with_state", kRebuildParameterWithState},
    {"torch.jit._pickle", "restore_type_tag", kRestoreTypeTag},
    {"torch.jit._pickle", "build_intlist", kBuildList},
    {"torch.jit._pickle", "build_doublelist", kBuildList},
    {"torch.jit._pickle", "build_boollist", kBuildList},
    {"torch.jit._pickle", "build_tensorlist", kBuildList},
    // Lightning's hyper_parameters: a dict subclass.
    {"lightning.fabric.utilities.data", "AttributeDict", kAttributeDict},
    {"lightning_fabric.utilities.data", "AttributeDict", kAttributeDict},
    {"lightning.pytorch.utilities.parsing", "AttributeDict", kAttributeDict},
    {"pytorch_lightning.utilities.parsing", "AttributeDict", kAttributeDict},
    {"torch", "Size", kTorchSize},
    {"torch", "device", kTorchDevice},
}};

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 120)) out += (c >= 32 && c < 127) ? c : '?';
  if (s.size() > 120) out += "...";
  return out;
}

class Parser {
 public:
  Parser(Document& doc) : doc_(doc), data_(doc.data) {}

  uint32_t run() {
    for (;;) {
      at_ = pos_;
      const auto op = static_cast<unsigned char>(byte());
      if (op == '.') return stop();  // STOP
      if (!stack_op(op) && !literal(op) && !container(op) && !memo_op(op) && !object(op))
        fail("opcode 0x" + hex(op) + " is not one torch.save writes for a checkpoint");
    }
  }

 private:
  bool stack_op(unsigned char op) {
    switch (op) {
      case 0x80: proto(); return true;                   // PROTO
      case 0x95: bytes(8); return true;                  // FRAME: a hint only
      case '(': marks_.push_back(stack_.size()); return true;  // MARK
      case '0': pop(); return true;                      // POP
      case '1': since_mark(); return true;               // POP_MARK
      case '2': stack_.push_back(top()); return true;    // DUP
      default: return false;
    }
  }

  bool literal(unsigned char op) {
    switch (op) {
      case 'N': push(Kind::none); return true;           // NONE
      case 0x88: push_int(Kind::boolean, 1); return true;  // NEWTRUE
      case 0x89: push_int(Kind::boolean, 0); return true;  // NEWFALSE
      case 'J': push_int(Kind::integer, static_cast<int32_t>(little(4))); return true;  // BININT
      case 'K': push_int(Kind::integer, static_cast<int64_t>(little(1))); return true;  // BININT1
      case 'M': push_int(Kind::integer, static_cast<int64_t>(little(2))); return true;  // BININT2
      case 0x8a: long_int(little(1)); return true;       // LONG1
      case 0x8b: long_int(little(4)); return true;       // LONG4
      case 'G': real(); return true;                     // BINFLOAT
      case 'X': text(little(4)); return true;            // BINUNICODE
      case 0x8c: text(little(1)); return true;           // SHORT_BINUNICODE
      case 0x8d: text(little(8)); return true;           // BINUNICODE8
      case 'T': case 'B': text(little(4)); return true;  // BINSTRING, BINBYTES
      case 'U': case 'C': text(little(1)); return true;  // SHORT_BINSTRING, SHORT_BINBYTES
      case 0x8e: text(little(8)); return true;           // BINBYTES8
      default: return false;
    }
  }

  bool container(unsigned char op) {
    switch (op) {
      case ')': push(Kind::tuple); return true;          // EMPTY_TUPLE
      case 't': sequence(Kind::tuple, since_mark()); return true;  // TUPLE
      case 0x85: tuple_of(1); return true;               // TUPLE1
      case 0x86: tuple_of(2); return true;               // TUPLE2
      case 0x87: tuple_of(3); return true;               // TUPLE3
      case ']': push(Kind::list); return true;           // EMPTY_LIST
      case 'l': sequence(Kind::list, since_mark()); return true;  // LIST
      case 'a': {                                        // APPEND
        const uint32_t v = pop();
        append(top(), &v, 1);
        return true;
      }
      case 'e': {                                        // APPENDS
        const auto vs = since_mark();
        append(top(), vs.data(), vs.size());
        return true;
      }
      case '}': push(Kind::dict); return true;           // EMPTY_DICT
      case 'd': {                                        // DICT
        const auto kv = since_mark();
        set_items(push(Kind::dict), kv.data(), kv.size());
        return true;
      }
      case 's': {                                        // SETITEM
        uint32_t kv[2];
        kv[1] = pop();
        kv[0] = pop();
        set_items(top(), kv, 2);
        return true;
      }
      case 'u': {                                        // SETITEMS
        const auto kv = since_mark();
        set_items(top(), kv.data(), kv.size());
        return true;
      }
      default: return false;
    }
  }

  bool memo_op(unsigned char op) {
    switch (op) {
      case 'q': memo_[static_cast<uint32_t>(little(1))] = top(); return true;  // BINPUT
      case 'r': memo_[static_cast<uint32_t>(little(4))] = top(); return true;  // LONG_BINPUT
      case 0x94: memo_[static_cast<uint32_t>(memo_.size())] = top(); return true;  // MEMOIZE
      case 'h': stack_.push_back(memo(little(1))); return true;  // BINGET
      case 'j': stack_.push_back(memo(little(4))); return true;  // LONG_BINGET
      default: return false;
    }
  }

  bool object(unsigned char op) {
    switch (op) {
      case 'c': {  // GLOBAL
        const auto module = line();
        const auto name = line();
        push_global(module, name);
        return true;
      }
      case 0x93: {  // STACK_GLOBAL
        const uint32_t name = pop(), module = pop();
        if (node(name).kind != Kind::string || node(module).kind != Kind::string) fail("STACK_GLOBAL expects two strings");
        push_global(node(module).text, node(name).text);
        return true;
      }
      case 'R': {  // REDUCE
        const uint32_t args = pop(), callable = pop();
        stack_.push_back(reduce(callable, args));
        return true;
      }
      case 0x81: {  // NEWOBJ
        const uint32_t args = pop(), cls = pop();
        stack_.push_back(new_object(cls, args));
        return true;
      }
      case 'b': {  // BUILD
        const uint32_t state = pop();
        build(top(), state);
        return true;
      }
      case 'Q': {  // BINPERSID
        const uint32_t pid = pop();
        stack_.push_back(persistent(pid));
        return true;
      }
      default: return false;
    }
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw CheckpointError("data.pkl, byte " + std::to_string(at_) + ": " + what);
  }
  static std::string hex(unsigned v) {
    const char* digits = "0123456789abcdef";
    return {digits[(v >> 4) & 15], digits[v & 15]};
  }

  Node& node(uint32_t i) { return doc_.nodes[i]; }

  char byte() {
    if (pos_ >= data_.size()) fail("the pickle ends without its STOP opcode (truncated)");
    return data_[pos_++];
  }
  std::string_view bytes(uint64_t n) {
    if (n > data_.size() - pos_) fail("a length of " + std::to_string(n) + " reaches past the pickle's end");
    auto s = data_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  uint64_t little(int n) {
    auto s = bytes(static_cast<uint64_t>(n));
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[static_cast<std::size_t>(i)]);
    return v;
  }
  std::string_view line() {
    const auto end = data_.find('\n', pos_);
    if (end == std::string_view::npos || end - pos_ > 256) fail("a GLOBAL name is unterminated or too long");
    auto s = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }

  /// A new node, not on the stack. Nodes live in a deque: references to
  /// earlier ones stay valid.
  uint32_t make(Kind kind) {
    if (doc_.nodes.size() >= UINT32_MAX - 1) fail("too many objects");
    doc_.nodes.emplace_back().kind = kind;
    return static_cast<uint32_t>(doc_.nodes.size() - 1);
  }
  uint32_t push(Kind kind) {
    const uint32_t id = make(kind);
    stack_.push_back(id);
    return id;
  }
  void push_int(Kind kind, int64_t v) { node(push(kind)).integer = v; }
  uint32_t pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("the stack is empty (malformed pickle)");
    const uint32_t v = stack_.back();
    stack_.pop_back();
    return v;
  }
  uint32_t top() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("the stack is empty (malformed pickle)");
    return stack_.back();
  }
  std::vector<uint32_t> since_mark() {
    if (marks_.empty()) fail("no MARK to pop to (malformed pickle)");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    std::vector<uint32_t> out(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return out;
  }
  uint32_t memo(uint64_t i) {
    auto it = memo_.find(static_cast<uint32_t>(i));
    if (i > UINT32_MAX || it == memo_.end()) fail("memo entry " + std::to_string(i) + " is used before it is set");
    return it->second;
  }

  void proto() {
    const auto v = static_cast<unsigned char>(byte());
    if (v < 2 || v > 5) fail("pickle protocol " + std::to_string(v) + "; expected 2 to 5");
  }
  uint32_t stop() {
    const uint32_t root = pop();
    if (!stack_.empty() || !marks_.empty()) fail("values are left on the stack at STOP (malformed pickle)");
    if (pos_ != data_.size()) fail("bytes follow the STOP opcode");
    return root;
  }
  void long_int(uint64_t n) {
    if (n > 8) fail("an integer of " + std::to_string(n) + " bytes does not fit 64 bits");
    auto s = bytes(n);
    uint64_t v = 0;
    for (std::size_t i = n; i-- > 0;) v = (v << 8) | static_cast<unsigned char>(s[i]);
    if (n > 0 && n < 8 && (static_cast<unsigned char>(s[n - 1]) & 0x80)) v |= ~uint64_t{0} << (8 * n);  // sign
    push_int(Kind::integer, static_cast<int64_t>(v));
  }
  void real() {
    const auto s = bytes(8);  // big-endian IEEE 754
    uint64_t bits = 0;
    for (char c : s) bits = (bits << 8) | static_cast<unsigned char>(c);
    double d;
    std::memcpy(&d, &bits, sizeof d);
    node(push(Kind::real)).real = d;
  }
  void text(uint64_t n) {
    const auto s = bytes(n);
    node(push(Kind::string)).text = s;
  }
  void sequence(Kind kind, std::vector<uint32_t> items) {
    const uint32_t id = push(kind);
    node(id).items = std::move(items);
  }
  void tuple_of(std::size_t n) {
    std::vector<uint32_t> items(n);
    for (std::size_t i = n; i-- > 0;) items[i] = pop();
    sequence(Kind::tuple, std::move(items));
  }
  void append(uint32_t list, const uint32_t* values, std::size_t n) {
    if (node(list).kind != Kind::list) fail("APPEND to " + describe(doc_, list) + ", expected a list");
    node(list).items.insert(node(list).items.end(), values, values + n);
  }
  void set_items(uint32_t dict, const uint32_t* kv, std::size_t n) {
    if (node(dict).kind != Kind::dict) fail("SETITEM on " + describe(doc_, dict) + ", expected a dict");
    if (n % 2 != 0) fail("a key without a value (malformed pickle)");
    node(dict).items.insert(node(dict).items.end(), kv, kv + n);
  }

  void push_global(std::string_view module, std::string_view name) {
    for (const auto& a : kAllowed)
      if (a.module == module && a.name == name) {
        node(push(Kind::global)).index = a.code;
        return;
      }
    if (module == "torch")
      for (std::size_t i = 0; i < kDTypes.size(); ++i)
        if (kDTypes[i].storage == name) {
          node(push(Kind::global)).index = kStorageBase + static_cast<uint32_t>(i);
          return;
        }
    fail("the pickle names the Python global '" + printable(module) + "." + printable(name) +
         "', which a checkpoint does not need; refused (nothing from the file was run)");
  }

  const Node& expect(uint32_t id, Kind kind, const char* what) {
    if (node(id).kind != kind) fail(std::string(what) + ": found " + describe(doc_, id));
    return node(id);
  }
  uint32_t arg(const Node& args, std::size_t i, const char* who) {
    if (i >= args.items.size()) fail(std::string(who) + " has too few arguments");
    return args.items[i];
  }
  std::vector<int64_t> int_tuple(uint32_t id, const char* what) {
    const Node& t = expect(id, Kind::tuple, what);
    std::vector<int64_t> out;
    out.reserve(t.items.size());
    for (uint32_t e : t.items) out.push_back(expect(e, Kind::integer, what).integer);
    return out;
  }

  /// The first argument, which must be of `kind` (these callables return it as it is).
  uint32_t first_arg(const Node& args, Kind kind, const char* what) {
    const uint32_t a = arg(args, 0, what);
    expect(a, kind, what);
    return a;
  }

  uint32_t make_tensor(const Node& args, const char* who) {
    const uint32_t storage = expect(arg(args, 0, who), Kind::storage, "a tensor's first argument should be its storage").index;
    Tensor t;
    t.storage = storage;
    t.offset = expect(arg(args, 1, who), Kind::integer, "a tensor's storage offset should be an int").integer;
    t.sizes = int_tuple(arg(args, 2, who), "a tensor's size should be a tuple of ints");
    t.strides = int_tuple(arg(args, 3, who), "a tensor's stride should be a tuple of ints");
    if (t.sizes.size() != t.strides.size()) fail("a tensor's size and stride have different lengths");
    if (args.items.size() > 5) {  // backward hooks: Python writes an empty OrderedDict
      const Node& hooks = node(args.items[5]);
      if (hooks.kind != Kind::dict || !hooks.items.empty()) fail("a tensor with backward hooks; expected none");
    }
    doc_.tensors.push_back(std::move(t));
    const uint32_t id = make(Kind::tensor);
    node(id).index = static_cast<uint32_t>(doc_.tensors.size() - 1);
    return id;
  }

  /// REDUCE: the few callables torch.save uses, each applied by its meaning
  /// (nothing is called); anything else is refused.
  uint32_t reduce(uint32_t callable, uint32_t args_id) {
    const Node& f = expect(callable, Kind::global, "REDUCE applies a non-callable");
    const Node& args = expect(args_id, Kind::tuple, "REDUCE's arguments should be a tuple");
    switch (f.index) {
      case kOrderedDict: {
        const uint32_t d = make(Kind::dict);
        node(d).ordered = true;
        if (!args.items.empty()) {
          const Node& pairs = expect(args.items[0], Kind::list, "OrderedDict's argument should be a list of pairs");
          for (uint32_t p : pairs.items) {
            const Node& pair = node(p);
            if ((pair.kind != Kind::tuple && pair.kind != Kind::list) || pair.items.size() != 2)
              fail("OrderedDict's argument should be a list of pairs");
            node(d).items.push_back(pair.items[0]);
            node(d).items.push_back(pair.items[1]);
          }
        }
        return d;
      }
      case kRebuildTensorV2:
      case kRebuildTensor:
        return make_tensor(args, "_rebuild_tensor");
      case kRebuildParameter:
      case kRebuildParameterWithState:
        return first_arg(args, Kind::tensor, "_rebuild_parameter should be given a tensor");
      case kRestoreTypeTag:
        return arg(args, 0, "restore_type_tag");
      case kBuildList:
        return first_arg(args, Kind::list, "build_list should be given a list");
      case kTorchSize:
        return first_arg(args, Kind::tuple, "torch.Size should be given a tuple");
      case kTorchDevice:
        return first_arg(args, Kind::string, "torch.device should be given a string");
      default:
        fail("REDUCE on a storage class or dict type; expected one of the functions torch.save uses");
    }
  }

  uint32_t new_object(uint32_t cls, uint32_t args_id) {
    const Node& c = expect(cls, Kind::global, "NEWOBJ of a non-class");
    expect(args_id, Kind::tuple, "NEWOBJ's arguments should be a tuple");
    if (c.index != kAttributeDict && c.index != kOrderedDict)
      fail("NEWOBJ of a class other than a dict (AttributeDict, OrderedDict)");
    const uint32_t d = make(Kind::dict);
    node(d).ordered = c.index == kOrderedDict;
    return d;
  }

  /// BUILD sets an object's attributes: only dicts (OrderedDict's
  /// `_metadata`, AttributeDict's `__dict__`) get it, and it is dropped.
  void build(uint32_t obj, uint32_t state) {
    if (node(obj).kind != Kind::dict) fail("BUILD on " + describe(doc_, obj) + "; expected a dict subclass");
    const Kind k = node(state).kind;
    if (k != Kind::dict && k != Kind::none && k != Kind::tuple) fail("BUILD with " + describe(doc_, state));
  }

  /// BINPERSID: ('storage', torch.FloatStorage, key, location, numel).
  uint32_t persistent(uint32_t pid_id) {
    const Node& pid = expect(pid_id, Kind::tuple, "a persistent id should be a tuple");
    if (pid.items.size() != 5 || node(pid.items[0]).kind != Kind::string || node(pid.items[0]).text != "storage")
      fail("a persistent id other than ('storage', type, key, location, numel)");
    const Node& type = expect(pid.items[1], Kind::global, "a storage's type should be a storage class");
    if (type.index < kStorageBase) fail("a storage's type should be a storage class such as torch.FloatStorage");
    const DType dtype = kDTypes[type.index - kStorageBase].dtype;
    const std::string_view key = expect(pid.items[2], Kind::string, "a storage's key should be a string").text;
    expect(pid.items[3], Kind::string, "a storage's location should be a string");
    const int64_t numel = expect(pid.items[4], Kind::integer, "a storage's size should be an int").integer;
    if (key.empty() || key.size() > 64 ||
        !std::all_of(key.begin(), key.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }))
      fail("a storage key '" + printable(key) + "' is not a plain name");
    if (numel < 0) fail("a storage of " + std::to_string(numel) + " elements");
    auto it = storage_ids_.find(key);
    uint32_t index;
    if (it == storage_ids_.end()) {
      doc_.storages.push_back({std::string(key), dtype, numel});
      index = static_cast<uint32_t>(doc_.storages.size() - 1);
      storage_ids_.emplace(key, index);
    } else {
      index = it->second;
      const Storage& s = doc_.storages[index];
      if (s.dtype != dtype || s.numel != numel) fail("storage '" + std::string(key) + "' is described twice, differently");
    }
    const uint32_t id = make(Kind::storage);
    node(id).index = index;
    return id;
  }

  Document& doc_;
  std::string_view data_;
  std::size_t pos_ = 0, at_ = 0;
  std::vector<uint32_t> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<uint32_t, uint32_t> memo_;
  std::unordered_map<std::string_view, uint32_t> storage_ids_;
};

}  // namespace

std::size_t element_size(DType d) noexcept { return kDTypes[static_cast<std::size_t>(d)].size; }
std::string_view storage_class(DType d) noexcept { return kDTypes[static_cast<std::size_t>(d)].storage; }

std::string describe(const Document& doc, uint32_t id) {
  const Node& n = doc.nodes[id];
  switch (n.kind) {
    case Kind::none: return "None";
    case Kind::boolean: return "a bool";
    case Kind::integer: return "an int";
    case Kind::real: return "a float";
    case Kind::string: return "a str";
    case Kind::tuple: return "a tuple";
    case Kind::list: return "a list";
    case Kind::dict: return n.ordered ? "an OrderedDict" : "a dict";
    case Kind::tensor: return "a tensor";
    case Kind::storage: return "a tensor storage";
    case Kind::global: return "a Python class or function";
  }
  return "an object";
}

Document parse(std::string data, const Limits& limits) {
  if (data.size() > limits.max_size)
    throw CheckpointError("data.pkl is " + std::to_string(data.size()) + " bytes, more than the limit of " +
                          std::to_string(limits.max_size));
  Document doc;
  doc.data = std::move(data);
  Parser p(doc);
  doc.root = p.run();
  return doc;
}

}  // namespace lightning::serialization::pickle
