#pragma once
// diffusers models/unets/unet_2d_condition.py: UNet2DConditionModel, the text-conditioned UNet of
// Stable Diffusion 1.x / 2.x (SDXL's addition embeddings are not supported yet).
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/io/config.h"
#include "core/models/activations.h"
#include "core/models/conv.h"
#include "core/models/embeddings.h"
#include "core/models/unet_2d_condition_blocks.h"

namespace papillon {

// Field names = config.json keys, defaults = diffusers' UNet2DConditionModel.__init__.
// diffusers' "int or tuple" options are vectors: one entry applies to every block, otherwise one
// entry per down block (validated).
struct UNet2DConditionModelConfig {
  std::vector<int64_t> sample_size;  // empty (None), one int, or {height, width}
  int64_t in_channels = 4;
  int64_t out_channels = 4;
  bool center_input_sample = false;
  bool flip_sin_to_cos = true;
  double freq_shift = 0;
  std::vector<std::string> down_block_types = {"CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                               "CrossAttnDownBlock2D", "DownBlock2D"};
  std::optional<std::string> mid_block_type = "UNetMidBlock2DCrossAttn";  // null: no mid block
  std::vector<std::string> up_block_types = {"UpBlock2D", "CrossAttnUpBlock2D",
                                             "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"};
  std::vector<bool> only_cross_attention = {false};
  std::vector<int64_t> block_out_channels = {320, 640, 1280, 1280};
  std::vector<int64_t> layers_per_block = {2};
  int64_t downsample_padding = 1;
  double mid_block_scale_factor = 1;
  double dropout = 0.0;
  std::string act_fn = "silu";
  int64_t norm_num_groups = 32;  // null is not supported (the blocks need groups)
  double norm_eps = 1e-5;
  std::vector<int64_t> cross_attention_dim = {1280};
  std::vector<int64_t> transformer_layers_per_block = {1};
  // Legacy naming: with num_attention_heads unset (always, in diffusers 0.27) this is the NUMBER
  // OF HEADS of each block's transformers (head size = channels / heads); the mid block uses the
  // last entry.
  std::vector<int64_t> attention_head_dim = {8};
  std::vector<int64_t> num_attention_heads;  // diffusers 0.27 rejects it: must stay unset
  bool dual_cross_attention = false;         // not supported
  bool use_linear_projection = false;
  std::optional<std::string> class_embed_type;  // null, "timestep", "identity", "projection",
                                                // "simple_projection"
  std::optional<int64_t> num_class_embeds;
  std::optional<int64_t> projection_class_embeddings_input_dim;
  bool class_embeddings_concat = false;
  std::optional<std::string> addition_embed_type;   // not supported (SDXL): must be null
  std::optional<std::string> encoder_hid_dim_type;  // not supported: must be null
  std::optional<int64_t> encoder_hid_dim;           // not supported: must be null
  bool upcast_attention = false;
  std::string resnet_time_scale_shift = "default";
  std::string time_embedding_type = "positional";  // "fourier" is not supported
  std::optional<int64_t> time_embedding_dim;       // unset: 4 * block_out_channels[0]
  std::optional<std::string> time_embedding_act_fn;
  std::optional<std::string> timestep_post_act;
  std::optional<int64_t> time_cond_proj_dim;
  int64_t conv_in_kernel = 3;
  int64_t conv_out_kernel = 3;
  std::string attention_type = "default";              // "gated" (GLIGEN) is not supported
  std::optional<bool> mid_block_only_cross_attention;  // unused by the supported mid blocks

  // Parses and validates; errors name `source` and the key ("unet/config.json: block_out_channels
  // must have 4 entries (one per down_block_types), has 3").
  static UNet2DConditionModelConfig from_json(const Json& json, const std::string& source);
  // Throws Error("<source>: <key> ...") on inconsistent or unsupported values.
  void validate(const std::string& source) const;

  // The per-block value of an "int or tuple" option (`values` has one entry or one per block).
  static int64_t per_block(const std::vector<int64_t>& values, size_t block);
};

class UNet2DConditionModelImpl : public torch::nn::Module {
 public:
  explicit UNet2DConditionModelImpl(const UNet2DConditionModelConfig& config);

  // sample [B, in_channels, H, W]; timestep 0-dim, [1] or [B] (int64 or floating, e.g. Euler's
  // fractional float32 timesteps), broadcast to the batch like diffusers; encoder_hidden_states
  // [B, M, cross_attention_dim] -> [B, out_channels, H, W]. H and W need not be multiples of
  // 2^upsamplers (the upsamplers then resize to the skip tensors' sizes).
  // class_labels: for models with a class embedding. timestep_cond: [B, time_cond_proj_dim] when
  // the config has one. attention_mask / encoder_attention_mask: [B, M] keep-masks (1 keep, 0
  // discard) turned into -10000 biases, for self- and cross-attention; may be undefined.
  at::Tensor forward(const at::Tensor& sample, const at::Tensor& timestep,
                     const at::Tensor& encoder_hidden_states, const at::Tensor& class_labels = {},
                     const at::Tensor& timestep_cond = {}, const at::Tensor& attention_mask = {},
                     const at::Tensor& encoder_attention_mask = {});
  // diffusers' python-number paths: an int becomes int64, a float float64 (before the float32
  // sinusoid).
  at::Tensor forward(const at::Tensor& sample, int64_t timestep,
                     const at::Tensor& encoder_hidden_states);
  at::Tensor forward(const at::Tensor& sample, double timestep,
                     const at::Tensor& encoder_hidden_states);

  const UNet2DConditionModelConfig& config() const { return config_; }
  int64_t num_upsamplers() const { return num_upsamplers_; }
  // Records time_proj, time_embedding, class_embedding, conv_in, down_blocks.i (+ .resnets.j,
  // .attentions.j [+ .proj_in, .transformer_blocks.k.{attn1,attn2,ff}], .downsamplers.0),
  // mid_block (+ inner), up_blocks.i (+ inner), conv_norm_out, conv_out. nullptr switches off.
  void set_activation_recorder(ActivationRecorder* recorder);

 private:
  UNet2DConditionModelConfig config_;
  int64_t num_upsamplers_ = 0;
  ActivationRecorder* recorder_ = nullptr;
  Conv2d conv_in_{nullptr};
  Timesteps time_proj_{nullptr};
  TimestepEmbedding time_embedding_{nullptr};
  torch::nn::Embedding class_embedding_table_{nullptr};
  TimestepEmbedding class_embedding_mlp_{nullptr};
  torch::nn::Linear class_embedding_linear_{nullptr};
  bool class_identity_ = false;
  std::optional<Activation> time_embed_act_;
  std::vector<std::shared_ptr<UNetDownBlockImpl>> down_blocks_;
  std::vector<std::shared_ptr<UNetUpBlockImpl>> up_blocks_;
  std::shared_ptr<UNetBlockBase> mid_block_;
  torch::nn::GroupNorm conv_norm_out_{nullptr};
  Activation conv_act_ = Activation::kSilu;
  Conv2d conv_out_{nullptr};
};
TORCH_MODULE(UNet2DConditionModel);

// Reads <component_dir>/config.json and the weights
// (diffusion_pytorch_model[.<variant>].safetensors, else .bin), strictly; returns the model in
// eval mode with parameters in `dtype` on `device` (an fp16 variant file loads into a float32
// model).
UNet2DConditionModel load_unet_2d_condition_model(const std::string& component_dir,
                                                  const std::string& variant = "",
                                                  at::ScalarType dtype = at::kFloat,
                                                  at::Device device = at::Device(at::kCPU));

}  // namespace papillon
