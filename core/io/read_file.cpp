#include "core/io/read_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/util/error.h"

namespace papillon::detail {

ReadOnlyFile::ReadOnlyFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw Error(path + ": not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

ReadOnlyFile::~ReadOnlyFile() {
  if (fd_ >= 0) ::close(fd_);
}

void ReadOnlyFile::read(uint64_t offset, void* dst, uint64_t n) const {
  auto* out = static_cast<char*>(dst);
  // Linux reads at most ~2 GiB per call.
  constexpr uint64_t kChunk = uint64_t{1} << 30;
  while (n > 0) {
    const ssize_t got =
        ::pread(fd_, out, static_cast<size_t>(std::min(n, kChunk)), static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw Error(path_ + ": read failed at byte " + std::to_string(offset) + ": " +
                  std::strerror(errno));
    }
    if (got == 0)
      throw Error(path_ + ": the file ends at byte " + std::to_string(offset) +
                  ", before the data it was opened with (was it truncated or changed while "
                  "being read?)");
    out += got;
    offset += static_cast<uint64_t>(got);
    n -= static_cast<uint64_t>(got);
  }
}

std::vector<uint8_t> ReadOnlyFile::read_bytes(uint64_t offset, uint64_t n) const {
  std::vector<uint8_t> bytes(static_cast<size_t>(n));
  read(offset, bytes.data(), n);
  return bytes;
}

void ReadOnlyFile::read_tensor(uint64_t offset, at::ScalarType stored,
                               const at::Tensor& dst) const {
  const uint64_t bytes = static_cast<uint64_t>(dst.numel()) * c10::elementSize(stored);
  if (bytes == 0) return;
  if (stored != at::kBool && dst.scalar_type() == stored && dst.device().is_cpu() &&
      dst.is_contiguous()) {
    read(offset, dst.data_ptr(), bytes);
    return;
  }
  // Bool bytes are read as bytes: any non-zero byte is true.
  const at::ScalarType raw_type = stored == at::kBool ? at::kByte : stored;
  at::Tensor tmp = at::empty(dst.sizes(), at::TensorOptions().dtype(raw_type));
  read(offset, tmp.data_ptr(), bytes);
  if (stored == at::kBool) tmp = tmp.ne(0);
  dst.copy_(tmp);
}

}  // namespace papillon::detail
