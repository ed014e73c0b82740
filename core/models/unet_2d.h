#pragma once
// diffusers models/unets/unet_2d.py: UNet2DModel (unconditional / class-conditional DDPM-style
// UNet).
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/io/config.h"
#include "core/models/activations.h"
#include "core/models/conv.h"
#include "core/models/embeddings.h"
#include "core/models/unet_2d_blocks.h"

namespace papillon {

// Field names = config.json keys, defaults = diffusers' UNet2DModel.__init__.
struct UNet2DModelConfig {
  std::vector<int64_t> sample_size;  // empty (None), one int, or {height, width}
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  bool center_input_sample = false;
  std::string time_embedding_type = "positional";  // "positional", "fourier" or "learned"
  double freq_shift = 0;
  bool flip_sin_to_cos = true;
  std::vector<std::string> down_block_types = {"DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D",
                                               "AttnDownBlock2D"};
  std::vector<std::string> up_block_types = {"AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D",
                                             "UpBlock2D"};
  std::vector<int64_t> block_out_channels = {224, 448, 672, 896};
  int64_t layers_per_block = 2;
  double mid_block_scale_factor = 1;
  int64_t downsample_padding = 1;
  std::string downsample_type = "conv";
  std::string upsample_type = "conv";
  double dropout = 0.0;
  std::string act_fn = "silu";
  std::optional<int64_t> attention_head_dim = 8;
  int64_t norm_num_groups = 32;
  std::optional<int64_t> attn_norm_num_groups;
  double norm_eps = 1e-5;
  std::string resnet_time_scale_shift = "default";
  bool add_attention = true;
  std::optional<std::string> class_embed_type;
  std::optional<int64_t> num_class_embeds;
  std::optional<int64_t> num_train_timesteps;

  // Parses and validates; errors name `source` and the key ("unet/config.json: block_out_channels
  // must have 3 entries (one per down_block_types), has 2").
  static UNet2DModelConfig from_json(const Json& json, const std::string& source);
  // The diffusers config.json (every key, "_class_name" UNet2DModel, "_diffusers_version" 0.27.2);
  // from_json(to_json()) gives this config back.
  Json to_json() const;
  // Throws Error("<source>: ...") on inconsistent values.
  void validate(const std::string& source) const;
};

class UNet2DModelImpl : public torch::nn::Module {
 public:
  explicit UNet2DModelImpl(const UNet2DModelConfig& config);

  // sample [B, C, H, W]; timestep 0-dim or [B] (int64 or floating) -> predicted sample [B, out, H,
  // W]. A 0-dim timestep is broadcast to the batch as in diffusers. class_labels [B] when the model
  // has a class embedding (int64 ids; floating values for class_embed_type "identity"/"timestep").
  at::Tensor forward(const at::Tensor& sample, const at::Tensor& timestep,
                     const at::Tensor& class_labels = {});
  // diffusers' python-number path: torch.tensor([timestep], dtype=long).
  at::Tensor forward(const at::Tensor& sample, int64_t timestep,
                     const at::Tensor& class_labels = {});

  const UNet2DModelConfig& config() const { return config_; }
  // Records time_proj, time_embedding, class_embedding, down_blocks.i (+ .resnets.j, .attentions.j,
  // .downsamplers.0), mid_block (+ inner), up_blocks.i (+ inner), conv_out. nullptr switches off.
  void set_activation_recorder(ActivationRecorder* recorder);

 private:
  at::Tensor time_project(const at::Tensor& timesteps);

  UNet2DModelConfig config_;
  ActivationRecorder* recorder_ = nullptr;
  Conv2d conv_in_{nullptr};
  Timesteps positional_time_proj_{nullptr};
  GaussianFourierProjection fourier_time_proj_{nullptr};
  torch::nn::Embedding learned_time_proj_{nullptr};
  TimestepEmbedding time_embedding_{nullptr};
  torch::nn::Embedding class_embedding_table_{nullptr};
  TimestepEmbedding class_embedding_mlp_{nullptr};
  bool class_identity_ = false;
  std::vector<std::shared_ptr<UNetDownBlockImpl>> down_blocks_;
  std::vector<std::shared_ptr<UNetUpBlockImpl>> up_blocks_;
  UNetMidBlock2D mid_block_{nullptr};
  torch::nn::GroupNorm conv_norm_out_{nullptr};
  Conv2d conv_out_{nullptr};
};
TORCH_MODULE(UNet2DModel);

// Reads <component_dir>/config.json and the weights
// (diffusion_pytorch_model[.<variant>].safetensors, else .bin; legacy attention names mapped),
// strictly; returns the model in eval mode, converted to dtype and moved to device.
UNet2DModel load_unet_2d_model(const std::string& component_dir, const std::string& variant = "",
                               at::ScalarType dtype = at::kFloat,
                               at::Device device = at::Device(at::kCPU));

}  // namespace papillon
