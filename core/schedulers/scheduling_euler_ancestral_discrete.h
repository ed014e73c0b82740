#pragma once
// EulerAncestralDiscreteScheduler (diffusers scheduling_euler_ancestral_discrete.py): Euler steps
// to sigma_down plus fresh noise of size sigma_up every step. Same sigma schedule as
// EulerDiscreteScheduler with linear interpolation and no Karras sigmas.
#include "core/schedulers/scheduling_euler_discrete.h"

namespace papillon {

struct EulerAncestralDiscreteSchedulerConfig : SigmaSchedulerConfig {
  static EulerAncestralDiscreteSchedulerConfig from_json(const Json& json,
                                                         const std::string& source);
  Json to_json() const;
};

class EulerAncestralDiscreteScheduler : public EulerDiscreteScheduler {
 public:
  explicit EulerAncestralDiscreteScheduler(EulerAncestralDiscreteSchedulerConfig config);

  std::string class_name() const override { return "EulerAncestralDiscreteScheduler"; }
  Json config() const override;

  SchedulerStepOutput step(const at::Tensor& model_output, double timestep,
                           const at::Tensor& sample, const StepArgs& args) override;

 private:
  EulerAncestralDiscreteSchedulerConfig ancestral_config_;
};

}  // namespace papillon
