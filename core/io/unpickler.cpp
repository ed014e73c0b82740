#include "core/io/unpickler.h"

#include <torch/torch.h>

#include <cstring>

#include "core/io/pickle.h"
#include "core/io/zip_reader.h"
#include "core/util/error.h"

namespace papillon {

namespace {

// The bytes of record `<prefix>data/<key>` as a 1-D tensor of `dtype` and exactly `numel` elements.
// Aligned data is used in place (the tensor keeps the copy-on-write mapping alive); unaligned data
// is copied.
at::Tensor load_storage(const detail::ZipReader& zip, const std::string& prefix,
                        const std::string& key, at::ScalarType dtype, int64_t numel) {
  const std::string name = prefix + "data/" + key;
  const detail::ZipRecord* record = zip.find(name);
  if (record == nullptr)
    throw Error(zip.path() + ": storage '" + key + "' has no record '" + name + "'");
  const uint64_t element = c10::elementSize(dtype);
  if (static_cast<uint64_t>(numel) > record->size / element ||
      static_cast<uint64_t>(numel) * element != record->size)
    throw Error(zip.path() + ": storage '" + key + "' should hold " + std::to_string(numel) + " " +
                std::string(c10::toString(dtype)) + " elements (" +
                std::to_string(static_cast<uint64_t>(numel) * element) +
                " bytes) but its record '" + name + "' has " + std::to_string(record->size) +
                " bytes");
  const uint8_t* data = zip.data(*record);
  if (dtype == at::kBool) {
    // Any byte other than 0/1 would be an invalid bool; normalise like Python's bool().
    at::Tensor bytes = torch::empty({numel}, torch::kUInt8);
    if (numel > 0) std::memcpy(bytes.data_ptr(), data, record->size);
    return bytes.ne(0);
  }
  if (reinterpret_cast<uintptr_t>(data) % element == 0) {
    std::shared_ptr<detail::MappedFile> keep = zip.file();
    return torch::from_blob(
        const_cast<uint8_t*>(data), {numel}, [keep](void*) {}, torch::TensorOptions().dtype(dtype));
  }
  at::Tensor copy = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
  if (numel > 0) std::memcpy(copy.data_ptr(), data, record->size);
  return copy;
}

}  // namespace

TensorList load_torch_bin(const std::string& path) {
  const detail::ZipReader zip(path);
  if (zip.records().empty()) throw Error(path + ": empty zip archive, not a torch.save file");
  // torch.save puts every record in one top folder named after the file stem.
  const std::string& first = zip.records().front().name;
  const size_t slash = first.find('/');
  if (slash == std::string::npos)
    throw Error(path + ": record '" + first + "' is not inside a folder; not a torch.save file");
  const std::string prefix = first.substr(0, slash + 1);

  const detail::ZipRecord* pickle = zip.find(prefix + "data.pkl");
  if (pickle == nullptr)
    throw Error(path + ": no '" + prefix + "data.pkl' record; not a torch.save file");
  if (const detail::ZipRecord* order = zip.find(prefix + "byteorder")) {
    const std::string value(reinterpret_cast<const char*>(zip.data(*order)), order->size);
    if (value != "little")
      throw Error(path + ": byte order '" + value.substr(0, 16) +
                  "' is not supported (only little-endian files)");
  }

  const detail::StorageLoader loader = [&](const std::string& key, at::ScalarType dtype,
                                           int64_t numel) {
    return load_storage(zip, prefix, key, dtype, numel);
  };
  return detail::unpickle_state_dict(zip.data(*pickle), pickle->size, path, loader);
}

}  // namespace papillon
