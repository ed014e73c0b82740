#pragma once
// LMSDiscreteScheduler (diffusers scheduling_lms_discrete.py): linear multistep in sigma space
// (k-diffusion's sample_lms). The coefficients integrate the Lagrange basis polynomials over
// [sigma_t, sigma_t+1] as scipy.integrate.quad does (Gauss-Kronrod 21, adaptive), with the
// integrand evaluated in float32 like diffusers' tensor arithmetic.
#include <functional>
#include <vector>

#include "core/schedulers/scheduling_euler_discrete.h"

namespace papillon {

struct LMSDiscreteSchedulerConfig : SigmaSchedulerConfig {
  static LMSDiscreteSchedulerConfig from_json(const Json& json, const std::string& source);
  Json to_json() const;
};

class LMSDiscreteScheduler : public EulerDiscreteScheduler {
 public:
  explicit LMSDiscreteScheduler(LMSDiscreteSchedulerConfig config);

  std::string class_name() const override { return "LMSDiscreteScheduler"; }
  Json config() const override;

  void set_timesteps(int64_t num_inference_steps) override;
  SchedulerStepOutput step(const at::Tensor& model_output, double timestep,
                           const at::Tensor& sample, const StepArgs& args) override;

  // Order of the multistep method (diffusers' step(order=4)).
  void set_lms_order(int64_t order) { lms_order_ = order; }
  double lms_coefficient(int64_t order, int64_t t, int64_t current_order) const;

 private:
  LMSDiscreteSchedulerConfig lms_config_;
  std::vector<at::Tensor> derivatives_;
  int64_t lms_order_ = 4;
};

// scipy.integrate.quad-like adaptive Gauss-Kronrod (21 points) integration of f over [a, b] to
// max(epsabs, epsrel * |result|); a > b allowed.
double integrate_gk21(const std::function<double(double)>& f, double a, double b,
                      double epsabs = 1.49e-8, double epsrel = 1.49e-8, int limit = 50);

}  // namespace papillon
