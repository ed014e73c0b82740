#include "core/models/unet_2d_condition_blocks.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/util/error.h"

namespace papillon {

namespace {

ResnetBlock2DOptions resnet_options(const UNetBlockOptions& o, int64_t in_channels,
                                    int64_t out_channels) {
  ResnetBlock2DOptions r;
  r.in_channels = in_channels;
  r.out_channels = out_channels;
  r.temb_channels = o.temb_channels;
  r.eps = o.resnet_eps;
  r.groups = o.resnet_groups;
  r.dropout = o.dropout;
  r.time_embedding_norm = o.resnet_time_scale_shift;
  r.non_linearity = o.resnet_act_fn;
  r.output_scale_factor = 1.0;
  return r;
}

void check_heads(int64_t channels, int64_t heads, const char* block) {
  if (heads <= 0 || channels % heads != 0) {
    throw Error(std::string(block) + ": the number of attention heads (" + std::to_string(heads) +
                ") must divide the block's channels (" + std::to_string(channels) + ")");
  }
}

void check_single_attention(bool dual_cross_attention, const char* block) {
  if (dual_cross_attention) {
    throw Error(std::string(block) +
                ": dual_cross_attention (DualTransformer2DModel) is not supported");
  }
}

// The Transformer2DModel a cross-attention block puts after each resnet.
Transformer2DModel block_transformer(int64_t channels, int64_t heads, int64_t num_layers,
                                     int64_t cross_attention_dim, int64_t groups,
                                     bool use_linear_projection, bool only_cross_attention,
                                     bool upcast_attention) {
  Transformer2DModelOptions t;
  t.num_attention_heads = heads;
  t.attention_head_dim = channels / heads;
  t.in_channels = channels;
  t.num_layers = num_layers;
  t.cross_attention_dim = cross_attention_dim;
  t.norm_num_groups = groups;
  t.use_linear_projection = use_linear_projection;
  t.only_cross_attention = only_cross_attention;
  t.upcast_attention = upcast_attention;
  return Transformer2DModel(t);
}

std::string strip_unet_res(const std::string& type) {
  const std::string prefix = "UNetRes";
  return type.rfind(prefix, 0) == 0 ? type.substr(prefix.size()) : type;
}

}  // namespace

// ---------------------------------------------------------------------------- CrossAttnDownBlock2D

CrossAttnDownBlock2DImpl::CrossAttnDownBlock2DImpl(const CrossAttnBlockOptions& o) {
  check_single_attention(o.dual_cross_attention, "CrossAttnDownBlock2D");
  check_heads(o.out_channels, o.num_attention_heads, "CrossAttnDownBlock2D");
  torch::nn::ModuleList resnets;
  torch::nn::ModuleList attentions;
  for (int64_t i = 0; i < o.num_layers; ++i) {
    resnets_.emplace_back(
        resnet_options(o, i == 0 ? o.in_channels : o.out_channels, o.out_channels));
    resnets->push_back(resnets_.back());
    attentions_.push_back(block_transformer(o.out_channels, o.num_attention_heads,
                                            o.transformer_layers_per_block, o.cross_attention_dim,
                                            o.resnet_groups, o.use_linear_projection,
                                            o.only_cross_attention, o.upcast_attention));
    attentions->push_back(attentions_.back());
  }
  register_module("attentions", attentions);
  register_module("resnets", resnets);
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

void CrossAttnDownBlock2DImpl::set_activation_recorder(ActivationRecorder* recorder,
                                                       const std::string& prefix) {
  UNetDownBlockImpl::set_activation_recorder(recorder, prefix);
  for (size_t i = 0; i < attentions_.size(); ++i) {
    attentions_[i]->set_activation_recorder(recorder, prefix + ".attentions." + std::to_string(i));
  }
}

DownBlockOutput CrossAttnDownBlock2DImpl::forward(const at::Tensor&, const at::Tensor&,
                                                  const at::Tensor&) {
  throw Error("CrossAttnDownBlock2D needs encoder_hidden_states (use forward_cross_attention)");
}

DownBlockOutput CrossAttnDownBlock2DImpl::forward_cross_attention(
    const at::Tensor& hidden_states, const at::Tensor& temb, const CrossAttentionContext& context) {
  DownBlockOutput out;
  out.res_samples.reserve(resnets_.size() + 1);
  at::Tensor h = hidden_states;
  for (size_t i = 0; i < resnets_.size(); ++i) {
    h = resnets_[i]->forward(h, temb);
    record("resnets", i, h);
    h = attentions_[i]->forward(h, context.encoder_hidden_states, context.attention_mask,
                                context.encoder_attention_mask);
    record("attentions", i, h);
    out.res_samples.push_back(h);
  }
  if (downsampler_) {
    h = downsampler_->forward(h);
    record("downsamplers", 0, h);
    out.res_samples.push_back(h);
  }
  out.hidden_states = h;
  return out;
}

// ------------------------------------------------------------------------------ CrossAttnUpBlock2D

CrossAttnUpBlock2DImpl::CrossAttnUpBlock2DImpl(const CrossAttnBlockOptions& o) {
  check_single_attention(o.dual_cross_attention, "CrossAttnUpBlock2D");
  check_heads(o.out_channels, o.num_attention_heads, "CrossAttnUpBlock2D");
  torch::nn::ModuleList resnets;
  torch::nn::ModuleList attentions;
  for (int64_t i = 0; i < o.num_layers; ++i) {
    const int64_t res_skip_channels = i == o.num_layers - 1 ? o.in_channels : o.out_channels;
    const int64_t resnet_in_channels = i == 0 ? o.prev_output_channel : o.out_channels;
    resnet_list_.emplace_back(
        resnet_options(o, resnet_in_channels + res_skip_channels, o.out_channels));
    resnets->push_back(resnet_list_.back());
    attentions_.push_back(block_transformer(o.out_channels, o.num_attention_heads,
                                            o.transformer_layers_per_block, o.cross_attention_dim,
                                            o.resnet_groups, o.use_linear_projection,
                                            o.only_cross_attention, o.upcast_attention));
    attentions->push_back(attentions_.back());
  }
  register_module("attentions", attentions);
  register_module("resnets", resnets);
  if (o.add_sample) {
    Upsample2DOptions u;
    u.channels = o.out_channels;
    u.use_conv = true;
    u.out_channels = o.out_channels;
    upsampler_ = Upsample2D(u);
    register_module("upsamplers", torch::nn::ModuleList(upsampler_));
  }
}

void CrossAttnUpBlock2DImpl::set_activation_recorder(ActivationRecorder* recorder,
                                                     const std::string& prefix) {
  UNetUpBlockImpl::set_activation_recorder(recorder, prefix);
  for (size_t i = 0; i < attentions_.size(); ++i) {
    attentions_[i]->set_activation_recorder(recorder, prefix + ".attentions." + std::to_string(i));
  }
}

UpBlockOutput CrossAttnUpBlock2DImpl::forward(const at::Tensor&, const std::vector<at::Tensor>&,
                                              const at::Tensor&, const at::Tensor&) {
  throw Error("CrossAttnUpBlock2D needs encoder_hidden_states (use forward_cross_attention)");
}

at::Tensor CrossAttnUpBlock2DImpl::forward_cross_attention(
    const at::Tensor& hidden_states, const std::vector<at::Tensor>& res_samples,
    const at::Tensor& temb, const CrossAttentionContext& context,
    const std::vector<int64_t>& upsample_size) {
  if (res_samples.size() < resnet_list_.size()) {
    throw Error("CrossAttnUpBlock2D needs " + std::to_string(resnet_list_.size()) +
                " skip tensors, got " + std::to_string(res_samples.size()));
  }
  at::Tensor h = hidden_states;
  size_t next = res_samples.size();
  for (size_t i = 0; i < resnet_list_.size(); ++i) {
    h = at::cat({h, res_samples[--next]}, 1);
    h = resnet_list_[i]->forward(h, temb);
    record("resnets", i, h);
    h = attentions_[i]->forward(h, context.encoder_hidden_states, context.attention_mask,
                                context.encoder_attention_mask);
    record("attentions", i, h);
  }
  if (upsampler_) {
    h = upsampler_->forward(h, upsample_size);
    record("upsamplers", 0, h);
  }
  return h;
}

// ------------------------------------------------------------------------- UNetMidBlock2DCrossAttn

UNetMidBlock2DCrossAttnImpl::UNetMidBlock2DCrossAttnImpl(const UNetMidBlock2DCrossAttnOptions& o) {
  check_single_attention(o.dual_cross_attention, "UNetMidBlock2DCrossAttn");
  check_heads(o.in_channels, o.num_attention_heads, "UNetMidBlock2DCrossAttn");
  const int64_t groups = o.resnet_groups.value_or(std::min<int64_t>(o.in_channels / 4, 32));
  auto make_resnet = [&]() {
    ResnetBlock2DOptions r;
    r.in_channels = o.in_channels;
    r.out_channels = o.in_channels;
    r.temb_channels = o.temb_channels;
    r.eps = o.resnet_eps;
    r.groups = groups;
    r.dropout = o.dropout;
    r.time_embedding_norm = o.resnet_time_scale_shift;
    r.non_linearity = o.resnet_act_fn;
    r.output_scale_factor = o.output_scale_factor;
    return ResnetBlock2D(r);
  };
  torch::nn::ModuleList resnets;
  torch::nn::ModuleList attentions;
  resnets_.push_back(make_resnet());
  resnets->push_back(resnets_.back());
  for (int64_t i = 0; i < o.num_layers; ++i) {
    attentions_.push_back(block_transformer(o.in_channels, o.num_attention_heads,
                                            o.transformer_layers_per_block, o.cross_attention_dim,
                                            groups, o.use_linear_projection,
                                            /*only_cross_attention=*/false, o.upcast_attention));
    attentions->push_back(attentions_.back());
    resnets_.push_back(make_resnet());
    resnets->push_back(resnets_.back());
  }
  register_module("attentions", attentions);
  register_module("resnets", resnets);
}

void UNetMidBlock2DCrossAttnImpl::set_activation_recorder(ActivationRecorder* recorder,
                                                          const std::string& prefix) {
  UNetBlockBase::set_activation_recorder(recorder, prefix);
  for (size_t i = 0; i < attentions_.size(); ++i) {
    attentions_[i]->set_activation_recorder(recorder, prefix + ".attentions." + std::to_string(i));
  }
}

at::Tensor UNetMidBlock2DCrossAttnImpl::forward(const at::Tensor& hidden_states,
                                                const at::Tensor& temb,
                                                const CrossAttentionContext& context) {
  at::Tensor h = resnets_[0]->forward(hidden_states, temb);
  record("resnets", 0, h);
  for (size_t i = 1; i < resnets_.size(); ++i) {
    h = attentions_[i - 1]->forward(h, context.encoder_hidden_states, context.attention_mask,
                                    context.encoder_attention_mask);
    record("attentions", i - 1, h);
    h = resnets_[i]->forward(h, temb);
    record("resnets", i, h);
  }
  return h;
}

// ------------------------------------------------------------------------------------- factories

bool is_supported_condition_down_block(const std::string& type_in) {
  const std::string type = strip_unet_res(type_in);
  return type == "CrossAttnDownBlock2D" || type == "DownBlock2D";
}

bool is_supported_condition_up_block(const std::string& type_in) {
  const std::string type = strip_unet_res(type_in);
  return type == "CrossAttnUpBlock2D" || type == "UpBlock2D";
}

bool is_supported_condition_mid_block(const std::string& type) {
  return type == "UNetMidBlock2DCrossAttn" || type == "UNetMidBlock2D";
}

std::shared_ptr<UNetDownBlockImpl> get_condition_down_block(const std::string& type_in,
                                                            const CrossAttnBlockOptions& options,
                                                            const std::string& context) {
  const std::string type = strip_unet_res(type_in);
  if (type == "CrossAttnDownBlock2D") return std::make_shared<CrossAttnDownBlock2DImpl>(options);
  if (type == "DownBlock2D") {
    return std::make_shared<DownBlock2DImpl>(DownBlock2DImpl::Kind::kDown, options);
  }
  throw Error(context + ": unknown or unsupported block type \"" + type_in +
              "\" (supported: CrossAttnDownBlock2D, DownBlock2D)");
}

std::shared_ptr<UNetUpBlockImpl> get_condition_up_block(const std::string& type_in,
                                                        const CrossAttnBlockOptions& options,
                                                        const std::string& context) {
  const std::string type = strip_unet_res(type_in);
  if (type == "CrossAttnUpBlock2D") return std::make_shared<CrossAttnUpBlock2DImpl>(options);
  if (type == "UpBlock2D") {
    return std::make_shared<UpBlock2DImpl>(UpBlock2DImpl::Kind::kUp, options);
  }
  throw Error(context + ": unknown or unsupported block type \"" + type_in +
              "\" (supported: CrossAttnUpBlock2D, UpBlock2D)");
}

std::shared_ptr<UNetBlockBase> get_condition_mid_block(const std::string& type,
                                                       const UNetMidBlock2DCrossAttnOptions& o,
                                                       const std::string& context) {
  if (type == "UNetMidBlock2DCrossAttn") return std::make_shared<UNetMidBlock2DCrossAttnImpl>(o);
  if (type == "UNetMidBlock2D") {
    UNetMidBlock2DOptions m;
    m.in_channels = o.in_channels;
    m.temb_channels = o.temb_channels;
    m.dropout = o.dropout;
    m.num_layers = 0;
    m.resnet_eps = o.resnet_eps;
    m.resnet_act_fn = o.resnet_act_fn;
    m.output_scale_factor = o.output_scale_factor;
    m.resnet_groups = o.resnet_groups;
    m.resnet_time_scale_shift = o.resnet_time_scale_shift;
    m.add_attention = false;
    return std::make_shared<UNetMidBlock2DImpl>(m);
  }
  throw Error(context + ": unknown or unsupported mid block type \"" + type +
              "\" (supported: UNetMidBlock2DCrossAttn, UNetMidBlock2D, null)");
}

}  // namespace papillon
