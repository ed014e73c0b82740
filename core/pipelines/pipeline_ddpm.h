#pragma once
// Unconditional image generation: diffusers' DDPMPipeline and DDIMPipeline (the same loop;
// DDIMPipeline only swaps the folder's scheduler for DDIMScheduler.from_config). Any scheduler of
// the factory works: the loop applies init_noise_sigma and scale_model_input, which are identities
// for DDPM/DDIM.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/io/config.h"
#include "core/pipelines/model_folder.h"
#include "core/pipelines/pipeline_types.h"
#include "core/util/device.h"

namespace papillon {

class Scheduler;
class UNet2DModel;

struct PipelineLoadOptions {
  ComputeTarget target;
  std::string scheduler;  // short name or class name; empty: the pipeline's default
  Json scheduler_overrides = Json::object();
  std::string variant;  // weights variant, e.g. "fp16"; empty: the plain file
};

struct UnconditionalRequest {
  int64_t batch_size = 1;
  int64_t num_inference_steps = 0;  // 0: the pipeline's default (DDPM 1000, DDIM 50)
  // One generator for the whole batch (diffusers' generator=torch.Generator().manual_seed(seed))
  // or, when `seeds` is not empty, one generator per image (a list of generators).
  uint64_t seed = 0;
  std::vector<uint64_t> seeds;
  double eta = 0.0;                   // DDIM only
  std::vector<int64_t> class_labels;  // class-conditional UNets: one label per image
  // Classifier-free guidance for class-conditional UNets trained with label dropout: with
  // null_class >= 0 and guidance_scale != 1, each step runs one batched forward of
  // [null class; class_labels] and uses uncond + guidance_scale * (cond - uncond).
  double guidance_scale = 1.0;
  int64_t null_class = -1;
};

struct UnconditionalOutput {
  at::Tensor images;        // [B, C, H, W] float32 in [0, 1], CPU
  at::Tensor final_sample;  // the last prev_sample, model space, CPU float32
  std::vector<double> timesteps;
};

class DDPMPipeline {
 public:
  static DDPMPipeline load(const ModelFolder& folder, const PipelineLoadOptions& options);
  // From already built parts (benchmarks, training samples). The UNet must be on target's device.
  static DDPMPipeline from_components(UNet2DModel unet, std::unique_ptr<Scheduler> scheduler,
                                      const ComputeTarget& target,
                                      const std::string& pipeline_class = "DDPMPipeline");
  ~DDPMPipeline();
  DDPMPipeline(DDPMPipeline&&) noexcept;
  DDPMPipeline& operator=(DDPMPipeline&&) noexcept;

  UnconditionalOutput operator()(const UnconditionalRequest& request, const RunControl& control);

  Scheduler& scheduler();
  void set_scheduler(std::unique_ptr<Scheduler> scheduler);
  int64_t default_steps() const;
  std::pair<int64_t, int64_t> sample_size() const;  // (height, width)
  int64_t in_channels() const;
  int64_t num_class_embeds() const;  // 0: unconditional
  int64_t parameter_count() const;
  const std::string& pipeline_class() const;

 private:
  DDPMPipeline();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace papillon
