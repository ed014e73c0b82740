#pragma once
// One interface over every pipeline (unconditional DDPM/DDIM, Stable Diffusion, ...), for the
// worker thread, the window and the CLI: describe the model, generate a batch, turn a step into a
// preview.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/io/config.h"
#include "core/pipelines/generation_defaults.h"
#include "core/pipelines/generation_parameters.h"
#include "core/pipelines/pipeline_types.h"
#include "core/util/device.h"

namespace papillon {

// What a loaded model can do, so front ends show the right controls.
struct PipelineInfo {
  std::string pipeline_class;  // "DDPMPipeline", "StableDiffusionPipeline", ...
  std::string family;          // what users call it: "Stable Diffusion", "PixArt-α", "DDPM"
  std::string model_name;      // the folder's name
  std::string model_dir;
  bool takes_prompt = false;
  bool takes_negative_prompt = false;
  bool takes_guidance = false;
  bool fixed_size = true;     // unconditional UNets have one size
  int64_t size_multiple = 8;  // width/height must be multiples of this when not fixed
  // What an empty request resolves to (resolve_parameters; fill_default_summary), for front ends.
  int64_t default_width = 0;
  int64_t default_height = 0;
  int64_t default_steps = 50;
  double default_guidance = 7.5;
  std::string default_scheduler;      // diffusers class name
  std::optional<double> default_eta;  // none: the default scheduler takes no eta
  // The inputs of the defaults rule (core/pipelines/generation_defaults.h).
  ModelDefaults model_defaults;          // papillon.json
  PipelineDefaults pipeline_defaults;    // the pipeline class and the folder's scheduler
  std::vector<std::string> schedulers;   // class names that can be chosen
  std::vector<std::string> class_names;  // class-conditional models: the classes a prompt can name
  int64_t parameters = 0;
  std::string device = "cpu";  // where it runs ("cpu", "cuda:0")
  std::string dtype = "fp32";  // its compute dtype ("fp32", "fp16", "bf16")
};

// Every parameter that has a default is optional: not given -> the model's default, by the one
// rule of core/pipelines/generation_defaults.h; given -> used as is.
struct GenerationRequest {
  // One prompt for every image, or one per image (diffusers' list of prompts).
  std::vector<std::string> prompts;
  std::vector<std::string> negative_prompts;
  std::optional<double> guidance_scale;
  std::optional<int64_t> width;
  std::optional<int64_t> height;
  std::optional<int64_t> steps;
  int64_t batch_size = 1;
  // One generator for the batch, or (seeds not empty) one generator per image.
  uint64_t seed = 0;
  std::vector<uint64_t> seeds;
  std::optional<double> eta;             // DDIM's eta; ignored by schedulers that take none
  std::vector<int64_t> class_labels;     // explicit labels for class-conditional models
  std::optional<std::string> scheduler;  // a short name ("ddim") or a diffusers class name
  Json scheduler_overrides = Json::object();
  // Text-to-image models (Stable Diffusion).
  at::Tensor init_latents;        // diffusers' latents=: the starting latents instead of a draw
  bool plain_prompt = false;      // no prompt-weighting syntax, diffusers' 77-token truncation
  int64_t clip_skip = 0;          // diffusers' clip_skip (0: the last layer)
  double guidance_rescale = 0.0;  // diffusers' guidance_rescale
  // PixArt-α: diffusers' use_resolution_binning (unset: on where the model has bins).
  std::optional<bool> resolution_binning;
};

struct GenerationResult {
  at::Tensor images;        // [B, C, H, W] float32 in [0, 1], CPU (C = 1 or 3)
  at::Tensor final_sample;  // the final sample/latents, model space, CPU float32
  std::vector<double> timesteps;
  std::vector<GenerationParameters> parameters;  // one per image, ready to embed in its PNG
  at::Tensor prompt_embeds;  // text-to-image models: the text encoder's output, CPU float32
};

// How many tokens a prompt takes in the model's text encoder against what the model reads, for a
// front end's "12 / 75" (Stable Diffusion: A1111 chunks of 75; PixArt-α: T5's 120 with </s>).
struct PromptTokenCount {
  int64_t tokens = 0;
  int64_t limit = 0;
};
// Safe to call from any thread while the pipeline lives on another (tokenizers are immutable).
using PromptTokenCounter = std::function<PromptTokenCount(const std::string& prompt)>;

class ImagePipeline {
 public:
  virtual ~ImagePipeline() = default;
  virtual const PipelineInfo& info() const = 0;
  // Runs a batch. RunControl::on_step sees every step; a cancelled run throws papillon::Cancelled.
  virtual GenerationResult generate(const GenerationRequest& request,
                                    const RunControl& control) = 0;
  // A cheap RGB preview of a step: [B, C, H, W] in [0, 1] on the CPU (pixel models: the clamped
  // predicted x0; latent models: a fast latent->RGB projection).
  virtual at::Tensor preview(const StepEvent& event) const = 0;
  // The exact image of a step's prediction (latent models: a full VAE decode; costly). Pixel
  // models: the same as preview().
  virtual at::Tensor full_preview(const StepEvent& event) const { return preview(event); }
  // Empty for models without a text encoder.
  virtual PromptTokenCounter prompt_token_counter() const { return {}; }
};

// Opens a diffusers folder and builds the matching pipeline. Errors name the folder and the
// problem.
// Records a compute target other than fp32 on the CPU in an image's parameters (`extra` "dtype",
// "device"), so that an image made in bf16 or on a GPU says so.
void note_compute_target(const PipelineInfo& info, GenerationParameters& parameters);

std::unique_ptr<ImagePipeline> load_pipeline(const std::string& dir, const ComputeTarget& target,
                                             const std::string& variant = "");

}  // namespace papillon
