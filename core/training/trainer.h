#pragma once
// diffusers' train_unconditional.py recipe in LibTorch: DDPM noise-prediction training of a
// UNet2DModel (optionally class-conditional with label dropout for classifier-free guidance),
// AdamW + warm-up/cosine learning rate + gradient clipping + EMA, deterministic on the CPU, with
// atomic, resumable checkpoints that are diffusers DDPMPipeline folders.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/io/config.h"
#include "core/models/unet_2d.h"
#include "core/util/cancel.h"

namespace papillon {

class Dataset;

struct TrainerConfig {
  int64_t resolution = 32;
  // "tiny" (~0.5M parameters), "small" (CPU-friendly, ~2M) or "butterflies" (the diffusers example)
  std::string preset = "small";
  std::optional<UNet2DModelConfig> unet;    // overrides the preset when set
  bool class_conditional = false;           // uses the dataset's labels; null class = num classes
  double label_dropout = 0.1;               // probability a label becomes the null class
  std::string prediction_type = "epsilon";  // "epsilon", "v_prediction" or "sample"
  // DDPMScheduler (train_unconditional.py: 1000 steps, "linear").
  int64_t ddpm_num_steps = 1000;
  std::string ddpm_beta_schedule = "linear";
  // Optimiser (train_unconditional.py defaults).
  double learning_rate = 1e-4;
  double adam_beta1 = 0.95;
  double adam_beta2 = 0.999;
  double adam_weight_decay = 1e-6;
  double adam_epsilon = 1e-8;
  std::string lr_scheduler = "cosine";
  int64_t lr_warmup_steps = 500;
  double max_grad_norm = 1.0;
  // EMA (diffusers EMAModel with warm-up).
  bool use_ema = true;
  double ema_inv_gamma = 1.0;
  double ema_power = 0.75;
  double ema_max_decay = 0.9999;
  // Schedule.
  int64_t batch_size = 16;
  int64_t max_steps = 0;  // > 0: train this many steps; else `epochs` passes over the data
  int64_t epochs = 1;
  uint64_t seed = 0;
  bool random_flip = false;
  // Output.
  std::string output_dir;        // checkpoint = <output_dir>/checkpoint
  int64_t checkpoint_every = 0;  // 0: only at the end (and on cancel)
  int64_t sample_every = 0;      // 0: never
  int64_t sample_count = 16;
  uint64_t sample_seed = 0;
  int64_t sample_steps = 50;           // DDIM steps of the sample grids
  double sample_guidance = 3.0;        // class-conditional sample grids
  std::string weights_dtype = "fp32";  // "fp32" or "fp16": dtype of the saved pipeline weights
  // Where the model trains: "cpu" or "cuda" (random draws stay on the CPU generators, so a run's
  // data, noise and timesteps do not depend on the device).
  std::string device = "cpu";
  // CUDA only: "no", "fp16" (autocast + dynamic loss scaling, as accelerate's GradScaler) or
  // "bf16" (autocast). Weights, optimiser and EMA stay fp32.
  std::string mixed_precision = "no";
  // Recorded in papillon.json: how front ends run the model by default.
  std::string default_scheduler = "DDIMScheduler";
  int64_t default_steps = 50;
  double default_guidance = 3.0;
  double default_eta = 0.0;  // DDIM eta (1: ancestral-like, better for small, short-trained models)

  Json to_json() const;
  static TrainerConfig from_json(const Json& json, const std::string& source);
};

// The UNet for a preset at a resolution / channel count / number of class embeddings (0: none).
UNet2DModelConfig unet_preset(const std::string& preset, int64_t resolution, int64_t channels,
                              int64_t num_class_embeds);

struct TrainStep {
  int64_t step = 0;  // 1-based number of optimiser steps done
  int64_t total_steps = 0;
  double loss = 0;
  double lr = 0;  // the learning rate used for this step
  double grad_norm = 0;
};

struct TrainerCallbacks {
  std::function<void(const TrainStep&)> on_step;
  // A sample grid [C, H, W] in [0, 1] (EMA weights, fixed seed) after `step` steps.
  std::function<void(int64_t step, const at::Tensor& grid)> on_sample;
  std::function<void(int64_t step, const std::string& dir)> on_checkpoint;
  CancelToken cancel;  // checked between steps: a cancelled run writes a checkpoint and returns
};

struct TrainResult {
  int64_t steps_done = 0;
  int64_t total_steps = 0;
  bool cancelled = false;
  std::vector<double> losses;  // every step's loss from step 1
  std::string checkpoint_dir;
};

class Trainer {
 public:
  // resume: continue from <output_dir>/checkpoint when it exists (the config must match it).
  Trainer(TrainerConfig config, std::shared_ptr<const Dataset> dataset, bool resume = false);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  TrainResult train(const TrainerCallbacks& callbacks = {});

  int64_t total_steps() const;
  int64_t steps_done() const;
  int64_t parameter_count() const;
  const std::vector<double>& losses() const;
  const UNet2DModelConfig& unet_config() const;
  UNet2DModel model() const;      // the trained weights
  UNet2DModel ema_model() const;  // a copy with the EMA weights (the raw weights without EMA)
  // Writes <output_dir>/checkpoint atomically now.
  std::string save_checkpoint();
  // A sample grid from the EMA weights (as on_sample gets it).
  at::Tensor sample_grid();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The checkpoint folder of an output folder.
std::string checkpoint_dir(const std::string& output_dir);

}  // namespace papillon
