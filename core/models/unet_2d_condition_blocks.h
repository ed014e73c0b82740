#pragma once
// diffusers models/unets/unet_2d_blocks.py, the blocks of Stable Diffusion's UNet2DConditionModel:
// CrossAttnDownBlock2D, UNetMidBlock2DCrossAttn, CrossAttnUpBlock2D (resnets interleaved with
// Transformer2DModel), and factories by type name that also build the plain DownBlock2D /
// UpBlock2D / UNetMidBlock2D of unet_2d_blocks.h.
#include <torch/nn/module.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/models/resnet.h"
#include "core/models/transformer_2d.h"
#include "core/models/unet_2d_blocks.h"

namespace papillon {

// get_down_block / get_up_block keyword arguments of UNet2DConditionModel beyond UNetBlockOptions.
struct CrossAttnBlockOptions : UNetBlockOptions {
  int64_t transformer_layers_per_block = 1;
  int64_t num_attention_heads = 1;  // heads of every Transformer2DModel (head size = C / heads)
  int64_t cross_attention_dim = 1280;
  bool dual_cross_attention = false;  // not supported: an Error
  bool use_linear_projection = false;
  bool only_cross_attention = false;
  bool upcast_attention = false;
};

// What the cross-attention blocks attend to. Masks are additive biases ([B, 1, M]) or undefined.
struct CrossAttentionContext {
  at::Tensor encoder_hidden_states;
  at::Tensor attention_mask;
  at::Tensor encoder_attention_mask;
};

// (resnet, transformer) pairs, then a conv Downsample2D ("op") unless it is the last block.
class CrossAttnDownBlock2DImpl : public UNetDownBlockImpl {
 public:
  explicit CrossAttnDownBlock2DImpl(const CrossAttnBlockOptions& options);
  // The UNet2DModel-style call has no encoder_hidden_states: throws Error.
  DownBlockOutput forward(const at::Tensor& hidden_states, const at::Tensor& temb,
                          const at::Tensor& skip_sample) override;
  DownBlockOutput forward_cross_attention(const at::Tensor& hidden_states, const at::Tensor& temb,
                                          const CrossAttentionContext& context);
  void set_activation_recorder(ActivationRecorder* recorder, const std::string& prefix) override;

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Transformer2DModel> attentions_;
  Downsample2D downsampler_{nullptr};
};

// Each resnet takes cat([hidden, skip]) (skips consumed from the back), then a transformer; a
// conv Upsample2D (to `upsample_size` when given) unless it is the last block.
class CrossAttnUpBlock2DImpl : public UNetUpBlockImpl {
 public:
  explicit CrossAttnUpBlock2DImpl(const CrossAttnBlockOptions& options);
  // The UNet2DModel-style call has no encoder_hidden_states: throws Error.
  UpBlockOutput forward(const at::Tensor& hidden_states, const std::vector<at::Tensor>& res_samples,
                        const at::Tensor& temb, const at::Tensor& skip_sample) override;
  // upsample_size: {height, width} of the upsampler's output; empty scales by 2.
  at::Tensor forward_cross_attention(const at::Tensor& hidden_states,
                                     const std::vector<at::Tensor>& res_samples,
                                     const at::Tensor& temb, const CrossAttentionContext& context,
                                     const std::vector<int64_t>& upsample_size = {});
  void set_activation_recorder(ActivationRecorder* recorder, const std::string& prefix) override;

 private:
  std::vector<Transformer2DModel> attentions_;
  Upsample2D upsampler_{nullptr};
};

struct UNetMidBlock2DCrossAttnOptions {
  int64_t in_channels = 0;
  int64_t temb_channels = 0;
  double dropout = 0.0;
  int64_t num_layers = 1;
  int64_t transformer_layers_per_block = 1;
  double resnet_eps = 1e-6;
  std::string resnet_time_scale_shift = "default";
  std::string resnet_act_fn = "swish";
  std::optional<int64_t> resnet_groups = 32;  // unset: min(in_channels / 4, 32)
  int64_t num_attention_heads = 1;
  double output_scale_factor = 1.0;
  int64_t cross_attention_dim = 1280;
  bool dual_cross_attention = false;  // not supported: an Error
  bool use_linear_projection = false;
  bool upcast_attention = false;
};

// resnets[0], then (transformer, resnet) pairs.
class UNetMidBlock2DCrossAttnImpl : public UNetBlockBase {
 public:
  explicit UNetMidBlock2DCrossAttnImpl(const UNetMidBlock2DCrossAttnOptions& options);
  at::Tensor forward(const at::Tensor& hidden_states, const at::Tensor& temb,
                     const CrossAttentionContext& context);
  void set_activation_recorder(ActivationRecorder* recorder, const std::string& prefix) override;

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Transformer2DModel> attentions_;
};
TORCH_MODULE(UNetMidBlock2DCrossAttn);

// Block types the factories below build (an optional "UNetRes" prefix is dropped, as in diffusers).
bool is_supported_condition_down_block(const std::string& type);
bool is_supported_condition_up_block(const std::string& type);
bool is_supported_condition_mid_block(const std::string& type);

// "CrossAttnDownBlock2D" or "DownBlock2D"; other names throw Error naming `context` (e.g.
// "unet/config.json: down_block_types[1]").
std::shared_ptr<UNetDownBlockImpl> get_condition_down_block(const std::string& type,
                                                            const CrossAttnBlockOptions& options,
                                                            const std::string& context);
// "CrossAttnUpBlock2D" or "UpBlock2D".
std::shared_ptr<UNetUpBlockImpl> get_condition_up_block(const std::string& type,
                                                        const CrossAttnBlockOptions& options,
                                                        const std::string& context);
// "UNetMidBlock2DCrossAttn" or "UNetMidBlock2D" (diffusers' get_mid_block: one resnet, no
// attention). `options` carries every argument; the plain block uses the resnet ones.
std::shared_ptr<UNetBlockBase> get_condition_mid_block(
    const std::string& type, const UNetMidBlock2DCrossAttnOptions& options,
    const std::string& context);

}  // namespace papillon
