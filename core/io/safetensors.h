#pragma once
// safetensors reading (validated before use, data read on demand) and writing (atomic).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace papillon {

// Tensors by name, in file order. Weight loaders and savers pass these around.
using TensorList = std::vector<std::pair<std::string, at::Tensor>>;

// A named tensor whose data is read only when it is needed: weights are read straight into the
// parameters they fill, so a model's weights are never held twice in memory.
struct LazyTensor {
  std::string name;
  std::vector<int64_t> shape;
  at::ScalarType dtype = at::kFloat;  // as stored
  // Reads the data into `dst` (same number of elements), converting to dst's dtype and device.
  // Throws Error when the file cannot give the data any more (truncated after it was opened).
  std::function<void(const at::Tensor& dst)> read_into;
};
using LazyTensorList = std::vector<LazyTensor>;

// In-memory tensors as a LazyTensorList (reading copies them), and back (reads every tensor).
LazyTensorList make_lazy(const TensorList& tensors);
TensorList materialize(const LazyTensorList& tensors);

struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // as written in the file: "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the data section
  uint64_t end = 0;
};

namespace detail {
class ReadOnlyFile;
}

// A validated safetensors file. Every check happens in open(): header length bound, JSON
// well-formed, dtypes known, shape x dtype size = byte span, spans inside the file and not
// overlapping. A failure throws papillon::Error naming the file (and the tensor). Tensor data is
// read (pread, not a memory mapping) only when asked for; a file truncated after open() gives an
// Error then, never a crash.
class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const;
  const SafetensorsEntry& entry(const std::string& name) const;

  // The tensor in its stored dtype, on the CPU, in memory of its own.
  at::Tensor get(const std::string& name) const;
  // Reads the tensor into `dst` (same shape), converting to dst's dtype and device; a contiguous
  // CPU tensor of the stored dtype is filled in place, without a temporary.
  void read_into(const std::string& name, const at::Tensor& dst) const;
  TensorList all() const;
  // Every tensor, read on demand (the list keeps the file open).
  LazyTensorList lazy() const;

 private:
  std::string path_;
  std::shared_ptr<const detail::ReadOnlyFile> file_;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
  uint64_t data_offset_ = 0;
};

// Convenience: every tensor of a file.
TensorList load_safetensors(const std::string& path);

// Writes tensors (made contiguous, CPU) to path atomically: a temporary file in the same folder,
// flushed and fsync'ed, then renamed over path. On any failure path is untouched and an Error says
// why.
void save_safetensors(const std::string& path, const TensorList& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace papillon
