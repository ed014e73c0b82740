#include "core/io/shard_index.h"

#include <set>

#include "core/io/config.h"
#include "core/util/error.h"

namespace papillon {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A shard name from an index must be a plain file name in the index's folder.
void check_shard_name(const std::string& source, const std::string& shard) {
  if (shard.empty() || shard == "." || shard == ".." || shard.find('/') != std::string::npos ||
      shard.find('\\') != std::string::npos || shard.find('\0') != std::string::npos)
    throw Error(source + ": shard '" + shard + "' is not a plain file name in the same folder");
  if (!ends_with(shard, ".safetensors") && !ends_with(shard, ".bin"))
    throw Error(source + ": shard '" + shard + "' is neither .safetensors nor .bin");
}

ShardIndex from_json(const Json& index, const std::string& source) {
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    throw Error(source + ": not a shard index (no \"weight_map\" object)");
  ShardIndex out;
  std::set<std::string> shards;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    if (!it.value().is_string())
      throw Error(source + ": weight_map entry '" + it.key() + "' is not a file name");
    const std::string shard = it.value().get<std::string>();
    check_shard_name(source, shard);
    shards.insert(shard);
    out.weight_map.emplace(it.key(), shard);
  }
  out.shards.assign(shards.begin(), shards.end());
  return out;
}

}  // namespace

ShardIndex parse_shard_index(const std::string& text, const std::string& source) {
  Json index;
  try {
    index = Json::parse(text);
  } catch (const Json::exception& e) {
    throw Error(source + ": invalid JSON: " + e.what());
  }
  return from_json(index, source);
}

ShardIndex read_shard_index(const std::string& path) {
  return from_json(read_json_file(path), path);
}

}  // namespace papillon
