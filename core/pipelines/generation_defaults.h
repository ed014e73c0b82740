#pragma once
// The one rule for generation defaults, used by every front end (CLI generate and eval, the
// window, a dropped PNG, the benchmarks) through the pipelines.
//
// Each parameter of a GenerationRequest is given or not given (std::optional). Given: it is used
// as is (`--eta 0` included). Not given: the model's own default (papillon.json beside
// model_index.json), then the folder's scheduler config, then diffusers' pipeline default. The
// scheduler is resolved first; the other defaults apply to whichever scheduler that is, and a
// parameter only exists for a scheduler that takes it (eta: DDIM's step()). See docs/cli.md.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/io/config.h"

namespace papillon {

struct GenerationRequest;
struct PipelineInfo;

// Where a resolved value came from.
enum class DefaultSource {
  kRequest,          // given by the caller
  kModel,            // the folder's papillon.json
  kSchedulerConfig,  // the folder's scheduler/scheduler_config.json
  kPipeline,         // diffusers' pipeline default (or the UNet's sample size)
};
// "request", "model", "scheduler_config", "pipeline"
const char* default_source_name(DefaultSource source);

template <typename T>
struct Resolved {
  T value{};
  DefaultSource source = DefaultSource::kPipeline;
};

// What a model folder says of its own defaults (papillon.json's default_* keys). Each is optional.
struct ModelDefaults {
  std::optional<std::string> scheduler;  // a diffusers class name
  std::optional<int64_t> steps;
  std::optional<double> guidance_scale;
  std::optional<double> eta;
  std::optional<int64_t> width;
  std::optional<int64_t> height;
};

// Reads the default_* keys of a papillon.json (already parsed; `path` names it in errors). Wrong
// types and absurd values are errors naming the key.
ModelDefaults read_model_defaults(const Json& papillon_json, const std::string& path);
// The same from `dir`/papillon.json; none given where the folder has no such file.
ModelDefaults read_folder_model_defaults(const std::string& dir);

// The pipeline's own defaults: diffusers' __call__ defaults and the folder's scheduler.
struct PipelineDefaults {
  std::string scheduler;  // the scheduler the folder names
  DefaultSource scheduler_source = DefaultSource::kSchedulerConfig;
  int64_t steps = 50;
  // Steps that differ by scheduler (DDPMPipeline: 1000 for DDPMScheduler).
  std::map<std::string, int64_t> steps_for_scheduler;
  std::optional<double> guidance_scale;  // none: the pipeline takes no guidance
  double eta = 0.0;                      // diffusers' eta=0.0 where step() takes one
  int64_t width = 0;                     // the UNet's sample size (times the VAE's factor)
  int64_t height = 0;
};

struct ResolvedParameters {
  Resolved<std::string> scheduler;  // a diffusers class name
  Resolved<int64_t> steps;
  std::optional<Resolved<double>> guidance_scale;  // none: the model takes no guidance
  std::optional<Resolved<double>> eta;             // none: the scheduler takes no eta
  Resolved<int64_t> width;
  Resolved<int64_t> height;
};

// Whether diffusers passes eta to this scheduler's step() (prepare_extra_step_kwargs).
bool scheduler_takes_eta(const std::string& scheduler_class);

// The rule itself. `info` carries the model's and the pipeline's defaults. Throws Error for an
// unknown scheduler name.
ResolvedParameters resolve_parameters(const GenerationRequest& request, const PipelineInfo& info);

// The same with nothing given but (optionally) the scheduler: what a front end shows.
ResolvedParameters default_parameters(const PipelineInfo& info,
                                      const std::optional<std::string>& scheduler = std::nullopt);

// Fills PipelineInfo's default_* summary fields from its model and pipeline defaults.
void fill_default_summary(PipelineInfo& info);

}  // namespace papillon
