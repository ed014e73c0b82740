#include "core/schedulers/scheduler_factory.h"

#include <functional>

#include "core/schedulers/scheduling_ddim.h"
#include "core/schedulers/scheduling_ddpm.h"
#include "core/schedulers/scheduling_dpmsolver_multistep.h"
#include "core/schedulers/scheduling_euler_ancestral_discrete.h"
#include "core/schedulers/scheduling_euler_discrete.h"
#include "core/schedulers/scheduling_heun_discrete.h"
#include "core/schedulers/scheduling_lms_discrete.h"
#include "core/schedulers/scheduling_pndm.h"
#include "core/schedulers/scheduling_utils.h"
#include "core/util/error.h"

namespace papillon {
namespace {

using Builder = std::function<std::unique_ptr<Scheduler>(const Json&, const std::string&)>;

struct ClassEntry {
  std::string class_name;
  Builder build;
};

struct ShortName {
  std::string name;
  std::string class_name;
  Json preset;  // applied under the user's overrides, e.g. use_karras_sigmas for "dpm++2m-karras"
};

template <typename S, typename C>
Builder builder() {
  return [](const Json& json, const std::string& source) -> std::unique_ptr<Scheduler> {
    return std::make_unique<S>(C::from_json(json, source));
  };
}

const std::vector<ClassEntry>& classes() {
  static const std::vector<ClassEntry> table = {
      {"DDPMScheduler", builder<DDPMScheduler, DDPMSchedulerConfig>()},
      {"DDIMScheduler", builder<DDIMScheduler, DDIMSchedulerConfig>()},
      {"EulerDiscreteScheduler", builder<EulerDiscreteScheduler, EulerDiscreteSchedulerConfig>()},
      {"EulerAncestralDiscreteScheduler",
       builder<EulerAncestralDiscreteScheduler, EulerAncestralDiscreteSchedulerConfig>()},
      {"PNDMScheduler", builder<PNDMScheduler, PNDMSchedulerConfig>()},
      {"LMSDiscreteScheduler", builder<LMSDiscreteScheduler, LMSDiscreteSchedulerConfig>()},
      {"HeunDiscreteScheduler", builder<HeunDiscreteScheduler, HeunDiscreteSchedulerConfig>()},
      {"DPMSolverMultistepScheduler",
       builder<DPMSolverMultistepScheduler, DPMSolverMultistepSchedulerConfig>()},
  };
  return table;
}

const std::vector<ShortName>& short_names() {
  static const std::vector<ShortName> table = {
      {"ddpm", "DDPMScheduler", Json::object()},
      {"ddim", "DDIMScheduler", Json::object()},
      {"euler", "EulerDiscreteScheduler", Json::object()},
      {"euler-a", "EulerAncestralDiscreteScheduler", Json::object()},
      {"pndm", "PNDMScheduler", Json::object()},
      {"lms", "LMSDiscreteScheduler", Json::object()},
      {"heun", "HeunDiscreteScheduler", Json::object()},
      {"dpm++2m", "DPMSolverMultistepScheduler", Json::object()},
      {"dpm++2m-karras", "DPMSolverMultistepScheduler", {{"use_karras_sigmas", true}}},
      {"dpm++2m-sde", "DPMSolverMultistepScheduler", {{"algorithm_type", "sde-dpmsolver++"}}},
  };
  return table;
}

const ShortName* find_short(const std::string& name) {
  for (const auto& s : short_names()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const ClassEntry* find_class(const std::string& class_name) {
  for (const auto& c : classes()) {
    if (c.class_name == class_name) return &c;
  }
  return nullptr;
}

}  // namespace

std::vector<std::string> scheduler_names() {
  std::vector<std::string> names;
  for (const auto& s : short_names())
    names.push_back(s.name);
  for (const auto& c : classes())
    names.push_back(c.class_name);
  return names;
}

std::string scheduler_class_for(const std::string& name) {
  if (const ShortName* s = find_short(name)) return s->class_name;
  if (find_class(name) != nullptr) return name;
  std::string list;
  for (const auto& n : scheduler_names())
    list += (list.empty() ? "" : ", ") + n;
  throw Error("unknown scheduler \"" + name + "\" (known: " + list + ")");
}

std::unique_ptr<Scheduler> make_scheduler(const std::string& name, const Json& config,
                                          const Json& overrides) {
  const std::string class_name = scheduler_class_for(name);
  if (!config.is_object() && !config.is_null()) {
    throw Error("scheduler config for " + class_name + " must be a JSON object");
  }
  if (!overrides.is_object() && !overrides.is_null()) {
    throw Error("scheduler overrides for " + class_name + " must be a JSON object");
  }
  // diffusers' from_config: keys written in the config are inherited, keys it lists under
  // _use_default_values take the new class's defaults, then preset and overrides replace keys.
  Json merged = strip_default_keys(config.is_null() ? Json::object() : config);
  if (const ShortName* s = find_short(name)) {
    for (auto it = s->preset.begin(); it != s->preset.end(); ++it)
      merged[it.key()] = it.value();
  }
  if (overrides.is_object()) {
    for (auto it = overrides.begin(); it != overrides.end(); ++it)
      merged[it.key()] = it.value();
  }
  return find_class(class_name)->build(merged, class_name + " config");
}

}  // namespace papillon
