#include "core/schedulers/scheduling_ddim.h"

#include <torch/torch.h>

#include "core/schedulers/scheduling_ddpm.h"
#include "core/util/error.h"

namespace papillon {

DDIMSchedulerConfig DDIMSchedulerConfig::from_json(const Json& json, const std::string& source) {
  const ConfigReader r(json, source);
  DDIMSchedulerConfig c;
  c.beta.read(r);
  c.clip_sample = r.get_bool("clip_sample", c.clip_sample);
  c.set_alpha_to_one = r.get_bool("set_alpha_to_one", c.set_alpha_to_one);
  c.steps_offset = r.get_int("steps_offset", c.steps_offset);
  c.prediction_type =
      get_choice(r, "prediction_type", c.prediction_type, {"epsilon", "sample", "v_prediction"});
  c.thresholding = r.get_bool("thresholding", c.thresholding);
  c.dynamic_thresholding_ratio =
      r.get_double("dynamic_thresholding_ratio", c.dynamic_thresholding_ratio);
  c.clip_sample_range = r.get_double("clip_sample_range", c.clip_sample_range);
  c.sample_max_value = r.get_double("sample_max_value", c.sample_max_value);
  c.timestep_spacing =
      get_choice(r, "timestep_spacing", c.timestep_spacing, {"linspace", "leading", "trailing"});
  c.rescale_betas_zero_snr = r.get_bool("rescale_betas_zero_snr", c.rescale_betas_zero_snr);
  return c;
}

Json DDIMSchedulerConfig::to_json() const {
  Json j = Json::object();
  beta.write(j);
  j["clip_sample"] = clip_sample;
  j["set_alpha_to_one"] = set_alpha_to_one;
  j["steps_offset"] = steps_offset;
  j["prediction_type"] = prediction_type;
  j["thresholding"] = thresholding;
  j["dynamic_thresholding_ratio"] = dynamic_thresholding_ratio;
  j["clip_sample_range"] = clip_sample_range;
  j["sample_max_value"] = sample_max_value;
  j["timestep_spacing"] = timestep_spacing;
  j["rescale_betas_zero_snr"] = rescale_betas_zero_snr;
  return j;
}

DDIMScheduler::DDIMScheduler(DDIMSchedulerConfig config) : config_(std::move(config)) {
  betas_ = config_.beta.make_betas({"linear", "scaled_linear", "squaredcos_cap_v2"}, class_name());
  if (config_.rescale_betas_zero_snr) betas_ = rescale_zero_terminal_snr(betas_);
  alphas_cumprod_ = alphas_cumprod_from_betas(betas_);
  // At the last step there is no previous alphas_cumprod: 1 or alphas_cumprod[0].
  final_alpha_cumprod_ =
      config_.set_alpha_to_one ? at::scalar_tensor(1.0, torch::kFloat32) : alphas_cumprod_[0];
  timesteps_ = at::arange(config_.beta.num_train_timesteps, torch::kInt64).flip(0);
}

Json DDIMScheduler::config() const {
  Json j = config_.to_json();
  j["_class_name"] = class_name();
  return j;
}

void DDIMScheduler::set_timesteps(int64_t num_inference_steps) {
  check_num_inference_steps(num_inference_steps, config_.beta.num_train_timesteps, class_name());
  num_inference_steps_ = num_inference_steps;
  timesteps_ =
      int64_tensor(spaced_timesteps(config_.timestep_spacing, config_.beta.num_train_timesteps,
                                    num_inference_steps, config_.steps_offset, class_name()));
}

at::Tensor DDIMScheduler::get_variance(int64_t timestep, int64_t prev_timestep) const {
  const at::Tensor alpha_prod_t = alphas_cumprod_[timestep];
  const at::Tensor alpha_prod_t_prev =
      prev_timestep >= 0 ? alphas_cumprod_[prev_timestep] : final_alpha_cumprod_;
  const at::Tensor beta_prod_t = 1 - alpha_prod_t;
  const at::Tensor beta_prod_t_prev = 1 - alpha_prod_t_prev;
  return (beta_prod_t_prev / beta_prod_t) * (1 - alpha_prod_t / alpha_prod_t_prev);
}

SchedulerStepOutput DDIMScheduler::step(const at::Tensor& model_output, double timestep,
                                        const at::Tensor& sample, const StepArgs& args) {
  return step(model_output, static_cast<int64_t>(timestep), sample, args.eta, false,
              args.generators);
}

SchedulerStepOutput DDIMScheduler::step(const at::Tensor& model_output, int64_t timestep,
                                        const at::Tensor& sample, double eta,
                                        bool use_clipped_model_output, Generators* generators) {
  if (num_inference_steps_ == 0) {
    throw Error(class_name() + ": set_timesteps must be called before step");
  }
  if (timestep < 0 || timestep >= config_.beta.num_train_timesteps) {
    throw Error(class_name() + ": timestep " + std::to_string(timestep) + " is out of range");
  }
  // 1. previous step (= t-1 in the DDIM paper's notation)
  const int64_t prev_timestep = timestep - config_.beta.num_train_timesteps / num_inference_steps_;

  // 2. alphas, betas
  const at::Tensor alpha_prod_t = alphas_cumprod_[timestep];
  const at::Tensor alpha_prod_t_prev =
      prev_timestep >= 0 ? alphas_cumprod_[prev_timestep] : final_alpha_cumprod_;
  const at::Tensor beta_prod_t = 1 - alpha_prod_t;

  // 3. predicted x_0 and epsilon (DDIM eq. 12)
  at::Tensor pred_original_sample, pred_epsilon;
  if (config_.prediction_type == "epsilon") {
    pred_original_sample = (sample - beta_prod_t.pow(0.5) * model_output) / alpha_prod_t.pow(0.5);
    pred_epsilon = model_output;
  } else if (config_.prediction_type == "sample") {
    pred_original_sample = model_output;
    pred_epsilon = (sample - alpha_prod_t.pow(0.5) * pred_original_sample) / beta_prod_t.pow(0.5);
  } else {
    pred_original_sample = alpha_prod_t.pow(0.5) * sample - beta_prod_t.pow(0.5) * model_output;
    pred_epsilon = alpha_prod_t.pow(0.5) * model_output + beta_prod_t.pow(0.5) * sample;
  }

  // 4. clip or threshold x_0
  if (config_.thresholding) {
    pred_original_sample = threshold_sample(
        pred_original_sample, config_.dynamic_thresholding_ratio, config_.sample_max_value);
  } else if (config_.clip_sample) {
    pred_original_sample =
        pred_original_sample.clamp(-config_.clip_sample_range, config_.clip_sample_range);
  }

  // 5. sigma_t(eta) (DDIM eq. 16)
  const at::Tensor variance = get_variance(timestep, prev_timestep);
  const at::Tensor std_dev_t = eta * variance.pow(0.5);
  if (use_clipped_model_output) {
    pred_epsilon = (sample - alpha_prod_t.pow(0.5) * pred_original_sample) / beta_prod_t.pow(0.5);
  }

  // 6./7. direction pointing to x_t, then x_{t-1} without noise (DDIM eq. 12)
  const at::Tensor pred_sample_direction =
      (1 - alpha_prod_t_prev - std_dev_t.pow(2)).pow(0.5) * pred_epsilon;
  at::Tensor prev_sample =
      alpha_prod_t_prev.pow(0.5) * pred_original_sample + pred_sample_direction;

  if (eta > 0) {
    const at::Tensor noise = generators != nullptr
                                 ? generators->randn(model_output.sizes(), model_output.options())
                                 : at::randn(model_output.sizes(), model_output.options());
    prev_sample = prev_sample + std_dev_t * noise;
  }
  return {prev_sample, pred_original_sample};
}

at::Tensor DDIMScheduler::add_noise(const at::Tensor& original, const at::Tensor& noise,
                                    const at::Tensor& timesteps) const {
  return add_noise_alphas_cumprod(alphas_cumprod_, original, noise, timesteps);
}

}  // namespace papillon
