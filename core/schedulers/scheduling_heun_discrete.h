#pragma once
// HeunDiscreteScheduler (diffusers scheduling_heun_discrete.py): Heun's 2nd-order method in sigma
// space (Karras et al. 2022, Algorithm 1 without churn). Every step but the last takes two model
// calls, so timesteps repeat: [t0, t1, t1, t2, t2, ...]; order() is 2.
#include "core/schedulers/scheduling_euler_discrete.h"

namespace papillon {

struct HeunDiscreteSchedulerConfig : SigmaSchedulerConfig {
  bool clip_sample = false;
  double clip_sample_range = 1.0;

  HeunDiscreteSchedulerConfig() {
    beta.beta_start = 0.00085;
    beta.beta_end = 0.012;
  }
  static HeunDiscreteSchedulerConfig from_json(const Json& json, const std::string& source);
  Json to_json() const;
};

class HeunDiscreteScheduler : public EulerDiscreteScheduler {
 public:
  explicit HeunDiscreteScheduler(HeunDiscreteSchedulerConfig config);

  std::string class_name() const override { return "HeunDiscreteScheduler"; }
  Json config() const override;
  int order() const override { return 2; }

  void set_timesteps(int64_t num_inference_steps) override;
  SchedulerStepOutput step(const at::Tensor& model_output, double timestep,
                           const at::Tensor& sample, const StepArgs& args) override;

 private:
  HeunDiscreteSchedulerConfig heun_config_;
  at::Tensor prev_derivative_, dt_, sample_;  // dt_ undefined: in the first-order state
};

}  // namespace papillon
