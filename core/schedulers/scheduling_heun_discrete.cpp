#include "core/schedulers/scheduling_heun_discrete.h"

#include <torch/torch.h>

#include "core/util/error.h"

namespace papillon {

HeunDiscreteSchedulerConfig HeunDiscreteSchedulerConfig::from_json(const Json& json,
                                                                   const std::string& source) {
  const ConfigReader r(json, source);
  HeunDiscreteSchedulerConfig c;
  c.beta.read(r);
  c.prediction_type =
      get_choice(r, "prediction_type", c.prediction_type, {"epsilon", "sample", "v_prediction"});
  c.use_karras_sigmas = r.get_bool("use_karras_sigmas", c.use_karras_sigmas);
  c.clip_sample = r.get_bool("clip_sample", c.clip_sample);
  c.clip_sample_range = r.get_double("clip_sample_range", c.clip_sample_range);
  c.timestep_spacing =
      get_choice(r, "timestep_spacing", c.timestep_spacing, {"linspace", "leading", "trailing"});
  c.steps_offset = r.get_int("steps_offset", c.steps_offset);
  return c;
}

Json HeunDiscreteSchedulerConfig::to_json() const {
  Json j = Json::object();
  beta.write(j);
  j["prediction_type"] = prediction_type;
  j["use_karras_sigmas"] = use_karras_sigmas;
  j["clip_sample"] = clip_sample;
  j["clip_sample_range"] = clip_sample_range;
  j["timestep_spacing"] = timestep_spacing;
  j["steps_offset"] = steps_offset;
  return j;
}

namespace {

EulerDiscreteSchedulerConfig as_euler(const HeunDiscreteSchedulerConfig& c) {
  EulerDiscreteSchedulerConfig e;
  static_cast<SigmaSchedulerConfig&>(e) = c;
  return e;
}

// [x0, x1, x1, x2, x2, ...] (first entry once, the rest twice); keep_last: the last entry once.
at::Tensor repeat_tail(const at::Tensor& x, bool keep_last) {
  const int64_t n = x.size(0);
  if (keep_last) {
    return at::cat(
        {x.slice(0, 0, 1), x.slice(0, 1, n - 1).repeat_interleave(2), x.slice(0, n - 1)});
  }
  return at::cat({x.slice(0, 0, 1), x.slice(0, 1).repeat_interleave(2)});
}

}  // namespace

HeunDiscreteScheduler::HeunDiscreteScheduler(HeunDiscreteSchedulerConfig config)
    : EulerDiscreteScheduler(as_euler(config)), heun_config_(std::move(config)) {
  set_timesteps(heun_config_.beta.num_train_timesteps);
}

Json HeunDiscreteScheduler::config() const {
  Json j = heun_config_.to_json();
  j["_class_name"] = class_name();
  return j;
}

void HeunDiscreteScheduler::set_timesteps(int64_t num_inference_steps) {
  EulerDiscreteScheduler::set_timesteps(num_inference_steps);
  at::Tensor ts =
      heun_config_.use_karras_sigmas ? torch::tensor(raw_timesteps_, torch::kFloat64) : timesteps_;
  sigmas_ = repeat_tail(sigmas_, true);
  timesteps_ = repeat_tail(ts, false);
  prev_derivative_ = at::Tensor();
  dt_ = at::Tensor();
  sample_ = at::Tensor();
}

SchedulerStepOutput HeunDiscreteScheduler::step(const at::Tensor& model_output, double timestep,
                                                const at::Tensor& sample_in, const StepArgs& args) {
  (void)args;
  if (!step_index_) init_step_index(timestep);
  check_can_step();
  const int64_t i = *step_index_;
  const bool first_order = !dt_.defined();
  const at::Tensor sigma = first_order ? sigmas_[i] : sigmas_[i - 1];
  const at::Tensor sigma_next = first_order ? sigmas_[i + 1] : sigmas_[i];
  const at::Tensor sigma_hat = sigma * 1;  // gamma = 0: sigma_hat == sigma
  at::Tensor sample = sample_in;

  // 1. predicted x_0 from sigma-scaled model output
  const at::Tensor& sigma_input = first_order ? sigma_hat : sigma_next;
  at::Tensor pred_original_sample;
  if (heun_config_.prediction_type == "epsilon") {
    pred_original_sample = sample - sigma_input * model_output;
  } else if (heun_config_.prediction_type == "v_prediction") {
    pred_original_sample = model_output * (-sigma_input / (sigma_input.pow(2) + 1).pow(0.5)) +
                           (sample / (sigma_input.pow(2) + 1));
  } else {
    pred_original_sample = model_output;
  }
  if (heun_config_.clip_sample) {
    pred_original_sample =
        pred_original_sample.clamp(-heun_config_.clip_sample_range, heun_config_.clip_sample_range);
  }

  at::Tensor derivative, dt;
  if (first_order) {
    // 2. Euler step to sigma_next, remembered for the correction
    derivative = (sample - pred_original_sample) / sigma_hat;
    dt = sigma_next - sigma_hat;
    prev_derivative_ = derivative;
    dt_ = dt;
    sample_ = sample;
  } else {
    // 2. Heun correction: average the two derivatives, step again from the saved sample
    derivative = (sample - pred_original_sample) / sigma_next;
    derivative = (prev_derivative_ + derivative) / 2;
    dt = dt_;
    sample = sample_;
    prev_derivative_ = at::Tensor();
    dt_ = at::Tensor();
    sample_ = at::Tensor();
  }
  const at::Tensor prev_sample = sample + derivative * dt;
  *step_index_ += 1;
  return {prev_sample, at::Tensor()};
}

}  // namespace papillon
