#include "core/models/unet_2d.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/io/state_dict.h"
#include "core/io/weights.h"
#include "core/models/activations.h"
#include "core/models/skip_init.h"
#include "core/util/error.h"

namespace papillon {

// ------------------------------------------------------------------------------------------ config

UNet2DModelConfig UNet2DModelConfig::from_json(const Json& json, const std::string& source) {
  if (!json.is_object()) throw Error(source + ": expected a JSON object");
  const ConfigReader r(json, source);
  UNet2DModelConfig c;
  if (r.has("sample_size")) {
    if (json.at("sample_size").is_array()) {
      c.sample_size = r.get_int_list("sample_size", {});
      if (c.sample_size.size() != 2) {
        r.fail("sample_size", "must be an integer or [height, width], has " +
                                  std::to_string(c.sample_size.size()) + " entries");
      }
    } else {
      c.sample_size = {r.get_int("sample_size", 0)};
    }
  }
  c.in_channels = r.get_int("in_channels", c.in_channels);
  c.out_channels = r.get_int("out_channels", c.out_channels);
  c.center_input_sample = r.get_bool("center_input_sample", c.center_input_sample);
  c.time_embedding_type = r.get_string("time_embedding_type", c.time_embedding_type);
  c.freq_shift = r.get_double("freq_shift", c.freq_shift);
  c.flip_sin_to_cos = r.get_bool("flip_sin_to_cos", c.flip_sin_to_cos);
  c.down_block_types = r.get_string_list("down_block_types", c.down_block_types);
  c.up_block_types = r.get_string_list("up_block_types", c.up_block_types);
  c.block_out_channels = r.get_int_list("block_out_channels", c.block_out_channels);
  c.layers_per_block = r.get_int("layers_per_block", c.layers_per_block);
  c.mid_block_scale_factor = r.get_double("mid_block_scale_factor", c.mid_block_scale_factor);
  c.downsample_padding = r.get_int("downsample_padding", c.downsample_padding);
  c.downsample_type = r.get_string("downsample_type", c.downsample_type);
  c.upsample_type = r.get_string("upsample_type", c.upsample_type);
  c.dropout = r.get_double("dropout", c.dropout);
  c.act_fn = r.get_string("act_fn", c.act_fn);
  // attention_head_dim: absent -> 8, null -> None (one head per block).
  if (json.contains("attention_head_dim")) {
    c.attention_head_dim = r.get_optional_int("attention_head_dim");
  }
  c.norm_num_groups = r.get_int("norm_num_groups", c.norm_num_groups);
  c.attn_norm_num_groups = r.get_optional_int("attn_norm_num_groups");
  c.norm_eps = r.get_double("norm_eps", c.norm_eps);
  c.resnet_time_scale_shift = r.get_string("resnet_time_scale_shift", c.resnet_time_scale_shift);
  c.add_attention = r.get_bool("add_attention", c.add_attention);
  c.class_embed_type = r.get_optional_string("class_embed_type");
  c.num_class_embeds = r.get_optional_int("num_class_embeds");
  c.num_train_timesteps = r.get_optional_int("num_train_timesteps");
  c.validate(source);
  return c;
}

Json UNet2DModelConfig::to_json() const {
  Json j = Json::object();
  j["_class_name"] = "UNet2DModel";
  j["_diffusers_version"] = "0.27.2";
  if (sample_size.empty()) {
    j["sample_size"] = nullptr;
  } else if (sample_size.size() == 1) {
    j["sample_size"] = sample_size[0];
  } else {
    j["sample_size"] = sample_size;
  }
  j["in_channels"] = in_channels;
  j["out_channels"] = out_channels;
  j["center_input_sample"] = center_input_sample;
  j["time_embedding_type"] = time_embedding_type;
  j["freq_shift"] = freq_shift;
  j["flip_sin_to_cos"] = flip_sin_to_cos;
  j["down_block_types"] = down_block_types;
  j["up_block_types"] = up_block_types;
  j["block_out_channels"] = block_out_channels;
  j["layers_per_block"] = layers_per_block;
  j["mid_block_scale_factor"] = mid_block_scale_factor;
  j["downsample_padding"] = downsample_padding;
  j["downsample_type"] = downsample_type;
  j["upsample_type"] = upsample_type;
  j["dropout"] = dropout;
  j["act_fn"] = act_fn;
  j["attention_head_dim"] = attention_head_dim ? Json(*attention_head_dim) : Json(nullptr);
  j["norm_num_groups"] = norm_num_groups;
  j["attn_norm_num_groups"] = attn_norm_num_groups ? Json(*attn_norm_num_groups) : Json(nullptr);
  j["norm_eps"] = norm_eps;
  j["resnet_time_scale_shift"] = resnet_time_scale_shift;
  j["add_attention"] = add_attention;
  j["class_embed_type"] = class_embed_type ? Json(*class_embed_type) : Json(nullptr);
  j["num_class_embeds"] = num_class_embeds ? Json(*num_class_embeds) : Json(nullptr);
  j["num_train_timesteps"] = num_train_timesteps ? Json(*num_train_timesteps) : Json(nullptr);
  return j;
}

void UNet2DModelConfig::validate(const std::string& source) const {
  const Json empty = Json::object();
  const ConfigReader r(empty, source);
  const auto count = [](size_t n) { return std::to_string(n); };
  if (block_out_channels.empty()) r.fail("block_out_channels", "must not be empty");
  if (down_block_types.size() != up_block_types.size()) {
    r.fail("up_block_types", "must have as many entries as down_block_types (" +
                                 count(down_block_types.size()) + "), has " +
                                 count(up_block_types.size()));
  }
  if (block_out_channels.size() != down_block_types.size()) {
    r.fail("block_out_channels", "must have " + count(down_block_types.size()) +
                                     " entries (one per down_block_types), has " +
                                     count(block_out_channels.size()));
  }
  for (size_t i = 0; i < down_block_types.size(); ++i) {
    if (!is_supported_down_block(down_block_types[i])) {
      r.fail("down_block_types", "entry " + count(i) + " \"" + down_block_types[i] +
                                     "\" is not a supported block type");
    }
  }
  for (size_t i = 0; i < up_block_types.size(); ++i) {
    if (!is_supported_up_block(up_block_types[i])) {
      r.fail("up_block_types",
             "entry " + count(i) + " \"" + up_block_types[i] + "\" is not a supported block type");
    }
  }
  for (size_t i = 0; i < block_out_channels.size(); ++i) {
    if (block_out_channels[i] <= 0) r.fail("block_out_channels", "entries must be positive");
    if (norm_num_groups <= 0 || block_out_channels[i] % norm_num_groups != 0) {
      r.fail("norm_num_groups", "(" + std::to_string(norm_num_groups) +
                                    ") must divide every block_out_channels entry, not " +
                                    std::to_string(block_out_channels[i]));
    }
    if (attention_head_dim &&
        (*attention_head_dim <= 0 || *attention_head_dim > block_out_channels[i])) {
      r.fail("attention_head_dim", "(" + std::to_string(*attention_head_dim) +
                                       ") must be between 1 and every block_out_channels entry");
    }
  }
  if (in_channels <= 0) r.fail("in_channels", "must be positive");
  if (out_channels <= 0) r.fail("out_channels", "must be positive");
  if (layers_per_block < 0) r.fail("layers_per_block", "must not be negative");
  if (time_embedding_type != "positional" && time_embedding_type != "fourier" &&
      time_embedding_type != "learned") {
    r.fail("time_embedding_type", "must be \"positional\", \"fourier\" or \"learned\", not \"" +
                                      time_embedding_type + "\"");
  }
  if (time_embedding_type == "learned" && (!num_train_timesteps || *num_train_timesteps <= 0)) {
    r.fail("num_train_timesteps", "must be a positive integer when time_embedding_type is learned");
  }
  if (downsample_type != "conv" && downsample_type != "resnet") {
    r.fail("downsample_type", "must be \"conv\" or \"resnet\", not \"" + downsample_type + "\"");
  }
  if (upsample_type != "conv" && upsample_type != "resnet") {
    r.fail("upsample_type", "must be \"conv\" or \"resnet\", not \"" + upsample_type + "\"");
  }
  if (resnet_time_scale_shift != "default" && resnet_time_scale_shift != "scale_shift") {
    r.fail("resnet_time_scale_shift",
           "must be \"default\" or \"scale_shift\", not \"" + resnet_time_scale_shift + "\"");
  }
  if (class_embed_type && *class_embed_type != "timestep" && *class_embed_type != "identity") {
    r.fail("class_embed_type",
           "must be null, \"timestep\" or \"identity\", not \"" + *class_embed_type + "\"");
  }
  if (num_class_embeds && *num_class_embeds <= 0) r.fail("num_class_embeds", "must be positive");
  if (attn_norm_num_groups && *attn_norm_num_groups <= 0) {
    r.fail("attn_norm_num_groups", "must be positive");
  }
  get_activation(act_fn, source + ": act_fn");
}

// ------------------------------------------------------------------------------------------- model

UNet2DModelImpl::UNet2DModelImpl(const UNet2DModelConfig& config) : config_(config) {
  const auto& c = config_;
  c.validate("UNet2DModel config");
  const int64_t c0 = c.block_out_channels.front();
  const int64_t time_embed_dim = c0 * 4;

  conv_in_ =
      register_module("conv_in", Conv2d(torch::nn::Conv2dOptions(c.in_channels, c0, 3).padding(1)));

  int64_t timestep_input_dim = c0;
  if (c.time_embedding_type == "fourier") {
    fourier_time_proj_ = register_module("time_proj", GaussianFourierProjection(c0, 16.0));
    timestep_input_dim = 2 * c0;
  } else if (c.time_embedding_type == "positional") {
    positional_time_proj_ =
        register_module("time_proj", Timesteps(c0, c.flip_sin_to_cos, c.freq_shift));
  } else {
    learned_time_proj_ =
        register_module("time_proj", torch::nn::Embedding(*c.num_train_timesteps, c0));
  }
  time_embedding_ =
      register_module("time_embedding", TimestepEmbedding(timestep_input_dim, time_embed_dim));

  if (!c.class_embed_type && c.num_class_embeds) {
    class_embedding_table_ = register_module(
        "class_embedding", torch::nn::Embedding(*c.num_class_embeds, time_embed_dim));
  } else if (c.class_embed_type == "timestep") {
    class_embedding_mlp_ =
        register_module("class_embedding", TimestepEmbedding(timestep_input_dim, time_embed_dim));
  } else if (c.class_embed_type == "identity") {
    class_identity_ = true;
  }

  UNetBlockOptions base;
  base.num_layers = c.layers_per_block;
  base.temb_channels = time_embed_dim;
  base.resnet_eps = c.norm_eps;
  base.resnet_act_fn = c.act_fn;
  base.resnet_groups = c.norm_num_groups;
  base.downsample_padding = c.downsample_padding;
  base.resnet_time_scale_shift = c.resnet_time_scale_shift;
  base.dropout = c.dropout;

  const size_t n = c.block_out_channels.size();
  torch::nn::ModuleList down_blocks;
  int64_t output_channel = c0;
  for (size_t i = 0; i < n; ++i) {
    UNetBlockOptions o = base;
    o.in_channels = output_channel;
    output_channel = c.block_out_channels[i];
    o.out_channels = output_channel;
    o.add_sample = i + 1 != n;
    o.attention_head_dim = c.attention_head_dim.value_or(output_channel);
    o.sample_type = c.downsample_type;
    down_blocks_.push_back(
        get_down_block(c.down_block_types[i], o, "down_block_types[" + std::to_string(i) + "]"));
    down_blocks->push_back(down_blocks_.back());
  }
  register_module("down_blocks", down_blocks);

  std::vector<int64_t> reversed(c.block_out_channels.rbegin(), c.block_out_channels.rend());
  torch::nn::ModuleList up_blocks;
  output_channel = reversed.front();
  for (size_t i = 0; i < n; ++i) {
    UNetBlockOptions o = base;
    o.num_layers = c.layers_per_block + 1;
    o.prev_output_channel = output_channel;
    output_channel = reversed[i];
    o.out_channels = output_channel;
    o.in_channels = reversed[std::min(i + 1, n - 1)];
    o.add_sample = i + 1 != n;
    o.attention_head_dim = c.attention_head_dim.value_or(output_channel);
    o.sample_type = c.upsample_type;
    up_blocks_.push_back(
        get_up_block(c.up_block_types[i], o, "up_block_types[" + std::to_string(i) + "]"));
    up_blocks->push_back(up_blocks_.back());
  }
  register_module("up_blocks", up_blocks);

  // diffusers assigns mid_block after up_blocks, so its keys come last in the state dict.
  UNetMidBlock2DOptions mid;
  mid.in_channels = reversed.front();
  mid.temb_channels = time_embed_dim;
  mid.dropout = c.dropout;
  mid.resnet_eps = c.norm_eps;
  mid.resnet_act_fn = c.act_fn;
  mid.output_scale_factor = c.mid_block_scale_factor;
  mid.resnet_time_scale_shift = c.resnet_time_scale_shift;
  mid.attention_head_dim = c.attention_head_dim.value_or(reversed.front());
  mid.resnet_groups = c.norm_num_groups;
  mid.attn_groups = c.attn_norm_num_groups;
  mid.add_attention = c.add_attention;
  mid_block_ = register_module("mid_block", UNetMidBlock2D(mid));

  conv_norm_out_ = register_module(
      "conv_norm_out",
      torch::nn::GroupNorm(torch::nn::GroupNormOptions(c.norm_num_groups, c0).eps(c.norm_eps)));
  conv_out_ = register_module("conv_out",
                              Conv2d(torch::nn::Conv2dOptions(c0, c.out_channels, 3).padding(1)));
}

void UNet2DModelImpl::set_activation_recorder(ActivationRecorder* recorder) {
  recorder_ = recorder;
  for (size_t i = 0; i < down_blocks_.size(); ++i) {
    down_blocks_[i]->set_activation_recorder(recorder, "down_blocks." + std::to_string(i));
  }
  for (size_t i = 0; i < up_blocks_.size(); ++i) {
    up_blocks_[i]->set_activation_recorder(recorder, "up_blocks." + std::to_string(i));
  }
  mid_block_->set_activation_recorder(recorder, "mid_block");
}

at::Tensor UNet2DModelImpl::time_project(const at::Tensor& timesteps) {
  if (positional_time_proj_) return positional_time_proj_->forward(timesteps);
  if (fourier_time_proj_) return fourier_time_proj_->forward(timesteps);
  return learned_time_proj_->forward(timesteps);
}

at::Tensor UNet2DModelImpl::forward(const at::Tensor& sample, int64_t timestep,
                                    const at::Tensor& class_labels) {
  return forward(sample,
                 at::tensor(std::vector<int64_t>{timestep},
                            at::TensorOptions().dtype(at::kLong).device(sample.device())),
                 class_labels);
}

at::Tensor UNet2DModelImpl::forward(const at::Tensor& sample_in, const at::Tensor& timestep,
                                    const at::Tensor& class_labels_in) {
  const AttentionScratchScope attention_scratch;  // one score buffer for all its attentions
  const auto& c = config_;
  if (sample_in.dim() != 4) {
    throw Error("UNet2DModel: sample must be [batch, channels, height, width], got " +
                std::to_string(sample_in.dim()) + " dimensions");
  }
  at::Tensor sample = sample_in;
  if (c.center_input_sample) sample = 2 * sample - 1.0;

  at::Tensor timesteps = timestep;
  if (timesteps.dim() == 0) timesteps = timesteps.unsqueeze(0).to(sample.device());
  timesteps = timesteps * at::ones({sample.size(0)}, timesteps.options());

  const auto dtype = conv_in_->weight.scalar_type();
  at::Tensor t_emb = time_project(timesteps);
  record_activation(recorder_, "time_proj", t_emb);
  t_emb = t_emb.to(dtype);
  at::Tensor emb = time_embedding_->forward(t_emb);
  record_activation(recorder_, "time_embedding", emb);

  const bool has_class_embedding =
      class_embedding_table_ || class_embedding_mlp_ || class_identity_;
  if (has_class_embedding) {
    if (!class_labels_in.defined()) {
      throw Error("UNet2DModel: class_labels must be given for a class-conditional model");
    }
    at::Tensor class_labels = class_labels_in;
    at::Tensor class_emb;
    if (class_embedding_table_) {
      class_emb = class_embedding_table_->forward(class_labels);
    } else if (class_embedding_mlp_) {
      class_labels = time_project(class_labels);
      class_emb = class_embedding_mlp_->forward(class_labels);
    } else {
      class_emb = class_labels;
    }
    record_activation(recorder_, "class_embedding", class_emb);
    emb = emb + class_emb.to(dtype);
  } else if (class_labels_in.defined()) {
    throw Error("UNet2DModel: class_labels were given but the model has no class embedding");
  }

  at::Tensor skip_sample = sample;
  sample = conv_in_->forward(sample);

  std::vector<at::Tensor> res_samples;
  res_samples.push_back(sample);
  for (size_t i = 0; i < down_blocks_.size(); ++i) {
    DownBlockOutput out = down_blocks_[i]->forward(sample, emb, skip_sample);
    sample = out.hidden_states;
    if (out.skip_sample.defined()) skip_sample = out.skip_sample;
    if (recorder_) recorder_->record("down_blocks." + std::to_string(i), sample);
    res_samples.insert(res_samples.end(), std::make_move_iterator(out.res_samples.begin()),
                       std::make_move_iterator(out.res_samples.end()));
  }

  sample = mid_block_->forward(sample, emb);
  record_activation(recorder_, "mid_block", sample);

  skip_sample = at::Tensor();
  for (size_t i = 0; i < up_blocks_.size(); ++i) {
    const size_t take = up_blocks_[i]->num_resnets();
    if (take > res_samples.size()) {
      throw Error("UNet2DModel: up_blocks." + std::to_string(i) + " needs " + std::to_string(take) +
                  " skip tensors, only " + std::to_string(res_samples.size()) + " are left");
    }
    std::vector<at::Tensor> block_res(res_samples.end() - static_cast<std::ptrdiff_t>(take),
                                      res_samples.end());
    res_samples.resize(res_samples.size() - take);
    UpBlockOutput out = up_blocks_[i]->forward(sample, block_res, emb, skip_sample);
    sample = out.hidden_states;
    skip_sample = out.skip_sample;
    if (recorder_) recorder_->record("up_blocks." + std::to_string(i), sample);
  }

  sample = norm_forward(*conv_norm_out_, sample);
  sample = at::silu(sample);
  sample = conv_out_->forward(sample);
  record_activation(recorder_, "conv_out", sample);

  if (skip_sample.defined()) sample = sample + skip_sample;

  if (c.time_embedding_type == "fourier") {
    std::vector<int64_t> shape(static_cast<size_t>(sample.dim()), 1);
    shape[0] = sample.size(0);
    sample = sample / timesteps.reshape(shape);
  }
  return sample;
}

// ----------------------------------------------------------------------------------------- loading

UNet2DModel load_unet_2d_model(const std::string& component_dir, const std::string& variant,
                               at::ScalarType dtype, at::Device device) {
  const std::string config_path = component_dir + "/config.json";
  const UNet2DModelConfig config =
      UNet2DModelConfig::from_json(read_json_file(config_path), config_path);
  auto model = build_for_loading([&] { return UNet2DModel(config); });
  model->to(device, dtype);
  load_component_weights(*model, component_dir, {"diffusion_pytorch_model"}, variant,
                         map_legacy_attention_key);
  model->eval();
  // Small pixel-space UNets spend much of a step re-ordering conv weights (their 4x4 and 8x8
  // levels); the packed copy costs one more copy of the conv weights (~0.4 GB for butterflies).
  set_conv_prepacking(*model, true);
  return model;
}

}  // namespace papillon
