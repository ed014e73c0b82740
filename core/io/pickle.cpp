#include "core/io/pickle.h"

#include <torch/torch.h>

#include <cstring>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/util/error.h"

namespace papillon::detail {

namespace {

// Bounds that no real state dict comes near (a 2,500-tensor checkpoint builds ~40k objects) but
// that keep a hostile pickle from exhausting memory.
constexpr size_t kMaxPickleBytes = size_t{256} << 20;
constexpr size_t kMaxObjects = size_t{1} << 21;
constexpr size_t kMaxInsertions = size_t{1} << 23;  // container items, stack and memo entries
constexpr size_t kMaxMarkDepth = 1000;
constexpr size_t kMaxGlobalName = 256;
constexpr int64_t kMaxDims = 64;

enum class Kind : uint8_t {
  None,
  Bool,
  Int,
  Float,
  Str,
  Bytes,
  Tuple,
  List,
  Dict,
  Global,
  Storage,
  Tensor
};

enum class Callable : uint8_t {
  OrderedDict,
  RebuildTensorV2,
  RebuildTensor,
  RebuildParameter,
  RebuildParameterWithState,
  StorageType,
};

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::None:
      return "None";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Float:
      return "float";
    case Kind::Str:
      return "str";
    case Kind::Bytes:
      return "bytes";
    case Kind::Tuple:
      return "tuple";
    case Kind::List:
      return "list";
    case Kind::Dict:
      return "dict";
    case Kind::Global:
      return "global";
    case Kind::Storage:
      return "storage";
    case Kind::Tensor:
      return "tensor";
  }
  return "?";
}

struct Object {
  Kind kind = Kind::None;
  Callable callable = Callable::OrderedDict;     // Global
  at::ScalarType dtype = at::ScalarType::Float;  // Global StorageType, Storage
  int64_t integer = 0;                           // Int, Bool
  double real = 0;                               // Float
  std::string text;                              // Str, Bytes; Global: "module.name"; Storage: key
  std::vector<Object*> items;                    // Tuple, List; Dict: key0, value0, key1, ...
  std::unique_ptr<std::unordered_map<std::string, size_t>> keys;  // Dict: key -> index of value
  at::Tensor tensor;                                              // Storage (1-D), Tensor
};

struct GlobalInfo {
  const char* name;
  Callable callable;
  at::ScalarType dtype;
};

// Everything a torch.save(state_dict) pickle may name. Nothing here runs code from the file.
const GlobalInfo kAllowedGlobals[] = {
    {"collections.OrderedDict", Callable::OrderedDict, at::kFloat},
    {"torch._utils._rebuild_tensor_v2", Callable::RebuildTensorV2, at::kFloat},
    {"torch._utils._rebuild_tensor", Callable::RebuildTensor, at::kFloat},
    {"torch._utils._rebuild_parameter", Callable::RebuildParameter, at::kFloat},
    {"torch._utils._rebuild_parameter_with_state", Callable::RebuildParameterWithState, at::kFloat},
    {"torch.FloatStorage", Callable::StorageType, at::kFloat},
    {"torch.HalfStorage", Callable::StorageType, at::kHalf},
    {"torch.BFloat16Storage", Callable::StorageType, at::kBFloat16},
    {"torch.DoubleStorage", Callable::StorageType, at::kDouble},
    {"torch.LongStorage", Callable::StorageType, at::kLong},
    {"torch.IntStorage", Callable::StorageType, at::kInt},
    {"torch.ShortStorage", Callable::StorageType, at::kShort},
    {"torch.CharStorage", Callable::StorageType, at::kChar},
    {"torch.ByteStorage", Callable::StorageType, at::kByte},
    {"torch.BoolStorage", Callable::StorageType, at::kBool},
};

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, const std::string& source, const StorageLoader& load)
      : data_(data), size_(size), source_(source), load_storage_(load) {}

  Object* run();

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw Error(source_ + ": data.pkl: " + message + " (opcode at byte " + std::to_string(op_pos_) +
                ")");
  }
  const uint8_t* take(size_t n) {
    if (n > size_ - pos_) fail("truncated pickle");
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint64_t read_uint(size_t n) {
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i)
      v |= static_cast<uint64_t>(p[i]) << (8 * i);
    return v;
  }
  std::string read_line() {
    const size_t start = pos_;
    while (pos_ < size_ && data_[pos_] != '\n') {
      if (pos_ - start >= kMaxGlobalName) fail("global name too long");
      ++pos_;
    }
    if (pos_ >= size_) fail("truncated pickle");
    return std::string(reinterpret_cast<const char*>(data_ + start), pos_++ - start);
  }
  void count_insertion() {
    if (++insertions_ > kMaxInsertions) fail("pickle too large (more than 8M items)");
  }
  Object* make(Kind kind) {
    if (arena_.size() >= kMaxObjects) fail("pickle too large (more than 2M objects)");
    arena_.push_back(std::make_unique<Object>());
    arena_.back()->kind = kind;
    return arena_.back().get();
  }
  void push(Object* o) {
    count_insertion();
    stack_.push_back(o);
  }
  Object* pop() {
    if (stack_.empty() || (!marks_.empty() && marks_.back() == stack_.size()))
      fail("stack underflow");
    Object* o = stack_.back();
    stack_.pop_back();
    return o;
  }
  Object* top() {
    if (stack_.empty() || (!marks_.empty() && marks_.back() == stack_.size()))
      fail("stack underflow");
    return stack_.back();
  }
  std::vector<Object*> pop_mark() {
    if (marks_.empty()) fail("no MARK on the stack");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<Object*> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  Object* memo_get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " was never stored");
    return it->second;
  }
  void memo_put(uint64_t index) {
    Object* o = top();
    if (memo_.size() >= kMaxObjects && memo_.find(index) == memo_.end())
      fail("memo too large (more than 2M entries)");
    memo_[index] = o;
  }

  void push_int(int64_t v) {
    Object* o = make(Kind::Int);
    o->integer = v;
    push(o);
  }
  void push_text(Kind kind, size_t n) {
    if (n > size_ - pos_) fail("truncated pickle (string of " + std::to_string(n) + " bytes)");
    Object* o = make(kind);
    o->text.assign(reinterpret_cast<const char*>(take(n)), n);
    push(o);
  }
  Object* make_tuple(std::vector<Object*> items) {
    Object* o = make(Kind::Tuple);
    o->items = std::move(items);
    return o;
  }

  std::string dict_key(const Object* key) {
    switch (key->kind) {
      case Kind::Str:
        return "s" + key->text;
      case Kind::Bytes:
        return "b" + key->text;
      case Kind::Int:
      case Kind::Bool:
        return "i" + std::to_string(key->integer);
      case Kind::None:
        return "n";
      default:
        fail(std::string("unsupported dictionary key of type ") + kind_name(key->kind));
    }
  }
  void set_item(Object* dict, Object* key, Object* value) {
    if (dict->kind != Kind::Dict)
      fail(std::string("SETITEM on a ") + kind_name(dict->kind) + ", not a dict");
    count_insertion();
    if (!dict->keys) dict->keys = std::make_unique<std::unordered_map<std::string, size_t>>();
    const auto [it, inserted] = dict->keys->emplace(dict_key(key), dict->items.size() + 1);
    if (inserted) {
      dict->items.push_back(key);
      dict->items.push_back(value);
    } else {
      dict->items[it->second] = value;  // Python keeps the first position of a re-set key
    }
  }
  void append(Object* list, Object* value) {
    if (list->kind != Kind::List)
      fail(std::string("APPEND on a ") + kind_name(list->kind) + ", not a list");
    count_insertion();
    list->items.push_back(value);
  }

  Object* resolve_global(const std::string& module, const std::string& name);
  Object* call(Object* callable, Object* args);
  Object* rebuild_tensor(const std::vector<Object*>& args);
  Object* persistent_load(Object* pid);
  int64_t as_int(const Object* o, const char* what) {
    if (o->kind != Kind::Int)
      fail(std::string(what) + " must be an int, not " + kind_name(o->kind));
    return o->integer;
  }
  std::vector<int64_t> as_int_tuple(const Object* o, const char* what) {
    if (o->kind != Kind::Tuple && o->kind != Kind::List)
      fail(std::string(what) + " must be a tuple of ints, not " + kind_name(o->kind));
    std::vector<int64_t> out;
    for (const Object* item : o->items)
      out.push_back(as_int(item, what));
    return out;
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  const std::string& source_;
  const StorageLoader& load_storage_;
  std::vector<std::unique_ptr<Object>> arena_;
  std::vector<Object*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Object*> memo_;
  std::unordered_map<std::string, Object*> storages_;
  size_t insertions_ = 0;
};

Object* Unpickler::resolve_global(const std::string& module, const std::string& name) {
  const std::string qualified = module + "." + name;
  for (const GlobalInfo& g : kAllowedGlobals) {
    if (qualified == g.name) {
      Object* o = make(Kind::Global);
      o->callable = g.callable;
      o->dtype = g.dtype;
      o->text = qualified;
      return o;
    }
  }
  throw Error(source_ + ": refusing global '" + qualified + "' (pickle byte " +
              std::to_string(op_pos_) +
              "): only tensors and state-dict containers may be loaded; the file is not a plain "
              "state dict and may run code in Python. Prefer a .safetensors file.");
}

Object* Unpickler::persistent_load(Object* pid) {
  if (pid->kind != Kind::Tuple || pid->items.size() != 5 || pid->items[0]->kind != Kind::Str ||
      pid->items[0]->text != "storage")
    fail("unsupported persistent id (expected ('storage', type, key, location, numel))");
  const Object* type = pid->items[1];
  const Object* key = pid->items[2];
  if (type->kind != Kind::Global || type->callable != Callable::StorageType)
    fail("persistent id names no storage type");
  if (key->kind != Kind::Str) fail("storage key must be a str");
  if (pid->items[3]->kind != Kind::Str) fail("storage location must be a str");
  const int64_t numel = as_int(pid->items[4], "storage size");
  if (numel < 0) fail("negative storage size for storage '" + key->text + "'");

  const auto cached = storages_.find(key->text);
  if (cached != storages_.end()) {
    Object* storage = cached->second;
    if (storage->dtype != type->dtype || storage->tensor.numel() != numel)
      fail("storage '" + key->text + "' is used with two different types or sizes");
    return storage;
  }
  Object* storage = make(Kind::Storage);
  storage->dtype = type->dtype;
  storage->text = key->text;
  storage->tensor = load_storage_(key->text, type->dtype, numel);
  if (storage->tensor.dim() != 1 || storage->tensor.numel() != numel ||
      storage->tensor.scalar_type() != type->dtype)
    fail("storage loader returned a wrong tensor for '" + key->text + "'");
  storages_.emplace(key->text, storage);
  return storage;
}

Object* Unpickler::rebuild_tensor(const std::vector<Object*>& args) {
  const Object* storage = args[0];
  if (storage->kind != Kind::Storage)
    fail(std::string("tensor rebuilt from a ") + kind_name(storage->kind) + ", not a storage");
  const int64_t offset = as_int(args[1], "storage offset");
  const std::vector<int64_t> sizes = as_int_tuple(args[2], "tensor size");
  const std::vector<int64_t> strides = as_int_tuple(args[3], "tensor stride");
  const int64_t available = storage->tensor.numel();
  const std::string what = "tensor in storage '" + storage->text + "'";
  if (sizes.size() != strides.size())
    fail(what + ": size has " + std::to_string(sizes.size()) + " dims but stride has " +
         std::to_string(strides.size()));
  if (static_cast<int64_t>(sizes.size()) > kMaxDims) fail(what + ": too many dimensions");
  if (offset < 0 || offset > available) fail(what + ": storage offset outside the storage");
  // The largest element index is offset + sum((size - 1) * stride); it must be < available. Terms
  // are accumulated one by one, each bounded, so nothing overflows.
  bool empty = false;
  int64_t numel = 1;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] < 0 || strides[d] < 0) fail(what + ": negative size or stride");
    if (sizes[d] == 0) empty = true;
  }
  if (!empty) {
    if (offset >= available)
      fail(what + ": storage offset " + std::to_string(offset) + " outside its storage of " +
           std::to_string(available) + " elements");
    int64_t last = offset;
    for (size_t d = 0; d < sizes.size(); ++d) {
      if (sizes[d] > (int64_t{1} << 62) / numel) fail(what + ": too many elements");
      numel *= sizes[d];
      const int64_t room = available - 1 - last;  // >= -1
      if (room < 0 || (strides[d] != 0 && sizes[d] - 1 > room / strides[d]))
        fail(what + ": view (offset " + std::to_string(offset) +
             ") reaches outside its storage of " + std::to_string(available) + " elements");
      last += (sizes[d] - 1) * strides[d];
    }
  }
  Object* o = make(Kind::Tensor);
  o->tensor = storage->tensor.as_strided(sizes, strides, offset);
  return o;
}

Object* Unpickler::call(Object* callable, Object* args_object) {
  if (callable->kind != Kind::Global)
    fail(std::string("REDUCE on a ") + kind_name(callable->kind) + ", not a callable");
  if (args_object->kind != Kind::Tuple) fail("REDUCE arguments are not a tuple");
  const std::vector<Object*>& args = args_object->items;
  const std::string& name = callable->text;
  auto expect_args = [&](size_t lo, size_t hi) {
    if (args.size() < lo || args.size() > hi)
      fail(name + " called with " + std::to_string(args.size()) + " arguments");
  };
  switch (callable->callable) {
    case Callable::OrderedDict: {
      expect_args(0, 1);
      Object* dict = make(Kind::Dict);
      if (args.size() == 1) {
        if (args[0]->kind != Kind::List && args[0]->kind != Kind::Tuple)
          fail(name + " called with a " + kind_name(args[0]->kind));
        for (Object* pair : args[0]->items) {
          if ((pair->kind != Kind::Tuple && pair->kind != Kind::List) || pair->items.size() != 2)
            fail(name + " item is not a (key, value) pair");
          set_item(dict, pair->items[0], pair->items[1]);
        }
      }
      return dict;
    }
    case Callable::RebuildTensorV2:
      expect_args(6, 7);  // storage, offset, size, stride, requires_grad, hooks[, metadata]
      return rebuild_tensor(args);
    case Callable::RebuildTensor:
      expect_args(4, 4);  // storage, offset, size, stride
      return rebuild_tensor(args);
    case Callable::RebuildParameter:
    case Callable::RebuildParameterWithState:
      expect_args(callable->callable == Callable::RebuildParameter ? 3 : 4,
                  callable->callable == Callable::RebuildParameter ? 3 : 4);
      if (args[0]->kind != Kind::Tensor) fail(name + " of a " + kind_name(args[0]->kind));
      return args[0];
    case Callable::StorageType:
      break;
  }
  fail("calling " + name + " is not supported");
}

Object* Unpickler::run() {
  if (size_ > kMaxPickleBytes) fail("data.pkl is larger than 256 MiB");
  for (;;) {
    op_pos_ = pos_;
    const uint8_t op = *take(1);
    switch (op) {
      case 0x80: {  // PROTO
        const uint8_t proto = *take(1);
        if (proto > 5) fail("unsupported pickle protocol " + std::to_string(proto));
        break;
      }
      case 0x95:
        take(8);
        break;     // FRAME: a length hint only
      case '.': {  // STOP
        Object* result = pop();
        return result;
      }
      case '(':  // MARK
        if (marks_.size() >= kMaxMarkDepth) fail("MARKs nested too deeply");
        marks_.push_back(stack_.size());
        break;
      case '0':  // POP
        if (!marks_.empty() && marks_.back() == stack_.size())
          marks_.pop_back();
        else
          pop();
        break;
      case '1':
        pop_mark();
        break;  // POP_MARK
      case '2':
        push(top());
        break;  // DUP
      case 'N':
        push(make(Kind::None));
        break;
      case 0x88:    // NEWTRUE
      case 0x89: {  // NEWFALSE
        Object* o = make(Kind::Bool);
        o->integer = op == 0x88 ? 1 : 0;
        push(o);
        break;
      }
      case 'J':
        push_int(static_cast<int32_t>(read_uint(4)));
        break;  // BININT
      case 'K':
        push_int(static_cast<int64_t>(read_uint(1)));
        break;  // BININT1
      case 'M':
        push_int(static_cast<int64_t>(read_uint(2)));
        break;      // BININT2
      case 0x8a:    // LONG1
      case 0x8b: {  // LONG4
        const uint64_t n = read_uint(op == 0x8a ? 1 : 4);
        if (n > 8) fail("integer of " + std::to_string(n) + " bytes is too large");
        uint64_t v = n == 0 ? 0 : read_uint(static_cast<size_t>(n));
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign
        push_int(static_cast<int64_t>(v));
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        uint64_t bits = 0;
        const uint8_t* p = take(8);
        for (int i = 0; i < 8; ++i)
          bits = (bits << 8) | p[i];
        Object* o = make(Kind::Float);
        std::memcpy(&o->real, &bits, sizeof bits);
        push(o);
        break;
      }
      case 'X':
        push_text(Kind::Str, read_uint(4));
        break;  // BINUNICODE
      case 0x8c:
        push_text(Kind::Str, read_uint(1));
        break;  // SHORT_BINUNICODE
      case 0x8d:
        push_text(Kind::Str, read_uint(8));
        break;  // BINUNICODE8
      case 'U':
        push_text(Kind::Str, read_uint(1));
        break;     // SHORT_BINSTRING
      case 'T': {  // BINSTRING
        const int64_t n = static_cast<int32_t>(read_uint(4));
        if (n < 0) fail("negative string length");
        push_text(Kind::Str, static_cast<size_t>(n));
        break;
      }
      case 'C':
        push_text(Kind::Bytes, read_uint(1));
        break;  // SHORT_BINBYTES
      case 'B':
        push_text(Kind::Bytes, read_uint(4));
        break;  // BINBYTES
      case 0x8e:
        push_text(Kind::Bytes, read_uint(8));
        break;  // BINBYTES8
      case '}':
        push(make(Kind::Dict));
        break;  // EMPTY_DICT
      case ']':
        push(make(Kind::List));
        break;  // EMPTY_LIST
      case ')':
        push(make_tuple({}));
        break;     // EMPTY_TUPLE
      case 'd': {  // DICT
        std::vector<Object*> items = pop_mark();
        if (items.size() % 2 != 0) fail("DICT with an odd number of items");
        Object* dict = make(Kind::Dict);
        for (size_t i = 0; i < items.size(); i += 2)
          set_item(dict, items[i], items[i + 1]);
        push(dict);
        break;
      }
      case 'l': {  // LIST
        Object* list = make(Kind::List);
        list->items = pop_mark();
        push(list);
        break;
      }
      case 't':
        push(make_tuple(pop_mark()));
        break;      // TUPLE
      case 0x85:    // TUPLE1
      case 0x86:    // TUPLE2
      case 0x87: {  // TUPLE3
        std::vector<Object*> items(op - 0x84);
        for (size_t i = items.size(); i-- > 0;)
          items[i] = pop();
        push(make_tuple(std::move(items)));
        break;
      }
      case 'a': {  // APPEND
        Object* value = pop();
        append(top(), value);
        break;
      }
      case 'e': {  // APPENDS
        std::vector<Object*> items = pop_mark();
        Object* list = top();
        for (Object* item : items)
          append(list, item);
        break;
      }
      case 's': {  // SETITEM
        Object* value = pop();
        Object* key = pop();
        set_item(top(), key, value);
        break;
      }
      case 'u': {  // SETITEMS
        std::vector<Object*> items = pop_mark();
        if (items.size() % 2 != 0) fail("SETITEMS with an odd number of items");
        Object* dict = top();
        for (size_t i = 0; i < items.size(); i += 2)
          set_item(dict, items[i], items[i + 1]);
        break;
      }
      case 'h':
        push(memo_get(read_uint(1)));
        break;  // BINGET
      case 'j':
        push(memo_get(read_uint(4)));
        break;  // LONG_BINGET
      case 'q':
        memo_put(read_uint(1));
        break;  // BINPUT
      case 'r':
        memo_put(read_uint(4));
        break;  // LONG_BINPUT
      case 0x94:
        memo_put(memo_.size());
        break;     // MEMOIZE
      case 'c': {  // GLOBAL
        const std::string module = read_line();
        const std::string name = read_line();
        push(resolve_global(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Object* name = pop();
        Object* module = pop();
        if (name->kind != Kind::Str || module->kind != Kind::Str)
          fail("STACK_GLOBAL needs two strings");
        push(resolve_global(module->text, name->text));
        break;
      }
      case 'R': {  // REDUCE
        Object* args = pop();
        Object* callable = pop();
        push(call(callable, args));
        break;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args); only OrderedDict()
        Object* args = pop();
        Object* cls = pop();
        if (cls->kind != Kind::Global || cls->callable != Callable::OrderedDict ||
            args->kind != Kind::Tuple || !args->items.empty())
          fail("NEWOBJ is only supported for OrderedDict()");
        push(make(Kind::Dict));
        break;
      }
      case 'b': {  // BUILD: only the attribute state of an OrderedDict (e.g. _metadata), ignored
        Object* state = pop();
        Object* target = top();
        if (target->kind != Kind::Dict)
          fail(std::string("BUILD on a ") + kind_name(target->kind) + " is not supported");
        if (state->kind != Kind::Dict && state->kind != Kind::Tuple && state->kind != Kind::None)
          fail("BUILD with an unsupported state");
        break;
      }
      case 'Q':
        push(persistent_load(pop()));
        break;  // BINPERSID
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        std::string text = hex;
        if (op >= 0x20 && op < 0x7f)
          text = "'" + std::string(1, static_cast<char>(op)) + "' (" + text + ")";
        fail("unsupported pickle opcode " + text);
      }
    }
  }
}

// The state dict inside the unpickled object: a dict of tensors, possibly wrapped once or twice in
// {"state_dict": ...}, {"model": ...} or {"module": ...}.
TensorList to_state_dict(const Object* root, const std::string& source) {
  const Object* dict = root;
  for (int depth = 0;; ++depth) {
    if (dict->kind != Kind::Dict)
      throw Error(source + ": holds a " + kind_name(dict->kind) + ", not a state dict");
    bool has_tensor = false;
    const Object* inner = nullptr;
    for (size_t i = 0; i < dict->items.size(); i += 2) {
      const Object* key = dict->items[i];
      const Object* value = dict->items[i + 1];
      has_tensor = has_tensor || value->kind == Kind::Tensor;
      if (key->kind == Kind::Str && value->kind == Kind::Dict && inner == nullptr &&
          (key->text == "state_dict" || key->text == "model" || key->text == "module"))
        inner = value;
    }
    if (has_tensor || inner == nullptr || depth >= 2) break;
    dict = inner;
  }
  TensorList out;
  out.reserve(dict->items.size() / 2);
  for (size_t i = 0; i < dict->items.size(); i += 2) {
    const Object* key = dict->items[i];
    const Object* value = dict->items[i + 1];
    if (key->kind != Kind::Str)
      throw Error(source + ": state dict key of type " + kind_name(key->kind) + ", not str");
    if (value->kind != Kind::Tensor)
      throw Error(source + ": state dict entry '" + key->text + "' is a " + kind_name(value->kind) +
                  ", not a tensor");
    out.emplace_back(key->text, value->tensor);
  }
  return out;
}

}  // namespace

TensorList unpickle_state_dict(const uint8_t* data, size_t size, const std::string& source,
                               const StorageLoader& load_storage) {
  Unpickler unpickler(data, size, source, load_storage);
  const Object* root = unpickler.run();
  return to_state_dict(root, source);
}

}  // namespace papillon::detail
