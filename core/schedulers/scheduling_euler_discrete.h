#pragma once
// EulerDiscreteScheduler (diffusers scheduling_euler_discrete.py): Euler steps in sigma space
// (Karras et al. 2022, Algorithm 2) with optional churn; float32 timesteps.
#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <vector>

#include "core/schedulers/scheduler.h"
#include "core/schedulers/scheduling_utils.h"

namespace papillon {

// Config keys shared by the sigma-space schedulers (Euler, Euler-A, LMS, Heun).
struct SigmaSchedulerConfig {
  BetaConfig beta;  // defaults: 1000, 0.0001, 0.02, "linear"
  std::string prediction_type = "epsilon";
  std::string interpolation_type = "linear";  // Euler only
  bool use_karras_sigmas = false;
  std::optional<double> sigma_min, sigma_max;  // Euler only
  std::string timestep_spacing = "linspace";
  std::string timestep_type = "discrete";  // Euler only
  int64_t steps_offset = 0;
  bool rescale_betas_zero_snr = false;  // Euler / Euler-A
};

struct EulerDiscreteSchedulerConfig : SigmaSchedulerConfig {
  static EulerDiscreteSchedulerConfig from_json(const Json& json, const std::string& source);
  Json to_json() const;
};

class EulerDiscreteScheduler : public Scheduler {
 public:
  explicit EulerDiscreteScheduler(EulerDiscreteSchedulerConfig config);

  std::string class_name() const override { return "EulerDiscreteScheduler"; }
  Json config() const override;

  void set_timesteps(int64_t num_inference_steps) override;
  const at::Tensor& timesteps() const override { return timesteps_; }
  int64_t num_inference_steps() const override { return num_inference_steps_; }
  double init_noise_sigma() const override;
  at::Tensor sigmas() const override { return sigmas_; }

  at::Tensor scale_model_input(const at::Tensor& sample, double timestep) override;
  SchedulerStepOutput step(const at::Tensor& model_output, double timestep,
                           const at::Tensor& sample, const StepArgs& args) override;
  // timesteps: values of timesteps() (float), looked up like diffusers' index_for_timestep.
  at::Tensor add_noise(const at::Tensor& original, const at::Tensor& noise,
                       const at::Tensor& timesteps) const override;

  const at::Tensor& betas() const { return betas_; }
  const at::Tensor& alphas_cumprod() const { return alphas_cumprod_; }

 protected:
  void init_step_index(double timestep);
  void check_can_step() const;

  EulerDiscreteSchedulerConfig config_;
  at::Tensor betas_, alphas_cumprod_, sigmas_, timesteps_;
  std::vector<double> raw_timesteps_;  // before the float32 cast (float64 for Karras sigmas)
  int64_t num_inference_steps_ = 0;
  std::optional<int64_t> step_index_;
};

}  // namespace papillon
