#include "core/io/zip_reader.h"

#include <algorithm>

#include "core/util/error.h"

namespace papillon::detail {

namespace {

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint64_t kEndSize = 22;
constexpr uint64_t kZip64EndSize = 56;
constexpr uint64_t kZip64LocatorSize = 20;
constexpr uint64_t kCentralHeaderSize = 46;
constexpr uint64_t kLocalHeaderSize = 30;
// torch.save writes ~100 bytes of central directory per tensor; a directory claiming more than this
// is refused before it is read into memory.
constexpr uint64_t kMaxCentralDirectory = 64ull * 1024 * 1024;

uint16_t read_u16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t read_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t read_u64(const uint8_t* p) {
  return static_cast<uint64_t>(read_u32(p)) | (static_cast<uint64_t>(read_u32(p + 4)) << 32);
}

// True when [offset, offset + length) lies inside [0, limit), without overflow.
bool inside(uint64_t offset, uint64_t length, uint64_t limit) {
  return offset <= limit && length <= limit - offset;
}

}  // namespace

ZipReader::ZipReader(const std::string& path) : file_(std::make_shared<ReadOnlyFile>(path)) {
  read_central_directory();
}

void ZipReader::fail(const std::string& message) const {
  throw Error(path() + ": " + message);
}

const ZipRecord* ZipReader::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &records_[it->second];
}

void ZipReader::read_central_directory() {
  const uint64_t size = file_->size();
  if (size < kEndSize) fail("not a zip archive (too short: " + std::to_string(size) + " bytes)");
  // The file's tail holds the end record, its comment and the ZIP64 locator before it; tail_at maps
  // a file offset at or after tail_start to its byte in the tail.
  const uint64_t tail_start = size - std::min(size, kEndSize + 0xFFFF + kZip64LocatorSize);
  const std::vector<uint8_t> tail = file_->read_bytes(tail_start, size - tail_start);
  const auto tail_at = [&](uint64_t pos) { return tail.data() + (pos - tail_start); };

  // The end-of-central-directory record is followed only by a comment of at most 65535 bytes.
  uint64_t end_pos = size - kEndSize;
  const uint64_t lowest = size - kEndSize > 0xFFFF ? size - kEndSize - 0xFFFF : 0;
  bool found = false;
  for (uint64_t pos = end_pos + 1; pos-- > std::max(lowest, tail_start);) {
    if (read_u32(tail_at(pos)) == kEndSignature &&
        read_u16(tail_at(pos + 20)) == size - pos - kEndSize) {
      end_pos = pos;
      found = true;
      break;
    }
  }
  if (!found) {
    uint8_t first = 0;
    file_->read(0, &first, 1);
    if (size >= 2 && first == 0x80)
      fail(
          "legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with "
          "torch>=1.6");
    fail("not a zip archive (no end-of-central-directory record; truncated file?)");
  }
  const uint8_t* end = tail_at(end_pos);
  if (read_u16(end + 4) != 0 || read_u16(end + 6) != 0)
    fail("multi-disk zip archives are not supported");
  uint64_t count = read_u16(end + 10);
  uint64_t cd_size = read_u32(end + 12);
  uint64_t cd_offset = read_u32(end + 16);
  uint64_t cd_limit = end_pos;  // the central directory ends before the end record

  if (end_pos >= kZip64LocatorSize && end_pos - kZip64LocatorSize >= tail_start &&
      read_u32(tail_at(end_pos - kZip64LocatorSize)) == kZip64LocatorSignature) {
    const uint8_t* locator = tail_at(end_pos - kZip64LocatorSize);
    const uint64_t z64_pos = read_u64(locator + 8);
    if (!inside(z64_pos, kZip64EndSize, end_pos - kZip64LocatorSize))
      fail("corrupt ZIP64 end-of-central-directory record");
    const std::vector<uint8_t> z64_bytes = file_->read_bytes(z64_pos, kZip64EndSize);
    const uint8_t* z64 = z64_bytes.data();
    if (read_u32(z64) != kZip64EndSignature) fail("corrupt ZIP64 end-of-central-directory record");
    count = read_u64(z64 + 32);
    cd_size = read_u64(z64 + 40);
    cd_offset = read_u64(z64 + 48);
    cd_limit = z64_pos;
  }
  if (!inside(cd_offset, cd_size, cd_limit))
    fail("central directory (offset " + std::to_string(cd_offset) + ", " + std::to_string(cd_size) +
         " bytes) lies outside the file; truncated file?");
  if (count > cd_size / kCentralHeaderSize)
    fail("central directory claims " + std::to_string(count) + " records in " +
         std::to_string(cd_size) + " bytes");

  if (cd_size > kMaxCentralDirectory)
    fail("central directory claims " + std::to_string(cd_size) + " bytes (limit " +
         std::to_string(kMaxCentralDirectory) + "); not a torch.save file");
  const std::vector<uint8_t> cd = file_->read_bytes(cd_offset, cd_size);
  const auto cd_at = [&](uint64_t pos) { return cd.data() + (pos - cd_offset); };

  records_.reserve(count);
  uint64_t pos = cd_offset;
  const uint64_t cd_end = cd_offset + cd_size;
  for (uint64_t i = 0; i < count; ++i) {
    if (!inside(pos, kCentralHeaderSize, cd_end) || read_u32(cd_at(pos)) != kCentralHeaderSignature)
      fail("corrupt central directory entry " + std::to_string(i));
    const uint8_t* h = cd_at(pos);
    const uint16_t flags = read_u16(h + 8);
    const uint16_t method = read_u16(h + 10);
    uint64_t compressed = read_u32(h + 20);
    uint64_t uncompressed = read_u32(h + 24);
    const uint64_t name_len = read_u16(h + 28);
    const uint64_t extra_len = read_u16(h + 30);
    const uint64_t comment_len = read_u16(h + 32);
    uint64_t local = read_u32(h + 42);
    if (!inside(pos + kCentralHeaderSize, name_len + extra_len + comment_len, cd_end))
      fail("corrupt central directory entry " + std::to_string(i));
    ZipRecord record;
    record.name.assign(reinterpret_cast<const char*>(h + kCentralHeaderSize), name_len);

    // ZIP64 extended information: the 64-bit values replace the fields that are 0xFFFFFFFF.
    const uint8_t* extra = h + kCentralHeaderSize + name_len;
    for (uint64_t e = 0; e + 4 <= extra_len;) {
      const uint16_t id = read_u16(extra + e);
      const uint64_t len = read_u16(extra + e + 2);
      if (e + 4 + len > extra_len) fail("corrupt extra field of record '" + record.name + "'");
      if (id == 0x0001) {
        const uint8_t* v = extra + e + 4;
        uint64_t used = 0;
        auto take = [&](uint64_t& field) {
          if (used + 8 > len) fail("corrupt ZIP64 field of record '" + record.name + "'");
          field = read_u64(v + used);
          used += 8;
        };
        if (uncompressed == 0xFFFFFFFF) take(uncompressed);
        if (compressed == 0xFFFFFFFF) take(compressed);
        if (local == 0xFFFFFFFF) take(local);
      }
      e += 4 + len;
    }
    pos += kCentralHeaderSize + name_len + extra_len + comment_len;

    if (flags & 0x1) fail("record '" + record.name + "' is encrypted");
    if (method != 0)
      fail("record '" + record.name + "' is compressed (method " + std::to_string(method) +
           "); only stored records are supported, as torch.save writes them");
    if (compressed != uncompressed)
      fail("record '" + record.name + "' is stored but its sizes differ");
    if (!inside(local, kLocalHeaderSize, cd_offset))
      fail("record '" + record.name + "' has no valid local header; truncated file?");
    uint8_t header[kLocalHeaderSize];
    file_->read(local, header, kLocalHeaderSize);
    if (read_u32(header) != kLocalHeaderSignature)
      fail("record '" + record.name + "' has no valid local header; truncated file?");
    const uint64_t data = local + kLocalHeaderSize + read_u16(header + 26) + read_u16(header + 28);
    if (!inside(data, compressed, cd_offset))
      fail("record '" + record.name + "' (" + std::to_string(compressed) +
           " bytes) lies outside the file; truncated file?");
    record.offset = data;
    record.size = compressed;
    if (!index_.emplace(record.name, records_.size()).second)
      fail("duplicate record '" + record.name + "'");
    records_.push_back(std::move(record));
  }
}

}  // namespace papillon::detail
