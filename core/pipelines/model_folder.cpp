#include "core/pipelines/model_folder.h"

#include <filesystem>

#include "core/util/error.h"

namespace papillon {

namespace fs = std::filesystem;

const ComponentInfo& ModelFolder::component(const std::string& component_name) const {
  for (const auto& c : components) {
    if (c.name == component_name) return c;
  }
  throw Error(dir + ": this " + pipeline_class + " folder has no '" + component_name +
              "' component in model_index.json");
}

bool ModelFolder::has_component(const std::string& component_name) const {
  for (const auto& c : components) {
    if (c.name == component_name) return true;
  }
  return false;
}

ModelFolder open_model_folder(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": not a folder");
  const fs::path index = fs::path(dir) / "model_index.json";
  if (!fs::exists(index, ec)) {
    throw Error(dir +
                ": no model_index.json — expected a diffusers pipeline folder "
                "(model_index.json with unet/, scheduler/, ... sub-folders)");
  }
  ModelFolder folder;
  folder.dir = dir;
  folder.name = fs::path(dir).lexically_normal().filename().string();
  if (folder.name.empty()) folder.name = fs::path(dir).lexically_normal().parent_path().filename();
  folder.model_index = read_json_file(index.string());
  const std::string source = index.string();
  ConfigReader reader(folder.model_index, source);
  folder.pipeline_class = reader.get_string("_class_name", "");
  if (folder.pipeline_class.empty()) throw Error(source + ": _class_name is missing");
  for (auto it = folder.model_index.begin(); it != folder.model_index.end(); ++it) {
    if (it.key().empty() || it.key()[0] == '_') continue;
    const Json& v = it.value();
    if (!v.is_array()) continue;  // e.g. "requires_safety_checker": false
    if (v.size() != 2) throw Error(source + ": " + it.key() + " must be [library, class]");
    if (v[0].is_null() || v[1].is_null()) continue;  // safety_checker: [null, null]
    if (!v[0].is_string() || !v[1].is_string()) {
      throw Error(source + ": " + it.key() + " must be [library, class] strings");
    }
    ComponentInfo c;
    c.name = it.key();
    c.library = v[0].get<std::string>();
    c.class_name = v[1].get<std::string>();
    c.dir = (fs::path(dir) / c.name).string();
    if (!fs::is_directory(c.dir, ec)) {
      throw Error(dir + ": model_index.json lists '" + c.name + "' (" + c.class_name +
                  ") but the folder " + c.dir + " is missing");
    }
    folder.components.push_back(std::move(c));
  }
  return folder;
}

Json read_scheduler_config(const ModelFolder& folder) {
  const auto& c = folder.component("scheduler");
  return read_json_file((fs::path(c.dir) / "scheduler_config.json").string());
}

}  // namespace papillon
