#include "core/schedulers/scheduling_euler_ancestral_discrete.h"

#include <torch/torch.h>

#include "core/util/error.h"

namespace papillon {

EulerAncestralDiscreteSchedulerConfig EulerAncestralDiscreteSchedulerConfig::from_json(
    const Json& json, const std::string& source) {
  const ConfigReader r(json, source);
  EulerAncestralDiscreteSchedulerConfig c;
  c.beta.read(r);
  c.prediction_type =
      get_choice(r, "prediction_type", c.prediction_type, {"epsilon", "v_prediction"});
  c.timestep_spacing =
      get_choice(r, "timestep_spacing", c.timestep_spacing, {"linspace", "leading", "trailing"});
  c.steps_offset = r.get_int("steps_offset", c.steps_offset);
  c.rescale_betas_zero_snr = r.get_bool("rescale_betas_zero_snr", c.rescale_betas_zero_snr);
  return c;
}

Json EulerAncestralDiscreteSchedulerConfig::to_json() const {
  Json j = Json::object();
  beta.write(j);
  j["prediction_type"] = prediction_type;
  j["timestep_spacing"] = timestep_spacing;
  j["steps_offset"] = steps_offset;
  j["rescale_betas_zero_snr"] = rescale_betas_zero_snr;
  return j;
}

namespace {

EulerDiscreteSchedulerConfig as_euler(const EulerAncestralDiscreteSchedulerConfig& c) {
  EulerDiscreteSchedulerConfig e;
  static_cast<SigmaSchedulerConfig&>(e) = c;
  return e;
}

}  // namespace

EulerAncestralDiscreteScheduler::EulerAncestralDiscreteScheduler(
    EulerAncestralDiscreteSchedulerConfig config)
    : EulerDiscreteScheduler(as_euler(config)), ancestral_config_(std::move(config)) {}

Json EulerAncestralDiscreteScheduler::config() const {
  Json j = ancestral_config_.to_json();
  j["_class_name"] = class_name();
  return j;
}

SchedulerStepOutput EulerAncestralDiscreteScheduler::step(const at::Tensor& model_output,
                                                          double timestep,
                                                          const at::Tensor& sample_in,
                                                          const StepArgs& args) {
  if (!step_index_) init_step_index(timestep);
  check_can_step();
  const at::Tensor sigma = sigmas_[*step_index_];
  const at::Tensor sample = sample_in.to(at::kFloat);

  // 1. predicted x_0 from sigma-scaled model output
  at::Tensor pred_original_sample;
  if (ancestral_config_.prediction_type == "epsilon") {
    pred_original_sample = sample - sigma * model_output;
  } else {
    pred_original_sample =
        model_output * (-sigma / (sigma.pow(2) + 1).pow(0.5)) + (sample / (sigma.pow(2) + 1));
  }

  // 2. split the step into a deterministic part (to sigma_down) and noise of size sigma_up
  const at::Tensor sigma_from = sigmas_[*step_index_];
  const at::Tensor sigma_to = sigmas_[*step_index_ + 1];
  const at::Tensor sigma_up =
      (sigma_to.pow(2) * (sigma_from.pow(2) - sigma_to.pow(2)) / sigma_from.pow(2)).pow(0.5);
  const at::Tensor sigma_down = (sigma_to.pow(2) - sigma_up.pow(2)).pow(0.5);
  const at::Tensor derivative = (sample - pred_original_sample) / sigma;
  const at::Tensor dt = sigma_down - sigma;
  at::Tensor prev_sample = sample + derivative * dt;
  const at::Tensor noise = step_noise(args.generators, model_output);
  prev_sample = (prev_sample + noise * sigma_up).to(model_output.scalar_type());
  *step_index_ += 1;
  return {prev_sample, pred_original_sample};
}

}  // namespace papillon
