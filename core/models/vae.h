#pragma once
// diffusers models/autoencoders/vae.py: the VAE Encoder and Decoder, with the blocks they are built
// from (DownEncoderBlock2D / AttnDownEncoderBlock2D, UpDecoderBlock2D / AttnUpDecoderBlock2D of
// unets/unet_2d_blocks.py). No time embedding anywhere: every resnet runs with temb = None.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>

#include <optional>
#include <string>
#include <vector>

#include "core/models/activations.h"
#include "core/models/attention.h"
#include "core/models/conv.h"
#include "core/models/resnet.h"
#include "core/models/unet_2d_blocks.h"

namespace papillon {

// The keyword arguments get_down_block / get_up_block pass to the VAE blocks.
struct VAEBlockOptions {
  int64_t num_layers = 1;
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  bool add_sample = true;  // add_downsample / add_upsample
  double resnet_eps = 1e-6;
  std::string resnet_act_fn = "swish";
  int64_t resnet_groups = 32;
  int64_t downsample_padding = 1;  // down blocks only
  double dropout = 0.0;
  double output_scale_factor = 1.0;
  bool with_attention = false;                // the Attn* variants: an Attention after each resnet
  std::optional<int64_t> attention_head_dim;  // unset: out_channels (one head)
};

// DownEncoderBlock2D (with_attention false) / AttnDownEncoderBlock2D: resnets [+ attentions], then
// a strided-conv Downsample2D named "op" (padding 0 pads right/bottom first).
class DownEncoderBlock2DImpl : public UNetBlockBase {
 public:
  explicit DownEncoderBlock2DImpl(const VAEBlockOptions& options);
  at::Tensor forward(const at::Tensor& hidden_states);

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Attention> attentions_;
  Downsample2D downsampler_{nullptr};
};
TORCH_MODULE(DownEncoderBlock2D);

// UpDecoderBlock2D / AttnUpDecoderBlock2D: resnets [+ attentions], then nearest x2 + conv.
class UpDecoderBlock2DImpl : public UNetBlockBase {
 public:
  explicit UpDecoderBlock2DImpl(const VAEBlockOptions& options);
  at::Tensor forward(const at::Tensor& hidden_states);

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Attention> attentions_;
  Upsample2D upsampler_{nullptr};
};
TORCH_MODULE(UpDecoderBlock2D);

// True for the block names Encoder / Decoder can build.
bool is_supported_vae_down_block(const std::string& type);
bool is_supported_vae_up_block(const std::string& type);

// diffusers Encoder.__init__ arguments (defaults as there).
struct EncoderOptions {
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  std::vector<std::string> down_block_types = {"DownEncoderBlock2D"};
  std::vector<int64_t> block_out_channels = {64};
  int64_t layers_per_block = 2;
  int64_t norm_num_groups = 32;
  std::string act_fn = "silu";
  bool double_z = true;
  bool mid_block_add_attention = true;
};

// conv_in -> down blocks (the last one without downsampler) -> UNetMidBlock2D (one-head attention)
// -> GroupNorm(eps 1e-6) -> SiLU -> conv_out (2 * out_channels with double_z).
class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(const EncoderOptions& options);
  at::Tensor forward(const at::Tensor& sample);
  // Records <prefix>conv_in, down_blocks.i (+ .resnets.j ...), mid_block (+ inner), conv_norm_out,
  // conv_out. `prefix` ends with a dot ("encoder.") or is empty.
  void set_activation_recorder(ActivationRecorder* recorder, const std::string& prefix);

 private:
  void record(const std::string& name, const at::Tensor& value) const;

  ActivationRecorder* recorder_ = nullptr;
  std::string prefix_;
  Conv2d conv_in_{nullptr};
  std::vector<DownEncoderBlock2D> down_blocks_;
  UNetMidBlock2D mid_block_{nullptr};
  torch::nn::GroupNorm conv_norm_out_{nullptr};
  Conv2d conv_out_{nullptr};
};
TORCH_MODULE(Encoder);

// diffusers Decoder.__init__ arguments; norm_type "spatial" (MoVQ) is not supported.
struct DecoderOptions {
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  std::vector<std::string> up_block_types = {"UpDecoderBlock2D"};
  std::vector<int64_t> block_out_channels = {64};
  int64_t layers_per_block = 2;
  int64_t norm_num_groups = 32;
  std::string act_fn = "silu";
  std::string norm_type = "group";
  bool mid_block_add_attention = true;
};

// conv_in -> UNetMidBlock2D -> up blocks (layers_per_block + 1 resnets each) -> GroupNorm -> SiLU
// -> conv_out.
class DecoderImpl : public torch::nn::Module {
 public:
  explicit DecoderImpl(const DecoderOptions& options);
  at::Tensor forward(const at::Tensor& sample);
  void set_activation_recorder(ActivationRecorder* recorder, const std::string& prefix);

 private:
  void record(const std::string& name, const at::Tensor& value) const;

  ActivationRecorder* recorder_ = nullptr;
  std::string prefix_;
  Conv2d conv_in_{nullptr};
  std::vector<UpDecoderBlock2D> up_blocks_;
  UNetMidBlock2D mid_block_{nullptr};
  torch::nn::GroupNorm conv_norm_out_{nullptr};
  Conv2d conv_out_{nullptr};
};
TORCH_MODULE(Decoder);

}  // namespace papillon
