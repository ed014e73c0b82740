#pragma once
// Pieces shared by the schedulers, each computed exactly as diffusers 0.27 does: beta schedules in
// float32 (betas_for_alpha_bar in double, then rounded), zero-terminal-SNR rescaling, cumulative
// alphas, numpy-style linspace/arange for timestep spacing, dynamic thresholding and config
// parsing.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/io/config.h"
#include "core/util/random.h"

namespace papillon {

// betas_for_alpha_bar: "cosine" (squaredcos_cap_v2) or "exp"; computed in double, returned float32.
at::Tensor betas_for_alpha_bar(int64_t num_diffusion_timesteps, double max_beta = 0.999,
                               const std::string& alpha_transform_type = "cosine");
// Rescales betas to zero terminal SNR (arXiv 2305.08891, algorithm 1).
at::Tensor rescale_zero_terminal_snr(const at::Tensor& betas);

// The beta-related keys every discrete scheduler shares. Defaults are set by each scheduler.
struct BetaConfig {
  int64_t num_train_timesteps = 1000;
  double beta_start = 0.0001;
  double beta_end = 0.02;
  std::string beta_schedule = "linear";
  std::optional<std::vector<double>> trained_betas;

  void read(const ConfigReader& reader);
  void write(Json& json) const;
  // betas as diffusers builds them. `allowed` lists the schedules the class implements.
  at::Tensor make_betas(const std::vector<std::string>& allowed, const std::string& source) const;
};

// 1 - betas, then float32 cumprod.
at::Tensor alphas_cumprod_from_betas(const at::Tensor& betas);

// numpy.linspace(start, stop, num) in double (endpoint included), as numpy 1.24 computes it.
std::vector<double> np_linspace(double start, double stop, int64_t num);
// numpy.arange(start, stop, step) for a float step.
std::vector<double> np_arange(double start, double stop, double step);
// numpy.round: half to even.
double np_round(double x);

// Integer inference timesteps (descending) for DDPM/DDIM/PNDM-style spacings:
//   "linspace": round(linspace(0, T-1, N)) reversed; "leading": arange(N)*(T//N) reversed + offset;
//   "trailing": round(arange(T, 0, -T/N)) - 1. Throws Error for another spacing.
std::vector<int64_t> spaced_timesteps(const std::string& spacing, int64_t num_train_timesteps,
                                      int64_t num_inference_steps, int64_t steps_offset,
                                      const std::string& source);

// Throws Error unless 0 < num_inference_steps <= num_train_timesteps.
void check_num_inference_steps(int64_t num_inference_steps, int64_t num_train_timesteps,
                               const std::string& class_name);

// diffusers' _threshold_sample (Imagen dynamic thresholding) over each batch entry.
at::Tensor threshold_sample(const at::Tensor& sample, double dynamic_thresholding_ratio,
                            double sample_max_value);

// A float key that may also be written as Python's json spells non-finite numbers ("Infinity",
// "-Infinity", "NaN", as strings when the file was sanitised); and the reverse for config().
double get_extended_double(const ConfigReader& reader, const std::string& key, double fallback);
Json extended_double_json(double value);

// Reads a string key and checks it is one of `allowed` (Error naming the key and the choices).
std::string get_choice(const ConfigReader& reader, const std::string& key,
                       const std::string& fallback, const std::vector<std::string>& allowed);

// The config JSON a scheduler is built from: keys listed in "_use_default_values" are dropped
// (diffusers' from_config rule), as are diffusers' bookkeeping keys ("_class_name", ...).
Json strip_default_keys(const Json& config);

// A vector<int64_t> / vector<double> as a 1-D CPU tensor (int64 / float32 / float64).
at::Tensor int64_tensor(const std::vector<int64_t>& values);

// Broadcast a per-batch 1-D tensor to `ndim` dimensions by appending singleton dimensions.
at::Tensor unsqueeze_to(const at::Tensor& t, int64_t ndim);

// --- sigma-space helpers (Euler / LMS / Heun / DPM-Solver) ---------------------------------

// Timesteps as the k-diffusion-style schedulers compute them before the float32 cast:
// "linspace" = linspace(0, T-1, N) reversed (not rounded), "leading" = arange(N)*(T//N) reversed +
// steps_offset, "trailing" = round(arange(T, 0, -T/N)) - 1.
std::vector<double> float_spaced_timesteps(const std::string& spacing, int64_t num_train_timesteps,
                                           int64_t num_inference_steps, int64_t steps_offset,
                                           const std::string& source);

// ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5 in float32, as a vector of floats.
std::vector<float> training_sigmas(const at::Tensor& alphas_cumprod);

// numpy.interp(x, arange(len(fp)), fp) in double.
std::vector<double> np_interp_arange(const std::vector<double>& x, const std::vector<float>& fp);

// diffusers' _sigma_to_t: the fractional training timestep of `sigma` by interpolating in
// log_sigmas (float32 table, ascending), with numpy's mixed float32/float64 arithmetic.
double sigma_to_t(double sigma, const std::vector<float>& log_sigmas);

// diffusers' _convert_to_karras (rho = 7) from in_sigmas (descending); sigma_min/max default to
// the last/first entry.
std::vector<double> karras_sigmas(const std::vector<double>& in_sigmas, int64_t num_inference_steps,
                                  std::optional<double> sigma_min, std::optional<double> sigma_max);

// diffusers' index_for_timestep: the first index whose timestep equals `timestep`, the second when
// it occurs more than once. Throws Error when it does not occur.
int64_t index_for_timestep(const at::Tensor& schedule_timesteps, double timestep,
                           const std::string& class_name);

// Noise for step(): from the given generators, else from torch's default generator.
at::Tensor step_noise(Generators* generators, const at::Tensor& like);

}  // namespace papillon
