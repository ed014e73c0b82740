#pragma once
// diffusers pipelines/stable_diffusion/pipeline_stable_diffusion.py (v0.27.2) text-to-image:
// encode_prompt (CLIP tokenizer + text encoder, negative prompt, images per prompt),
// classifier-free guidance by one batched UNet call on [uncond; cond], prepare_latents (diffusers'
// randn_tensor order), the denoising loop and the VAE decode. Prompt weighting (AUTOMATIC1111
// syntax, long prompts in chunks) is an addition: a prompt without that syntax and within 75 tokens
// takes the diffusers path unchanged.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/io/config.h"
#include "core/pipelines/model_folder.h"
#include "core/pipelines/pipeline.h"
#include "core/pipelines/pipeline_types.h"
#include "core/util/device.h"

namespace papillon {

class Scheduler;
class CLIPTokenizer;

struct StableDiffusionRequest {
  // diffusers' `prompt`: one entry = a string, several = a list (one per prompt in the batch).
  std::vector<std::string> prompts;
  // Empty: None ("" for every prompt). One entry: for every prompt. Else one per prompt.
  std::vector<std::string> negative_prompts;
  int64_t num_images_per_prompt = 1;
  int64_t num_inference_steps = 50;
  double guidance_scale = 7.5;  // classifier-free guidance when > 1
  double guidance_rescale = 0.0;
  int64_t width = 0;  // 0: unet sample_size * vae_scale_factor
  int64_t height = 0;
  double eta = 0.0;  // passed to step() of schedulers that take it (DDIM)
  // One generator (seed) for the batch, or one per image (seeds, one per prompt x image).
  uint64_t seed = 0;
  std::vector<uint64_t> seeds;
  at::Tensor latents;  // diffusers' `latents=`: the starting latents, nothing drawn for them
  std::optional<int64_t> clip_skip;
  bool plain_prompt = false;  // true: no weighting syntax, truncation at 77 tokens (diffusers)
  // Called after every UNet call with its input (after CFG batching and scale_model_input) and
  // its raw output; for tests and debugging.
  std::function<void(int64_t step, const at::Tensor& unet_in, const at::Tensor& unet_out)>
      on_unet_call;
};

struct StableDiffusionOutput {
  at::Tensor images;                  // [B, 3, H, W] float32 in [0, 1], CPU
  at::Tensor latents;                 // final latents, CPU float32
  at::Tensor latents_init;            // the starting latents (x init_noise_sigma), CPU float32
  at::Tensor decoded;                 // vae.decode(latents / scaling_factor), CPU float32
  at::Tensor prompt_embeds;           // [B, 77 * chunks, D], CPU float32
  at::Tensor negative_prompt_embeds;  // undefined without guidance
  std::vector<double> timesteps;      // of each UNet call
};

struct StableDiffusionLoadOptions {
  ComputeTarget target;
  std::string variant;  // weights variant ("fp16"); empty: the plain files
};

class StableDiffusionPipeline {
 public:
  // Checks model_index.json's classes and that the components fit together (text encoder width =
  // UNet cross_attention_dim, VAE latent channels = UNet in_channels); errors name the file.
  static StableDiffusionPipeline load(const ModelFolder& folder,
                                      const StableDiffusionLoadOptions& options = {});
  ~StableDiffusionPipeline();
  StableDiffusionPipeline(StableDiffusionPipeline&&) noexcept;
  StableDiffusionPipeline& operator=(StableDiffusionPipeline&&) noexcept;

  StableDiffusionOutput operator()(const StableDiffusionRequest& request,
                                   const RunControl& control = {});

  // encode_prompt for already validated inputs: {prompt_embeds, negative_prompt_embeds}.
  std::pair<at::Tensor, at::Tensor> encode_prompt(const StableDiffusionRequest& request,
                                                  bool guidance);

  // The folder's scheduler converted to `name` with diffusers' from_config rules + overrides.
  void set_scheduler(const std::string& name, const Json& overrides = Json::object());
  Scheduler& scheduler();
  const CLIPTokenizer& tokenizer() const;
  const Json& scheduler_config() const;   // the folder's scheduler_config.json
  std::string default_scheduler() const;  // the folder's scheduler class

  // vae.decode(latents / scaling_factor) as images [B, 3, H, W] in [0, 1], CPU float32 (the
  // pipeline's own final decode; the window's "full preview every N steps").
  at::Tensor decode_latents(const at::Tensor& latents) const;

  int64_t vae_scale_factor() const;
  int64_t default_width() const;
  int64_t default_height() const;
  int64_t parameter_count() const;

 private:
  StableDiffusionPipeline();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A cheap preview of SD latents: the 4x3 linear latent->RGB projection of SD 1.x latents, in
// [0, 1], upsampled (bilinear) by `scale`. Latents with other channel counts show channels 0..2.
at::Tensor latent_preview(const at::Tensor& latents, int64_t scale);

// The ImagePipeline behind load_pipeline() for StableDiffusionPipeline folders.
std::unique_ptr<ImagePipeline> make_stable_diffusion_image_pipeline(const ModelFolder& folder,
                                                                    const ComputeTarget& target,
                                                                    const std::string& variant);

}  // namespace papillon
