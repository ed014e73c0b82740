#pragma once
// The fixtures' full pipeline runs (fixtures/pipeline_runs/<name>: meta.json + run.safetensors)
// turned into Papillon requests: shared by the Qt tests and the Qt-free device check. No Qt here.
#include <string>
#include <vector>

#include "core/io/config.h"
#include "core/io/safetensors.h"
#include "core/pipelines/pipeline_ddpm.h"
#include "core/pipelines/pipeline_stable_diffusion.h"

namespace papillon::test {

struct Run {
  std::string name;
  Json meta;
  SafetensorsFile tensors;
};

Run load_run(const std::string& name);
// The names of the runs that start with `prefix` ("sd_", "ddpm_"), sorted.
std::vector<std::string> run_names(const std::string& prefix);

// fixtures/pipelines/sd_tiny
std::string sd_tiny_dir();
// The keyword arguments of `Cls.from_config(pipe.scheduler.config, **{...})` in meta["call"]
// (a Python dict literal of plain values).
Json from_config_overrides(const std::string& call);
// The request a Stable Diffusion run made, with its generator(s) or given latents.
StableDiffusionRequest sd_request_of(const Run& run);
// The run's scheduler (class and from_config overrides) on a loaded pipeline.
void set_run_scheduler(StableDiffusionPipeline& pipeline, const Run& run);

// A DDPM/DDIM run's pipeline (its folder, scheduler class and resolved config) and request.
DDPMPipeline load_ddpm_pipeline(const Run& run, const ComputeTarget& target = {});
UnconditionalRequest ddpm_request_of(const Run& run);

}  // namespace papillon::test
