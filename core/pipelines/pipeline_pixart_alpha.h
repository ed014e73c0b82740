#pragma once
// diffusers pipelines/pixart_alpha/pipeline_pixart_alpha.py (v0.27.2): encode_prompt (the T5
// tokenizer on prompt.lower().strip(), 120 tokens with the attention mask, the T5 encoder; the
// negative prompt "" by default), classifier-free guidance by batching [negative; prompt],
// prepare_latents (diffusers' randn_tensor order), the micro-conditions of 1024-px models
// (resolution and aspect ratio), the learned-sigma split, the VAE decode, and
// use_resolution_binning: the size is moved to the nearest aspect-ratio bin of the model's sample
// size and the image resized and centre-cropped back to the asked size. clean_caption is off
// (its Python regexes and ftfy are not ported). The loop is the shared one (denoising_loop.h).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/io/config.h"
#include "core/pipelines/denoising_loop.h"
#include "core/pipelines/model_folder.h"
#include "core/pipelines/pipeline.h"
#include "core/pipelines/pipeline_types.h"
#include "core/util/device.h"

namespace papillon {

class Scheduler;
class T5Tokenizer;

// The aspect-ratio bins of PixArt (ASPECT_RATIO_1024_BIN, _512_BIN, _256_BIN) for a transformer
// sample size of 128, 64 or 32: (ratio key, height, width) in diffusers' order. Empty for any other
// sample size.
struct AspectRatioBin {
  double ratio = 0;
  int64_t height = 0;
  int64_t width = 0;
};
std::vector<AspectRatioBin> pixart_aspect_ratio_bins(int64_t sample_size);
// classify_height_width_bin: the bin whose ratio is nearest to height / width (the first on ties).
std::pair<int64_t, int64_t> classify_height_width_bin(int64_t height, int64_t width,
                                                      const std::vector<AspectRatioBin>& bins);
// resize_and_crop_tensor: images [B, C, h, w] scaled (bilinear, align_corners false) by
// max(height / h, width / w), then centre-cropped to height x width. Unchanged when equal.
at::Tensor resize_and_crop(const at::Tensor& images, int64_t height, int64_t width);

struct PixArtAlphaRequest {
  // diffusers' `prompt`: one entry = a string, several = a list.
  std::vector<std::string> prompts;
  // Empty: "" for every prompt (the pipeline's default). One entry: for every prompt. Else one per
  // prompt.
  std::vector<std::string> negative_prompts;
  int64_t num_images_per_prompt = 1;
  int64_t num_inference_steps = 20;
  double guidance_scale = 4.5;  // classifier-free guidance when > 1
  int64_t width = 0;            // 0: transformer sample_size * vae_scale_factor
  int64_t height = 0;
  double eta = 0.0;
  uint64_t seed = 0;
  std::vector<uint64_t> seeds;  // one generator per image when not empty
  at::Tensor latents;           // diffusers' `latents=`: nothing drawn for them
  // Unset: on where the sample size has bins (diffusers' default True, which raises for other
  // sample sizes; here those run unbinned). true for a sample size without bins is an error.
  std::optional<bool> use_resolution_binning;
  int64_t max_sequence_length = 120;
  std::function<void(const DenoisingStepRecord&)> on_step_record;
};

struct PixArtAlphaOutput {
  at::Tensor images;   // [B, 3, height, width] float32 in [0, 1], CPU (after binning's resize)
  at::Tensor latents;  // final latents, CPU float32
  at::Tensor latents_init;
  at::Tensor decoded;                         // vae.decode(latents / scaling_factor), CPU float32
  at::Tensor prompt_embeds;                   // [B, 120, D], CPU float32
  at::Tensor prompt_attention_mask;           // [B, 120] int64
  at::Tensor negative_prompt_embeds;          // undefined without guidance
  at::Tensor negative_prompt_attention_mask;  // undefined without guidance
  std::vector<double> timesteps;
  int64_t generated_height = 0;  // the size the transformer ran at (the bin's, when binning)
  int64_t generated_width = 0;
};

// When the T5 encoder (about 9.5 GB in bf16 for T5-XXL) is loaded.
enum class TextEncoderResidency {
  kAuto,  // freed after encoding when less than twice its size is left free
  kKeep,  // loaded once, kept
  kFree,  // loaded for each new prompt, freed after encoding
};

struct PixArtAlphaLoadOptions {
  ComputeTarget target;  // the transformer's; T5 in bf16 too when target is reduced (CPU: bf16)
  std::string variant;
  TextEncoderResidency text_encoder = TextEncoderResidency::kAuto;
};

class PixArtAlphaPipeline {
 public:
  // Checks model_index.json's classes and that the components fit (T5 d_model = caption_channels,
  // VAE latent channels = transformer in_channels, tokenizer size <= T5 vocab_size).
  static PixArtAlphaPipeline load(const ModelFolder& folder,
                                  const PixArtAlphaLoadOptions& options = {});
  ~PixArtAlphaPipeline();
  PixArtAlphaPipeline(PixArtAlphaPipeline&&) noexcept;
  PixArtAlphaPipeline& operator=(PixArtAlphaPipeline&&) noexcept;

  PixArtAlphaOutput operator()(const PixArtAlphaRequest& request, const RunControl& control = {});

  void set_scheduler(const std::string& name, const Json& overrides = Json::object());
  Scheduler& scheduler();
  const T5Tokenizer& tokenizer() const;
  const Json& scheduler_config() const;
  std::string default_scheduler() const;
  // Whether the T5 encoder is in memory now.
  bool text_encoder_loaded() const;

  // vae.decode(latents / scaling_factor) as images in [0, 1], CPU float32 (no binning resize).
  at::Tensor decode_latents(const at::Tensor& latents) const;
  int64_t vae_scale_factor() const;
  int64_t sample_size() const;     // the transformer's
  int64_t patch_multiple() const;  // the transformer's patch size: sizes are multiples of 8 x it
  int64_t default_width() const;
  int64_t default_height() const;
  int64_t parameter_count() const;  // T5, transformer and VAE

 private:
  PixArtAlphaPipeline();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::unique_ptr<ImagePipeline> make_pixart_alpha_image_pipeline(const ModelFolder& folder,
                                                                const ComputeTarget& target,
                                                                const std::string& variant);

}  // namespace papillon
