#pragma once
// Private to core/io: a read-only, memory-mapped file and a minimal validating zip reader for the
// torch.save container (stored records; ZIP64 for files over 4 GiB). Every offset and size read
// from the file is bounds-checked before use.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace papillon::detail {

// The whole file mapped copy-on-write (MAP_PRIVATE, readable and writable), so tensors that view
// the mapping can be written to without touching the file. Empty files map to nothing.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  std::string path_;
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

struct ZipRecord {
  std::string name;
  uint64_t offset = 0;  // of the record's bytes in the file
  uint64_t size = 0;
};

class ZipReader {
 public:
  // Maps `path` and reads its central directory. Throws Error naming the file when it is not a
  // zip archive, is truncated, or holds compressed, encrypted or overlapping-out-of-file records.
  explicit ZipReader(const std::string& path);

  const std::string& path() const { return file_->path(); }
  const std::shared_ptr<MappedFile>& file() const { return file_; }
  // Records in central-directory order.
  const std::vector<ZipRecord>& records() const { return records_; }
  // nullptr when absent.
  const ZipRecord* find(const std::string& name) const;
  const uint8_t* data(const ZipRecord& record) const { return file_->data() + record.offset; }

 private:
  void read_central_directory();
  [[noreturn]] void fail(const std::string& message) const;

  std::shared_ptr<MappedFile> file_;
  std::vector<ZipRecord> records_;
  std::map<std::string, size_t> index_;
};

}  // namespace papillon::detail
