#pragma once
// safetensors reading (memory-mapped, validated before use) and writing (atomic).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace papillon {

// Tensors by name, in file order. Weight loaders and savers pass these around.
using TensorList = std::vector<std::pair<std::string, at::Tensor>>;

struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // as written in the file: "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the data section
  uint64_t end = 0;
};

// A validated, memory-mapped safetensors file. Every check happens in open(): header length bound,
// JSON well-formed, dtypes known, shape x dtype size = byte span, spans inside the file and not
// overlapping. A failure throws papillon::Error naming the file (and the tensor).
class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const;
  const SafetensorsEntry& entry(const std::string& name) const;

  // The tensor in its stored dtype, on the CPU. The returned tensor shares the mapping (no copy) when
  // the data is suitably aligned, and keeps the mapping alive as long as it lives.
  at::Tensor get(const std::string& name) const;
  TensorList all() const;

 private:
  struct Mapping;
  std::string path_;
  std::shared_ptr<Mapping> map_;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
  uint64_t data_offset_ = 0;
};

// Convenience: every tensor of a file.
TensorList load_safetensors(const std::string& path);

// Writes tensors (made contiguous, CPU) to path atomically: a temporary file in the same folder,
// flushed and fsync'ed, then renamed over path. On any failure path is untouched and an Error says why.
void save_safetensors(const std::string& path, const TensorList& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace papillon
