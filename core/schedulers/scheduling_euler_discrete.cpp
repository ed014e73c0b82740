#include "core/schedulers/scheduling_euler_discrete.h"

#include <torch/torch.h>

#include <cmath>

#include "core/util/error.h"

namespace papillon {

EulerDiscreteSchedulerConfig EulerDiscreteSchedulerConfig::from_json(const Json& json,
                                                                     const std::string& source) {
  const ConfigReader r(json, source);
  EulerDiscreteSchedulerConfig c;
  c.beta.read(r);
  c.prediction_type = get_choice(r, "prediction_type", c.prediction_type,
                                 {"epsilon", "sample", "original_sample", "v_prediction"});
  c.interpolation_type =
      get_choice(r, "interpolation_type", c.interpolation_type, {"linear", "log_linear"});
  c.use_karras_sigmas = r.get_bool("use_karras_sigmas", c.use_karras_sigmas);
  c.sigma_min = r.get_optional_double("sigma_min");
  c.sigma_max = r.get_optional_double("sigma_max");
  c.timestep_spacing =
      get_choice(r, "timestep_spacing", c.timestep_spacing, {"linspace", "leading", "trailing"});
  c.timestep_type = get_choice(r, "timestep_type", c.timestep_type, {"discrete", "continuous"});
  c.steps_offset = r.get_int("steps_offset", c.steps_offset);
  c.rescale_betas_zero_snr = r.get_bool("rescale_betas_zero_snr", c.rescale_betas_zero_snr);
  return c;
}

Json EulerDiscreteSchedulerConfig::to_json() const {
  Json j = Json::object();
  beta.write(j);
  j["prediction_type"] = prediction_type;
  j["interpolation_type"] = interpolation_type;
  j["use_karras_sigmas"] = use_karras_sigmas;
  j["sigma_min"] = sigma_min ? Json(*sigma_min) : Json(nullptr);
  j["sigma_max"] = sigma_max ? Json(*sigma_max) : Json(nullptr);
  j["timestep_spacing"] = timestep_spacing;
  j["timestep_type"] = timestep_type;
  j["steps_offset"] = steps_offset;
  j["rescale_betas_zero_snr"] = rescale_betas_zero_snr;
  return j;
}

namespace {

at::Tensor continuous_timesteps(const at::Tensor& sigmas) {
  // torch.Tensor([0.25 * sigma.log() for sigma in sigmas]) -> float32
  return (0.25 * sigmas.log()).to(at::kFloat);
}

}  // namespace

EulerDiscreteScheduler::EulerDiscreteScheduler(EulerDiscreteSchedulerConfig config)
    : config_(std::move(config)) {
  betas_ = config_.beta.make_betas({"linear", "scaled_linear", "squaredcos_cap_v2"}, class_name());
  if (config_.rescale_betas_zero_snr) betas_ = rescale_zero_terminal_snr(betas_);
  alphas_cumprod_ = alphas_cumprod_from_betas(betas_);
  // Zero terminal SNR would give an infinite sigma; diffusers uses 2^-24 instead.
  if (config_.rescale_betas_zero_snr) alphas_cumprod_[-1] = std::pow(2.0, -24);
  const int64_t n = config_.beta.num_train_timesteps;
  const at::Tensor sig = ((1 - alphas_cumprod_) / alphas_cumprod_).pow(0.5).flip(0);
  std::vector<double> ts = np_linspace(0, static_cast<double>(n - 1), n);
  std::reverse(ts.begin(), ts.end());
  timesteps_ = torch::tensor(ts, torch::kFloat64).to(torch::kFloat32);
  if (config_.timestep_type == "continuous" && config_.prediction_type == "v_prediction") {
    timesteps_ = continuous_timesteps(sig);
  }
  sigmas_ = at::cat({sig, at::zeros({1}, sig.options())});
}

Json EulerDiscreteScheduler::config() const {
  Json j = config_.to_json();
  j["_class_name"] = class_name();
  return j;
}

double EulerDiscreteScheduler::init_noise_sigma() const {
  const at::Tensor max_sigma = sigmas_.max();
  if (config_.timestep_spacing == "linspace" || config_.timestep_spacing == "trailing") {
    return max_sigma.item<double>();
  }
  return (max_sigma.pow(2) + 1).pow(0.5).item<double>();
}

void EulerDiscreteScheduler::set_timesteps(int64_t num_inference_steps) {
  check_num_inference_steps(num_inference_steps, config_.beta.num_train_timesteps, class_name());
  num_inference_steps_ = num_inference_steps;
  // numpy float32 timesteps
  std::vector<double> ts;
  for (double t : float_spaced_timesteps(config_.timestep_spacing, config_.beta.num_train_timesteps,
                                         num_inference_steps, config_.steps_offset, class_name())) {
    ts.push_back(static_cast<double>(static_cast<float>(t)));
  }
  const std::vector<float> train_sigmas = training_sigmas(alphas_cumprod_);
  std::vector<float> log_sigmas;
  for (float s : train_sigmas)
    log_sigmas.push_back(std::log(s));

  std::vector<double> sigmas;
  if (config_.interpolation_type == "linear") {
    sigmas = np_interp_arange(ts, train_sigmas);
  } else {
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
    const at::Tensor s = at::linspace(static_cast<double>(std::log(train_sigmas.back())),
                                      static_cast<double>(std::log(train_sigmas.front())),
                                      num_inference_steps + 1, f32)
                             .exp()
                             .to(torch::kFloat64);
    sigmas.assign(s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
  }
  if (config_.use_karras_sigmas) {
    sigmas = karras_sigmas(sigmas, num_inference_steps, config_.sigma_min, config_.sigma_max);
    ts.clear();
    for (double s : sigmas)
      ts.push_back(sigma_to_t(s, log_sigmas));
  }
  raw_timesteps_ = ts;
  const at::Tensor sig = torch::tensor(sigmas, torch::kFloat64).to(torch::kFloat32);
  if (config_.timestep_type == "continuous" && config_.prediction_type == "v_prediction") {
    timesteps_ = continuous_timesteps(sig);
  } else {
    timesteps_ = torch::tensor(ts, torch::kFloat64).to(torch::kFloat32);
  }
  sigmas_ = at::cat({sig, at::zeros({1}, sig.options())});
  step_index_.reset();
}

void EulerDiscreteScheduler::init_step_index(double timestep) {
  step_index_ = index_for_timestep(timesteps_, timestep, class_name());
}

void EulerDiscreteScheduler::check_can_step() const {
  if (*step_index_ + 1 >= sigmas_.size(0)) {
    throw Error(class_name() + ": step() called after the last timestep");
  }
}

at::Tensor EulerDiscreteScheduler::scale_model_input(const at::Tensor& sample, double timestep) {
  if (!step_index_) init_step_index(timestep);
  const at::Tensor sigma = sigmas_[*step_index_];
  return sample / (sigma.pow(2) + 1).pow(0.5);
}

SchedulerStepOutput EulerDiscreteScheduler::step(const at::Tensor& model_output, double timestep,
                                                 const at::Tensor& sample_in,
                                                 const StepArgs& args) {
  if (!step_index_) init_step_index(timestep);
  check_can_step();
  at::Tensor sample = sample_in.to(at::kFloat);
  const at::Tensor sigma = sigmas_[*step_index_];
  const double sigma_v = sigma.item<double>();
  const double gamma =
      (args.s_tmin <= sigma_v && sigma_v <= args.s_tmax)
          ? std::min(args.s_churn / static_cast<double>(sigmas_.size(0) - 1), std::sqrt(2.0) - 1)
          : 0.0;
  // drawn every step, used only with churn
  const at::Tensor noise = step_noise(args.generators, model_output);
  const at::Tensor eps = noise * args.s_noise;
  const at::Tensor sigma_hat = sigma * (gamma + 1);
  if (gamma > 0) sample = sample + eps * (sigma_hat.pow(2) - sigma.pow(2)).pow(0.5);

  // 1. predicted x_0 from sigma-scaled model output
  at::Tensor pred_original_sample;
  if (config_.prediction_type == "epsilon") {
    pred_original_sample = sample - sigma_hat * model_output;
  } else if (config_.prediction_type == "v_prediction") {
    pred_original_sample =
        model_output * (-sigma / (sigma.pow(2) + 1).pow(0.5)) + (sample / (sigma.pow(2) + 1));
  } else {
    pred_original_sample = model_output;
  }
  // 2. ODE derivative and Euler step
  const at::Tensor derivative = (sample - pred_original_sample) / sigma_hat;
  const at::Tensor dt = sigmas_[*step_index_ + 1] - sigma_hat;
  const at::Tensor prev_sample = (sample + derivative * dt).to(model_output.scalar_type());
  *step_index_ += 1;
  return {prev_sample, pred_original_sample};
}

at::Tensor EulerDiscreteScheduler::add_noise(const at::Tensor& original, const at::Tensor& noise,
                                             const at::Tensor& timesteps) const {
  const at::Tensor sigmas = sigmas_.to(original.device(), original.scalar_type());
  std::vector<int64_t> idx;
  const at::Tensor t = timesteps.to(at::kDouble).flatten().contiguous();
  for (int64_t i = 0; i < t.numel(); ++i) {
    idx.push_back(index_for_timestep(timesteps_, t.data_ptr<double>()[i], class_name()));
  }
  const at::Tensor sigma =
      unsqueeze_to(sigmas.index_select(0, int64_tensor(idx).to(original.device())), original.dim());
  return original + noise * sigma;
}

}  // namespace papillon
