#pragma once
// DDPMScheduler (diffusers scheduling_ddpm.py): ancestral sampling of Ho et al. 2020 with every
// config option of diffusers 0.27 (variance types, clipping, dynamic thresholding, spacings).
#include <ATen/core/Tensor.h>

#include <string>

#include "core/schedulers/scheduler.h"
#include "core/schedulers/scheduling_utils.h"

namespace papillon {

struct DDPMSchedulerConfig {
  BetaConfig beta;  // defaults: 1000, 0.0001, 0.02, "linear"
  std::string variance_type = "fixed_small";
  bool clip_sample = true;
  std::string prediction_type = "epsilon";
  bool thresholding = false;
  double dynamic_thresholding_ratio = 0.995;
  double clip_sample_range = 1.0;
  double sample_max_value = 1.0;
  std::string timestep_spacing = "leading";
  int64_t steps_offset = 0;
  bool rescale_betas_zero_snr = false;

  static DDPMSchedulerConfig from_json(const Json& json, const std::string& source);
  Json to_json() const;
};

class DDPMScheduler : public Scheduler {
 public:
  explicit DDPMScheduler(DDPMSchedulerConfig config);

  std::string class_name() const override { return "DDPMScheduler"; }
  Json config() const override;
  const DDPMSchedulerConfig& options() const { return config_; }

  void set_timesteps(int64_t num_inference_steps) override;
  const at::Tensor& timesteps() const override { return timesteps_; }
  int64_t num_inference_steps() const override { return num_inference_steps_; }

  SchedulerStepOutput step(const at::Tensor& model_output, double timestep,
                           const at::Tensor& sample, const StepArgs& args) override;
  at::Tensor add_noise(const at::Tensor& original, const at::Tensor& noise,
                       const at::Tensor& timesteps) const override;

  const at::Tensor& betas() const { return betas_; }
  const at::Tensor& alphas_cumprod() const { return alphas_cumprod_; }

 private:
  int64_t previous_timestep(int64_t t) const;
  at::Tensor get_variance(int64_t t, const at::Tensor& predicted_variance) const;

  DDPMSchedulerConfig config_;
  at::Tensor betas_, alphas_cumprod_, one_, timesteps_;
  int64_t num_inference_steps_ = 0;  // 0: not set (diffusers' None)
};

// add_noise shared by the alphas_cumprod schedulers: sqrt(a_t) x + sqrt(1 - a_t) noise.
at::Tensor add_noise_alphas_cumprod(const at::Tensor& alphas_cumprod, const at::Tensor& original,
                                    const at::Tensor& noise, const at::Tensor& timesteps);

}  // namespace papillon
