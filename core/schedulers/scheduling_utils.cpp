#include "core/schedulers/scheduling_utils.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/util/error.h"

namespace papillon {

at::Tensor betas_for_alpha_bar(int64_t num_diffusion_timesteps, double max_beta,
                               const std::string& alpha_transform_type) {
  auto alpha_bar = [&](double t) {
    if (alpha_transform_type == "cosine") {
      const double c = std::cos((t + 0.008) / 1.008 * M_PI / 2);
      return c * c;
    }
    if (alpha_transform_type == "exp") return std::exp(t * -12.0);
    throw Error("unsupported alpha_transform_type: " + alpha_transform_type);
  };
  std::vector<float> betas;
  betas.reserve(static_cast<size_t>(num_diffusion_timesteps));
  const double n = static_cast<double>(num_diffusion_timesteps);
  for (int64_t i = 0; i < num_diffusion_timesteps; ++i) {
    const double t1 = static_cast<double>(i) / n;
    const double t2 = static_cast<double>(i + 1) / n;
    betas.push_back(static_cast<float>(std::min(1 - alpha_bar(t2) / alpha_bar(t1), max_beta)));
  }
  return torch::tensor(betas, torch::kFloat32);
}

at::Tensor rescale_zero_terminal_snr(const at::Tensor& betas) {
  const at::Tensor alphas = 1.0 - betas;
  const at::Tensor alphas_cumprod = at::cumprod(alphas, 0);
  at::Tensor alphas_bar_sqrt = alphas_cumprod.sqrt();
  const at::Tensor sqrt_0 = alphas_bar_sqrt[0].clone();
  const at::Tensor sqrt_t = alphas_bar_sqrt[-1].clone();
  alphas_bar_sqrt -= sqrt_t;
  alphas_bar_sqrt *= sqrt_0 / (sqrt_0 - sqrt_t);
  const at::Tensor alphas_bar = alphas_bar_sqrt.pow(2);
  const int64_t n = alphas_bar.size(0);
  const at::Tensor ratios = alphas_bar.slice(0, 1) / alphas_bar.slice(0, 0, n - 1);
  return 1 - at::cat({alphas_bar.slice(0, 0, 1), ratios});
}

void BetaConfig::read(const ConfigReader& reader) {
  num_train_timesteps = reader.get_int("num_train_timesteps", num_train_timesteps);
  beta_start = reader.get_double("beta_start", beta_start);
  beta_end = reader.get_double("beta_end", beta_end);
  beta_schedule = reader.get_string("beta_schedule", beta_schedule);
  if (reader.has("trained_betas")) trained_betas = reader.get_double_list("trained_betas", {});
  if (num_train_timesteps < 1) reader.fail("num_train_timesteps", "must be at least 1");
  if (trained_betas && static_cast<int64_t>(trained_betas->size()) != num_train_timesteps &&
      !trained_betas->empty()) {
    // diffusers does not check this, but every table is indexed by training timestep.
    reader.fail("trained_betas", "has " + std::to_string(trained_betas->size()) +
                                     " entries, num_train_timesteps is " +
                                     std::to_string(num_train_timesteps));
  }
}

void BetaConfig::write(Json& json) const {
  json["num_train_timesteps"] = num_train_timesteps;
  json["beta_start"] = beta_start;
  json["beta_end"] = beta_end;
  json["beta_schedule"] = beta_schedule;
  json["trained_betas"] = trained_betas ? Json(*trained_betas) : Json(nullptr);
}

at::Tensor BetaConfig::make_betas(const std::vector<std::string>& allowed,
                                  const std::string& source) const {
  if (trained_betas) {
    std::vector<float> values(trained_betas->begin(), trained_betas->end());
    return torch::tensor(values, torch::kFloat32);
  }
  if (std::find(allowed.begin(), allowed.end(), beta_schedule) == allowed.end()) {
    std::string list;
    for (const auto& a : allowed)
      list += (list.empty() ? "" : ", ") + a;
    throw Error(source + ": beta_schedule \"" + beta_schedule + "\" is not supported (one of " +
                list + ")");
  }
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  if (beta_schedule == "linear")
    return at::linspace(beta_start, beta_end, num_train_timesteps, f32);
  if (beta_schedule == "scaled_linear") {
    return at::linspace(std::pow(beta_start, 0.5), std::pow(beta_end, 0.5), num_train_timesteps,
                        f32)
        .pow(2);
  }
  if (beta_schedule == "squaredcos_cap_v2") return betas_for_alpha_bar(num_train_timesteps);
  if (beta_schedule == "sigmoid") {
    // torch.linspace(-6, 6, T) uses the default dtype (float32).
    const at::Tensor x = at::linspace(-6, 6, num_train_timesteps, f32);
    return at::sigmoid(x) * (beta_end - beta_start) + beta_start;
  }
  throw Error(source + ": beta_schedule \"" + beta_schedule + "\" is not supported");
}

at::Tensor alphas_cumprod_from_betas(const at::Tensor& betas) {
  return at::cumprod(1.0 - betas, 0);
}

std::vector<double> np_linspace(double start, double stop, int64_t num) {
  std::vector<double> y(static_cast<size_t>(std::max<int64_t>(num, 0)));
  const int64_t div = num - 1;
  const double delta = stop - start;
  for (int64_t i = 0; i < num; ++i) {
    double v = static_cast<double>(i);
    if (div > 0) {
      const double step = delta / static_cast<double>(div);
      v = step == 0 ? (v / static_cast<double>(div)) * delta : v * step;
    } else {
      v = v * delta;
    }
    y[static_cast<size_t>(i)] = v + start;
  }
  if (num > 1) y.back() = stop;
  return y;
}

std::vector<double> np_arange(double start, double stop, double step) {
  const double len_f = std::ceil((stop - start) / step);
  const int64_t len = len_f > 0 ? static_cast<int64_t>(len_f) : 0;
  std::vector<double> y(static_cast<size_t>(len));
  if (len == 0) return y;
  y[0] = start;
  if (len > 1) {
    // numpy's DOUBLE_fill: start + i * ((start + step) - start).
    const double delta = (start + step) - start;
    for (int64_t i = 1; i < len; ++i)
      y[static_cast<size_t>(i)] = start + static_cast<double>(i) * delta;
  }
  return y;
}

double np_round(double x) {
  return std::nearbyint(x);
}

std::vector<int64_t> spaced_timesteps(const std::string& spacing, int64_t num_train_timesteps,
                                      int64_t num_inference_steps, int64_t steps_offset,
                                      const std::string& source) {
  std::vector<int64_t> out;
  const int64_t n = num_inference_steps;
  if (spacing == "linspace") {
    for (double v : np_linspace(0, static_cast<double>(num_train_timesteps - 1), n)) {
      out.push_back(static_cast<int64_t>(np_round(v)));
    }
    std::reverse(out.begin(), out.end());
  } else if (spacing == "leading") {
    const int64_t step_ratio = num_train_timesteps / n;
    for (int64_t i = n - 1; i >= 0; --i)
      out.push_back(i * step_ratio + steps_offset);
  } else if (spacing == "trailing") {
    const double step_ratio = static_cast<double>(num_train_timesteps) / static_cast<double>(n);
    for (double v : np_arange(static_cast<double>(num_train_timesteps), 0, -step_ratio)) {
      out.push_back(static_cast<int64_t>(np_round(v)) - 1);
    }
  } else {
    throw Error(source + ": timestep_spacing \"" + spacing +
                "\" is not supported (one of linspace, leading, trailing)");
  }
  return out;
}

void check_num_inference_steps(int64_t num_inference_steps, int64_t num_train_timesteps,
                               const std::string& class_name) {
  if (num_inference_steps < 1) {
    throw Error(class_name + ": num_inference_steps must be at least 1, got " +
                std::to_string(num_inference_steps));
  }
  if (num_inference_steps > num_train_timesteps) {
    throw Error(class_name + ": num_inference_steps " + std::to_string(num_inference_steps) +
                " cannot be larger than num_train_timesteps " +
                std::to_string(num_train_timesteps));
  }
}

at::Tensor threshold_sample(const at::Tensor& sample, double dynamic_thresholding_ratio,
                            double sample_max_value) {
  const auto dtype = sample.scalar_type();
  at::Tensor x = sample;
  if (dtype != at::kFloat && dtype != at::kDouble) x = x.to(at::kFloat);
  const int64_t batch = x.size(0);
  x = x.reshape({batch, -1});
  at::Tensor s = at::quantile(x.abs(), dynamic_thresholding_ratio, 1);
  s = at::clamp(s, 1, sample_max_value).unsqueeze(1);
  x = at::clamp(x, -s, s) / s;
  return x.reshape(sample.sizes()).to(dtype);
}

double get_extended_double(const ConfigReader& reader, const std::string& key, double fallback) {
  if (reader.has(key) && reader.json().at(key).is_string()) {
    const std::string v = reader.json().at(key).get<std::string>();
    if (v == "Infinity" || v == "inf") return std::numeric_limits<double>::infinity();
    if (v == "-Infinity" || v == "-inf") return -std::numeric_limits<double>::infinity();
    if (v == "NaN" || v == "nan") return std::numeric_limits<double>::quiet_NaN();
    reader.fail(key, "must be a number, got \"" + v + "\"");
  }
  return reader.get_double(key, fallback);
}

Json extended_double_json(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

std::string get_choice(const ConfigReader& reader, const std::string& key,
                       const std::string& fallback, const std::vector<std::string>& allowed) {
  std::string value = reader.get_string(key, fallback);
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    std::string list;
    for (const auto& a : allowed)
      list += (list.empty() ? "" : ", ") + a;
    reader.fail(key, "\"" + value + "\" is not supported (one of " + list + ")");
  }
  return value;
}

Json strip_default_keys(const Json& config) {
  Json out = Json::object();
  if (!config.is_object()) return out;
  std::vector<std::string> defaults;
  if (auto it = config.find("_use_default_values"); it != config.end() && it->is_array()) {
    for (const auto& k : *it) {
      if (k.is_string()) defaults.push_back(k.get<std::string>());
    }
  }
  for (auto it = config.begin(); it != config.end(); ++it) {
    if (!it.key().empty() && it.key()[0] == '_') continue;
    if (std::find(defaults.begin(), defaults.end(), it.key()) != defaults.end()) continue;
    out[it.key()] = it.value();
  }
  return out;
}

at::Tensor int64_tensor(const std::vector<int64_t>& values) {
  return torch::tensor(values, torch::kInt64);
}

at::Tensor unsqueeze_to(const at::Tensor& t, int64_t ndim) {
  at::Tensor out = t.flatten();
  while (out.dim() < ndim)
    out = out.unsqueeze(-1);
  return out;
}

std::vector<double> float_spaced_timesteps(const std::string& spacing, int64_t num_train_timesteps,
                                           int64_t num_inference_steps, int64_t steps_offset,
                                           const std::string& source) {
  std::vector<double> out;
  if (spacing == "linspace") {
    out = np_linspace(0, static_cast<double>(num_train_timesteps - 1), num_inference_steps);
    std::reverse(out.begin(), out.end());
    return out;
  }
  for (int64_t t :
       spaced_timesteps(spacing, num_train_timesteps, num_inference_steps, steps_offset, source)) {
    out.push_back(static_cast<double>(t));
  }
  return out;
}

std::vector<float> training_sigmas(const at::Tensor& alphas_cumprod) {
  const at::Tensor s = ((1 - alphas_cumprod) / alphas_cumprod).pow(0.5).contiguous();
  return std::vector<float>(s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
}

std::vector<double> np_interp_arange(const std::vector<double>& x, const std::vector<float>& fp) {
  const int64_t n = static_cast<int64_t>(fp.size());
  std::vector<double> out;
  out.reserve(x.size());
  for (double v : x) {
    if (v <= 0) {
      out.push_back(fp.front());
      continue;
    }
    if (v >= static_cast<double>(n - 1)) {
      out.push_back(fp.back());
      continue;
    }
    const auto j = static_cast<int64_t>(std::floor(v));
    const double xj = static_cast<double>(j);
    if (xj == v) {
      out.push_back(fp[static_cast<size_t>(j)]);
      continue;
    }
    const double y0 = fp[static_cast<size_t>(j)];
    const double y1 = fp[static_cast<size_t>(j + 1)];
    const double slope = (y1 - y0) / (static_cast<double>(j + 1) - xj);
    out.push_back(slope * (v - xj) + y0);
  }
  return out;
}

double sigma_to_t(double sigma, const std::vector<float>& log_sigmas) {
  const double log_sigma = std::log(std::max(sigma, 1e-10));
  const auto n = static_cast<int64_t>(log_sigmas.size());
  // argmax of cumsum(dists >= 0): the last index with log_sigma - log_sigmas[i] >= 0 (0 if none).
  int64_t low_idx = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (log_sigma - static_cast<double>(log_sigmas[static_cast<size_t>(i)]) >= 0) low_idx = i;
  }
  low_idx = std::min(low_idx, n - 2);
  const int64_t high_idx = low_idx + 1;
  const float low = log_sigmas[static_cast<size_t>(low_idx)];
  const float high = log_sigmas[static_cast<size_t>(high_idx)];
  const float denom = low - high;  // float32 - float32 stays float32 in numpy
  double w = (static_cast<double>(low) - log_sigma) / static_cast<double>(denom);
  w = std::min(std::max(w, 0.0), 1.0);
  return (1 - w) * static_cast<double>(low_idx) + w * static_cast<double>(high_idx);
}

std::vector<double> karras_sigmas(const std::vector<double>& in_sigmas, int64_t num_inference_steps,
                                  std::optional<double> sigma_min,
                                  std::optional<double> sigma_max) {
  const double smin = sigma_min ? *sigma_min : in_sigmas.back();
  const double smax = sigma_max ? *sigma_max : in_sigmas.front();
  const double rho = 7.0;
  const double min_inv_rho = std::pow(smin, 1 / rho);
  const double max_inv_rho = std::pow(smax, 1 / rho);
  std::vector<double> out;
  for (double r : np_linspace(0, 1, num_inference_steps)) {
    out.push_back(std::pow(max_inv_rho + r * (min_inv_rho - max_inv_rho), rho));
  }
  return out;
}

int64_t index_for_timestep(const at::Tensor& schedule_timesteps, double timestep,
                           const std::string& class_name) {
  const at::Tensor ts = schedule_timesteps.to(at::kDouble).contiguous();
  const double* p = ts.data_ptr<double>();
  std::vector<int64_t> hits;
  for (int64_t i = 0; i < ts.numel(); ++i) {
    if (p[i] == timestep) hits.push_back(i);
  }
  if (hits.empty()) {
    throw Error(class_name + ": timestep " + std::to_string(timestep) +
                " is not one of the scheduler's timesteps");
  }
  return hits.size() > 1 ? hits[1] : hits[0];
}

at::Tensor step_noise(Generators* generators, const at::Tensor& like) {
  return generators != nullptr ? generators->randn(like.sizes(), like.options())
                               : at::randn(like.sizes(), like.options());
}

}  // namespace papillon
