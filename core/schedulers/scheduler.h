#pragma once
// The scheduler interface, in diffusers' shape: set_timesteps, timesteps, init_noise_sigma,
// scale_model_input, step (-> previous sample and predicted x0) and add_noise. Schedulers hold only
// the math; the pipeline owns the loop. One scheduler per file, named as in diffusers.
#include <ATen/core/Tensor.h>

#include <limits>
#include <memory>
#include <string>

#include "core/io/config.h"
#include "core/util/random.h"

namespace papillon {

struct SchedulerStepOutput {
  at::Tensor prev_sample;
  at::Tensor pred_original_sample;  // undefined for schedulers that do not compute it
};

// Per-call arguments diffusers passes to step() when the scheduler accepts them.
struct StepArgs {
  double eta = 0.0;  // DDIM
  // EulerDiscreteScheduler's churn (Karras et al. 2022); the defaults add no churn.
  double s_churn = 0.0;
  double s_tmin = 0.0;
  double s_tmax = std::numeric_limits<double>::infinity();
  double s_noise = 1.0;
  Generators* generators = nullptr;  // noise for stochastic schedulers; null: none given
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  // diffusers' class name ("DDPMScheduler") and the fully resolved config (defaults filled in).
  virtual std::string class_name() const = 0;
  virtual Json config() const = 0;

  virtual void set_timesteps(int64_t num_inference_steps) = 0;
  // int64 for DDPM/DDIM/PNDM/DPM-Solver, float32 for the Euler family (float64 for LMS/Heun with
  // Karras sigmas), exactly as diffusers.
  virtual const at::Tensor& timesteps() const = 0;
  virtual int64_t num_inference_steps() const = 0;
  virtual double init_noise_sigma() const { return 1.0; }
  // The noise levels of the Euler/LMS/Heun/DPM-Solver family (float32, one more than the steps,
  // ending in the final sigma); undefined for schedulers without them.
  virtual at::Tensor sigmas() const { return {}; }
  virtual int order() const { return 1; }

  virtual at::Tensor scale_model_input(const at::Tensor& sample, double timestep) {
    (void)timestep;
    return sample;
  }
  virtual SchedulerStepOutput step(const at::Tensor& model_output, double timestep,
                                   const at::Tensor& sample, const StepArgs& args) = 0;
  // add_noise(original, noise, timesteps): timesteps is an int64 tensor of training timesteps.
  virtual at::Tensor add_noise(const at::Tensor& original, const at::Tensor& noise,
                               const at::Tensor& timesteps) const = 0;
};

}  // namespace papillon
