#pragma once
// DDIMScheduler (diffusers scheduling_ddim.py): denoising diffusion implicit models (Song et al.
// 2020), deterministic for eta = 0, with every config option of diffusers 0.27.
#include <ATen/core/Tensor.h>

#include <string>

#include "core/schedulers/scheduler.h"
#include "core/schedulers/scheduling_utils.h"

namespace papillon {

struct DDIMSchedulerConfig {
  BetaConfig beta;  // defaults: 1000, 0.0001, 0.02, "linear"
  bool clip_sample = true;
  bool set_alpha_to_one = true;
  int64_t steps_offset = 0;
  std::string prediction_type = "epsilon";
  bool thresholding = false;
  double dynamic_thresholding_ratio = 0.995;
  double clip_sample_range = 1.0;
  double sample_max_value = 1.0;
  std::string timestep_spacing = "leading";
  bool rescale_betas_zero_snr = false;

  static DDIMSchedulerConfig from_json(const Json& json, const std::string& source);
  Json to_json() const;
};

class DDIMScheduler : public Scheduler {
 public:
  explicit DDIMScheduler(DDIMSchedulerConfig config);

  std::string class_name() const override { return "DDIMScheduler"; }
  Json config() const override;
  const DDIMSchedulerConfig& options() const { return config_; }

  void set_timesteps(int64_t num_inference_steps) override;
  const at::Tensor& timesteps() const override { return timesteps_; }
  int64_t num_inference_steps() const override { return num_inference_steps_; }

  // Uses args.eta; use_clipped_model_output as diffusers' keyword (default false).
  SchedulerStepOutput step(const at::Tensor& model_output, double timestep,
                           const at::Tensor& sample, const StepArgs& args) override;
  SchedulerStepOutput step(const at::Tensor& model_output, int64_t timestep,
                           const at::Tensor& sample, double eta, bool use_clipped_model_output,
                           Generators* generators);
  at::Tensor add_noise(const at::Tensor& original, const at::Tensor& noise,
                       const at::Tensor& timesteps) const override;

  const at::Tensor& betas() const { return betas_; }
  const at::Tensor& alphas_cumprod() const { return alphas_cumprod_; }

 private:
  at::Tensor get_variance(int64_t timestep, int64_t prev_timestep) const;

  DDIMSchedulerConfig config_;
  at::Tensor betas_, alphas_cumprod_, final_alpha_cumprod_, timesteps_;
  int64_t num_inference_steps_ = 0;
};

}  // namespace papillon
