#pragma once
// Private to core/io: a minimal validating zip reader for the torch.save container (stored records;
// ZIP64 for files over 4 GiB). Every offset and size read from the file is bounds-checked before
// use; the file is read with pread (read_file.h), never mapped.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/io/read_file.h"

namespace papillon::detail {

struct ZipRecord {
  std::string name;
  uint64_t offset = 0;  // of the record's bytes in the file
  uint64_t size = 0;
};

class ZipReader {
 public:
  // Opens `path` and reads its central directory. Throws Error naming the file when it is not a
  // zip archive, is truncated, or holds compressed, encrypted or overlapping-out-of-file records.
  explicit ZipReader(const std::string& path);

  const std::string& path() const { return file_->path(); }
  const std::shared_ptr<const ReadOnlyFile>& file() const { return file_; }
  // Records in central-directory order.
  const std::vector<ZipRecord>& records() const { return records_; }
  // nullptr when absent.
  const ZipRecord* find(const std::string& name) const;
  // A record's bytes, read into memory (for the small ones: the pickle, the byte order).
  std::vector<uint8_t> read(const ZipRecord& record) const {
    return file_->read_bytes(record.offset, record.size);
  }

 private:
  void read_central_directory();
  [[noreturn]] void fail(const std::string& message) const;

  std::shared_ptr<const ReadOnlyFile> file_;
  std::vector<ZipRecord> records_;
  std::map<std::string, size_t> index_;
};

}  // namespace papillon::detail
