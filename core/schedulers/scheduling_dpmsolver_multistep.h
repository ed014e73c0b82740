#pragma once
// DPMSolverMultistepScheduler (diffusers scheduling_dpmsolver_multistep.py): DPM-Solver and
// DPM-Solver++ (Lu et al. 2022) of order 1-3, multistep, with the SDE variants, Karras or Lu
// lambdas sigmas, lower_order_final / euler_at_final and final_sigmas_type.
#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <vector>

#include "core/schedulers/scheduler.h"
#include "core/schedulers/scheduling_utils.h"

namespace papillon {

struct DPMSolverMultistepSchedulerConfig {
  BetaConfig beta;  // defaults: 1000, 0.0001, 0.02, "linear"
  int64_t solver_order = 2;
  std::string prediction_type = "epsilon";
  bool thresholding = false;
  double dynamic_thresholding_ratio = 0.995;
  double sample_max_value = 1.0;
  std::string algorithm_type = "dpmsolver++";
  std::string solver_type = "midpoint";
  bool lower_order_final = true;
  bool euler_at_final = false;
  bool use_karras_sigmas = false;
  bool use_lu_lambdas = false;
  std::string final_sigmas_type = "zero";
  double lambda_min_clipped = -std::numeric_limits<double>::infinity();
  std::optional<std::string> variance_type;
  std::string timestep_spacing = "linspace";
  int64_t steps_offset = 0;
  bool rescale_betas_zero_snr = false;

  static DPMSolverMultistepSchedulerConfig from_json(const Json& json, const std::string& source);
  Json to_json() const;
};

class DPMSolverMultistepScheduler : public Scheduler {
 public:
  explicit DPMSolverMultistepScheduler(DPMSolverMultistepSchedulerConfig config);

  std::string class_name() const override { return "DPMSolverMultistepScheduler"; }
  Json config() const override;

  void set_timesteps(int64_t num_inference_steps) override;
  const at::Tensor& timesteps() const override { return timesteps_; }
  int64_t num_inference_steps() const override { return num_inference_steps_; }
  at::Tensor sigmas() const override { return sigmas_; }

  // prev_sample only (diffusers returns no pred_original_sample).
  SchedulerStepOutput step(const at::Tensor& model_output, double timestep,
                           const at::Tensor& sample, const StepArgs& args) override;
  at::Tensor add_noise(const at::Tensor& original, const at::Tensor& noise,
                       const at::Tensor& timesteps) const override;

  const at::Tensor& betas() const { return betas_; }
  const at::Tensor& alphas_cumprod() const { return alphas_cumprod_; }

 private:
  int64_t index_for(double timestep) const;
  at::Tensor convert_model_output(const at::Tensor& model_output, const at::Tensor& sample) const;
  at::Tensor first_order_update(const at::Tensor& model_output, const at::Tensor& sample,
                                const at::Tensor& noise) const;
  at::Tensor second_order_update(const at::Tensor& sample, const at::Tensor& noise) const;
  at::Tensor third_order_update(const at::Tensor& sample) const;

  DPMSolverMultistepSchedulerConfig config_;
  at::Tensor betas_, alphas_cumprod_, lambda_t_, sigmas_, timesteps_;
  int64_t num_inference_steps_ = 0;
  std::vector<at::Tensor> model_outputs_;
  int64_t lower_order_nums_ = 0;
  std::optional<int64_t> step_index_;
};

}  // namespace papillon
