#include "core/models/unet_2d_blocks.h"

#include <torch/torch.h>

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

// The Attention of AttnDownBlock2D / AttnUpBlock2D / UNetMidBlock2D (diffusers'
// _from_deprecated_attn_block layout: group norm inside, biased projections, residual).
Attention block_attention(int64_t channels, int64_t head_dim, std::optional<int64_t> groups,
                          double eps, double output_scale_factor) {
  AttentionOptions a;
  a.query_dim = channels;
  a.heads = channels / head_dim;
  a.dim_head = head_dim;
  a.rescale_output_factor = output_scale_factor;
  a.eps = eps;
  a.norm_num_groups = groups;
  a.residual_connection = true;
  a.bias = true;
  a.upcast_softmax = true;
  return Attention(a);
}

std::string strip_unet_res(const std::string& type) {
  const std::string prefix = "UNetRes";
  return type.rfind(prefix, 0) == 0 ? type.substr(prefix.size()) : type;
}

[[noreturn]] void unsupported_block(const std::string& type, const std::string& context,
                                    const char* known) {
  throw Error(context + ": unknown or unsupported block type \"" + type +
              "\" (supported: " + known + ")");
}

}  // namespace

// ------------------------------------------------------------------------------------ down blocks

DownBlock2DImpl::DownBlock2DImpl(Kind kind, const UNetBlockOptions& o) {
  torch::nn::ModuleList resnets;
  torch::nn::ModuleList attentions;
  const int64_t head_dim = o.attention_head_dim.value_or(o.out_channels);
  for (int64_t i = 0; i < o.num_layers; ++i) {
    ResnetBlock2DOptions r =
        resnet_options(o, i == 0 ? o.in_channels : o.out_channels, o.out_channels);
    if (kind == Kind::kResnetDownsample) {
      r.skip_time_act = o.resnet_skip_time_act;
      r.output_scale_factor = o.resnet_out_scale_factor;
    }
    resnets_.emplace_back(r);
    resnets->push_back(resnets_.back());
    if (kind == Kind::kAttnDown) {
      attentions_.push_back(
          block_attention(o.out_channels, head_dim, o.resnet_groups, o.resnet_eps, 1.0));
      attentions->push_back(attentions_.back());
    }
  }
  if (kind == Kind::kAttnDown) register_module("attentions", attentions);
  register_module("resnets", resnets);

  // AttnDownBlock2D honours downsample_type; DownBlock2D always uses the conv downsampler.
  const bool resnet_down =
      kind == Kind::kResnetDownsample || (kind == Kind::kAttnDown && o.sample_type == "resnet");
  if (o.add_sample) {
    if (resnet_down) {
      ResnetBlock2DOptions r = resnet_options(o, o.out_channels, o.out_channels);
      r.down = true;
      if (kind == Kind::kResnetDownsample) {
        r.skip_time_act = o.resnet_skip_time_act;
        r.output_scale_factor = o.resnet_out_scale_factor;
      }
      resnet_downsampler_ = ResnetBlock2D(r);
      register_module("downsamplers", torch::nn::ModuleList(resnet_downsampler_));
    } else {
      Downsample2DOptions d;
      d.channels = o.out_channels;
      d.use_conv = true;
      d.out_channels = o.out_channels;
      d.padding = o.downsample_padding;
      d.name = "op";
      conv_downsampler_ = Downsample2D(d);
      register_module("downsamplers", torch::nn::ModuleList(conv_downsampler_));
    }
  }
}

DownBlockOutput DownBlock2DImpl::forward(const at::Tensor& hidden_states_in, const at::Tensor& temb,
                                         const at::Tensor& /*skip*/) {
  DownBlockOutput out;
  out.res_samples.reserve(resnets_.size() + 1);
  at::Tensor h = hidden_states_in;
  for (size_t i = 0; i < resnets_.size(); ++i) {
    h = resnets_[i]->forward(h, temb);
    record("resnets", i, h);
    if (!attentions_.empty()) {
      h = attentions_[i]->forward(h);
      record("attentions", i, h);
    }
    out.res_samples.push_back(h);
  }
  if (conv_downsampler_ || resnet_downsampler_) {
    h = conv_downsampler_ ? conv_downsampler_->forward(h) : resnet_downsampler_->forward(h, temb);
    record("downsamplers", 0, h);
    out.res_samples.push_back(h);
  }
  out.hidden_states = h;
  return out;
}

// -------------------------------------------------------------------------------------- up blocks

UpBlock2DImpl::UpBlock2DImpl(Kind kind, const UNetBlockOptions& o) : kind_(kind) {
  torch::nn::ModuleList resnets;
  torch::nn::ModuleList attentions;
  const int64_t head_dim = o.attention_head_dim.value_or(o.out_channels);
  for (int64_t i = 0; i < o.num_layers; ++i) {
    const int64_t res_skip_channels = i == o.num_layers - 1 ? o.in_channels : o.out_channels;
    const int64_t resnet_in_channels = i == 0 ? o.prev_output_channel : o.out_channels;
    ResnetBlock2DOptions r =
        resnet_options(o, resnet_in_channels + res_skip_channels, o.out_channels);
    if (kind == Kind::kResnetUpsample) {
      r.skip_time_act = o.resnet_skip_time_act;
      r.output_scale_factor = o.resnet_out_scale_factor;
    }
    resnet_list_.emplace_back(r);
    resnets->push_back(resnet_list_.back());
    if (kind == Kind::kAttnUp) {
      attentions_.push_back(
          block_attention(o.out_channels, head_dim, o.resnet_groups, o.resnet_eps, 1.0));
      attentions->push_back(attentions_.back());
    }
  }
  if (kind == Kind::kAttnUp) register_module("attentions", attentions);
  register_module("resnets", resnets);

  const bool resnet_up =
      kind == Kind::kResnetUpsample || (kind == Kind::kAttnUp && o.sample_type == "resnet");
  if (o.add_sample) {
    if (resnet_up) {
      ResnetBlock2DOptions r = resnet_options(o, o.out_channels, o.out_channels);
      r.up = true;
      if (kind == Kind::kResnetUpsample) {
        r.skip_time_act = o.resnet_skip_time_act;
        r.output_scale_factor = o.resnet_out_scale_factor;
      }
      resnet_upsampler_ = ResnetBlock2D(r);
      register_module("upsamplers", torch::nn::ModuleList(resnet_upsampler_));
    } else {
      Upsample2DOptions u;
      u.channels = o.out_channels;
      u.use_conv = true;
      u.out_channels = o.out_channels;
      conv_upsampler_ = Upsample2D(u);
      register_module("upsamplers", torch::nn::ModuleList(conv_upsampler_));
    }
  }
}

UpBlockOutput UpBlock2DImpl::forward(const at::Tensor& hidden_states,
                                     const std::vector<at::Tensor>& res_samples,
                                     const at::Tensor& temb, const at::Tensor& /*skip*/) {
  return forward_with_upsample_size(hidden_states, res_samples, temb, {});
}

UpBlockOutput UpBlock2DImpl::forward_with_upsample_size(const at::Tensor& hidden_states_in,
                                                        const std::vector<at::Tensor>& res_samples,
                                                        const at::Tensor& temb,
                                                        const std::vector<int64_t>& upsample_size) {
  TORCH_CHECK(res_samples.size() >= resnet_list_.size(), "up block needs ", resnet_list_.size(),
              " skip tensors, got ", res_samples.size());
  at::Tensor h = hidden_states_in;
  size_t next = res_samples.size();
  for (size_t i = 0; i < resnet_list_.size(); ++i) {
    h = at::cat({h, res_samples[--next]}, 1);
    h = resnet_list_[i]->forward(h, temb);
    record("resnets", i, h);
    if (!attentions_.empty()) {
      h = attentions_[i]->forward(h);
      record("attentions", i, h);
    }
  }
  if (conv_upsampler_) {
    // AttnUpBlock2D calls its upsampler without a size in diffusers.
    h = conv_upsampler_->forward(h, kind_ == Kind::kUp ? upsample_size : std::vector<int64_t>{});
    record("upsamplers", 0, h);
  } else if (resnet_upsampler_) {
    h = resnet_upsampler_->forward(h, temb);
    record("upsamplers", 0, h);
  }
  return {h, at::Tensor()};
}

// -------------------------------------------------------------------------------------- mid block

UNetMidBlock2DImpl::UNetMidBlock2DImpl(const UNetMidBlock2DOptions& o) {
  const int64_t resnet_groups = o.resnet_groups.value_or(std::min<int64_t>(o.in_channels / 4, 32));
  std::optional<int64_t> attn_groups = o.attn_groups;
  if (!attn_groups && o.resnet_time_scale_shift == "default") attn_groups = resnet_groups;
  if (o.resnet_time_scale_shift == "spatial") {
    throw Error("UNetMidBlock2D: resnet_time_scale_shift \"spatial\" is not supported");
  }
  const int64_t head_dim = o.attention_head_dim.value_or(o.in_channels);

  auto make_resnet = [&]() {
    ResnetBlock2DOptions r;
    r.in_channels = o.in_channels;
    r.out_channels = o.in_channels;
    r.temb_channels = o.temb_channels;
    r.eps = o.resnet_eps;
    r.groups = resnet_groups;
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
    if (o.add_attention) {
      attentions_.push_back(block_attention(o.in_channels, head_dim, attn_groups, o.resnet_eps,
                                            o.output_scale_factor));
      attentions->push_back(attentions_.back());
    }
    resnets_.push_back(make_resnet());
    resnets->push_back(resnets_.back());
  }
  register_module("attentions", attentions);
  register_module("resnets", resnets);
}

at::Tensor UNetMidBlock2DImpl::forward(const at::Tensor& hidden_states, const at::Tensor& temb) {
  at::Tensor h = resnets_[0]->forward(hidden_states, temb);
  record("resnets", 0, h);
  for (size_t i = 1; i < resnets_.size(); ++i) {
    if (!attentions_.empty()) {
      h = attentions_[i - 1]->forward(h);
      record("attentions", i - 1, h);
    }
    h = resnets_[i]->forward(h, temb);
    record("resnets", i, h);
  }
  return h;
}

// -------------------------------------------------------------------------------------- factories

bool is_supported_down_block(const std::string& type_in) {
  const std::string type = strip_unet_res(type_in);
  return type == "DownBlock2D" || type == "AttnDownBlock2D" || type == "ResnetDownsampleBlock2D";
}

bool is_supported_up_block(const std::string& type_in) {
  const std::string type = strip_unet_res(type_in);
  return type == "UpBlock2D" || type == "AttnUpBlock2D" || type == "ResnetUpsampleBlock2D";
}

std::shared_ptr<UNetDownBlockImpl> get_down_block(const std::string& type_in,
                                                  const UNetBlockOptions& options,
                                                  const std::string& context) {
  const std::string type = strip_unet_res(type_in);
  if (type == "DownBlock2D") {
    return std::make_shared<DownBlock2DImpl>(DownBlock2DImpl::Kind::kDown, options);
  }
  if (type == "AttnDownBlock2D") {
    return std::make_shared<DownBlock2DImpl>(DownBlock2DImpl::Kind::kAttnDown, options);
  }
  if (type == "ResnetDownsampleBlock2D") {
    return std::make_shared<DownBlock2DImpl>(DownBlock2DImpl::Kind::kResnetDownsample, options);
  }
  unsupported_block(type_in, context, "DownBlock2D, AttnDownBlock2D, ResnetDownsampleBlock2D");
}

std::shared_ptr<UNetUpBlockImpl> get_up_block(const std::string& type_in,
                                              const UNetBlockOptions& options,
                                              const std::string& context) {
  const std::string type = strip_unet_res(type_in);
  if (type == "UpBlock2D") {
    return std::make_shared<UpBlock2DImpl>(UpBlock2DImpl::Kind::kUp, options);
  }
  if (type == "AttnUpBlock2D") {
    return std::make_shared<UpBlock2DImpl>(UpBlock2DImpl::Kind::kAttnUp, options);
  }
  if (type == "ResnetUpsampleBlock2D") {
    return std::make_shared<UpBlock2DImpl>(UpBlock2DImpl::Kind::kResnetUpsample, options);
  }
  unsupported_block(type_in, context, "UpBlock2D, AttnUpBlock2D, ResnetUpsampleBlock2D");
}

}  // namespace papillon
