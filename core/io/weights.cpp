#include "core/io/weights.h"

#include <torch/torch.h>

#include <filesystem>
#include <unordered_set>

#include "core/io/config.h"
#include "core/io/shard_index.h"
#include "core/io/unpickler.h"
#include "core/util/error.h"

namespace papillon {

namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_torch_save(const std::string& path) {
  return ends_with(path, ".bin") || ends_with(path, ".pt") || ends_with(path, ".pth") ||
         ends_with(path, ".ckpt");
}

// diffusers' _add_variant: "model.safetensors" -> "model.fp16.safetensors",
// "model.safetensors.index.json" -> "model.safetensors.index.fp16.json".
std::string with_variant(const std::string& name, const std::string& variant) {
  if (variant.empty()) return name;
  const size_t dot = name.rfind('.');
  return name.substr(0, dot) + "." + variant + name.substr(dot);
}

bool is_regular_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// transformers / diffusers sharded checkpoints: <stem>.safetensors.index.json with a weight_map
// {tensor name: shard file}. Every shard is read (in file-name order, i.e. 00001-of-N first); every
// mapped tensor must be found in its shard and no tensor may come twice.
LazyTensorList open_sharded(const std::string& index_path) {
  const ShardIndex index = read_shard_index(index_path);
  const fs::path folder = fs::path(index_path).parent_path();
  std::vector<std::string> absent;
  for (const std::string& shard : index.shards) {
    if (!is_regular_file((folder / shard).string())) absent.push_back(shard);
  }
  if (!absent.empty()) {
    std::string list;
    for (const std::string& shard : absent)
      list += (list.empty() ? "" : ", ") + shard;
    throw Error(index_path + ": " + std::to_string(absent.size()) + " of the " +
                std::to_string(index.shards.size()) + " shard files it lists are missing from " +
                folder.string() + ": " + list);
  }
  LazyTensorList out;
  std::unordered_set<std::string> names;
  for (const std::string& shard : index.shards) {
    const std::string shard_path = (folder / shard).string();
    for (LazyTensor& tensor : open_weights_file(shard_path)) {
      const std::string& name = tensor.name;
      if (!names.insert(name).second)
        throw Error(index_path + ": tensor '" + name +
                    "' appears in more than one shard (again in " + shard + ")");
      const auto mapped = index.weight_map.find(name);
      if (mapped != index.weight_map.end() && mapped->second != shard)
        throw Error(index_path + ": tensor '" + name + "' is mapped to " + mapped->second +
                    " but found in " + shard);
      out.push_back(std::move(tensor));
    }
  }
  std::vector<std::string> missing;
  for (const auto& [name, shard] : index.weight_map) {
    if (names.count(name) == 0) missing.push_back("'" + name + "' (in " + shard + ")");
  }
  if (!missing.empty()) {
    std::string list;
    for (size_t i = 0; i < missing.size() && i < 20; ++i)
      list += (i ? ", " : "") + missing[i];
    if (missing.size() > 20) list += " and " + std::to_string(missing.size() - 20) + " more";
    throw Error(index_path + ": " + std::to_string(missing.size()) +
                " tensors of the weight_map are missing from their shards: " + list);
  }
  return out;
}

}  // namespace

TensorList load_weights_file(const std::string& path) {
  // torch.save files read eagerly keep views of one storage sharing it.
  if (is_torch_save(path)) return load_torch_bin(path);
  return materialize(open_weights_file(path));
}

LazyTensorList open_weights_file(const std::string& path) {
  if (ends_with(path, ".safetensors")) return SafetensorsFile::open(path).lazy();
  if (ends_with(path, ".json")) return open_sharded(path);
  if (is_torch_save(path)) return open_torch_bin(path);
  throw Error(path +
              ": unknown weights file type (expected .safetensors, .bin or a shard index "
              ".json)");
}

std::string find_weights_file(const std::string& dir, const std::vector<std::string>& stems,
                              const std::string& variant) {
  std::vector<std::string> tried;
  for (const std::string& stem : stems) {
    for (const char* suffix :
         {".safetensors", ".safetensors.index.json", ".bin", ".bin.index.json"}) {
      const std::string name = with_variant(stem + suffix, variant);
      const std::string path = (fs::path(dir) / name).string();
      if (is_regular_file(path)) return path;
      tried.push_back(name);
    }
  }
  std::string list;
  for (const std::string& name : tried)
    list += (list.empty() ? "" : ", ") + name;
  throw Error(dir + ": no weights file found (looked for " + list + ")");
}

}  // namespace papillon
