#pragma once
// The one sampling loop every pipeline goes through (STYLE.md "One denoising loop"), in the shape
// of diffusers' pipelines: classifier-free guidance by one batched model call on [uncond; cond],
// scheduler.scale_model_input, guidance (with guidance_rescale), the learned-sigma split, step()
// with the scheduler's arguments, the per-step event and the cancel checks. What differs between
// pipelines (conditioning, starting latents, how one model call is made) is the caller's.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "core/pipelines/pipeline_types.h"

namespace papillon {

class Scheduler;
class Generators;

struct DenoisingLoopOptions {
  // Classifier-free guidance: the latents are doubled for the model call and its output split
  // into [uncond; cond] halves; noise = uncond + guidance_scale * (cond - uncond).
  bool guidance = false;
  double guidance_scale = 1.0;
  double guidance_rescale = 0.0;  // rescale_noise_cfg (Lin et al. 2023, section 3.4) when > 0
  // The model predicts twice the latent channels (PixArt's learned variance): after guidance,
  // only the first latent-channel half goes to the scheduler, as diffusers does when
  // out_channels // 2 == latent channels.
  bool learned_sigma = false;
  double eta = 0.0;                  // for schedulers whose step() takes it (DDIM)
  Generators* generators = nullptr;  // for stochastic steps
};

// One model call: the scaled model input (CFG batch included, in the latents' dtype) and the
// step's timestep (a 0-d CPU tensor of the scheduler's dtype). Returns the raw model output in any
// dtype; the loop brings it to the latents' dtype.
using DenoiserCall = std::function<at::Tensor(const at::Tensor& model_input, const at::Tensor& t)>;

// What a step did, for tests and debugging (the fixtures' per-step intermediates).
struct DenoisingStepRecord {
  int64_t index = 0;
  double timestep = 0;
  at::Tensor model_input;   // after CFG batching and scale_model_input
  at::Tensor model_output;  // raw, in the latents' dtype
  at::Tensor noise_pred;    // what step() was given
  at::Tensor latents;       // step()'s prev_sample
};

struct DenoisingLoopResult {
  at::Tensor latents;
  std::vector<double> timesteps;  // of each model call
};

// Runs every timestep of `scheduler` (set_timesteps already called) from `latents`. Throws
// papillon::Cancelled when control.cancel is set before a step or after the last.
DenoisingLoopResult run_denoising_loop(
    Scheduler& scheduler, at::Tensor latents, const DenoiserCall& model,
    const DenoisingLoopOptions& options, const RunControl& control,
    const std::function<void(const DenoisingStepRecord&)>& on_step_record = {});

}  // namespace papillon
