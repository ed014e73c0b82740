#include "core/models/vae.h"

#include <torch/torch.h>

#include "core/models/activations.h"
#include "core/util/error.h"

namespace papillon {

namespace {

ResnetBlock2DOptions vae_resnet_options(const VAEBlockOptions& o, int64_t in_channels) {
  ResnetBlock2DOptions r;
  r.in_channels = in_channels;
  r.out_channels = o.out_channels;
  r.temb_channels = std::nullopt;
  r.eps = o.resnet_eps;
  r.groups = o.resnet_groups;
  r.dropout = o.dropout;
  r.time_embedding_norm = "default";
  r.non_linearity = o.resnet_act_fn;
  r.output_scale_factor = o.output_scale_factor;
  return r;
}

// The Attention of AttnDownEncoderBlock2D / AttnUpDecoderBlock2D (_from_deprecated_attn_block:
// group norm inside, biased projections, residual, softmax upcast).
Attention vae_block_attention(const VAEBlockOptions& o) {
  const int64_t head_dim = o.attention_head_dim.value_or(o.out_channels);
  if (head_dim <= 0 || o.out_channels % head_dim != 0) {
    throw Error("VAE block: attention_head_dim " + std::to_string(head_dim) +
                " must divide out_channels " + std::to_string(o.out_channels));
  }
  AttentionOptions a;
  a.query_dim = o.out_channels;
  a.heads = o.out_channels / head_dim;
  a.dim_head = head_dim;
  a.rescale_output_factor = o.output_scale_factor;
  a.eps = o.resnet_eps;
  a.norm_num_groups = o.resnet_groups;
  a.residual_connection = true;
  a.bias = true;
  a.upcast_softmax = true;
  return Attention(a);
}

// Builds resnets (and attentions) into `resnets` / `attentions` and registers them on `block`.
void build_layers(torch::nn::Module& block, const VAEBlockOptions& o, int64_t num_layers,
                  std::vector<ResnetBlock2D>& resnets, std::vector<Attention>& attentions) {
  torch::nn::ModuleList resnet_list;
  torch::nn::ModuleList attention_list;
  for (int64_t i = 0; i < num_layers; ++i) {
    resnets.emplace_back(vae_resnet_options(o, i == 0 ? o.in_channels : o.out_channels));
    resnet_list->push_back(resnets.back());
    if (o.with_attention) {
      attentions.push_back(vae_block_attention(o));
      attention_list->push_back(attentions.back());
    }
  }
  // diffusers' Attn* blocks assign self.attentions before self.resnets (state-dict order).
  if (o.with_attention) block.register_module("attentions", attention_list);
  block.register_module("resnets", resnet_list);
}

std::string strip_unet_res(const std::string& type) {
  const std::string prefix = "UNetRes";
  return type.rfind(prefix, 0) == 0 ? type.substr(prefix.size()) : type;
}

}  // namespace

// -------------------------------------------------------------------------------------- blocks

DownEncoderBlock2DImpl::DownEncoderBlock2DImpl(const VAEBlockOptions& o) {
  build_layers(*this, o, o.num_layers, resnets_, attentions_);
  if (o.add_sample) {
    Downsample2DOptions d;
    d.channels = o.out_channels;
    d.use_conv = true;
    d.out_channels = o.out_channels;
    d.padding = o.downsample_padding;
    d.name = "op";
    downsampler_ = Downsample2D(d);
    register_module("downsamplers", torch::nn::ModuleList(downsampler_));
  }
}

at::Tensor DownEncoderBlock2DImpl::forward(const at::Tensor& hidden_states) {
  at::Tensor h = hidden_states;
  for (size_t i = 0; i < resnets_.size(); ++i) {
    h = resnets_[i]->forward(h);
    record("resnets", i, h);
    if (!attentions_.empty()) {
      h = attentions_[i]->forward(h);
      record("attentions", i, h);
    }
  }
  if (downsampler_) {
    h = downsampler_->forward(h);
    record("downsamplers", 0, h);
  }
  return h;
}

UpDecoderBlock2DImpl::UpDecoderBlock2DImpl(const VAEBlockOptions& o) {
  build_layers(*this, o, o.num_layers, resnets_, attentions_);
  if (o.add_sample) {
    Upsample2DOptions u;
    u.channels = o.out_channels;
    u.use_conv = true;
    u.out_channels = o.out_channels;
    upsampler_ = Upsample2D(u);
    register_module("upsamplers", torch::nn::ModuleList(upsampler_));
  }
}

at::Tensor UpDecoderBlock2DImpl::forward(const at::Tensor& hidden_states) {
  at::Tensor h = hidden_states;
  for (size_t i = 0; i < resnets_.size(); ++i) {
    h = resnets_[i]->forward(h);
    record("resnets", i, h);
    if (!attentions_.empty()) {
      h = attentions_[i]->forward(h);
      record("attentions", i, h);
    }
  }
  if (upsampler_) {
    h = upsampler_->forward(h);
    record("upsamplers", 0, h);
  }
  return h;
}

bool is_supported_vae_down_block(const std::string& type) {
  const std::string t = strip_unet_res(type);
  return t == "DownEncoderBlock2D" || t == "AttnDownEncoderBlock2D";
}

bool is_supported_vae_up_block(const std::string& type) {
  const std::string t = strip_unet_res(type);
  return t == "UpDecoderBlock2D" || t == "AttnUpDecoderBlock2D";
}

namespace {

UNetMidBlock2D vae_mid_block(int64_t channels, const std::string& act_fn, int64_t groups,
                             bool add_attention) {
  UNetMidBlock2DOptions m;
  m.in_channels = channels;
  m.temb_channels = std::nullopt;
  m.resnet_eps = 1e-6;
  m.resnet_act_fn = act_fn;
  m.output_scale_factor = 1.0;
  m.resnet_time_scale_shift = "default";
  m.attention_head_dim = channels;  // one head
  m.resnet_groups = groups;
  m.add_attention = add_attention;
  return UNetMidBlock2D(m);
}

void check_block_lists(const char* what, size_t types, size_t channels) {
  if (types != channels || channels == 0) {
    throw Error(std::string(what) + ": needs one block_out_channels entry per block type (" +
                std::to_string(types) + " types, " + std::to_string(channels) + " channels)");
  }
}

}  // namespace

// ------------------------------------------------------------------------------------- Encoder

EncoderImpl::EncoderImpl(const EncoderOptions& o) {
  check_block_lists("Encoder", o.down_block_types.size(), o.block_out_channels.size());
  conv_in_ = register_module(
      "conv_in",
      Conv2d(torch::nn::Conv2dOptions(o.in_channels, o.block_out_channels[0], 3).padding(1)));

  torch::nn::ModuleList down_blocks;
  int64_t output_channel = o.block_out_channels[0];
  for (size_t i = 0; i < o.down_block_types.size(); ++i) {
    const std::string& type = o.down_block_types[i];
    if (!is_supported_vae_down_block(type)) {
      throw Error("Encoder: unsupported down block type \"" + type +
                  "\" (supported: DownEncoderBlock2D, AttnDownEncoderBlock2D)");
    }
    VAEBlockOptions b;
    b.num_layers = o.layers_per_block;
    b.in_channels = output_channel;
    output_channel = o.block_out_channels[i];
    b.out_channels = output_channel;
    b.add_sample = i + 1 != o.block_out_channels.size();
    b.resnet_eps = 1e-6;
    b.downsample_padding = 0;
    b.resnet_act_fn = o.act_fn;
    b.resnet_groups = o.norm_num_groups;
    b.attention_head_dim = output_channel;
    b.with_attention = strip_unet_res(type) == "AttnDownEncoderBlock2D";
    down_blocks_.emplace_back(b);
    down_blocks->push_back(down_blocks_.back());
  }
  register_module("down_blocks", down_blocks);

  const int64_t last = o.block_out_channels.back();
  mid_block_ = register_module(
      "mid_block", vae_mid_block(last, o.act_fn, o.norm_num_groups, o.mid_block_add_attention));
  conv_norm_out_ = register_module(
      "conv_norm_out",
      torch::nn::GroupNorm(torch::nn::GroupNormOptions(o.norm_num_groups, last).eps(1e-6)));
  const int64_t conv_out_channels = o.double_z ? 2 * o.out_channels : o.out_channels;
  conv_out_ = register_module(
      "conv_out", Conv2d(torch::nn::Conv2dOptions(last, conv_out_channels, 3).padding(1)));
}

void EncoderImpl::set_activation_recorder(ActivationRecorder* recorder, const std::string& prefix) {
  recorder_ = recorder;
  prefix_ = prefix;
  for (size_t i = 0; i < down_blocks_.size(); ++i) {
    down_blocks_[i]->set_activation_recorder(recorder, prefix + "down_blocks." + std::to_string(i));
  }
  mid_block_->set_activation_recorder(recorder, prefix + "mid_block");
}

void EncoderImpl::record(const std::string& name, const at::Tensor& value) const {
  if (recorder_ != nullptr) recorder_->record(prefix_ + name, value);
}

at::Tensor EncoderImpl::forward(const at::Tensor& sample) {
  at::Tensor h = conv_in_->forward(sample);
  record("conv_in", h);
  for (size_t i = 0; i < down_blocks_.size(); ++i) {
    h = down_blocks_[i]->forward(h);
    record("down_blocks." + std::to_string(i), h);
  }
  h = mid_block_->forward(h);
  record("mid_block", h);
  h = norm_forward(*conv_norm_out_, h);
  record("conv_norm_out", h);
  h = at::silu(h);
  h = conv_out_->forward(h);
  record("conv_out", h);
  return h;
}

// ------------------------------------------------------------------------------------- Decoder

DecoderImpl::DecoderImpl(const DecoderOptions& o) {
  check_block_lists("Decoder", o.up_block_types.size(), o.block_out_channels.size());
  if (o.norm_type != "group") {
    throw Error("Decoder: norm_type \"" + o.norm_type + "\" is not supported (only \"group\")");
  }
  const int64_t last = o.block_out_channels.back();
  conv_in_ = register_module("conv_in",
                             Conv2d(torch::nn::Conv2dOptions(o.in_channels, last, 3).padding(1)));

  torch::nn::ModuleList up_blocks;
  const std::vector<int64_t> reversed(o.block_out_channels.rbegin(), o.block_out_channels.rend());
  int64_t output_channel = reversed[0];
  for (size_t i = 0; i < o.up_block_types.size(); ++i) {
    const std::string& type = o.up_block_types[i];
    if (!is_supported_vae_up_block(type)) {
      throw Error("Decoder: unsupported up block type \"" + type +
                  "\" (supported: UpDecoderBlock2D, AttnUpDecoderBlock2D)");
    }
    VAEBlockOptions b;
    b.num_layers = o.layers_per_block + 1;
    b.in_channels = output_channel;
    output_channel = reversed[i];
    b.out_channels = output_channel;
    b.add_sample = i + 1 != o.block_out_channels.size();
    b.resnet_eps = 1e-6;
    b.resnet_act_fn = o.act_fn;
    b.resnet_groups = o.norm_num_groups;
    b.attention_head_dim = output_channel;
    b.with_attention = strip_unet_res(type) == "AttnUpDecoderBlock2D";
    up_blocks_.emplace_back(b);
    up_blocks->push_back(up_blocks_.back());
  }
  // diffusers assigns mid_block after up_blocks are registered (self.mid_block = None first), so
  // the state dict lists decoder.up_blocks before decoder.mid_block.
  register_module("up_blocks", up_blocks);
  mid_block_ = register_module(
      "mid_block", vae_mid_block(last, o.act_fn, o.norm_num_groups, o.mid_block_add_attention));
  conv_norm_out_ = register_module(
      "conv_norm_out",
      torch::nn::GroupNorm(
          torch::nn::GroupNormOptions(o.norm_num_groups, o.block_out_channels[0]).eps(1e-6)));
  conv_out_ = register_module(
      "conv_out",
      Conv2d(torch::nn::Conv2dOptions(o.block_out_channels[0], o.out_channels, 3).padding(1)));
}

void DecoderImpl::set_activation_recorder(ActivationRecorder* recorder, const std::string& prefix) {
  recorder_ = recorder;
  prefix_ = prefix;
  for (size_t i = 0; i < up_blocks_.size(); ++i) {
    up_blocks_[i]->set_activation_recorder(recorder, prefix + "up_blocks." + std::to_string(i));
  }
  mid_block_->set_activation_recorder(recorder, prefix + "mid_block");
}

void DecoderImpl::record(const std::string& name, const at::Tensor& value) const {
  if (recorder_ != nullptr) recorder_->record(prefix_ + name, value);
}

at::Tensor DecoderImpl::forward(const at::Tensor& sample) {
  at::Tensor h = conv_in_->forward(sample);
  record("conv_in", h);
  h = mid_block_->forward(h);
  record("mid_block", h);
  for (size_t i = 0; i < up_blocks_.size(); ++i) {
    h = up_blocks_[i]->forward(h);
    record("up_blocks." + std::to_string(i), h);
  }
  h = norm_forward(*conv_norm_out_, h);
  record("conv_norm_out", h);
  h = at::silu(h);
  h = conv_out_->forward(h);
  record("conv_out", h);
  return h;
}

}  // namespace papillon
