#pragma once
// The shard index of a sharded transformers / diffusers checkpoint (<stem>.safetensors.index.json,
// <stem>.bin.index.json): {"metadata": {...}, "weight_map": {tensor name: shard file}}, as written
// by save_pretrained(max_shard_size=...). The reader of weights.h opens the shards it names.
#include <map>
#include <string>
#include <vector>

namespace papillon {

struct ShardIndex {
  std::map<std::string, std::string> weight_map;  // tensor name -> shard file name
  std::vector<std::string> shards;                // distinct shard names, sorted (00001-of-N first)
};

// Parses an index's text. Throws papillon::Error naming `source`: invalid JSON, no "weight_map"
// object, an entry that is not a file name, a shard name that is not a plain .safetensors / .bin
// file name in the index's own folder (no "/", "..", NUL).
ShardIndex parse_shard_index(const std::string& text, const std::string& source);

// Reads and parses the file at `path`.
ShardIndex read_shard_index(const std::string& path);

}  // namespace papillon
