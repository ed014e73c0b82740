#pragma once
// PNDMScheduler (diffusers scheduling_pndm.py): pseudo numerical methods for diffusion models
// (Liu et al. 2022): Runge-Kutta warm-up (PRK) then linear multistep (PLMS), or PLMS only with
// skip_prk_steps (Stable Diffusion's default).
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "core/schedulers/scheduler.h"
#include "core/schedulers/scheduling_utils.h"

namespace papillon {

struct PNDMSchedulerConfig {
  BetaConfig beta;  // defaults: 1000, 0.0001, 0.02, "linear"
  bool skip_prk_steps = false;
  bool set_alpha_to_one = false;
  std::string prediction_type = "epsilon";
  std::string timestep_spacing = "leading";
  int64_t steps_offset = 0;

  static PNDMSchedulerConfig from_json(const Json& json, const std::string& source);
  Json to_json() const;
};

class PNDMScheduler : public Scheduler {
 public:
  explicit PNDMScheduler(PNDMSchedulerConfig config);

  std::string class_name() const override { return "PNDMScheduler"; }
  Json config() const override;

  // PRK needs at least 4 inference steps (diffusers fails on fewer); Error otherwise.
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
  at::Tensor step_prk(const at::Tensor& model_output, int64_t timestep, const at::Tensor& sample);
  at::Tensor step_plms(const at::Tensor& model_output, int64_t timestep, const at::Tensor& sample);
  at::Tensor get_prev_sample(const at::Tensor& sample, int64_t timestep, int64_t prev_timestep,
                             const at::Tensor& model_output) const;

  static constexpr int64_t kPndmOrder = 4;
  PNDMSchedulerConfig config_;
  at::Tensor betas_, alphas_cumprod_, final_alpha_cumprod_, timesteps_;
  std::vector<int64_t> prk_timesteps_;
  int64_t num_inference_steps_ = 0;
  // multistep state
  std::vector<at::Tensor> ets_;
  int64_t counter_ = 0;
  at::Tensor cur_model_output_;  // undefined = 0
  at::Tensor cur_sample_;        // undefined = None
};

}  // namespace papillon
