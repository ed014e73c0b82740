#pragma once
// Private to core/io: weight files are read with pread(), never memory-mapped. A mapping turns a
// file that another process truncates while we read it into SIGBUS (the process dies); pread()
// turns it into a short read, which becomes an Error naming the file. Tensors are read straight
// into the memory that keeps them (a model's parameters), so nothing is held twice.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace papillon::detail {

class ReadOnlyFile {
 public:
  // Throws Error when the file cannot be opened or is not a regular file.
  explicit ReadOnlyFile(const std::string& path);
  ~ReadOnlyFile();
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;

  const std::string& path() const { return path_; }
  // The size when the file was opened.
  uint64_t size() const { return size_; }

  // Exactly `n` bytes at `offset` into `dst`. Throws Error when the file ends early (it was
  // truncated after it was opened) or a read fails.
  void read(uint64_t offset, void* dst, uint64_t n) const;
  std::vector<uint8_t> read_bytes(uint64_t offset, uint64_t n) const;

  // The `stored`-typed data at [offset, offset + numel x size) into `dst` (whose numel must match),
  // converting to dst's dtype and device. Contiguous CPU tensors of the stored dtype are filled in
  // place; anything else goes through one temporary of the stored dtype. Bytes of a bool tensor
  // other than 0/1 read as true (Python's bool()).
  void read_tensor(uint64_t offset, at::ScalarType stored, const at::Tensor& dst) const;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace papillon::detail
