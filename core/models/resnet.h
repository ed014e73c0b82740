#pragma once
// diffusers models/resnet.py (ResnetBlock2D) with the plain Downsample2D / Upsample2D of
// downsampling.py / upsampling.py.
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <optional>
#include <string>
#include <vector>

#include "core/models/activations.h"
#include "core/models/conv.h"

namespace papillon {

struct Downsample2DOptions {
  int64_t channels = 0;
  bool use_conv = false;
  std::optional<int64_t> out_channels;
  int64_t padding = 1;
  std::string name = "conv";  // diffusers' attribute naming switch ("op" in UNet blocks)
  int64_t kernel_size = 3;
  bool bias = true;
};

// Strided 3x3 conv (padding 0 pads right/bottom by one first) or 2x2 average pooling.
class Downsample2DImpl : public torch::nn::Module {
 public:
  explicit Downsample2DImpl(const Downsample2DOptions& options);
  at::Tensor forward(const at::Tensor& hidden_states);

 private:
  Downsample2DOptions options_;
  int64_t out_channels_;
  Conv2d conv_{nullptr};
};
TORCH_MODULE(Downsample2D);

struct Upsample2DOptions {
  int64_t channels = 0;
  bool use_conv = false;
  bool use_conv_transpose = false;
  std::optional<int64_t> out_channels;
  std::string name = "conv";
  std::optional<int64_t> kernel_size;
  int64_t padding = 1;
  bool bias = true;
  bool interpolate = true;
};

// Nearest-neighbour x2 (or to an explicit size) followed by an optional 3x3 conv, or a transposed
// conv.
class Upsample2DImpl : public torch::nn::Module {
 public:
  explicit Upsample2DImpl(const Upsample2DOptions& options);
  // output_size: {height, width}; empty means "scale by 2".
  at::Tensor forward(const at::Tensor& hidden_states, const std::vector<int64_t>& output_size = {});

 private:
  Upsample2DOptions options_;
  Conv2d conv_{nullptr};
  torch::nn::ConvTranspose2d conv_transpose_{nullptr};
};
TORCH_MODULE(Upsample2D);

struct ResnetBlock2DOptions {
  int64_t in_channels = 0;
  std::optional<int64_t> out_channels;
  bool conv_shortcut =
      false;  // kept for config fidelity; diffusers always uses a 1x1 shortcut conv
  double dropout = 0.0;
  std::optional<int64_t> temb_channels = 512;
  int64_t groups = 32;
  std::optional<int64_t> groups_out;
  double eps = 1e-6;
  std::string non_linearity = "swish";
  bool skip_time_act = false;
  std::string time_embedding_norm = "default";  // "default" or "scale_shift"
  std::string kernel;                           // "" (Upsample2D/Downsample2D), "fir", "sde_vp"
  double output_scale_factor = 1.0;
  std::optional<bool> use_in_shortcut;
  bool up = false;
  bool down = false;
  bool conv_shortcut_bias = true;
  std::optional<int64_t> conv_2d_out_channels;
};

// GroupNorm -> act -> [resample] -> conv1 -> (+temb | scale/shift after norm2) -> norm2 -> act ->
// dropout -> conv2, plus the (optionally 1x1-projected) input, divided by output_scale_factor.
class ResnetBlock2DImpl : public torch::nn::Module {
 public:
  explicit ResnetBlock2DImpl(const ResnetBlock2DOptions& options);
  at::Tensor forward(const at::Tensor& input, const at::Tensor& temb = {});

  int64_t out_channels() const { return out_channels_; }

 private:
  at::Tensor resample(const at::Tensor& x);

  ResnetBlock2DOptions options_;
  int64_t out_channels_;
  Activation nonlinearity_;
  bool scale_shift_;
  torch::nn::GroupNorm norm1_{nullptr};
  Conv2d conv1_{nullptr};
  torch::nn::Linear time_emb_proj_{nullptr};
  torch::nn::GroupNorm norm2_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  Conv2d conv2_{nullptr};
  Upsample2D upsample_{nullptr};
  Downsample2D downsample_{nullptr};
  Conv2d conv_shortcut_{nullptr};
};
TORCH_MODULE(ResnetBlock2D);

}  // namespace papillon
