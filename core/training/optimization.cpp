#include "core/training/optimization.h"

#include <torch/torch.h>

#include <cmath>

#include "core/util/error.h"

namespace papillon {

double lr_multiplier(const std::string& schedule, int64_t step, int64_t warmup_steps,
                     int64_t total_steps, double num_cycles) {
  if (schedule == "constant") return 1.0;
  if (step < warmup_steps) {
    return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_steps));
  }
  if (schedule == "constant_with_warmup") return 1.0;
  const double progress = static_cast<double>(step - warmup_steps) /
                          static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
  if (schedule == "linear") {
    return std::max(0.0, static_cast<double>(total_steps - step) /
                             static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps)));
  }
  if (schedule == "cosine") {
    return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * num_cycles * 2.0 * progress)));
  }
  throw Error("unknown learning-rate schedule '" + schedule +
              "' (cosine, linear, constant, constant_with_warmup)");
}

// ------------------------------------------------------------------------------------------ AdamW

AdamW::AdamW(std::vector<at::Tensor> params, AdamWOptions options)
    : params_(std::move(params)), options_(options) {
  for (const auto& p : params_) {
    exp_avg_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    exp_avg_sq_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
  }
}

void AdamW::zero_grad() {
  for (auto& p : params_) {
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();  // set_to_none
  }
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  ++steps_;
  const double b1 = options_.beta1, b2 = options_.beta2;
  const double bias_correction1 = 1.0 - std::pow(b1, static_cast<double>(steps_));
  const double bias_correction2 = 1.0 - std::pow(b2, static_cast<double>(steps_));
  const double step_size = lr / bias_correction1;
  const double bias_correction2_sqrt = std::sqrt(bias_correction2);
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    const at::Tensor& grad = p.grad();
    if (!grad.defined()) continue;
    p.mul_(1.0 - lr * options_.weight_decay);
    exp_avg_[i].mul_(b1).add_(grad, 1.0 - b1);
    exp_avg_sq_[i].mul_(b2).addcmul_(grad, grad, 1.0 - b2);
    const at::Tensor denom = (exp_avg_sq_[i].sqrt() / bias_correction2_sqrt).add_(options_.eps);
    p.addcdiv_(exp_avg_[i], denom, -step_size);
  }
}

TensorList AdamW::state() const {
  TensorList out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back("exp_avg." + std::to_string(i), exp_avg_[i]);
    out.emplace_back("exp_avg_sq." + std::to_string(i), exp_avg_sq_[i]);
  }
  return out;
}

void AdamW::load_state(const TensorList& tensors, int64_t steps, const std::string& source) {
  std::map<std::string, at::Tensor> by_name(tensors.begin(), tensors.end());
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    for (auto* list : {&exp_avg_, &exp_avg_sq_}) {
      const std::string key = (list == &exp_avg_ ? "exp_avg." : "exp_avg_sq.") + std::to_string(i);
      auto it = by_name.find(key);
      if (it == by_name.end()) throw Error(source + ": optimizer state has no " + key);
      if (it->second.sizes() != (*list)[i].sizes()) {
        throw Error(source + ": optimizer state " + key + " has the wrong shape");
      }
      (*list)[i].copy_(it->second);
    }
  }
  steps_ = steps;
}

// -------------------------------------------------------------------------------------------- EMA

double ema_decay(const EMAOptions& o, int64_t optimization_step) {
  const int64_t step = std::max<int64_t>(0, optimization_step - o.update_after_step - 1);
  if (step <= 0) return 0.0;
  double decay;
  if (o.use_ema_warmup) {
    decay = 1.0 - std::pow(1.0 + static_cast<double>(step) / o.inv_gamma, -o.power);
  } else {
    decay = (1.0 + static_cast<double>(step)) / (10.0 + static_cast<double>(step));
  }
  decay = std::min(decay, o.decay);
  return std::max(decay, o.min_decay);
}

EMAModel::EMAModel(const std::vector<at::Tensor>& params, EMAOptions options) : options_(options) {
  torch::NoGradGuard no_grad;
  for (const auto& p : params)
    shadow_.push_back(p.detach().clone());
}

void EMAModel::step(const std::vector<at::Tensor>& params) {
  torch::NoGradGuard no_grad;
  ++optimization_step_;
  current_decay_ = ema_decay(options_, optimization_step_);
  const double one_minus_decay = 1.0 - current_decay_;
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].requires_grad()) {
      shadow_[i].sub_((shadow_[i] - params[i]) * one_minus_decay);
    } else {
      shadow_[i].copy_(params[i]);
    }
  }
}

void EMAModel::load(const std::vector<at::Tensor>& shadow, int64_t optimization_step,
                    const std::string& source) {
  if (shadow.size() != shadow_.size()) throw Error(source + ": EMA state has the wrong size");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < shadow.size(); ++i) {
    if (shadow[i].sizes() != shadow_[i].sizes()) {
      throw Error(source + ": EMA tensor " + std::to_string(i) + " has the wrong shape");
    }
    shadow_[i].copy_(shadow[i]);
  }
  optimization_step_ = optimization_step;
  current_decay_ = ema_decay(options_, optimization_step);
}

double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> norms;
  for (const auto& p : params) {
    if (p.grad().defined()) norms.push_back(p.grad().norm(2));
  }
  if (norms.empty()) return 0.0;
  const at::Tensor total = torch::stack(norms).norm(2);
  const at::Tensor coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
  for (const auto& p : params) {
    if (p.grad().defined()) p.grad().mul_(coef);
  }
  return total.item<double>();
}

}  // namespace papillon
