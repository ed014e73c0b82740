#include "core/io/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>

#include "core/io/atomic_file.h"
#include "core/io/config.h"
#include "core/io/read_file.h"
#include "core/util/error.h"

namespace papillon {
namespace {

// The safetensors format caps the header at 100 MB; anything claiming more is rejected before any
// allocation.
constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

struct DtypeInfo {
  const char* name;
  at::ScalarType type;
  size_t size;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", at::kDouble, 8},    {"F32", at::kFloat, 4}, {"F16", at::kHalf, 2},
    {"BF16", at::kBFloat16, 2}, {"I64", at::kLong, 8},  {"I32", at::kInt, 4},
    {"I16", at::kShort, 2},     {"I8", at::kChar, 1},   {"U8", at::kByte, 1},
    {"BOOL", at::kBool, 1},
};

const DtypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : kDtypes) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

const DtypeInfo* find_dtype(at::ScalarType type) {
  for (const auto& d : kDtypes) {
    if (type == d.type) return &d;
  }
  return nullptr;
}

}  // namespace

LazyTensorList make_lazy(const TensorList& tensors) {
  LazyTensorList out;
  out.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    LazyTensor lazy;
    lazy.name = name;
    if (tensor.defined()) {
      lazy.shape = tensor.sizes().vec();
      lazy.dtype = tensor.scalar_type();
    }
    // (Init-captures: clang refuses to capture structured bindings before C++20.)
    lazy.read_into = [t = tensor, n = name](const at::Tensor& dst) {
      if (!t.defined()) throw Error("tensor '" + n + "' is undefined");
      dst.copy_(t);
    };
    out.push_back(std::move(lazy));
  }
  return out;
}

TensorList materialize(const LazyTensorList& tensors) {
  TensorList out;
  out.reserve(tensors.size());
  for (const LazyTensor& lazy : tensors) {
    at::Tensor t = at::empty(lazy.shape, at::TensorOptions().dtype(lazy.dtype));
    lazy.read_into(t);
    out.emplace_back(lazy.name, std::move(t));
  }
  return out;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile file;
  file.path_ = path;
  auto reader = std::make_shared<const detail::ReadOnlyFile>(path);
  file.file_ = reader;
  const uint64_t file_size = reader->size();
  if (file_size < 8) {
    throw Error(path + ": not a safetensors file (" + std::to_string(file_size) +
                " bytes, too short for the header length)");
  }
  unsigned char length_bytes[8];
  reader->read(0, length_bytes, 8);

  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i)
    header_len = (header_len << 8) | length_bytes[i];
  if (header_len > kMaxHeaderBytes) {
    throw Error(path + ": header claims " + std::to_string(header_len) +
                " bytes (limit 100 MB): not a safetensors file or corrupted");
  }
  if (header_len > file_size - 8) {
    throw Error(path + ": truncated: header claims " + std::to_string(header_len) +
                " bytes but the file has " + std::to_string(file_size - 8) + " after the length");
  }
  file.data_offset_ = 8 + header_len;
  const uint64_t data_size = file_size - file.data_offset_;
  const std::vector<uint8_t> header_bytes = reader->read_bytes(8, header_len);

  // Parse, rejecting duplicate top-level keys (plain parsing would silently keep the last one).
  std::set<std::string> seen;
  std::string duplicate;
  Json header;
  try {
    header = Json::parse(header_bytes.begin(), header_bytes.end(),
                         [&](int depth, Json::parse_event_t event, Json& parsed) {
                           if (depth == 1 && event == Json::parse_event_t::key) {
                             const auto key = parsed.get<std::string>();
                             if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
                           }
                           return true;
                         });
  } catch (const Json::exception& e) {
    throw Error(path + ": header is not valid JSON (" + e.what() + ")");
  }
  if (!duplicate.empty())
    throw Error(path + ": tensor '" + duplicate + "' appears twice in the header");
  if (!header.is_object()) throw Error(path + ": header is not a JSON object");

  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const Json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw Error(path + ": __metadata__ must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) {
          throw Error(path + ": __metadata__ value '" + m.key() + "' is not a string");
        }
        file.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = path + ": tensor '" + name + "'";
    if (!v.is_object()) throw Error(where + ": entry is not an object");
    auto dt = v.find("dtype");
    auto sh = v.find("shape");
    auto off = v.find("data_offsets");
    if (dt == v.end() || !dt->is_string()) throw Error(where + ": missing dtype");
    if (sh == v.end() || !sh->is_array()) throw Error(where + ": missing shape");
    if (off == v.end() || !off->is_array() || off->size() != 2) {
      throw Error(where + ": data_offsets must be [begin, end]");
    }
    SafetensorsEntry e;
    e.name = name;
    e.dtype = dt->get<std::string>();
    const DtypeInfo* info = find_dtype(e.dtype);
    if (info == nullptr) throw Error(where + ": unsupported dtype '" + e.dtype + "'");
    uint64_t numel = 1;
    for (const Json& d : *sh) {
      if (!d.is_number_unsigned()) throw Error(where + ": shape must hold non-negative integers");
      const uint64_t n = d.get<uint64_t>();
      if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (n != 0 && numel > std::numeric_limits<uint64_t>::max() / n)) {
        throw Error(where + ": shape is absurdly large");
      }
      numel *= n;
      e.shape.push_back(static_cast<int64_t>(n));
    }
    for (const Json& o : *off) {
      if (!o.is_number_unsigned())
        throw Error(where + ": data_offsets must be non-negative integers");
    }
    e.begin = (*off)[0].get<uint64_t>();
    e.end = (*off)[1].get<uint64_t>();
    if (e.begin > e.end) throw Error(where + ": data_offsets begin > end");
    if (e.end > data_size) {
      throw Error(where + ": data [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                  ") lies outside the file's " + std::to_string(data_size) +
                  " data bytes (truncated file?)");
    }
    if (numel > std::numeric_limits<uint64_t>::max() / info->size ||
        numel * info->size != e.end - e.begin) {
      throw Error(where + ": shape and dtype need " + std::to_string(numel) + " x " +
                  std::to_string(info->size) + " bytes but data_offsets span " +
                  std::to_string(e.end - e.begin));
    }
    file.entries_.push_back(std::move(e));
  }
  std::sort(file.entries_.begin(), file.entries_.end(),
            [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  // Sorted by begin, a non-empty span overlaps an earlier one iff it starts before the furthest end
  // seen so far (comparing only neighbours misses a long span followed by an empty one).
  const SafetensorsEntry* furthest = nullptr;
  for (const auto& cur : file.entries_) {
    if (cur.begin == cur.end) continue;
    if (furthest != nullptr && cur.begin < furthest->end) {
      throw Error(path + ": tensors '" + furthest->name + "' and '" + cur.name + "' overlap");
    }
    if (furthest == nullptr || cur.end > furthest->end) furthest = &cur;
  }
  for (size_t i = 0; i < file.entries_.size(); ++i)
    file.index_[file.entries_[i].name] = i;
  return file;
}

bool SafetensorsFile::contains(const std::string& name) const {
  return index_.count(name) != 0;
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw Error(path_ + ": no tensor named '" + name + "'");
  return entries_[it->second];
}

at::Tensor SafetensorsFile::get(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(find_dtype(e.dtype)->type));
  read_into(name, t);
  return t;
}

void SafetensorsFile::read_into(const std::string& name, const at::Tensor& dst) const {
  const SafetensorsEntry& e = entry(name);
  if (!dst.defined() || dst.sizes() != at::IntArrayRef(e.shape))
    throw Error(path_ + ": tensor '" + name + "' read into a tensor of another shape");
  file_->read_tensor(data_offset_ + e.begin, find_dtype(e.dtype)->type, dst);
}

TensorList SafetensorsFile::all() const {
  TensorList out;
  out.reserve(entries_.size());
  for (const auto& e : entries_)
    out.emplace_back(e.name, get(e.name));
  return out;
}

LazyTensorList SafetensorsFile::lazy() const {
  auto self = std::make_shared<const SafetensorsFile>(*this);
  LazyTensorList out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) {
    LazyTensor lazy;
    lazy.name = e.name;
    lazy.shape = e.shape;
    lazy.dtype = find_dtype(e.dtype)->type;
    lazy.read_into = [self, name = e.name](const at::Tensor& dst) { self->read_into(name, dst); };
    out.push_back(std::move(lazy));
  }
  return out;
}

TensorList load_safetensors(const std::string& path) {
  return SafetensorsFile::open(path).all();
}

void save_safetensors(const std::string& path, const TensorList& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata)
      meta[k] = v;
    header["__metadata__"] = meta;
  }
  std::vector<at::Tensor> contiguous;
  contiguous.reserve(tensors.size());
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (!names.insert(name).second) throw Error(path + ": tensor '" + name + "' given twice");
    if (!tensor.defined()) throw Error(path + ": tensor '" + name + "' is undefined");
    const DtypeInfo* info = find_dtype(tensor.scalar_type());
    if (info == nullptr) {
      throw Error(path + ": tensor '" + name + "' has a dtype safetensors cannot store");
    }
    at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * info->size;
    header[name] = {{"dtype", info->name},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    contiguous.push_back(std::move(t));
  }
  std::string head = header.dump();
  while ((head.size() + 8) % 8 != 0)
    head.push_back(' ');
  std::string prefix;
  const uint64_t n = head.size();
  for (int i = 0; i < 8; ++i)
    prefix.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  prefix += head;
  // Streamed into the temporary file: no second in-memory copy of a multi-GB checkpoint.
  write_file_atomically(path, [&](const std::string& tmp) {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw Error(path + ": cannot create file: " + std::strerror(errno));
    auto write_all = [&](const char* p, size_t left) {
      while (left > 0) {
        const ssize_t written = ::write(fd, p, left);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) {
          const int saved = errno;
          ::close(fd);
          throw Error(path + ": write failed: " + std::strerror(saved));
        }
        p += written;
        left -= static_cast<size_t>(written);
      }
    };
    write_all(prefix.data(), prefix.size());
    for (const auto& t : contiguous)
      write_all(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
    if (::close(fd) != 0) throw Error(path + ": write failed: " + std::strerror(errno));
  });
}

}  // namespace papillon
