#include "core/pipelines/denoising_loop.h"

#include <torch/torch.h>

#include "core/schedulers/scheduler.h"
#include "core/util/error.h"
#include "core/util/random.h"

namespace papillon {

namespace {

// rescale_noise_cfg: the guided prediction's per-image std brought back towards the text
// prediction's.
at::Tensor rescale_noise_cfg(const at::Tensor& noise_cfg, const at::Tensor& noise_text,
                             double guidance_rescale) {
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < noise_cfg.dim(); ++d)
    dims.push_back(d);
  const at::Tensor std_text = noise_text.std(dims, true, true);
  const at::Tensor std_cfg = noise_cfg.std(dims, true, true);
  const at::Tensor rescaled = noise_cfg * (std_text / std_cfg);
  return guidance_rescale * rescaled + (1 - guidance_rescale) * noise_cfg;
}

}  // namespace

DenoisingLoopResult run_denoising_loop(
    Scheduler& scheduler, at::Tensor latents, const DenoiserCall& model,
    const DenoisingLoopOptions& options, const RunControl& control,
    const std::function<void(const DenoisingStepRecord&)>& on_step_record) {
  const at::Tensor timesteps = scheduler.timesteps().to(torch::kCPU);
  const int64_t n = timesteps.size(0);
  const int64_t channels = latents.size(1);
  StepArgs args;
  args.eta = options.eta;
  args.generators = options.generators;
  DenoisingLoopResult result;
  for (int64_t i = 0; i < n; ++i) {
    if (control.cancel.cancelled()) throw Cancelled();
    const at::Tensor t = timesteps[i];
    const double t_value = t.item<double>();
    at::Tensor model_input = options.guidance ? torch::cat({latents, latents}) : latents;
    model_input = scheduler.scale_model_input(model_input, t_value);
    const at::Tensor model_output = model(model_input, t).to(latents.scalar_type());
    at::Tensor noise_pred = model_output;
    if (options.guidance) {
      const auto halves = model_output.chunk(2);
      noise_pred = halves[0] + options.guidance_scale * (halves[1] - halves[0]);
      if (options.guidance_rescale > 0.0) {
        noise_pred = rescale_noise_cfg(noise_pred, halves[1], options.guidance_rescale);
      }
    }
    if (options.learned_sigma) {
      if (noise_pred.size(1) != 2 * channels) {
        throw Error("the denoiser predicts " + std::to_string(noise_pred.size(1)) +
                    " channels; a learned-sigma model predicts twice the " +
                    std::to_string(channels) + " latent channels");
      }
      noise_pred = noise_pred.narrow(1, 0, channels);
    }
    SchedulerStepOutput step = scheduler.step(noise_pred, t_value, latents, args);
    latents = step.prev_sample;
    result.timesteps.push_back(t_value);
    if (on_step_record) {
      DenoisingStepRecord record;
      record.index = i;
      record.timestep = t_value;
      record.model_input = model_input;
      record.model_output = model_output;
      record.noise_pred = noise_pred;
      record.latents = latents;
      on_step_record(record);
    }
    if (control.on_step) {
      StepEvent event;
      event.step = static_cast<int>(i);
      event.num_steps = static_cast<int>(n);
      event.timestep = t_value;
      event.sample = latents;
      event.pred_x0 = step.pred_original_sample;
      control.on_step(event);
    }
  }
  if (control.cancel.cancelled()) throw Cancelled();
  result.latents = latents;
  return result;
}

}  // namespace papillon
