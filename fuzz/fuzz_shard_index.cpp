// Fuzzes the shard index of a sharded checkpoint (<stem>.safetensors.index.json): the text parser,
// and the index as a weights file (open_weights_file) in a folder holding two tiny valid shards, so
// a hostile weight_map meets real shard files: mapped to the wrong shard, missing, duplicated,
// pointing outside the folder. Accepted indexes must give each tensor once with its mapped shard.
#include <cstring>
#include <filesystem>
#include <set>

#include "core/io/safetensors.h"
#include "core/io/shard_index.h"
#include "core/io/weights.h"
#include "fuzz/fuzz_common.h"

using papillon::fuzz::fail;

namespace {

// The folder with shard files a.safetensors {x, y} and b.safetensors {z}, made once.
const std::string& shard_dir() {
  static const std::string dir = [] {
    std::filesystem::create_directories(papillon::fuzz::scratch_dir() + "/shards");
    auto shard = [](const std::string& name, const std::string& header_json, size_t data_bytes) {
      std::string header = header_json;
      header.append((8 - header.size() % 8) % 8, ' ');
      std::string file(8, '\0');
      const uint64_t n = header.size();
      std::memcpy(file.data(), &n, 8);  // little-endian on every platform we build for
      file += header;
      file.append(data_bytes, '\0');
      papillon::fuzz::write_scratch_file(
          "shards/" + name, reinterpret_cast<const uint8_t*>(file.data()), file.size());
    };
    shard("a.safetensors",
          R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
          R"("y":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
          12);
    shard("b.safetensors", R"({"z":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8);
    return papillon::fuzz::scratch_dir() + "/shards";
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  papillon::fuzz::run_expecting_clean_errors("parse_shard_index", [&] {
    const papillon::ShardIndex index = papillon::parse_shard_index(text, "index.json");
    const std::set<std::string> shards(index.shards.begin(), index.shards.end());
    for (const auto& [name, shard] : index.weight_map) {
      if (!shards.count(shard)) fail("parse_shard_index", "a mapped shard is not in shards");
      if (shard.find('/') != std::string::npos) fail("parse_shard_index", "a path escaped");
    }
  });
  shard_dir();  // the shard files the index may name
  const std::string path =
      papillon::fuzz::write_scratch_file("shards/model.safetensors.index.json", data, size);
  papillon::fuzz::run_expecting_clean_errors("open_weights_file(index)", [&] {
    const papillon::LazyTensorList tensors = papillon::open_weights_file(path);
    std::set<std::string> names;
    for (const papillon::LazyTensor& t : tensors) {
      if (!names.insert(t.name).second) fail("open_weights_file(index)", "a tensor came twice");
    }
    papillon::materialize(tensors);
  });
  return 0;
}
