#include "core/models/conv.h"

#include <ATen/Config.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <variant>

namespace papillon {

void Conv2dImpl::set_prepacking(bool on) {
  prepack_ = on;
  packed_ = at::Tensor();
  packed_from_ = nullptr;
  packed_version_ = -1;
}

bool Conv2dImpl::can_prepack(const at::Tensor& input) const {
#if AT_MKLDNN_ENABLED() && TORCH_VERSION_MAJOR < 2
  const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&options.padding());
  if (padding == nullptr || !c10::get_if<torch::enumtype::kZeros>(&options.padding_mode()))
    return false;
  if (!at::globalContext().userEnabledMkldnn()) return false;
  if (at::GradMode::is_enabled() && (input.requires_grad() || weight.requires_grad())) return false;
  if (!input.device().is_cpu() || input.scalar_type() != at::kFloat || input.dim() != 4 ||
      input.is_mkldnn() || !weight.device().is_cpu() || weight.scalar_type() != at::kFloat)
    return false;
  // Other layouts (a channels-last-like view after attention) make LibTorch run oneDNN in NHWC,
  // which rounds differently: those calls keep LibTorch's path.
  if (!input.is_contiguous() || !weight.is_contiguous()) return false;
  // LibTorch 1.13's own choice of oneDNN (ConvParams::use_mkldnn), so that the same kernel runs.
  const auto& stride = *options.stride();
  const auto& dilation = *options.dilation();
  const bool strided = stride[0] != 1 || stride[1] != 1;
  const bool dilated = dilation[0] != 1 || dilation[1] != 1;
  const int64_t groups = options.groups();
  return (strided || dilated || input.size(0) >= 16 || weight.size(-1) != 1 ||
          weight.size(-2) != 1 || at::get_num_threads() > 1) &&
         (groups > 1 || (weight.size(-1) > 3 && weight.size(-2) > 3) || input.size(0) > 1 ||
          input.numel() > 20480);
#else
  (void)input;
  return false;
#endif
}

Conv2dImpl::ChannelPadding Conv2dImpl::channel_padding(const at::Tensor& input) const {
#if AT_MKLDNN_ENABLED() && TORCH_VERSION_MAJOR >= 2
  if (!input.device().is_cpu() || input.dim() != 4 || options.groups() != 1) return {};
  // LibTorch 2.x's options hold std::variants.
  const auto* padding = std::get_if<torch::ExpandingArray<2>>(&options.padding());
  if (padding == nullptr || !std::get_if<torch::enumtype::kZeros>(&options.padding_mode()))
    return {};
  if (!at::globalContext().userEnabledMkldnn()) return {};
  const auto type = input.scalar_type();
  if (type != at::kFloat && type != at::kBFloat16) return {};
  if (type == at::kFloat && input.size(0) < 2) return {};
  if (weight.size(-1) == 1 && weight.size(-2) == 1) return {};
  auto up_to_16 = [](int64_t n) { return n % 16 == 0 ? 0 : 16 - n % 16; };
  ChannelPadding pad;
  pad.padding.assign((*padding)->begin(), (*padding)->end());
  const int64_t channels = input.size(1);
  if (channels > 16) pad.in = up_to_16(channels);
  // The gradient of the input is a convolution over the output channels.
  if (at::GradMode::is_enabled() && input.requires_grad()) pad.out = up_to_16(weight.size(0));
  return pad;
#else
  (void)input;
  return {};
#endif
}

at::Tensor Conv2dImpl::forward(const at::Tensor& input) {
  if (const ChannelPadding pad = channel_padding(input); pad.in > 0 || pad.out > 0) {
    // Zero channels after the real ones: in the input and the weight's input dimension, and as
    // extra filters (weight and bias) whose outputs are cut off again.
    const at::Tensor x = pad.in > 0 ? at::constant_pad_nd(input, {0, 0, 0, 0, 0, pad.in}) : input;
    const at::Tensor w = at::constant_pad_nd(weight, {0, 0, 0, 0, 0, pad.in, 0, pad.out});
    const at::Tensor b =
        bias.defined() && pad.out > 0 ? at::constant_pad_nd(bias, {0, pad.out}) : bias;
    const at::Tensor y =
        at::conv2d(x, w, b, *options.stride(), pad.padding, *options.dilation(), options.groups());
    return pad.out > 0 ? y.narrow(1, 0, weight.size(0)) : y;
  }
#if AT_MKLDNN_ENABLED() && TORCH_VERSION_MAJOR < 2
  if (prepack_ && can_prepack(input)) {
    const auto& padding = *c10::get_if<torch::ExpandingArray<2>>(&options.padding());
    // Inference tensors (built under InferenceMode) keep no version counter.
    const int64_t version = weight.is_inference() ? -1 : static_cast<int64_t>(weight._version());
    if (!packed_.defined() || packed_from_ != weight.data_ptr() || packed_version_ != version) {
      at::NoGradGuard no_grad;
      packed_ =
          at::mkldnn_reorder_conv2d_weight(weight.detach().to_mkldnn(), *padding, *options.stride(),
                                           *options.dilation(), options.groups());
      packed_from_ = weight.data_ptr();
      packed_version_ = version;
    }
    return at::mkldnn_convolution(input, packed_, bias, *padding, *options.stride(),
                                  *options.dilation(), options.groups());
  }
#endif
  return torch::nn::Conv2dImpl::forward(input);
}

void set_conv_prepacking(torch::nn::Module& module, bool on) {
  if (auto* self = dynamic_cast<Conv2dImpl*>(&module)) self->set_prepacking(on);
  for (const auto& child : module.modules(/*include_self=*/false)) {
    if (auto conv = std::dynamic_pointer_cast<Conv2dImpl>(child)) conv->set_prepacking(on);
  }
}

}  // namespace papillon
