#include "core/models/activations.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>

#include "core/util/error.h"

namespace papillon {

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
