#include "core/pipelines/generation_defaults.h"

#include <cmath>
#include <filesystem>
#include <utility>

#include "core/pipelines/pipeline.h"
#include "core/schedulers/scheduler_factory.h"
#include "core/util/error.h"

namespace papillon {
namespace {

constexpr int64_t kMaxSteps = 100000;
constexpr int64_t kMaxSize = 16384;  // a model's own default size (papillon.json)
// A requested size only has to be a sane number here: whether it fits is the memory estimate's
// call (it names the size and what is available), which runs before anything is allocated.
constexpr int64_t kMaxRequestSize = int64_t{1} << 24;

template <typename T>
Resolved<T> pick(const std::optional<T>& given, const std::optional<T>& model, T pipeline,
                 DefaultSource pipeline_source = DefaultSource::kPipeline) {
  if (given) return {*given, DefaultSource::kRequest};
  if (model) return {*model, DefaultSource::kModel};
  return {pipeline, pipeline_source};
}

void check_given(const GenerationRequest& r) {
  if (r.steps && (*r.steps < 1 || *r.steps > kMaxSteps)) {
    throw Error("steps must be between 1 and " + std::to_string(kMaxSteps) + ", got " +
                std::to_string(*r.steps));
  }
  if (r.guidance_scale && (!std::isfinite(*r.guidance_scale) || *r.guidance_scale < 0)) {
    throw Error("the guidance scale must be a number of at least 0");
  }
  if (r.eta && !std::isfinite(*r.eta)) throw Error("eta must be a finite number");
  for (const auto* size : {&r.width, &r.height}) {
    if (*size && (**size < 1 || **size > kMaxRequestSize)) {
      throw Error("width and height must be between 1 and " + std::to_string(kMaxRequestSize) +
                  ", got " + std::to_string(**size));
    }
  }
}

}  // namespace

const char* default_source_name(DefaultSource source) {
  switch (source) {
    case DefaultSource::kRequest:
      return "request";
    case DefaultSource::kModel:
      return "model";
    case DefaultSource::kSchedulerConfig:
      return "scheduler_config";
    case DefaultSource::kPipeline:
      return "pipeline";
  }
  return "pipeline";
}

ModelDefaults read_model_defaults(const Json& papillon_json, const std::string& path) {
  const ConfigReader r(papillon_json, path);
  ModelDefaults d;
  if (const auto name = r.get_optional_string("default_scheduler")) {
    try {
      d.scheduler = scheduler_class_for(*name);
    } catch (const Error& e) {
      r.fail("default_scheduler", e.what());
    }
  }
  d.steps = r.get_optional_int("default_steps");
  if (d.steps && (*d.steps < 1 || *d.steps > kMaxSteps)) {
    r.fail("default_steps", "must be between 1 and " + std::to_string(kMaxSteps));
  }
  d.guidance_scale = r.get_optional_double("default_guidance");
  if (d.guidance_scale && (!std::isfinite(*d.guidance_scale) || *d.guidance_scale < 0)) {
    r.fail("default_guidance", "must be a number of at least 0");
  }
  d.eta = r.get_optional_double("default_eta");
  if (d.eta && (!std::isfinite(*d.eta) || *d.eta < 0)) {
    r.fail("default_eta", "must be a number of at least 0");
  }
  const std::pair<const char*, std::optional<int64_t>*> sizes[] = {{"default_width", &d.width},
                                                                   {"default_height", &d.height}};
  for (const auto& [key, value] : sizes) {
    *value = r.get_optional_int(key);
    if (*value && (**value < 8 || **value > kMaxSize)) {
      r.fail(key, "must be between 8 and " + std::to_string(kMaxSize));
    }
  }
  return d;
}

ModelDefaults read_folder_model_defaults(const std::string& dir) {
  const std::string path = dir + "/papillon.json";
  if (!std::filesystem::exists(path)) return {};
  return read_model_defaults(read_json_file(path), path);
}

bool scheduler_takes_eta(const std::string& scheduler_class) {
  // Of the schedulers Papillon has, only DDIM's step() has an eta argument in diffusers; the
  // ancestral ones (Euler a, DDPM) draw their noise without one.
  return scheduler_class == "DDIMScheduler";
}

ResolvedParameters resolve_parameters(const GenerationRequest& request, const PipelineInfo& info) {
  check_given(request);
  const ModelDefaults& model = info.model_defaults;
  const PipelineDefaults& pipeline = info.pipeline_defaults;
  ResolvedParameters out;

  std::optional<std::string> asked;
  if (request.scheduler) asked = scheduler_class_for(*request.scheduler);
  out.scheduler = pick(asked, model.scheduler, pipeline.scheduler, pipeline.scheduler_source);
  const std::string& scheduler = out.scheduler.value;

  const auto per_scheduler = pipeline.steps_for_scheduler.find(scheduler);
  out.steps = pick(
      request.steps, model.steps,
      per_scheduler != pipeline.steps_for_scheduler.end() ? per_scheduler->second : pipeline.steps);
  if (pipeline.guidance_scale) {
    out.guidance_scale =
        pick(request.guidance_scale, model.guidance_scale, *pipeline.guidance_scale);
  }
  if (scheduler_takes_eta(scheduler)) out.eta = pick(request.eta, model.eta, pipeline.eta);
  out.width = pick(request.width, model.width, pipeline.width);
  out.height = pick(request.height, model.height, pipeline.height);
  return out;
}

ResolvedParameters default_parameters(const PipelineInfo& info,
                                      const std::optional<std::string>& scheduler) {
  GenerationRequest request;
  request.scheduler = scheduler;
  return resolve_parameters(request, info);
}

void fill_default_summary(PipelineInfo& info) {
  const ResolvedParameters d = default_parameters(info);
  info.default_scheduler = d.scheduler.value;
  info.default_steps = d.steps.value;
  if (d.guidance_scale) info.default_guidance = d.guidance_scale->value;
  info.default_eta = d.eta ? std::optional<double>(d.eta->value) : std::nullopt;
  info.default_width = d.width.value;
  info.default_height = d.height.value;
}

}  // namespace papillon
