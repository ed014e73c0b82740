#include "core/schedulers/scheduling_dpmsolver_multistep.h"

#include <torch/torch.h>

#include <cmath>

#include "core/util/error.h"

namespace papillon {

DPMSolverMultistepSchedulerConfig DPMSolverMultistepSchedulerConfig::from_json(
    const Json& json, const std::string& source) {
  const ConfigReader r(json, source);
  DPMSolverMultistepSchedulerConfig c;
  c.beta.read(r);
  c.solver_order = r.get_int("solver_order", c.solver_order);
  if (c.solver_order < 1 || c.solver_order > 3) r.fail("solver_order", "must be 1, 2 or 3");
  c.prediction_type =
      get_choice(r, "prediction_type", c.prediction_type, {"epsilon", "sample", "v_prediction"});
  c.thresholding = r.get_bool("thresholding", c.thresholding);
  c.dynamic_thresholding_ratio =
      r.get_double("dynamic_thresholding_ratio", c.dynamic_thresholding_ratio);
  c.sample_max_value = r.get_double("sample_max_value", c.sample_max_value);
  c.algorithm_type =
      get_choice(r, "algorithm_type", c.algorithm_type,
                 {"dpmsolver", "dpmsolver++", "sde-dpmsolver", "sde-dpmsolver++", "deis"});
  if (c.algorithm_type == "deis") c.algorithm_type = "dpmsolver++";  // as diffusers registers it
  c.solver_type =
      get_choice(r, "solver_type", c.solver_type, {"midpoint", "heun", "logrho", "bh1", "bh2"});
  if (c.solver_type != "heun") c.solver_type = "midpoint";
  c.lower_order_final = r.get_bool("lower_order_final", c.lower_order_final);
  c.euler_at_final = r.get_bool("euler_at_final", c.euler_at_final);
  c.use_karras_sigmas = r.get_bool("use_karras_sigmas", c.use_karras_sigmas);
  c.use_lu_lambdas = r.get_bool("use_lu_lambdas", c.use_lu_lambdas);
  c.final_sigmas_type =
      get_choice(r, "final_sigmas_type", c.final_sigmas_type, {"zero", "sigma_min"});
  c.lambda_min_clipped = get_extended_double(r, "lambda_min_clipped", c.lambda_min_clipped);
  c.variance_type = r.get_optional_string("variance_type");
  c.timestep_spacing =
      get_choice(r, "timestep_spacing", c.timestep_spacing, {"linspace", "leading", "trailing"});
  c.steps_offset = r.get_int("steps_offset", c.steps_offset);
  c.rescale_betas_zero_snr = r.get_bool("rescale_betas_zero_snr", c.rescale_betas_zero_snr);
  if ((c.algorithm_type == "dpmsolver" || c.algorithm_type == "sde-dpmsolver") &&
      c.final_sigmas_type == "zero") {
    r.fail("final_sigmas_type",
           "\"zero\" is not supported with algorithm_type " + c.algorithm_type + "; use sigma_min");
  }
  return c;
}

Json DPMSolverMultistepSchedulerConfig::to_json() const {
  Json j = Json::object();
  beta.write(j);
  j["solver_order"] = solver_order;
  j["prediction_type"] = prediction_type;
  j["thresholding"] = thresholding;
  j["dynamic_thresholding_ratio"] = dynamic_thresholding_ratio;
  j["sample_max_value"] = sample_max_value;
  j["algorithm_type"] = algorithm_type;
  j["solver_type"] = solver_type;
  j["lower_order_final"] = lower_order_final;
  j["euler_at_final"] = euler_at_final;
  j["use_karras_sigmas"] = use_karras_sigmas;
  j["use_lu_lambdas"] = use_lu_lambdas;
  j["final_sigmas_type"] = final_sigmas_type;
  j["lambda_min_clipped"] = extended_double_json(lambda_min_clipped);
  j["variance_type"] = variance_type ? Json(*variance_type) : Json(nullptr);
  j["timestep_spacing"] = timestep_spacing;
  j["steps_offset"] = steps_offset;
  j["rescale_betas_zero_snr"] = rescale_betas_zero_snr;
  return j;
}

namespace {

struct AlphaSigma {
  at::Tensor alpha, sigma;
};

// alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma * alpha_t (VP from the sigma parametrisation)
AlphaSigma alpha_sigma(const at::Tensor& sigma) {
  const at::Tensor alpha = (sigma.pow(2) + 1).pow(0.5).reciprocal();
  return {alpha, sigma * alpha};
}

at::Tensor lambda_of(const AlphaSigma& as) {
  return at::log(as.alpha) - at::log(as.sigma);
}

}  // namespace

DPMSolverMultistepScheduler::DPMSolverMultistepScheduler(DPMSolverMultistepSchedulerConfig config)
    : config_(std::move(config)) {
  betas_ = config_.beta.make_betas({"linear", "scaled_linear", "squaredcos_cap_v2"}, class_name());
  if (config_.rescale_betas_zero_snr) betas_ = rescale_zero_terminal_snr(betas_);
  alphas_cumprod_ = alphas_cumprod_from_betas(betas_);
  if (config_.rescale_betas_zero_snr) alphas_cumprod_[-1] = std::pow(2.0, -24);
  lambda_t_ = at::log(at::sqrt(alphas_cumprod_)) - at::log(at::sqrt(1 - alphas_cumprod_));
  sigmas_ = ((1 - alphas_cumprod_) / alphas_cumprod_).pow(0.5);
  const int64_t n = config_.beta.num_train_timesteps;
  std::vector<double> ts = np_linspace(0, static_cast<double>(n - 1), n);
  std::reverse(ts.begin(), ts.end());
  timesteps_ = torch::tensor(ts, torch::kFloat64).to(torch::kFloat32);
  model_outputs_.assign(static_cast<size_t>(config_.solver_order), at::Tensor());
}

Json DPMSolverMultistepScheduler::config() const {
  Json j = config_.to_json();
  j["_class_name"] = class_name();
  return j;
}

void DPMSolverMultistepScheduler::set_timesteps(int64_t num_inference_steps) {
  const int64_t train = config_.beta.num_train_timesteps;
  check_num_inference_steps(num_inference_steps, train, class_name());
  // Clip the high-noise end where lambda(t) < lambda_min_clipped (cosine schedules).
  const int64_t clipped_idx =
      at::searchsorted(lambda_t_.flip(0), at::scalar_tensor(config_.lambda_min_clipped))
          .item<int64_t>();
  const int64_t last_timestep = train - clipped_idx;
  const int64_t n = num_inference_steps;
  std::vector<double> ts;
  if (config_.timestep_spacing == "linspace") {
    const auto v = np_linspace(0, static_cast<double>(last_timestep - 1), n + 1);
    for (int64_t i = n; i >= 1; --i)
      ts.push_back(np_round(v[static_cast<size_t>(i)]));
  } else if (config_.timestep_spacing == "leading") {
    const int64_t step_ratio = last_timestep / (n + 1);
    for (int64_t i = n; i >= 1; --i) {
      ts.push_back(static_cast<double>(i * step_ratio + config_.steps_offset));
    }
  } else {
    const double step_ratio = static_cast<double>(train) / static_cast<double>(n);
    for (double v : np_arange(static_cast<double>(last_timestep), 0, -step_ratio)) {
      ts.push_back(np_round(v) - 1);
    }
  }

  const std::vector<float> train_sigmas = training_sigmas(alphas_cumprod_);
  std::vector<float> log_sigmas;
  for (float s : train_sigmas)
    log_sigmas.push_back(std::log(s));
  std::vector<double> sigmas;
  if (config_.use_karras_sigmas) {
    const std::vector<double> flipped(train_sigmas.rbegin(), train_sigmas.rend());
    sigmas = karras_sigmas(flipped, n, std::nullopt, std::nullopt);
    ts.clear();
    for (double s : sigmas)
      ts.push_back(np_round(sigma_to_t(s, log_sigmas)));
  } else if (config_.use_lu_lambdas) {
    const double lambda_min = log_sigmas.front();
    const double lambda_max = log_sigmas.back();
    ts.clear();
    for (double r : np_linspace(0, 1, n)) {
      const double s = std::exp(lambda_max + r * (lambda_min - lambda_max));
      sigmas.push_back(s);
      ts.push_back(np_round(sigma_to_t(s, log_sigmas)));
    }
  } else {
    sigmas = np_interp_arange(ts, train_sigmas);
  }
  const at::Tensor ac0 = alphas_cumprod_[0];
  const double sigma_last =
      config_.final_sigmas_type == "sigma_min" ? ((1 - ac0) / ac0).pow(0.5).item<double>() : 0.0;
  sigmas.push_back(sigma_last);
  sigmas_ = torch::tensor(sigmas, torch::kFloat64).to(torch::kFloat32);
  std::vector<int64_t> its;
  for (double t : ts)
    its.push_back(static_cast<int64_t>(t));
  timesteps_ = int64_tensor(its);
  num_inference_steps_ = static_cast<int64_t>(its.size());
  model_outputs_.assign(static_cast<size_t>(config_.solver_order), at::Tensor());
  lower_order_nums_ = 0;
  step_index_.reset();
}

int64_t DPMSolverMultistepScheduler::index_for(double timestep) const {
  const at::Tensor ts = timesteps_.to(at::kDouble).contiguous();
  std::vector<int64_t> hits;
  for (int64_t i = 0; i < ts.numel(); ++i) {
    if (ts.data_ptr<double>()[i] == timestep) hits.push_back(i);
  }
  if (hits.empty()) return ts.numel() - 1;  // diffusers: not found -> last index
  return hits.size() > 1 ? hits[1] : hits[0];
}

at::Tensor DPMSolverMultistepScheduler::convert_model_output(const at::Tensor& model_output_in,
                                                             const at::Tensor& sample) const {
  at::Tensor model_output = model_output_in;
  const bool learned = config_.variance_type && (*config_.variance_type == "learned" ||
                                                 *config_.variance_type == "learned_range");
  const AlphaSigma as = alpha_sigma(sigmas_[*step_index_]);
  const bool plus_plus =
      config_.algorithm_type == "dpmsolver++" || config_.algorithm_type == "sde-dpmsolver++";
  if (plus_plus) {
    // DPM-Solver++ works with the data prediction x0
    at::Tensor x0_pred;
    if (config_.prediction_type == "epsilon") {
      if (learned) model_output = model_output.slice(1, 0, 3);
      x0_pred = (sample - as.sigma * model_output) / as.alpha;
    } else if (config_.prediction_type == "sample") {
      x0_pred = model_output;
    } else {
      x0_pred = as.alpha * sample - as.sigma * model_output;
    }
    if (config_.thresholding) {
      x0_pred =
          threshold_sample(x0_pred, config_.dynamic_thresholding_ratio, config_.sample_max_value);
    }
    return x0_pred;
  }
  // DPM-Solver works with the noise prediction
  at::Tensor epsilon;
  if (config_.prediction_type == "epsilon") {
    epsilon = learned ? model_output.slice(1, 0, 3) : model_output;
  } else if (config_.prediction_type == "sample") {
    epsilon = (sample - as.alpha * model_output) / as.sigma;
  } else {
    epsilon = as.alpha * model_output + as.sigma * sample;
  }
  if (config_.thresholding) {
    at::Tensor x0_pred = (sample - as.sigma * epsilon) / as.alpha;
    x0_pred =
        threshold_sample(x0_pred, config_.dynamic_thresholding_ratio, config_.sample_max_value);
    epsilon = (sample - as.alpha * x0_pred) / as.sigma;
  }
  return epsilon;
}

at::Tensor DPMSolverMultistepScheduler::first_order_update(const at::Tensor& model_output,
                                                           const at::Tensor& sample,
                                                           const at::Tensor& noise) const {
  const int64_t i = *step_index_;
  const AlphaSigma t = alpha_sigma(sigmas_[i + 1]);
  const AlphaSigma s = alpha_sigma(sigmas_[i]);
  const at::Tensor h = lambda_of(t) - lambda_of(s);
  const std::string& algo = config_.algorithm_type;
  if (algo == "dpmsolver++") {
    return (t.sigma / s.sigma) * sample - (t.alpha * (at::exp(-h) - 1.0)) * model_output;
  }
  if (algo == "dpmsolver") {
    return (t.alpha / s.alpha) * sample - (t.sigma * (at::exp(h) - 1.0)) * model_output;
  }
  if (algo == "sde-dpmsolver++") {
    return (t.sigma / s.sigma * at::exp(-h)) * sample +
           (t.alpha * (1 - at::exp(-2.0 * h))) * model_output +
           t.sigma * at::sqrt(1.0 - at::exp(-2 * h)) * noise;
  }
  // sde-dpmsolver
  return (t.alpha / s.alpha) * sample - 2.0 * (t.sigma * (at::exp(h) - 1.0)) * model_output +
         t.sigma * at::sqrt(at::exp(2 * h) - 1.0) * noise;
}

at::Tensor DPMSolverMultistepScheduler::second_order_update(const at::Tensor& sample,
                                                            const at::Tensor& noise) const {
  const int64_t i = *step_index_;
  const AlphaSigma t = alpha_sigma(sigmas_[i + 1]);
  const AlphaSigma s0 = alpha_sigma(sigmas_[i]);
  const AlphaSigma s1 = alpha_sigma(sigmas_[i - 1]);
  const at::Tensor lambda_t = lambda_of(t);
  const at::Tensor lambda_s0 = lambda_of(s0);
  const at::Tensor lambda_s1 = lambda_of(s1);
  const at::Tensor& m0 = model_outputs_[model_outputs_.size() - 1];
  const at::Tensor& m1 = model_outputs_[model_outputs_.size() - 2];
  const at::Tensor h = lambda_t - lambda_s0;
  const at::Tensor h_0 = lambda_s0 - lambda_s1;
  const at::Tensor r0 = h_0 / h;
  const at::Tensor& d0 = m0;
  const at::Tensor d1 = (1.0 / r0) * (m0 - m1);
  const std::string& algo = config_.algorithm_type;
  const bool midpoint = config_.solver_type == "midpoint";
  if (algo == "dpmsolver++") {
    if (midpoint) {
      return (t.sigma / s0.sigma) * sample - (t.alpha * (at::exp(-h) - 1.0)) * d0 -
             0.5 * (t.alpha * (at::exp(-h) - 1.0)) * d1;
    }
    return (t.sigma / s0.sigma) * sample - (t.alpha * (at::exp(-h) - 1.0)) * d0 +
           (t.alpha * ((at::exp(-h) - 1.0) / h + 1.0)) * d1;
  }
  if (algo == "dpmsolver") {
    if (midpoint) {
      return (t.alpha / s0.alpha) * sample - (t.sigma * (at::exp(h) - 1.0)) * d0 -
             0.5 * (t.sigma * (at::exp(h) - 1.0)) * d1;
    }
    return (t.alpha / s0.alpha) * sample - (t.sigma * (at::exp(h) - 1.0)) * d0 -
           (t.sigma * ((at::exp(h) - 1.0) / h - 1.0)) * d1;
  }
  if (algo == "sde-dpmsolver++") {
    if (midpoint) {
      return (t.sigma / s0.sigma * at::exp(-h)) * sample +
             (t.alpha * (1 - at::exp(-2.0 * h))) * d0 +
             0.5 * (t.alpha * (1 - at::exp(-2.0 * h))) * d1 +
             t.sigma * at::sqrt(1.0 - at::exp(-2 * h)) * noise;
    }
    return (t.sigma / s0.sigma * at::exp(-h)) * sample + (t.alpha * (1 - at::exp(-2.0 * h))) * d0 +
           (t.alpha * ((1.0 - at::exp(-2.0 * h)) / (-2.0 * h) + 1.0)) * d1 +
           t.sigma * at::sqrt(1.0 - at::exp(-2 * h)) * noise;
  }
  // sde-dpmsolver
  if (midpoint) {
    return (t.alpha / s0.alpha) * sample - 2.0 * (t.sigma * (at::exp(h) - 1.0)) * d0 -
           (t.sigma * (at::exp(h) - 1.0)) * d1 + t.sigma * at::sqrt(at::exp(2 * h) - 1.0) * noise;
  }
  return (t.alpha / s0.alpha) * sample - 2.0 * (t.sigma * (at::exp(h) - 1.0)) * d0 -
         2.0 * (t.sigma * ((at::exp(h) - 1.0) / h - 1.0)) * d1 +
         t.sigma * at::sqrt(at::exp(2 * h) - 1.0) * noise;
}

at::Tensor DPMSolverMultistepScheduler::third_order_update(const at::Tensor& sample) const {
  const int64_t i = *step_index_;
  const AlphaSigma t = alpha_sigma(sigmas_[i + 1]);
  const AlphaSigma s0 = alpha_sigma(sigmas_[i]);
  const AlphaSigma s1 = alpha_sigma(sigmas_[i - 1]);
  const AlphaSigma s2 = alpha_sigma(sigmas_[i - 2]);
  const at::Tensor lambda_t = lambda_of(t);
  const at::Tensor lambda_s0 = lambda_of(s0);
  const at::Tensor lambda_s1 = lambda_of(s1);
  const at::Tensor lambda_s2 = lambda_of(s2);
  const size_t k = model_outputs_.size();
  const at::Tensor& m0 = model_outputs_[k - 1];
  const at::Tensor& m1 = model_outputs_[k - 2];
  const at::Tensor& m2 = model_outputs_[k - 3];
  const at::Tensor h = lambda_t - lambda_s0;
  const at::Tensor h_0 = lambda_s0 - lambda_s1;
  const at::Tensor h_1 = lambda_s1 - lambda_s2;
  const at::Tensor r0 = h_0 / h;
  const at::Tensor r1 = h_1 / h;
  const at::Tensor& d0 = m0;
  const at::Tensor d1_0 = (1.0 / r0) * (m0 - m1);
  const at::Tensor d1_1 = (1.0 / r1) * (m1 - m2);
  const at::Tensor d1 = d1_0 + (r0 / (r0 + r1)) * (d1_0 - d1_1);
  const at::Tensor d2 = (1.0 / (r0 + r1)) * (d1_0 - d1_1);
  if (config_.algorithm_type == "dpmsolver++") {
    return (t.sigma / s0.sigma) * sample - (t.alpha * (at::exp(-h) - 1.0)) * d0 +
           (t.alpha * ((at::exp(-h) - 1.0) / h + 1.0)) * d1 -
           (t.alpha * ((at::exp(-h) - 1.0 + h) / h.pow(2) - 0.5)) * d2;
  }
  return (t.alpha / s0.alpha) * sample - (t.sigma * (at::exp(h) - 1.0)) * d0 -
         (t.sigma * ((at::exp(h) - 1.0) / h - 1.0)) * d1 -
         (t.sigma * ((at::exp(h) - 1.0 - h) / h.pow(2) - 0.5)) * d2;
}

SchedulerStepOutput DPMSolverMultistepScheduler::step(const at::Tensor& model_output_in,
                                                      double timestep, const at::Tensor& sample_in,
                                                      const StepArgs& args) {
  if (num_inference_steps_ == 0) {
    throw Error(class_name() + ": set_timesteps must be called before step");
  }
  if (!step_index_) step_index_ = index_for(timestep);
  const int64_t i = *step_index_;
  const int64_t n = timesteps_.size(0);
  if (i >= n) throw Error(class_name() + ": step() called after the last timestep");
  // Improve stability for few steps (< 15) and avoid a higher-order step onto sigma = 0.
  const bool lower_order_final =
      i == n - 1 && (config_.euler_at_final || (config_.lower_order_final && n < 15) ||
                     config_.final_sigmas_type == "zero");
  const bool lower_order_second = i == n - 2 && config_.lower_order_final && n < 15;

  const at::Tensor model_output = convert_model_output(model_output_in, sample_in);
  for (size_t k = 0; k + 1 < model_outputs_.size(); ++k)
    model_outputs_[k] = model_outputs_[k + 1];
  model_outputs_.back() = model_output;

  const at::Tensor sample = sample_in.to(at::kFloat);
  at::Tensor noise;
  if (config_.algorithm_type == "sde-dpmsolver" || config_.algorithm_type == "sde-dpmsolver++") {
    noise = step_noise(args.generators, model_output.to(at::kFloat));
  }
  at::Tensor prev_sample;
  if (config_.solver_order == 1 || lower_order_nums_ < 1 || lower_order_final) {
    prev_sample = first_order_update(model_output, sample, noise);
  } else if (config_.solver_order == 2 || lower_order_nums_ < 2 || lower_order_second) {
    prev_sample = second_order_update(sample, noise);
  } else {
    prev_sample = third_order_update(sample);
  }
  if (lower_order_nums_ < config_.solver_order) ++lower_order_nums_;
  *step_index_ += 1;
  return {prev_sample.to(model_output.scalar_type()), at::Tensor()};
}

at::Tensor DPMSolverMultistepScheduler::add_noise(const at::Tensor& original,
                                                  const at::Tensor& noise,
                                                  const at::Tensor& timesteps) const {
  const at::Tensor sigmas = sigmas_.to(original.device(), original.scalar_type());
  const at::Tensor t = timesteps.to(at::kDouble).flatten().contiguous();
  std::vector<int64_t> idx;
  for (int64_t k = 0; k < t.numel(); ++k)
    idx.push_back(index_for(t.data_ptr<double>()[k]));
  const at::Tensor sigma =
      unsqueeze_to(sigmas.index_select(0, int64_tensor(idx).to(original.device())), original.dim());
  const AlphaSigma as = alpha_sigma(sigma);
  return as.alpha * original + as.sigma * noise;
}

}  // namespace papillon
