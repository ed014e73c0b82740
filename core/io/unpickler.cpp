#include "core/io/unpickler.h"

#include <torch/torch.h>

#include <cstring>
#include <unordered_map>

#include "core/io/pickle.h"
#include "core/io/zip_reader.h"
#include "core/util/error.h"

namespace papillon {

namespace {

// Where one storage's bytes lie: its record in the archive.
struct StorageRecord {
  uint64_t offset = 0;
  at::ScalarType dtype = at::kFloat;
  int64_t numel = 0;
};

// The archive checked and unpickled, with no tensor data read: `views` live on the meta device
// (sizes, strides, storage offset), and `storages` says where each meta storage's bytes are.
struct BinIndex {
  std::shared_ptr<const detail::ReadOnlyFile> file;
  TensorList views;
  std::unordered_map<const c10::StorageImpl*, StorageRecord> storages;

  const StorageRecord& storage_of(const at::Tensor& view) const {
    return storages.at(view.storage().unsafeGetStorageImpl());
  }
};

// The record `<prefix>data/<key>` checked to hold exactly `numel` elements of `dtype`.
StorageRecord find_storage(const detail::ZipReader& zip, const std::string& prefix,
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
  return {record->offset, dtype, numel};
}

BinIndex index_torch_bin(const std::string& path) {
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
    if (order->size > 64) throw Error(path + ": byte order record is not 'little'");
    const std::vector<uint8_t> bytes = zip.read(*order);
    const std::string value(bytes.begin(), bytes.end());
    if (value != "little")
      throw Error(path + ": byte order '" + value.substr(0, 16) +
                  "' is not supported (only little-endian files)");
  }

  BinIndex index;
  index.file = zip.file();
  const detail::StorageLoader loader = [&](const std::string& key, at::ScalarType dtype,
                                           int64_t numel) {
    const StorageRecord record = find_storage(zip, prefix, key, dtype, numel);
    at::Tensor meta = at::empty({numel}, at::TensorOptions().dtype(dtype).device(at::kMeta));
    index.storages.emplace(meta.storage().unsafeGetStorageImpl(), record);
    return meta;
  };
  const std::vector<uint8_t> pickle_bytes = zip.read(*pickle);
  index.views = detail::unpickle_state_dict(pickle_bytes.data(), pickle_bytes.size(), path, loader);
  return index;
}

at::Tensor read_storage(const detail::ReadOnlyFile& file, const StorageRecord& record) {
  at::Tensor storage = at::empty({record.numel}, at::TensorOptions().dtype(record.dtype));
  file.read_tensor(record.offset, record.dtype, storage);
  return storage;
}

}  // namespace

TensorList load_torch_bin(const std::string& path) {
  const BinIndex index = index_torch_bin(path);
  std::unordered_map<const c10::StorageImpl*, at::Tensor> read;
  TensorList out;
  out.reserve(index.views.size());
  for (const auto& [name, view] : index.views) {
    const c10::StorageImpl* key = view.storage().unsafeGetStorageImpl();
    auto it = read.find(key);
    if (it == read.end())
      it = read.emplace(key, read_storage(*index.file, index.storage_of(view))).first;
    out.emplace_back(name,
                     it->second.as_strided(view.sizes(), view.strides(), view.storage_offset()));
  }
  return out;
}

LazyTensorList open_torch_bin(const std::string& path) {
  const BinIndex index = index_torch_bin(path);
  LazyTensorList out;
  out.reserve(index.views.size());
  for (const auto& [name, view] : index.views) {
    LazyTensor lazy;
    lazy.name = name;
    lazy.shape = view.sizes().vec();
    lazy.dtype = view.scalar_type();
    const StorageRecord record = index.storage_of(view);
    const uint64_t start =
        record.offset + static_cast<uint64_t>(view.storage_offset()) * view.element_size();
    lazy.read_into = [file = index.file, record, start, contiguous = view.is_contiguous(),
                      sizes = view.sizes().vec(), strides = view.strides().vec(),
                      offset = view.storage_offset(), path](const at::Tensor& dst) {
      if (!dst.defined() || dst.sizes() != at::IntArrayRef(sizes))
        throw Error(path + ": a tensor read into a tensor of another shape");
      if (contiguous) {
        file->read_tensor(start, record.dtype, dst);
      } else {
        dst.copy_(read_storage(*file, record).as_strided(sizes, strides, offset));
      }
    };
    out.push_back(std::move(lazy));
  }
  return out;
}

}  // namespace papillon
