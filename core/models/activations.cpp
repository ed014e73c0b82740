#include "core/models/activations.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>

#include "core/util/device.h"
#include "core/util/error.h"

namespace papillon {

namespace {

at::Tensor to_float(const at::Tensor& t) {
  return t.defined() ? t.to(at::kFloat) : t;
}

}  // namespace

bool reduced_on_cpu(const at::Tensor& x) {
  return x.device().is_cpu() && is_reduced_precision(x.scalar_type());
}

at::Tensor norm_forward(torch::nn::GroupNormImpl& norm, const at::Tensor& x) {
  if (!reduced_on_cpu(x)) return norm.forward(x);
  const auto& o = norm.options;
  return at::group_norm(x.to(at::kFloat), o.num_groups(), to_float(norm.weight),
                        to_float(norm.bias), o.eps())
      .to(x.scalar_type());
}

at::Tensor norm_forward(torch::nn::LayerNormImpl& norm, const at::Tensor& x) {
  if (!reduced_on_cpu(x)) return norm.forward(x);
  const auto& o = norm.options;
  return at::layer_norm(x.to(at::kFloat), o.normalized_shape(), to_float(norm.weight),
                        to_float(norm.bias), o.eps())
      .to(x.scalar_type());
}

Activation get_activation(const std::string& name, const std::string& context) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "swish" || lower == "silu") return Activation::kSilu;
  if (lower == "mish") return Activation::kMish;
  if (lower == "gelu") return Activation::kGelu;
  if (lower == "relu") return Activation::kRelu;
  throw Error(context + ": unsupported activation function \"" + name +
              "\" (expected silu, swish, mish, gelu or relu)");
}

at::Tensor apply_activation(Activation activation, const at::Tensor& x) {
  switch (activation) {
    case Activation::kSilu:
      return at::silu(x);
    case Activation::kMish:
      return at::mish(x);
    case Activation::kGelu:
      return at::gelu(x);
    case Activation::kRelu:
      return at::relu(x);
  }
  throw Error("apply_activation: unknown activation");
}

const at::Tensor& ActivationRecorder::get(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) throw Error("no activation recorded for \"" + name + "\"");
  return it->second;
}

}  // namespace papillon
