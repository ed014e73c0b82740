#pragma once
// The denoiser of PixArt-α: diffusers' Transformer2DModel over patched input with
// norm_type "ada_norm_single" (transformers/transformer_2d.py in 0.27, split out as
// PixArtTransformer2DModel later, same state-dict keys), with embeddings.py's PatchEmbed,
// get_2d_sincos_pos_embed, PixArtAlphaCombinedTimestepSizeEmbeddings and PixArtAlphaTextProjection,
// normalization.py's AdaLayerNormSingle and attention.py's BasicTransformerBlock in its
// ada_norm_single form. Registered names equal the diffusers keys (pos_embed.proj.weight,
// adaln_single.emb.timestep_embedder.linear_1.weight, transformer_blocks.0.scale_shift_table, ...).
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <optional>
#include <string>
#include <vector>

#include "core/io/config.h"
#include "core/models/attention.h"
#include "core/models/conv.h"
#include "core/models/embeddings.h"
#include "core/models/transformer_2d.h"

namespace papillon {

// Field names = config.json keys, defaults = Transformer2DModel.__init__ (0.27). Only the patched,
// ada_norm_single form is built; other forms are refused by validate() with the key that differs.
struct PixArtTransformer2DModelConfig {
  int64_t num_attention_heads = 16;
  int64_t attention_head_dim = 88;
  int64_t in_channels = 0;
  std::optional<int64_t> out_channels;  // unset: in_channels
  int64_t num_layers = 1;
  double dropout = 0.0;
  std::optional<int64_t> cross_attention_dim;
  bool attention_bias = false;
  int64_t sample_size = 0;
  int64_t patch_size = 0;
  std::string activation_fn = "geglu";
  std::optional<int64_t> num_embeds_ada_norm;
  bool only_cross_attention = false;
  bool double_self_attention = false;
  bool upcast_attention = false;
  std::string norm_type = "layer_norm";
  bool norm_elementwise_affine = true;
  double norm_eps = 1e-5;
  std::string attention_type = "default";
  std::optional<int64_t> caption_channels;
  std::optional<double> interpolation_scale;  // unset: max(sample_size / 64, 1)

  int64_t inner_dim() const { return num_attention_heads * attention_head_dim; }
  int64_t output_channels() const { return out_channels.value_or(in_channels); }
  double resolved_interpolation_scale() const;
  // PixArt-XL-2-1024-MS (sample_size 128) also embeds the image resolution and aspect ratio.
  bool use_additional_conditions() const { return sample_size == 128; }

  static PixArtTransformer2DModelConfig from_json(const Json& json, const std::string& source);
  void validate(const std::string& source) const;
};

// get_2d_sincos_pos_embed(embed_dim, (grid_h, grid_w), base_size, interpolation_scale): [grid_h *
// grid_w, embed_dim] float32, computed as diffusers does (grid in float32, the sines in float64):
// the first half of each row embeds the column, the second half the row.
at::Tensor get_2d_sincos_pos_embed(int64_t embed_dim, int64_t grid_h, int64_t grid_w,
                                   double base_size, double interpolation_scale);

// PatchEmbed (flatten, no layer norm, sincos position embedding recomputed for other sizes).
class PatchEmbedImpl : public torch::nn::Module {
 public:
  PatchEmbedImpl(int64_t sample_size, int64_t patch_size, int64_t in_channels, int64_t embed_dim,
                 double interpolation_scale);
  // latent [B, C, H, W] -> tokens [B, (H/p)*(W/p), embed_dim] with the position embedding added.
  at::Tensor forward(const at::Tensor& latent);

 private:
  int64_t patch_size_, embed_dim_, base_size_;
  double interpolation_scale_;
  Conv2d proj_{nullptr};
  // The position embedding of the last grid seen, on the latents' device ([1, h*w, embed_dim]; not
  // in the state dict): the denoising loop calls with one size and device, so it is computed once.
  at::Tensor pos_embed_;
  int64_t pos_h_ = 0, pos_w_ = 0;
};
TORCH_MODULE(PatchEmbed);

// AdaLayerNormSingle with its PixArtAlphaCombinedTimestepSizeEmbeddings ("emb").
class AdaLayerNormSingleImpl : public torch::nn::Module {
 public:
  AdaLayerNormSingleImpl(int64_t embedding_dim, bool use_additional_conditions);
  struct Output {
    at::Tensor timestep;           // [B, 6 * dim]: linear(silu(embedded_timestep))
    at::Tensor embedded_timestep;  // [B, dim]
  };
  // timestep [B]; resolution [B, 2] (height, width) and aspect_ratio [B, 1] only with
  // use_additional_conditions. `dtype`: the hidden states' dtype.
  Output forward(const at::Tensor& timestep, const at::Tensor& resolution,
                 const at::Tensor& aspect_ratio, at::ScalarType dtype);

 private:
  bool use_additional_conditions_;
  Timesteps time_proj_{nullptr};
  TimestepEmbedding timestep_embedder_{nullptr};
  TimestepEmbedding resolution_embedder_{nullptr};
  TimestepEmbedding aspect_ratio_embedder_{nullptr};
  torch::nn::Linear linear_{nullptr};
};
TORCH_MODULE(AdaLayerNormSingle);

// PixArtAlphaTextProjection: linear_1, GELU (tanh), linear_2.
class PixArtAlphaTextProjectionImpl : public torch::nn::Module {
 public:
  PixArtAlphaTextProjectionImpl(int64_t in_features, int64_t hidden_size);
  at::Tensor forward(const at::Tensor& caption);

 private:
  torch::nn::Linear linear_1_{nullptr};
  torch::nn::Linear linear_2_{nullptr};
};
TORCH_MODULE(PixArtAlphaTextProjection);

// BasicTransformerBlock with norm_type "ada_norm_single": shift/scale/gate from the block's
// scale_shift_table plus the timestep embedding; no norm before the cross-attention; the MLP
// reads norm2.
class PixArtTransformerBlockImpl : public torch::nn::Module {
 public:
  explicit PixArtTransformerBlockImpl(const PixArtTransformer2DModelConfig& config);
  // hidden_states [B, N, dim]; encoder_hidden_states [B, M, dim] (projected captions);
  // encoder_attention_mask: additive bias [B, 1, M] or undefined; timestep [B, 6 * dim].
  at::Tensor forward(const at::Tensor& hidden_states, const at::Tensor& encoder_hidden_states,
                     const at::Tensor& encoder_attention_mask, const at::Tensor& timestep);

 private:
  int64_t dim_;
  torch::nn::LayerNorm norm1_{nullptr};
  Attention attn1_{nullptr};
  torch::nn::LayerNorm norm2_{nullptr};
  Attention attn2_{nullptr};
  FeedForward ff_{nullptr};
  at::Tensor scale_shift_table_;  // [6, dim]
};
TORCH_MODULE(PixArtTransformerBlock);

class PixArtTransformer2DModelImpl : public torch::nn::Module {
 public:
  explicit PixArtTransformer2DModelImpl(const PixArtTransformer2DModelConfig& config);
  // hidden_states [B, in_channels, H, W] (H, W multiples of patch_size); encoder_hidden_states
  // [B, M, caption_channels]; encoder_attention_mask [B, M] of 0/1 (turned into -10000 biases as
  // diffusers does) or undefined; timestep [B] (or a scalar, broadcast). resolution [B, 2] and
  // aspect_ratio [B, 1] are needed when use_additional_conditions. Returns [B, out_channels, H, W].
  at::Tensor forward(const at::Tensor& hidden_states, const at::Tensor& encoder_hidden_states,
                     const at::Tensor& timestep, const at::Tensor& encoder_attention_mask = {},
                     const at::Tensor& resolution = {}, const at::Tensor& aspect_ratio = {});
  const PixArtTransformer2DModelConfig& config() const { return config_; }

 private:
  PixArtTransformer2DModelConfig config_;
  PatchEmbed pos_embed_{nullptr};
  AdaLayerNormSingle adaln_single_{nullptr};
  PixArtAlphaTextProjection caption_projection_{nullptr};
  std::vector<PixArtTransformerBlock> blocks_;
  torch::nn::LayerNorm norm_out_{nullptr};
  torch::nn::Linear proj_out_{nullptr};
  at::Tensor scale_shift_table_;  // [2, dim]
};
TORCH_MODULE(PixArtTransformer2DModel);

// Reads <component_dir>/config.json and diffusion_pytorch_model[.variant].safetensors|.bin
// strictly; the model in eval mode with its parameters in `dtype` on `device`.
PixArtTransformer2DModel load_pixart_transformer_2d_model(const std::string& component_dir,
                                                          const std::string& variant = "",
                                                          at::ScalarType dtype = at::kFloat,
                                                          at::Device device = at::Device(at::kCPU));

}  // namespace papillon
