#include "core/schedulers/scheduling_pndm.h"

#include <torch/torch.h>

#include "core/schedulers/scheduling_ddpm.h"
#include "core/util/error.h"

namespace papillon {

PNDMSchedulerConfig PNDMSchedulerConfig::from_json(const Json& json, const std::string& source) {
  const ConfigReader r(json, source);
  PNDMSchedulerConfig c;
  c.beta.read(r);
  c.skip_prk_steps = r.get_bool("skip_prk_steps", c.skip_prk_steps);
  c.set_alpha_to_one = r.get_bool("set_alpha_to_one", c.set_alpha_to_one);
  c.prediction_type =
      get_choice(r, "prediction_type", c.prediction_type, {"epsilon", "v_prediction"});
  c.timestep_spacing =
      get_choice(r, "timestep_spacing", c.timestep_spacing, {"linspace", "leading", "trailing"});
  c.steps_offset = r.get_int("steps_offset", c.steps_offset);
  return c;
}

Json PNDMSchedulerConfig::to_json() const {
  Json j = Json::object();
  beta.write(j);
  j["skip_prk_steps"] = skip_prk_steps;
  j["set_alpha_to_one"] = set_alpha_to_one;
  j["prediction_type"] = prediction_type;
  j["timestep_spacing"] = timestep_spacing;
  j["steps_offset"] = steps_offset;
  return j;
}

PNDMScheduler::PNDMScheduler(PNDMSchedulerConfig config) : config_(std::move(config)) {
  betas_ = config_.beta.make_betas({"linear", "scaled_linear", "squaredcos_cap_v2"}, class_name());
  alphas_cumprod_ = alphas_cumprod_from_betas(betas_);
  final_alpha_cumprod_ =
      config_.set_alpha_to_one ? at::scalar_tensor(1.0, torch::kFloat32) : alphas_cumprod_[0];
}

Json PNDMScheduler::config() const {
  Json j = config_.to_json();
  j["_class_name"] = class_name();
  return j;
}

void PNDMScheduler::set_timesteps(int64_t num_inference_steps) {
  const int64_t train = config_.beta.num_train_timesteps;
  check_num_inference_steps(num_inference_steps, train, class_name());
  if (!config_.skip_prk_steps && num_inference_steps < kPndmOrder) {
    throw Error(class_name() + ": the Runge-Kutta warm-up needs at least " +
                std::to_string(kPndmOrder) + " inference steps, got " +
                std::to_string(num_inference_steps) + " (set skip_prk_steps to use fewer)");
  }
  num_inference_steps_ = num_inference_steps;
  // ascending inference timesteps
  std::vector<int64_t> ts = spaced_timesteps(config_.timestep_spacing, train, num_inference_steps,
                                             config_.steps_offset, class_name());
  std::reverse(ts.begin(), ts.end());
  const auto n = static_cast<int64_t>(ts.size());

  std::vector<int64_t> all;
  prk_timesteps_.clear();
  if (config_.skip_prk_steps) {
    // [t_0 .. t_{n-2}, t_{n-2}, t_{n-1}] reversed: the second timestep is repeated
    std::vector<int64_t> plms(ts.begin(), ts.end() - 1);
    if (n >= 2) plms.push_back(ts[static_cast<size_t>(n - 2)]);
    plms.push_back(ts.back());
    std::reverse(plms.begin(), plms.end());
    all = plms;
  } else {
    // the last 4 timesteps, each followed by its half step, repeated as RK4 needs them
    const int64_t half = train / num_inference_steps / 2;
    std::vector<int64_t> prk;
    for (int64_t k = n - kPndmOrder; k < n; ++k) {
      prk.push_back(ts[static_cast<size_t>(k)]);
      prk.push_back(ts[static_cast<size_t>(k)] + half);
    }
    prk.pop_back();
    std::vector<int64_t> doubled;
    for (int64_t v : prk) {
      doubled.push_back(v);
      doubled.push_back(v);
    }
    prk_timesteps_.assign(doubled.begin() + 1, doubled.end() - 1);
    std::reverse(prk_timesteps_.begin(), prk_timesteps_.end());
    all = prk_timesteps_;
    for (int64_t k = n - 4; k >= 0; --k)
      all.push_back(ts[static_cast<size_t>(k)]);
  }
  timesteps_ = int64_tensor(all);
  ets_.clear();
  counter_ = 0;
  cur_model_output_ = at::Tensor();
  cur_sample_ = at::Tensor();
}

SchedulerStepOutput PNDMScheduler::step(const at::Tensor& model_output, double timestep,
                                        const at::Tensor& sample, const StepArgs& args) {
  (void)args;
  if (num_inference_steps_ == 0) {
    throw Error(class_name() + ": set_timesteps must be called before step");
  }
  const auto t = static_cast<int64_t>(timestep);
  if (counter_ < static_cast<int64_t>(prk_timesteps_.size()) && !config_.skip_prk_steps) {
    return {step_prk(model_output, t, sample), at::Tensor()};
  }
  return {step_plms(model_output, t, sample), at::Tensor()};
}

at::Tensor PNDMScheduler::step_prk(const at::Tensor& model_output_in, int64_t timestep,
                                   const at::Tensor& sample) {
  const int64_t half = config_.beta.num_train_timesteps / num_inference_steps_ / 2;
  const int64_t diff_to_prev = counter_ % 2 ? 0 : half;
  const int64_t prev_timestep = timestep - diff_to_prev;
  const int64_t t = prk_timesteps_[static_cast<size_t>(counter_ / 4 * 4)];
  at::Tensor model_output = model_output_in;
  auto accumulate = [&](double w) {
    const at::Tensor term = w * model_output_in;
    cur_model_output_ = cur_model_output_.defined() ? cur_model_output_ + term : term + 0;
  };
  if (counter_ % 4 == 0) {
    accumulate(1.0 / 6);
    ets_.push_back(model_output_in);
    cur_sample_ = sample;
  } else if ((counter_ - 1) % 4 == 0 || (counter_ - 2) % 4 == 0) {
    accumulate(1.0 / 3);
  } else {
    const at::Tensor last = (1.0 / 6) * model_output_in;
    model_output = cur_model_output_.defined() ? cur_model_output_ + last : last + 0;
    cur_model_output_ = at::Tensor();
  }
  const at::Tensor& cur_sample = cur_sample_.defined() ? cur_sample_ : sample;
  const at::Tensor prev_sample = get_prev_sample(cur_sample, t, prev_timestep, model_output);
  ++counter_;
  return prev_sample;
}

at::Tensor PNDMScheduler::step_plms(const at::Tensor& model_output_in, int64_t timestep_in,
                                    const at::Tensor& sample_in) {
  if (!config_.skip_prk_steps && ets_.size() < 3) {
    throw Error(class_name() + ": linear multistep needs 3 warm-up steps; use skip_prk_steps");
  }
  const int64_t step = config_.beta.num_train_timesteps / num_inference_steps_;
  int64_t timestep = timestep_in;
  int64_t prev_timestep = timestep - step;
  if (counter_ != 1) {
    if (ets_.size() > 3) ets_.erase(ets_.begin(), ets_.end() - 3);
    ets_.push_back(model_output_in);
  } else {
    prev_timestep = timestep;
    timestep = timestep + step;
  }
  at::Tensor model_output = model_output_in;
  at::Tensor sample = sample_in;
  const size_t k = ets_.size();
  if (k == 1 && counter_ == 0) {
    cur_sample_ = sample;
  } else if (k == 1 && counter_ == 1) {
    model_output = (model_output + ets_[k - 1]) / 2;
    sample = cur_sample_;
    cur_sample_ = at::Tensor();
  } else if (k == 2) {
    model_output = (3 * ets_[k - 1] - ets_[k - 2]) / 2;
  } else if (k == 3) {
    model_output = (23 * ets_[k - 1] - 16 * ets_[k - 2] + 5 * ets_[k - 3]) / 12;
  } else {
    model_output =
        (1.0 / 24) * (55 * ets_[k - 1] - 59 * ets_[k - 2] + 37 * ets_[k - 3] - 9 * ets_[k - 4]);
  }
  const at::Tensor prev_sample = get_prev_sample(sample, timestep, prev_timestep, model_output);
  ++counter_;
  return prev_sample;
}

at::Tensor PNDMScheduler::get_prev_sample(const at::Tensor& sample, int64_t timestep,
                                          int64_t prev_timestep,
                                          const at::Tensor& model_output_in) const {
  // PNDM paper eq. (9): x_(t-delta) from x_t and epsilon
  const at::Tensor alpha_prod_t = alphas_cumprod_[timestep];
  const at::Tensor alpha_prod_t_prev =
      prev_timestep >= 0 ? alphas_cumprod_[prev_timestep] : final_alpha_cumprod_;
  const at::Tensor beta_prod_t = 1 - alpha_prod_t;
  const at::Tensor beta_prod_t_prev = 1 - alpha_prod_t_prev;
  at::Tensor model_output = model_output_in;
  if (config_.prediction_type == "v_prediction") {
    model_output = alpha_prod_t.pow(0.5) * model_output + beta_prod_t.pow(0.5) * sample;
  }
  const at::Tensor sample_coeff = (alpha_prod_t_prev / alpha_prod_t).pow(0.5);
  const at::Tensor model_output_denom_coeff =
      alpha_prod_t * beta_prod_t_prev.pow(0.5) +
      (alpha_prod_t * beta_prod_t * alpha_prod_t_prev).pow(0.5);
  return sample_coeff * sample -
         (alpha_prod_t_prev - alpha_prod_t) * model_output / model_output_denom_coeff;
}

at::Tensor PNDMScheduler::add_noise(const at::Tensor& original, const at::Tensor& noise,
                                    const at::Tensor& timesteps) const {
  return add_noise_alphas_cumprod(alphas_cumprod_, original, noise, timesteps);
}

}  // namespace papillon
