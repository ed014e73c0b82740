// papillon-cli inspect DIR: what a model folder holds, checked without building the models.
#include <cstdio>
#include <filesystem>
#include <map>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/io/config.h"
#include "core/io/safetensors.h"
#include "core/io/unpickler.h"
#include "core/pipelines/model_folder.h"
#include "core/util/error.h"

namespace papillon::cli {

const char* const kInspectUsage =
    "usage: papillon-cli inspect DIR [--json]\n\n"
    "Describes a diffusers pipeline folder: pipeline class, components, weight files with "
    "parameter\n"
    "counts and dtypes, and configs. Exits non-zero when the folder is not usable.\n";

namespace {

namespace fs = std::filesystem;

struct WeightsSummary {
  std::string file;
  uint64_t bytes = 0;
  int64_t tensors = 0;
  int64_t parameters = 0;
  std::map<std::string, int64_t> dtypes;  // dtype -> parameters
};

WeightsSummary summarize_weights(const fs::path& path) {
  WeightsSummary s;
  s.file = path.filename().string();
  s.bytes = fs::file_size(path);
  if (path.extension() == ".safetensors") {
    const auto file = SafetensorsFile::open(path.string());
    for (const auto& e : file.entries()) {
      int64_t n = 1;
      for (auto d : e.shape)
        n *= d;
      s.parameters += n;
      s.dtypes[e.dtype] += n;
      ++s.tensors;
    }
  } else {
    // Names, shapes and dtypes only: no tensor data is read.
    for (const LazyTensor& t : open_torch_bin(path.string())) {
      int64_t n = 1;
      for (auto d : t.shape)
        n *= d;
      s.parameters += n;
      s.dtypes[std::string(c10::toString(t.dtype))] += n;
      ++s.tensors;
    }
  }
  return s;
}

std::string human_count(int64_t n) {
  char buf[32];
  if (n >= 1000000000) {
    std::snprintf(buf, sizeof buf, "%.2f B", n / 1e9);
  } else if (n >= 1000000) {
    std::snprintf(buf, sizeof buf, "%.2f M", n / 1e6);
  } else if (n >= 1000) {
    std::snprintf(buf, sizeof buf, "%.1f K", n / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  }
  return buf;
}

}  // namespace

int cmd_inspect(const std::vector<std::string>& argv) {
  const Args args(argv, {}, {"json"});
  if (args.positional().size() != 1)
    throw Error("inspect takes one folder: papillon-cli inspect DIR");
  const ModelFolder folder = open_model_folder(args.positional()[0]);
  Json report = Json::object();
  report["folder"] = folder.dir;
  report["name"] = folder.name;
  report["pipeline"] = folder.pipeline_class;
  report["components"] = Json::object();
  std::vector<std::string> problems;
  int64_t total_parameters = 0;

  for (const auto& c : folder.components) {
    Json comp = Json::object();
    comp["library"] = c.library;
    comp["class"] = c.class_name;
    Json configs = Json::object();
    for (const char* name : {"config.json", "scheduler_config.json", "tokenizer_config.json"}) {
      const fs::path p = fs::path(c.dir) / name;
      if (!fs::exists(p)) continue;
      try {
        configs[name] = read_json_file(p.string());
      } catch (const Error& e) {
        problems.push_back(e.what());
      }
    }
    comp["configs"] = configs;
    Json weights = Json::array();
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(c.dir)) {
      const auto ext = entry.path().extension();
      if (entry.is_regular_file() && (ext == ".safetensors" || ext == ".bin")) {
        files.push_back(entry.path());
      }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      try {
        const WeightsSummary s = summarize_weights(f);
        weights.push_back({{"file", s.file},
                           {"bytes", s.bytes},
                           {"tensors", s.tensors},
                           {"parameters", s.parameters},
                           {"dtypes", s.dtypes}});
      } catch (const Error& e) {
        problems.push_back(e.what());
      }
    }
    const bool needs_weights = c.class_name.find("Scheduler") == std::string::npos &&
                               c.class_name.find("Tokenizer") == std::string::npos &&
                               c.class_name.find("FeatureExtractor") == std::string::npos &&
                               c.class_name.find("ImageProcessor") == std::string::npos;
    if (needs_weights && files.empty()) {
      problems.push_back(c.dir + ": no weights (.safetensors or .bin) for " + c.class_name);
    }
    if (needs_weights && !configs.contains("config.json")) {
      problems.push_back(c.dir + ": config.json is missing");
    }
    // One checkpoint per component: its first weights file, or every shard of a sharded one
    // (<stem>.safetensors.index.json + <stem>-0000K-of-0000N.safetensors).
    bool sharded = false;
    for (const auto& entry : fs::directory_iterator(c.dir)) {
      const std::string name = entry.path().filename().string();
      if (name.size() > 11 && name.compare(name.size() - 11, 11, ".index.json") == 0)
        sharded = true;
    }
    if (sharded) {
      comp["sharded"] = true;
      for (const auto& w : weights)
        total_parameters += w["parameters"].get<int64_t>();
    } else if (!weights.empty()) {
      total_parameters += weights[0]["parameters"].get<int64_t>();
    }
    comp["weights"] = weights;
    report["components"][c.name] = comp;
  }
  report["parameters"] = total_parameters;
  report["problems"] = problems;

  if (args.has("json")) {
    std::printf("%s\n", report.dump(2).c_str());
  } else {
    std::printf(
        "%s\n  pipeline: %s\n  parameters: %s (first weights file or all shards of each "
        "component)\n",
        folder.dir.c_str(), folder.pipeline_class.c_str(), human_count(total_parameters).c_str());
    for (const auto& c : folder.components) {
      const Json& comp = report["components"][c.name];
      std::printf("\n  %s: %s (%s)\n", c.name.c_str(), c.class_name.c_str(), c.library.c_str());
      for (const auto& w : comp["weights"]) {
        std::string dtypes;
        for (auto it = w["dtypes"].begin(); it != w["dtypes"].end(); ++it) {
          dtypes += (dtypes.empty() ? "" : ", ") + it.key();
        }
        std::printf("    %-48s %10s params  %4lld tensors  %s  %.1f MB\n",
                    w["file"].get<std::string>().c_str(),
                    human_count(w["parameters"].get<int64_t>()).c_str(),
                    static_cast<long long>(w["tensors"].get<int64_t>()), dtypes.c_str(),
                    w["bytes"].get<double>() / 1e6);
      }
      for (auto it = comp["configs"].begin(); it != comp["configs"].end(); ++it) {
        std::printf("    %s:\n", it.key().c_str());
        for (auto kv = it.value().begin(); kv != it.value().end(); ++kv) {
          if (!kv.key().empty() && kv.key()[0] == '_') continue;
          std::printf("      %-32s %s\n", kv.key().c_str(), kv.value().dump().c_str());
        }
      }
    }
    for (const auto& p : problems)
      std::printf("\n  problem: %s\n", p.c_str());
  }
  if (!problems.empty()) {
    std::fprintf(stderr, "papillon-cli inspect: %zu problem%s found in %s\n", problems.size(),
                 problems.size() == 1 ? "" : "s", folder.dir.c_str());
    return 1;
  }
  return 0;
}

}  // namespace papillon::cli
