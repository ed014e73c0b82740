#pragma once
// The optimisation pieces of diffusers' train_unconditional.py: torch's AdamW, diffusers'
// get_cosine_schedule_with_warmup, EMAModel (warm-up decay rule) and clip_grad_norm_.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/io/safetensors.h"

namespace papillon {

// Learning-rate multipliers (LambdaLR lambdas) of diffusers' optimization.py.
// "cosine": linear warm-up 0 -> 1 over warmup_steps, then half a cosine to 0 at total_steps.
// "constant_with_warmup": warm-up then 1. "constant": 1. "linear": warm-up then linear to 0.
double lr_multiplier(const std::string& schedule, int64_t step, int64_t warmup_steps,
                     int64_t total_steps, double num_cycles = 0.5);

struct AdamWOptions {
  double lr = 1e-4;
  double beta1 = 0.95;
  double beta2 = 0.999;
  double weight_decay = 1e-6;
  double eps = 1e-8;
};

// torch.optim.AdamW (amsgrad off), one update per call with the given learning rate; parameters
// whose .grad() is undefined are skipped. State = step count + first/second moments.
class AdamW {
 public:
  AdamW(std::vector<at::Tensor> params, AdamWOptions options);
  void step(double lr);
  void zero_grad();
  int64_t steps() const { return steps_; }
  // exp_avg.<i> / exp_avg_sq.<i> (i = parameter index).
  TensorList state() const;
  void load_state(const TensorList& tensors, int64_t steps, const std::string& source);

 private:
  std::vector<at::Tensor> params_, exp_avg_, exp_avg_sq_;
  AdamWOptions options_;
  int64_t steps_ = 0;
};

struct EMAOptions {
  double decay = 0.9999;  // the maximum decay
  double min_decay = 0.0;
  int64_t update_after_step = 0;
  bool use_ema_warmup = true;
  double inv_gamma = 1.0;
  double power = 0.75;
};

// diffusers training_utils.EMAModel.get_decay for an optimisation step (counted from 1).
double ema_decay(const EMAOptions& options, int64_t optimization_step);

// diffusers EMAModel: shadow = shadow - (1 - decay) * (shadow - param) after each optimiser step.
class EMAModel {
 public:
  EMAModel(const std::vector<at::Tensor>& params, EMAOptions options);
  void step(const std::vector<at::Tensor>& params);
  const std::vector<at::Tensor>& shadow() const { return shadow_; }
  int64_t optimization_step() const { return optimization_step_; }
  double current_decay() const { return current_decay_; }
  void load(const std::vector<at::Tensor>& shadow, int64_t optimization_step,
            const std::string& source);

 private:
  std::vector<at::Tensor> shadow_;
  EMAOptions options_;
  int64_t optimization_step_ = 0;
  double current_decay_ = 0.0;
};

// torch.nn.utils.clip_grad_norm_ (L2): scales every gradient by max_norm / (total + 1e-6) when
// that is < 1. Returns the total norm before clipping.
double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm);

}  // namespace papillon
