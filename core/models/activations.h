#pragma once
// diffusers models/activations.py (get_activation) and a recorder for named intermediate outputs.
#include <ATen/core/Tensor.h>

#include <map>
#include <string>

namespace torch::nn {
class GroupNormImpl;
class LayerNormImpl;
}  // namespace torch::nn

namespace papillon {

// GroupNorm / LayerNorm forwards for every model. A bf16 or fp16 input on the CPU is normalised in
// fp32 and rounded back to its dtype. LibTorch 1.13's reduced-precision CPU kernels for these are
// 8-20x slower than fp32's and round the statistics; this is faster and more accurate. Other
// inputs take the module's own forward, unchanged.
at::Tensor norm_forward(torch::nn::GroupNormImpl& norm, const at::Tensor& x);
at::Tensor norm_forward(torch::nn::LayerNormImpl& norm, const at::Tensor& x);
// A bf16 / fp16 tensor on the CPU: where LibTorch 1.13's reduced-precision kernels need help.
bool reduced_on_cpu(const at::Tensor& x);

// The activation functions diffusers' get_activation knows ("swish" and "silu" are the same).
enum class Activation { kSilu, kMish, kGelu, kRelu };

// Case-insensitive like diffusers; throws Error("<context>: unsupported activation function
// <name>").
Activation get_activation(const std::string& name, const std::string& context = "act_fn");

at::Tensor apply_activation(Activation activation, const at::Tensor& x);

// Collects outputs of named submodules (names as in the module tree, e.g.
// "down_blocks.1.attentions.0"), for comparing a port against hooked reference activations. Models
// take an optional pointer to one; with none set, recording costs a null check.
class ActivationRecorder {
 public:
  void record(const std::string& name, const at::Tensor& value) { values_[name] = value; }
  bool contains(const std::string& name) const { return values_.count(name) != 0; }
  // Throws Error when nothing was recorded under `name`.
  const at::Tensor& get(const std::string& name) const;
  const std::map<std::string, at::Tensor>& values() const { return values_; }
  void clear() { values_.clear(); }

 private:
  std::map<std::string, at::Tensor> values_;
};

// Records `value` under `name` when a recorder is set.
inline void record_activation(ActivationRecorder* recorder, const char* name,
                              const at::Tensor& value) {
  if (recorder != nullptr) recorder->record(name, value);
}

}  // namespace papillon
