#pragma once
// diffusers models/transformers/transformer_2d.py (Transformer2DModel over continuous input, the
// spatial transformer of Stable Diffusion's UNet) with attention.py's BasicTransformerBlock and
// FeedForward and activations.py's GELU / GEGLU / ApproximateGELU.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <optional>
#include <string>
#include <vector>

#include "core/models/activations.h"
#include "core/models/attention.h"
#include "core/models/conv.h"

namespace papillon {

// The projection + activation in front of a FeedForward: diffusers' GELU ("gelu", exact erf;
// "gelu-approximate", tanh), GEGLU ("geglu": Linear to 2*dim_out, a * gelu(b) with a = first half)
// and ApproximateGELU ("geglu-approximate": x * sigmoid(1.702 x)). One Linear named "proj".
class ProjectedActivationImpl : public torch::nn::Module {
 public:
  // Throws Error naming `activation_fn` when it is not one of the four names above.
  ProjectedActivationImpl(const std::string& activation_fn, int64_t dim_in, int64_t dim_out,
                          bool bias);
  at::Tensor forward(const at::Tensor& hidden_states);

 private:
  enum class Kind { kGelu, kGeluTanh, kGeglu, kGegluApproximate };
  Kind kind_;
  torch::nn::Linear proj_{nullptr};
};
TORCH_MODULE(ProjectedActivation);

struct FeedForwardOptions {
  int64_t dim = 0;
  std::optional<int64_t> dim_out;  // unset: dim
  int64_t mult = 4;
  double dropout = 0.0;
  std::string activation_fn = "geglu";
  bool final_dropout = false;
  std::optional<int64_t> inner_dim;  // unset: dim * mult
  bool bias = true;
};

// net.0 = ProjectedActivation, net.1 = Dropout, net.2 = Linear(inner, dim_out) [, net.3 Dropout].
class FeedForwardImpl : public torch::nn::Module {
 public:
  explicit FeedForwardImpl(const FeedForwardOptions& options);
  at::Tensor forward(const at::Tensor& hidden_states);

 private:
  ProjectedActivation act_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear out_{nullptr};
  torch::nn::Dropout final_dropout_{nullptr};
};
TORCH_MODULE(FeedForward);

struct BasicTransformerBlockOptions {
  int64_t dim = 0;
  int64_t num_attention_heads = 1;
  int64_t attention_head_dim = 0;
  double dropout = 0.0;
  std::optional<int64_t> cross_attention_dim;  // unset (and not double_self_attention): no attn2
  std::string activation_fn = "geglu";
  bool attention_bias = false;  // to_q / to_k / to_v
  bool only_cross_attention = false;
  bool double_self_attention = false;
  bool upcast_attention = false;
  bool norm_elementwise_affine = true;
  double norm_eps = 1e-5;
  bool final_dropout = false;
  std::optional<int64_t> ff_inner_dim;
  bool ff_bias = true;
  bool attention_out_bias = true;
};

// norm_type "layer_norm": x += attn1(norm1(x)) [self-attention, or cross-attention when
// only_cross_attention]; x += attn2(norm2(x), encoder_hidden_states); x += ff(norm3(x)).
class BasicTransformerBlockImpl : public torch::nn::Module {
 public:
  explicit BasicTransformerBlockImpl(const BasicTransformerBlockOptions& options);
  // hidden_states [B, N, dim]; encoder_hidden_states [B, M, cross_attention_dim] (undefined:
  // attn2 attends to hidden_states); masks are additive biases ([B, 1, M]) or undefined.
  at::Tensor forward(const at::Tensor& hidden_states, const at::Tensor& encoder_hidden_states = {},
                     const at::Tensor& attention_mask = {},
                     const at::Tensor& encoder_attention_mask = {});

  // Records "<prefix>.attn1", ".attn2" and ".ff" (attention outputs before the residual add).
  void set_activation_recorder(ActivationRecorder* recorder, const std::string& prefix);

 private:
  BasicTransformerBlockOptions options_;
  ActivationRecorder* recorder_ = nullptr;
  std::string prefix_;
  torch::nn::LayerNorm norm1_{nullptr};
  Attention attn1_{nullptr};
  torch::nn::LayerNorm norm2_{nullptr};
  Attention attn2_{nullptr};
  torch::nn::LayerNorm norm3_{nullptr};
  FeedForward ff_{nullptr};
};
TORCH_MODULE(BasicTransformerBlock);

// Transformer2DModel.__init__ arguments (continuous input only: in_channels set, no patch_size,
// no num_vector_embeds; norm_type "layer_norm"; attention_type "default").
struct Transformer2DModelOptions {
  int64_t num_attention_heads = 16;
  int64_t attention_head_dim = 88;
  int64_t in_channels = 0;
  int64_t num_layers = 1;
  double dropout = 0.0;
  int64_t norm_num_groups = 32;
  std::optional<int64_t> cross_attention_dim;
  bool attention_bias = false;
  std::string activation_fn = "geglu";
  bool use_linear_projection = false;
  bool only_cross_attention = false;
  bool double_self_attention = false;
  bool upcast_attention = false;
  bool norm_elementwise_affine = true;
  double norm_eps = 1e-5;
};

// GroupNorm (eps 1e-6) -> proj_in (1x1 conv, or Linear on the flattened tokens with
// use_linear_projection) -> transformer_blocks -> proj_out -> + input.
class Transformer2DModelImpl : public torch::nn::Module {
 public:
  explicit Transformer2DModelImpl(const Transformer2DModelOptions& options);
  // hidden_states [B, C, H, W] -> [B, C, H, W]. attention_mask / encoder_attention_mask: 0/1 keep
  // masks [B, M] (converted to -10000 biases like diffusers) or biases [B, 1, M]; may be undefined.
  at::Tensor forward(const at::Tensor& hidden_states, const at::Tensor& encoder_hidden_states = {},
                     const at::Tensor& attention_mask = {},
                     const at::Tensor& encoder_attention_mask = {});

  // Records "<prefix>.proj_in" and the blocks' "<prefix>.transformer_blocks.<i>.{attn1,attn2,ff}".
  void set_activation_recorder(ActivationRecorder* recorder, const std::string& prefix);

 private:
  Transformer2DModelOptions options_;
  int64_t inner_dim_;
  ActivationRecorder* recorder_ = nullptr;
  std::string prefix_;
  torch::nn::GroupNorm norm_{nullptr};
  Conv2d proj_in_conv_{nullptr};
  torch::nn::Linear proj_in_linear_{nullptr};
  std::vector<BasicTransformerBlock> blocks_;
  Conv2d proj_out_conv_{nullptr};
  torch::nn::Linear proj_out_linear_{nullptr};
};
TORCH_MODULE(Transformer2DModel);

}  // namespace papillon
