#pragma once
// A diffusers pipeline folder on disk: model_index.json and its component sub-folders.
#include <string>
#include <vector>

#include "core/io/config.h"

namespace papillon {

struct ComponentInfo {
  std::string name;        // "unet", "scheduler", ...
  std::string library;     // "diffusers", "transformers"
  std::string class_name;  // "UNet2DModel", "DDPMScheduler", ...
  std::string dir;         // <folder>/<name>
};

struct ModelFolder {
  std::string dir;
  std::string name;            // the folder's base name, shown to users and saved with images
  std::string pipeline_class;  // model_index.json _class_name
  Json model_index;
  std::vector<ComponentInfo> components;  // sorted by name; null entries are left out

  // Throws Error naming the folder when the component is missing.
  const ComponentInfo& component(const std::string& name) const;
  bool has_component(const std::string& name) const;
};

// Reads and validates <dir>/model_index.json; every listed component folder must exist.
ModelFolder open_model_folder(const std::string& dir);

// The scheduler config of a folder (<dir>/scheduler/scheduler_config.json).
Json read_scheduler_config(const ModelFolder& folder);

}  // namespace papillon
