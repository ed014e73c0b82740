#include "core/io/weights.h"

#include <torch/torch.h>

#include <filesystem>
#include <set>
#include <unordered_set>

#include "core/io/config.h"
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

// A shard name from an index must be a plain file name in the index's folder.
void check_shard_name(const std::string& index_path, const std::string& shard) {
  if (shard.empty() || shard == "." || shard == ".." || shard.find('/') != std::string::npos ||
      shard.find('\\') != std::string::npos || shard.find('\0') != std::string::npos)
    throw Error(index_path + ": shard '" + shard + "' is not a plain file name in the same folder");
  if (!ends_with(shard, ".safetensors") && !ends_with(shard, ".bin"))
    throw Error(index_path + ": shard '" + shard + "' is neither .safetensors nor .bin");
}

// transformers / diffusers sharded checkpoints: <stem>.safetensors.index.json with a weight_map
// {tensor name: shard file}. Every shard is read (in file-name order, i.e. 00001-of-N first); every
// mapped tensor must be found in its shard and no tensor may come twice.
LazyTensorList open_sharded(const std::string& index_path) {
  const Json index = read_json_file(index_path);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    throw Error(index_path + ": not a shard index (no \"weight_map\" object)");
  const Json& weight_map = index["weight_map"];
  std::set<std::string> shards;
  for (auto it = weight_map.begin(); it != weight_map.end(); ++it) {
    if (!it.value().is_string())
      throw Error(index_path + ": weight_map entry '" + it.key() + "' is not a file name");
    const std::string shard = it.value().get<std::string>();
    check_shard_name(index_path, shard);
    shards.insert(shard);
  }
  const fs::path folder = fs::path(index_path).parent_path();
  LazyTensorList out;
  std::unordered_set<std::string> names;
  for (const std::string& shard : shards) {
    const std::string shard_path = (folder / shard).string();
    for (LazyTensor& tensor : open_weights_file(shard_path)) {
      const std::string& name = tensor.name;
      if (!names.insert(name).second)
        throw Error(index_path + ": tensor '" + name +
                    "' appears in more than one shard (again in " + shard + ")");
      const auto mapped = weight_map.find(name);
      if (mapped != weight_map.end() && mapped->get<std::string>() != shard)
        throw Error(index_path + ": tensor '" + name + "' is mapped to " +
                    mapped->get<std::string>() + " but found in " + shard);
      out.push_back(std::move(tensor));
    }
  }
  for (auto it = weight_map.begin(); it != weight_map.end(); ++it) {
    if (names.count(it.key()) == 0)
      throw Error(index_path + ": tensor '" + it.key() + "' is missing from its shard " +
                  it.value().get<std::string>());
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
