#include "core/models/resnet.h"

#include <torch/torch.h>

#include "core/models/activations.h"
#include "core/util/error.h"

namespace papillon {

namespace {

at::Tensor nearest_upsample(const at::Tensor& x, const std::vector<int64_t>& output_size) {
  if (output_size.empty()) {
    return at::upsample_nearest2d(x, c10::nullopt, std::vector<double>{2.0, 2.0});
  }
  return at::upsample_nearest2d(x, at::OptionalIntArrayRef(output_size),
                                c10::optional<at::ArrayRef<double>>());
}

}  // namespace

// ---------------------------------------------------------------------------------- Downsample2D

Downsample2DImpl::Downsample2DImpl(const Downsample2DOptions& options)
    : options_(options), out_channels_(options.out_channels.value_or(options.channels)) {
  if (options_.use_conv) {
    conv_ = Conv2d(torch::nn::Conv2dOptions(options_.channels, out_channels_, options_.kernel_size)
                       .stride(2)
                       .padding(options_.padding)
                       .bias(options_.bias));
    // diffusers: name "conv" sets both Conv2d_0 and conv (two state-dict keys, one module).
    if (options_.name == "conv") register_module("Conv2d_0", conv_);
    register_module("conv", conv_);
  } else if (out_channels_ != options_.channels) {
    throw Error("Downsample2D: average pooling needs out_channels == channels (" +
                std::to_string(options_.channels) + " vs " + std::to_string(out_channels_) + ")");
  }
}

at::Tensor Downsample2DImpl::forward(const at::Tensor& hidden_states) {
  TORCH_CHECK(hidden_states.size(1) == options_.channels, "Downsample2D: expected ",
              options_.channels, " channels, got ", hidden_states.size(1));
  if (!options_.use_conv) return at::avg_pool2d(hidden_states, {2, 2}, {2, 2});
  if (options_.padding == 0) {
    return conv_->forward(at::constant_pad_nd(hidden_states, {0, 1, 0, 1}, 0));
  }
  return conv_->forward(hidden_states);
}

// ------------------------------------------------------------------------------------ Upsample2D

Upsample2DImpl::Upsample2DImpl(const Upsample2DOptions& options) : options_(options) {
  const int64_t out_channels = options_.out_channels.value_or(options_.channels);
  const std::string attr = options_.name == "conv" ? "conv" : "Conv2d_0";
  if (options_.use_conv_transpose) {
    conv_transpose_ =
        register_module(attr, torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(
                                                             options_.channels, out_channels,
                                                             options_.kernel_size.value_or(4))
                                                             .stride(2)
                                                             .padding(options_.padding)
                                                             .bias(options_.bias)));
  } else if (options_.use_conv) {
    conv_ = register_module(attr, Conv2d(torch::nn::Conv2dOptions(options_.channels, out_channels,
                                                                  options_.kernel_size.value_or(3))
                                             .padding(options_.padding)
                                             .bias(options_.bias)));
  }
}

at::Tensor Upsample2DImpl::forward(const at::Tensor& hidden_states,
                                   const std::vector<int64_t>& output_size) {
  TORCH_CHECK(hidden_states.size(1) == options_.channels, "Upsample2D: expected ",
              options_.channels, " channels, got ", hidden_states.size(1));
  if (options_.use_conv_transpose) return conv_transpose_->forward(hidden_states);

  at::Tensor x = hidden_states;
  const auto dtype = x.scalar_type();
  // Nearest upsampling has no bfloat16 kernel in older torch; diffusers upcasts.
  if (dtype == at::kBFloat16) x = x.to(at::kFloat);
  if (x.size(0) >= 64) x = x.contiguous();
  if (options_.interpolate) x = nearest_upsample(x, output_size);
  if (dtype == at::kBFloat16) x = x.to(dtype);
  if (options_.use_conv) x = conv_->forward(x);
  return x;
}

// --------------------------------------------------------------------------------- ResnetBlock2D

ResnetBlock2DImpl::ResnetBlock2DImpl(const ResnetBlock2DOptions& options)
    : options_(options),
      out_channels_(options.out_channels.value_or(options.in_channels)),
      nonlinearity_(get_activation(options.non_linearity, "ResnetBlock2D non_linearity")),
      scale_shift_(options.time_embedding_norm == "scale_shift") {
  const auto& o = options_;
  if (o.time_embedding_norm != "default" && o.time_embedding_norm != "scale_shift") {
    throw Error("ResnetBlock2D: unknown time_embedding_norm \"" + o.time_embedding_norm +
                "\" (expected \"default\" or \"scale_shift\")");
  }
  const int64_t groups_out = o.groups_out.value_or(o.groups);
  const int64_t conv_2d_out = o.conv_2d_out_channels.value_or(out_channels_);

  norm1_ = register_module(
      "norm1", torch::nn::GroupNorm(
                   torch::nn::GroupNormOptions(o.groups, o.in_channels).eps(o.eps).affine(true)));
  conv1_ = register_module(
      "conv1",
      Conv2d(torch::nn::Conv2dOptions(o.in_channels, out_channels_, 3).stride(1).padding(1)));
  if (o.temb_channels) {
    const int64_t proj_out = scale_shift_ ? 2 * out_channels_ : out_channels_;
    time_emb_proj_ =
        register_module("time_emb_proj", torch::nn::Linear(*o.temb_channels, proj_out));
  }
  norm2_ = register_module(
      "norm2", torch::nn::GroupNorm(
                   torch::nn::GroupNormOptions(groups_out, out_channels_).eps(o.eps).affine(true)));
  dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
  conv2_ = register_module(
      "conv2",
      Conv2d(torch::nn::Conv2dOptions(out_channels_, conv_2d_out, 3).stride(1).padding(1)));

  if (o.kernel == "fir") {
    if (o.up || o.down) {
      throw Error("ResnetBlock2D: the FIR resampling kernel (kernel=\"fir\") is not supported");
    }
  } else if (!o.kernel.empty() && o.kernel != "sde_vp") {
    throw Error("ResnetBlock2D: unknown kernel \"" + o.kernel + "\"");
  }
  if (o.kernel.empty()) {
    if (o.up) {
      Upsample2DOptions up;
      up.channels = o.in_channels;
      upsample_ = register_module("upsample", Upsample2D(up));
    } else if (o.down) {
      Downsample2DOptions down;
      down.channels = o.in_channels;
      down.padding = 1;
      down.name = "op";
      downsample_ = register_module("downsample", Downsample2D(down));
    }
  }

  const bool use_in_shortcut = o.use_in_shortcut.value_or(o.in_channels != conv_2d_out);
  if (use_in_shortcut) {
    conv_shortcut_ = register_module("conv_shortcut",
                                     Conv2d(torch::nn::Conv2dOptions(o.in_channels, conv_2d_out, 1)
                                                .stride(1)
                                                .padding(0)
                                                .bias(o.conv_shortcut_bias)));
  }
}

at::Tensor ResnetBlock2DImpl::resample(const at::Tensor& x) {
  if (upsample_) return upsample_->forward(x);
  if (downsample_) return downsample_->forward(x);
  // kernel "sde_vp"
  if (options_.up) return nearest_upsample(x, {});
  return at::avg_pool2d(x, {2, 2}, {2, 2});
}

at::Tensor ResnetBlock2DImpl::forward(const at::Tensor& input, const at::Tensor& temb_in) {
  at::Tensor input_tensor = input;
  at::Tensor h = norm_forward(*norm1_, input_tensor);
  h = apply_activation(nonlinearity_, h);

  if (options_.up || options_.down) {
    if (options_.up && h.size(0) >= 64) {
      input_tensor = input_tensor.contiguous();
      h = h.contiguous();
    }
    input_tensor = resample(input_tensor);
    h = resample(h);
  }

  h = conv1_->forward(h);

  at::Tensor temb = temb_in;
  if (time_emb_proj_ && temb.defined()) {
    if (!options_.skip_time_act) temb = apply_activation(nonlinearity_, temb);
    temb = time_emb_proj_->forward(temb).unsqueeze(-1).unsqueeze(-1);
  }

  if (!scale_shift_) {
    if (temb.defined()) h = h + temb;
    h = norm_forward(*norm2_, h);
  } else {
    if (!temb.defined()) {
      throw Error("ResnetBlock2D: temb must be given when time_embedding_norm is scale_shift");
    }
    const auto chunks = temb.chunk(2, 1);
    h = norm_forward(*norm2_, h);
    h = h * (1 + chunks[0]) + chunks[1];
  }

  h = apply_activation(nonlinearity_, h);
  h = dropout_->forward(h);
  h = conv2_->forward(h);

  if (conv_shortcut_) input_tensor = conv_shortcut_->forward(input_tensor);
  return (input_tensor + h) / options_.output_scale_factor;
}

}  // namespace papillon
