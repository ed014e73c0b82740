#pragma once
// Schedulers by name, built from a folder's scheduler_config.json with diffusers' from_config
// semantics: keys written in the file are inherited, keys missing from it take the new class's own
// defaults, `overrides` replace keys (diffusers' from_config(config, **kwargs)).
#include <memory>
#include <string>
#include <vector>

#include "core/io/config.h"
#include "core/schedulers/scheduler.h"

namespace papillon {

// Short names users type ("ddpm", "ddim", ...) and diffusers class names ("DDIMScheduler") both
// work.
std::unique_ptr<Scheduler> make_scheduler(const std::string& name, const Json& config,
                                          const Json& overrides = Json::object());

// The diffusers class name for a short name or class name; throws Error listing the known names.
std::string scheduler_class_for(const std::string& name);
std::vector<std::string> scheduler_names();

}  // namespace papillon
