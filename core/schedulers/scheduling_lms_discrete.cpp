#include "core/schedulers/scheduling_lms_discrete.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>

#include "core/util/error.h"

namespace papillon {

LMSDiscreteSchedulerConfig LMSDiscreteSchedulerConfig::from_json(const Json& json,
                                                                 const std::string& source) {
  const ConfigReader r(json, source);
  LMSDiscreteSchedulerConfig c;
  c.beta.read(r);
  c.use_karras_sigmas = r.get_bool("use_karras_sigmas", c.use_karras_sigmas);
  c.prediction_type =
      get_choice(r, "prediction_type", c.prediction_type, {"epsilon", "sample", "v_prediction"});
  c.timestep_spacing =
      get_choice(r, "timestep_spacing", c.timestep_spacing, {"linspace", "leading", "trailing"});
  c.steps_offset = r.get_int("steps_offset", c.steps_offset);
  return c;
}

Json LMSDiscreteSchedulerConfig::to_json() const {
  Json j = Json::object();
  beta.write(j);
  j["use_karras_sigmas"] = use_karras_sigmas;
  j["prediction_type"] = prediction_type;
  j["timestep_spacing"] = timestep_spacing;
  j["steps_offset"] = steps_offset;
  return j;
}

namespace {

// QUADPACK dqk21 nodes and weights.
constexpr std::array<double, 11> kXgk = {
    0.995657163025808080735527280689003, 0.973906528517171720077964012084452,
    0.930157491355708226001207180059508, 0.865063366688984510732096688423493,
    0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
    0.562757134668604683339000099272694, 0.433395394129247190799265943165784,
    0.294392862701460198131126603103866, 0.148874338981631210884826001129720,
    0.000000000000000000000000000000000};
constexpr std::array<double, 11> kWgk = {
    0.011694638867371874278064396062192, 0.032558162307964727478818972459390,
    0.054755896574351996031381300244580, 0.075039674810919952767043140916190,
    0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
    0.123491976262065851077208745238214, 0.134709217311473325928054001771707,
    0.142775938577060080797094273138717, 0.147739104901338491374841515972068,
    0.149445554002916905664936468389821};
constexpr std::array<double, 5> kWg = {
    0.066671344308688137593568809893332, 0.149451349150580593145776339657697,
    0.219086362515982043995534934228163, 0.269266719309996355091226921569469,
    0.295524224714752870173892994651338};

struct Piece {
  double a, b, result, error;
};

Piece qk21(const std::function<double(double)>& f, double a, double b) {
  const double epmach = std::numeric_limits<double>::epsilon();
  const double uflow = std::numeric_limits<double>::min();
  const double centr = 0.5 * (a + b);
  const double hlgth = 0.5 * (b - a);
  const double dhlgth = std::abs(hlgth);
  std::array<double, 10> fv1{}, fv2{};
  double resg = 0;
  const double fc = f(centr);
  double resk = kWgk[10] * fc;
  double resabs = std::abs(resk);
  for (int j = 0; j < 5; ++j) {
    const int jtw = 2 * j + 1;
    const double absc = hlgth * kXgk[jtw];
    const double f1 = f(centr - absc), f2 = f(centr + absc);
    fv1[jtw] = f1;
    fv2[jtw] = f2;
    resg += kWg[j] * (f1 + f2);
    resk += kWgk[jtw] * (f1 + f2);
    resabs += kWgk[jtw] * (std::abs(f1) + std::abs(f2));
  }
  for (int j = 0; j < 5; ++j) {
    const int jtwm1 = 2 * j;
    const double absc = hlgth * kXgk[jtwm1];
    const double f1 = f(centr - absc), f2 = f(centr + absc);
    fv1[jtwm1] = f1;
    fv2[jtwm1] = f2;
    resk += kWgk[jtwm1] * (f1 + f2);
    resabs += kWgk[jtwm1] * (std::abs(f1) + std::abs(f2));
  }
  const double reskh = resk * 0.5;
  double resasc = kWgk[10] * std::abs(fc - reskh);
  for (int j = 0; j < 10; ++j) {
    resasc += kWgk[j] * (std::abs(fv1[j] - reskh) + std::abs(fv2[j] - reskh));
  }
  const double result = resk * hlgth;
  resabs *= dhlgth;
  resasc *= dhlgth;
  double abserr = std::abs((resk - resg) * hlgth);
  if (resasc != 0 && abserr != 0)
    abserr = resasc * std::min(1.0, std::pow(200 * abserr / resasc, 1.5));
  if (resabs > uflow / (50 * epmach)) abserr = std::max(epmach * 50 * resabs, abserr);
  return {a, b, result, abserr};
}

}  // namespace

double integrate_gk21(const std::function<double(double)>& f, double a, double b, double epsabs,
                      double epsrel, int limit) {
  // Global adaptive bisection of the piece with the largest error (QUADPACK's qag strategy).
  std::vector<Piece> pieces = {qk21(f, a, b)};
  for (int it = 1; it < limit; ++it) {
    double result = 0, error = 0;
    for (const auto& p : pieces) {
      result += p.result;
      error += p.error;
    }
    if (error <= std::max(epsabs, epsrel * std::abs(result))) return result;
    auto worst = std::max_element(pieces.begin(), pieces.end(),
                                  [](const Piece& x, const Piece& y) { return x.error < y.error; });
    const double mid = 0.5 * (worst->a + worst->b);
    const Piece left = qk21(f, worst->a, mid);
    const Piece right = qk21(f, mid, worst->b);
    *worst = left;
    pieces.push_back(right);
  }
  double result = 0;
  for (const auto& p : pieces)
    result += p.result;
  return result;
}

namespace {

EulerDiscreteSchedulerConfig as_euler(const LMSDiscreteSchedulerConfig& c) {
  EulerDiscreteSchedulerConfig e;
  static_cast<SigmaSchedulerConfig&>(e) = c;
  return e;
}

}  // namespace

LMSDiscreteScheduler::LMSDiscreteScheduler(LMSDiscreteSchedulerConfig config)
    : EulerDiscreteScheduler(as_euler(config)), lms_config_(std::move(config)) {
  set_timesteps(lms_config_.beta.num_train_timesteps);
}

Json LMSDiscreteScheduler::config() const {
  Json j = lms_config_.to_json();
  j["_class_name"] = class_name();
  return j;
}

void LMSDiscreteScheduler::set_timesteps(int64_t num_inference_steps) {
  EulerDiscreteScheduler::set_timesteps(num_inference_steps);
  // With Karras sigmas diffusers keeps the float64 timesteps of _sigma_to_t.
  if (lms_config_.use_karras_sigmas) timesteps_ = torch::tensor(raw_timesteps_, torch::kFloat64);
  derivatives_.clear();
}

double LMSDiscreteScheduler::lms_coefficient(int64_t order, int64_t t,
                                             int64_t current_order) const {
  const float* s = sigmas_.data_ptr<float>();
  // Lagrange basis polynomial of node t - current_order, in float32 as diffusers computes it
  auto lms_derivative = [&](double tau) -> double {
    if (order <= 1) return 1.0;
    float prod = 1.0f;
    const auto tau_f = static_cast<float>(tau);
    for (int64_t k = 0; k < order; ++k) {
      if (current_order == k) continue;
      prod *= (tau_f - s[t - k]) / (s[t - current_order] - s[t - k]);
    }
    return prod;
  };
  return integrate_gk21(lms_derivative, s[t], s[t + 1], 1.49e-8, 1e-4);
}

SchedulerStepOutput LMSDiscreteScheduler::step(const at::Tensor& model_output, double timestep,
                                               const at::Tensor& sample, const StepArgs& args) {
  (void)args;
  if (!step_index_) init_step_index(timestep);
  check_can_step();
  const int64_t i = *step_index_;
  const at::Tensor sigma = sigmas_[i];
  // 1. predicted x_0 from sigma-scaled model output
  at::Tensor pred_original_sample;
  if (lms_config_.prediction_type == "epsilon") {
    pred_original_sample = sample - sigma * model_output;
  } else if (lms_config_.prediction_type == "v_prediction") {
    pred_original_sample =
        model_output * (-sigma / (sigma.pow(2) + 1).pow(0.5)) + (sample / (sigma.pow(2) + 1));
  } else {
    pred_original_sample = model_output;
  }
  // 2. ODE derivative, kept for the last `order` steps
  derivatives_.push_back((sample - pred_original_sample) / sigma);
  if (static_cast<int64_t>(derivatives_.size()) > lms_order_)
    derivatives_.erase(derivatives_.begin());
  // 3./4. linear multistep coefficients and update (newest derivative first)
  const int64_t order = std::min(i + 1, lms_order_);
  at::Tensor sum;
  for (int64_t k = 0; k < order; ++k) {
    const double coeff = lms_coefficient(order, i, k);
    const at::Tensor term = coeff * derivatives_[derivatives_.size() - 1 - static_cast<size_t>(k)];
    sum = sum.defined() ? sum + term : term + 0;
  }
  const at::Tensor prev_sample = sample + sum;
  *step_index_ += 1;
  return {prev_sample, pred_original_sample};
}

}  // namespace papillon
