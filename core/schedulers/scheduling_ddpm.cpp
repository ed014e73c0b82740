#include "core/schedulers/scheduling_ddpm.h"

#include <torch/torch.h>

#include "core/util/error.h"

namespace papillon {

DDPMSchedulerConfig DDPMSchedulerConfig::from_json(const Json& json, const std::string& source) {
  const ConfigReader r(json, source);
  DDPMSchedulerConfig c;
  c.beta.read(r);
  c.variance_type = get_choice(r, "variance_type", c.variance_type,
                               {"fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log",
                                "learned", "learned_range"});
  c.clip_sample = r.get_bool("clip_sample", c.clip_sample);
  c.prediction_type =
      get_choice(r, "prediction_type", c.prediction_type, {"epsilon", "sample", "v_prediction"});
  c.thresholding = r.get_bool("thresholding", c.thresholding);
  c.dynamic_thresholding_ratio =
      r.get_double("dynamic_thresholding_ratio", c.dynamic_thresholding_ratio);
  c.clip_sample_range = r.get_double("clip_sample_range", c.clip_sample_range);
  c.sample_max_value = r.get_double("sample_max_value", c.sample_max_value);
  c.timestep_spacing =
      get_choice(r, "timestep_spacing", c.timestep_spacing, {"linspace", "leading", "trailing"});
  c.steps_offset = r.get_int("steps_offset", c.steps_offset);
  c.rescale_betas_zero_snr = r.get_bool("rescale_betas_zero_snr", c.rescale_betas_zero_snr);
  return c;
}

Json DDPMSchedulerConfig::to_json() const {
  Json j = Json::object();
  beta.write(j);
  j["variance_type"] = variance_type;
  j["clip_sample"] = clip_sample;
  j["prediction_type"] = prediction_type;
  j["thresholding"] = thresholding;
  j["dynamic_thresholding_ratio"] = dynamic_thresholding_ratio;
  j["clip_sample_range"] = clip_sample_range;
  j["sample_max_value"] = sample_max_value;
  j["timestep_spacing"] = timestep_spacing;
  j["steps_offset"] = steps_offset;
  j["rescale_betas_zero_snr"] = rescale_betas_zero_snr;
  return j;
}

DDPMScheduler::DDPMScheduler(DDPMSchedulerConfig config) : config_(std::move(config)) {
  betas_ = config_.beta.make_betas({"linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid"},
                                   class_name());
  if (config_.rescale_betas_zero_snr) betas_ = rescale_zero_terminal_snr(betas_);
  alphas_cumprod_ = alphas_cumprod_from_betas(betas_);
  one_ = at::scalar_tensor(1.0, torch::kFloat32);
  timesteps_ = at::arange(config_.beta.num_train_timesteps, torch::kInt64).flip(0);
}

Json DDPMScheduler::config() const {
  Json j = config_.to_json();
  j["_class_name"] = class_name();
  return j;
}

void DDPMScheduler::set_timesteps(int64_t num_inference_steps) {
  check_num_inference_steps(num_inference_steps, config_.beta.num_train_timesteps, class_name());
  num_inference_steps_ = num_inference_steps;
  timesteps_ =
      int64_tensor(spaced_timesteps(config_.timestep_spacing, config_.beta.num_train_timesteps,
                                    num_inference_steps, config_.steps_offset, class_name()));
}

int64_t DDPMScheduler::previous_timestep(int64_t t) const {
  const int64_t n =
      num_inference_steps_ > 0 ? num_inference_steps_ : config_.beta.num_train_timesteps;
  return t - config_.beta.num_train_timesteps / n;
}

at::Tensor DDPMScheduler::get_variance(int64_t t, const at::Tensor& predicted_variance) const {
  const int64_t prev_t = previous_timestep(t);
  const at::Tensor alpha_prod_t = alphas_cumprod_[t];
  const at::Tensor alpha_prod_t_prev = prev_t >= 0 ? alphas_cumprod_[prev_t] : one_;
  const at::Tensor current_beta_t = 1 - alpha_prod_t / alpha_prod_t_prev;
  // "predicted variance" x_t ~ N(mu, var) of DDPM eq. 6/7
  at::Tensor variance = (1 - alpha_prod_t_prev) / (1 - alpha_prod_t) * current_beta_t;
  variance = at::clamp(variance, 1e-20);
  const std::string& type = config_.variance_type;
  if (type == "fixed_small") return variance;
  if (type == "fixed_small_log") return at::exp(0.5 * at::log(variance));
  if (type == "fixed_large") return current_beta_t;
  if (type == "fixed_large_log") return at::log(current_beta_t);
  if (type == "learned") return predicted_variance;
  // learned_range
  const at::Tensor min_log = at::log(variance);
  const at::Tensor max_log = at::log(current_beta_t);
  const at::Tensor frac = (predicted_variance + 1) / 2;
  return frac * max_log + (1 - frac) * min_log;
}

SchedulerStepOutput DDPMScheduler::step(const at::Tensor& model_output_in, double timestep,
                                        const at::Tensor& sample, const StepArgs& args) {
  const auto t = static_cast<int64_t>(timestep);
  if (t < 0 || t >= config_.beta.num_train_timesteps) {
    throw Error(class_name() + ": timestep " + std::to_string(t) + " is out of range");
  }
  const int64_t prev_t = previous_timestep(t);
  const bool learned =
      config_.variance_type == "learned" || config_.variance_type == "learned_range";
  at::Tensor model_output = model_output_in;
  at::Tensor predicted_variance;
  if (model_output.size(1) == sample.size(1) * 2 && learned) {
    auto parts = at::split(model_output, sample.size(1), 1);
    model_output = parts[0];
    predicted_variance = parts[1];
  }

  // 1. alphas and betas
  const at::Tensor alpha_prod_t = alphas_cumprod_[t];
  const at::Tensor alpha_prod_t_prev = prev_t >= 0 ? alphas_cumprod_[prev_t] : one_;
  const at::Tensor beta_prod_t = 1 - alpha_prod_t;
  const at::Tensor beta_prod_t_prev = 1 - alpha_prod_t_prev;
  const at::Tensor current_alpha_t = alpha_prod_t / alpha_prod_t_prev;
  const at::Tensor current_beta_t = 1 - current_alpha_t;

  // 2. predicted x_0 (DDPM eq. 15)
  at::Tensor pred_original_sample;
  if (config_.prediction_type == "epsilon") {
    pred_original_sample = (sample - beta_prod_t.pow(0.5) * model_output) / alpha_prod_t.pow(0.5);
  } else if (config_.prediction_type == "sample") {
    pred_original_sample = model_output;
  } else {
    pred_original_sample = alpha_prod_t.pow(0.5) * sample - beta_prod_t.pow(0.5) * model_output;
  }

  // 3. clip or threshold x_0
  if (config_.thresholding) {
    pred_original_sample = threshold_sample(
        pred_original_sample, config_.dynamic_thresholding_ratio, config_.sample_max_value);
  } else if (config_.clip_sample) {
    pred_original_sample =
        pred_original_sample.clamp(-config_.clip_sample_range, config_.clip_sample_range);
  }

  // 4./5. posterior mean mu_t(x_t, x_0) (DDPM eq. 7)
  const at::Tensor pred_original_sample_coeff =
      (alpha_prod_t_prev.pow(0.5) * current_beta_t) / beta_prod_t;
  const at::Tensor current_sample_coeff = current_alpha_t.pow(0.5) * beta_prod_t_prev / beta_prod_t;
  at::Tensor prev_sample =
      pred_original_sample_coeff * pred_original_sample + current_sample_coeff * sample;

  // 6. noise, drawn only for t > 0
  if (t > 0) {
    at::Tensor noise = args.generators != nullptr
                           ? args.generators->randn(model_output.sizes(), model_output.options())
                           : at::randn(model_output.sizes(), model_output.options());
    at::Tensor variance;
    if (config_.variance_type == "fixed_small_log") {
      variance = get_variance(t, predicted_variance) * noise;
    } else if (config_.variance_type == "learned_range") {
      variance = at::exp(0.5 * get_variance(t, predicted_variance)) * noise;
    } else {
      variance = get_variance(t, predicted_variance).pow(0.5) * noise;
    }
    prev_sample = prev_sample + variance;
  }
  return {prev_sample, pred_original_sample};
}

at::Tensor add_noise_alphas_cumprod(const at::Tensor& alphas_cumprod, const at::Tensor& original,
                                    const at::Tensor& noise, const at::Tensor& timesteps) {
  const at::Tensor ac = alphas_cumprod.to(original.device(), original.scalar_type());
  const at::Tensor idx = timesteps.to(original.device(), at::kLong);
  const at::Tensor a = ac.index_select(0, idx.flatten());
  const at::Tensor sqrt_alpha_prod = unsqueeze_to(a.pow(0.5), original.dim());
  const at::Tensor sqrt_one_minus_alpha_prod = unsqueeze_to((1 - a).pow(0.5), original.dim());
  return sqrt_alpha_prod * original + sqrt_one_minus_alpha_prod * noise;
}

at::Tensor DDPMScheduler::add_noise(const at::Tensor& original, const at::Tensor& noise,
                                    const at::Tensor& timesteps) const {
  return add_noise_alphas_cumprod(alphas_cumprod_, original, noise, timesteps);
}

}  // namespace papillon
