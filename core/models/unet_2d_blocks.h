#pragma once
// diffusers models/unets/unet_2d_blocks.py: the down / mid / up blocks of UNet2DModel, and the
// get_down_block / get_up_block factories. Children carry diffusers' attribute names (resnets,
// attentions, downsamplers, upsamplers) so named_parameters() equals the state-dict keys.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/models/activations.h"
#include "core/models/attention.h"
#include "core/models/resnet.h"

namespace papillon {

// The arguments get_down_block / get_up_block receive from a UNet (diffusers' keyword arguments).
struct UNetBlockOptions {
  int64_t num_layers = 1;
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t prev_output_channel = 0;  // up blocks only
  int64_t temb_channels = 0;
  bool add_sample = true;  // add_downsample / add_upsample
  double resnet_eps = 1e-6;
  std::string resnet_act_fn = "swish";
  int64_t resnet_groups = 32;
  std::optional<int64_t> attention_head_dim;  // unset: one head of out_channels
  int64_t downsample_padding = 1;
  std::string resnet_time_scale_shift = "default";
  std::string sample_type = "conv";  // downsample_type / upsample_type ("conv" or "resnet")
  double dropout = 0.0;
  bool resnet_skip_time_act = false;
  double resnet_out_scale_factor = 1.0;
};

// Shared base: activation recording under the block's module path (e.g. "down_blocks.1").
class UNetBlockBase : public torch::nn::Module {
 public:
  // Virtual so blocks with nested recorders (Transformer2DModel) can pass it on.
  virtual void set_activation_recorder(ActivationRecorder* recorder, const std::string& prefix) {
    recorder_ = recorder;
    prefix_ = prefix;
  }

 protected:
  void record(const char* list, size_t index, const at::Tensor& value) const {
    if (recorder_ != nullptr) {
      recorder_->record(prefix_ + "." + list + "." + std::to_string(index), value);
    }
  }
  ActivationRecorder* recorder_ = nullptr;
  std::string prefix_;
};

struct DownBlockOutput {
  at::Tensor hidden_states;
  std::vector<at::Tensor> res_samples;  // diffusers' output_states tuple, in order
  at::Tensor skip_sample;               // skip blocks only
};

class UNetDownBlockImpl : public UNetBlockBase {
 public:
  virtual DownBlockOutput forward(const at::Tensor& hidden_states, const at::Tensor& temb,
                                  const at::Tensor& skip_sample) = 0;
};

struct UpBlockOutput {
  at::Tensor hidden_states;
  at::Tensor skip_sample;  // skip blocks only
};

class UNetUpBlockImpl : public UNetBlockBase {
 public:
  // res_samples: the last num_resnets() entries of the down path, consumed from the back.
  virtual UpBlockOutput forward(const at::Tensor& hidden_states,
                                const std::vector<at::Tensor>& res_samples, const at::Tensor& temb,
                                const at::Tensor& skip_sample) = 0;
  size_t num_resnets() const { return resnet_list_.size(); }

 protected:
  std::vector<ResnetBlock2D> resnet_list_;
};

// DownBlock2D (resnets + conv Downsample2D), AttnDownBlock2D (resnet -> attention pairs; conv or
// resnet downsampler) and ResnetDownsampleBlock2D (a down=True ResnetBlock2D as downsampler).
class DownBlock2DImpl : public UNetDownBlockImpl {
 public:
  enum class Kind { kDown, kAttnDown, kResnetDownsample };
  DownBlock2DImpl(Kind kind, const UNetBlockOptions& options);
  DownBlockOutput forward(const at::Tensor& hidden_states, const at::Tensor& temb,
                          const at::Tensor& skip_sample = {}) override;

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Attention> attentions_;
  Downsample2D conv_downsampler_{nullptr};
  ResnetBlock2D resnet_downsampler_{nullptr};
};

// UpBlock2D, AttnUpBlock2D and ResnetUpsampleBlock2D (mirrors of the down blocks; each resnet takes
// the concatenation of the running hidden states and one skip tensor).
class UpBlock2DImpl : public UNetUpBlockImpl {
 public:
  enum class Kind { kUp, kAttnUp, kResnetUpsample };
  UpBlock2DImpl(Kind kind, const UNetBlockOptions& options);
  UpBlockOutput forward(const at::Tensor& hidden_states, const std::vector<at::Tensor>& res_samples,
                        const at::Tensor& temb, const at::Tensor& skip_sample = {}) override;
  // diffusers' upsample_size (UNet2DConditionModel, latents not a multiple of 2^upsamplers): the
  // conv upsampler's output {height, width}; empty scales by 2. Kind::kUp only uses it.
  UpBlockOutput forward_with_upsample_size(const at::Tensor& hidden_states,
                                           const std::vector<at::Tensor>& res_samples,
                                           const at::Tensor& temb,
                                           const std::vector<int64_t>& upsample_size);

 private:
  Kind kind_;
  std::vector<Attention> attentions_;
  Upsample2D conv_upsampler_{nullptr};
  ResnetBlock2D resnet_upsampler_{nullptr};
};

struct UNetMidBlock2DOptions {
  int64_t in_channels = 0;
  std::optional<int64_t> temb_channels;
  double dropout = 0.0;
  int64_t num_layers = 1;
  double resnet_eps = 1e-6;
  std::string resnet_time_scale_shift = "default";
  std::string resnet_act_fn = "swish";
  std::optional<int64_t> resnet_groups = 32;  // unset: min(in_channels / 4, 32)
  std::optional<int64_t> attn_groups;         // unset: resnet_groups for "default", none otherwise
  bool add_attention = true;
  std::optional<int64_t> attention_head_dim = 1;  // unset: in_channels (one head)
  double output_scale_factor = 1.0;
};

// resnets[0], then (attention, resnet) pairs.
class UNetMidBlock2DImpl : public UNetBlockBase {
 public:
  explicit UNetMidBlock2DImpl(const UNetMidBlock2DOptions& options);
  at::Tensor forward(const at::Tensor& hidden_states, const at::Tensor& temb = {});

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Attention> attentions_;  // empty when add_attention is false
};
TORCH_MODULE(UNetMidBlock2D);

// Whether get_down_block / get_up_block can build `type` (an optional "UNetRes" prefix is dropped).
bool is_supported_down_block(const std::string& type);
bool is_supported_up_block(const std::string& type);

// Builds a block by diffusers class name (an optional "UNetRes" prefix is dropped). Unknown or
// unsupported names throw Error naming `context` (e.g. "unet/config.json: down_block_types[1]").
std::shared_ptr<UNetDownBlockImpl> get_down_block(const std::string& type,
                                                  const UNetBlockOptions& options,
                                                  const std::string& context);
std::shared_ptr<UNetUpBlockImpl> get_up_block(const std::string& type,
                                              const UNetBlockOptions& options,
                                              const std::string& context);

}  // namespace papillon
