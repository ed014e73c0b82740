#include "core/models/unet_2d_condition.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/io/state_dict.h"
#include "core/io/weights.h"
#include "core/models/activations.h"
#include "core/models/skip_init.h"
#include "core/util/error.h"

namespace papillon {

namespace {

std::string count(size_t n) {
  return std::to_string(n);
}

// diffusers' "int or tuple" options: an int gives one entry, a list one entry per block. A null
// is passed to diffusers as None, which these options do not accept.
std::vector<int64_t> int_or_list(const ConfigReader& r, const std::string& key,
                                 const std::vector<int64_t>& fallback) {
  const Json& json = r.json();
  if (!json.contains(key)) return fallback;
  const Json& value = json.at(key);
  if (value.is_null()) r.fail(key, "must be an integer or a list of integers, not null");
  if (value.is_array()) {
    for (const auto& entry : value) {
      if (entry.is_array()) {
        r.fail(key, "nested per-layer lists are not supported (use one integer per block)");
      }
    }
    return r.get_int_list(key, fallback);
  }
  return {r.get_int(key, 0)};
}

std::vector<bool> bool_or_list(const ConfigReader& r, const std::string& key,
                               const std::vector<bool>& fallback) {
  const Json& json = r.json();
  if (!json.contains(key) || json.at(key).is_null()) return fallback;
  const Json& value = json.at(key);
  if (value.is_boolean()) return {value.get<bool>()};
  if (!value.is_array()) r.fail(key, "must be a boolean or a list of booleans");
  std::vector<bool> out;
  for (const auto& entry : value) {
    if (!entry.is_boolean()) r.fail(key, "must be a boolean or a list of booleans");
    out.push_back(entry.get<bool>());
  }
  return out;
}

bool is_cross_attention_block(const std::string& type) {
  return type.find("CrossAttn") != std::string::npos;
}

}  // namespace

// ------------------------------------------------------------------------------------------ config

int64_t UNet2DConditionModelConfig::per_block(const std::vector<int64_t>& values, size_t block) {
  return values.size() == 1 ? values.front() : values.at(block);
}

UNet2DConditionModelConfig UNet2DConditionModelConfig::from_json(const Json& json,
                                                                 const std::string& source) {
  if (!json.is_object()) throw Error(source + ": expected a JSON object");
  const ConfigReader r(json, source);
  UNet2DConditionModelConfig c;
  if (r.has("sample_size")) {
    if (json.at("sample_size").is_array()) {
      c.sample_size = r.get_int_list("sample_size", {});
      if (c.sample_size.size() != 2) {
        r.fail("sample_size", "must be an integer or [height, width], has " +
                                  count(c.sample_size.size()) + " entries");
      }
    } else {
      c.sample_size = {r.get_int("sample_size", 0)};
    }
  }
  c.in_channels = r.get_int("in_channels", c.in_channels);
  c.out_channels = r.get_int("out_channels", c.out_channels);
  c.center_input_sample = r.get_bool("center_input_sample", c.center_input_sample);
  c.flip_sin_to_cos = r.get_bool("flip_sin_to_cos", c.flip_sin_to_cos);
  c.freq_shift = r.get_double("freq_shift", c.freq_shift);
  c.down_block_types = r.get_string_list("down_block_types", c.down_block_types);
  if (json.contains("mid_block_type")) c.mid_block_type = r.get_optional_string("mid_block_type");
  c.up_block_types = r.get_string_list("up_block_types", c.up_block_types);
  c.only_cross_attention = bool_or_list(r, "only_cross_attention", c.only_cross_attention);
  c.block_out_channels = r.get_int_list("block_out_channels", c.block_out_channels);
  c.layers_per_block = int_or_list(r, "layers_per_block", c.layers_per_block);
  c.downsample_padding = r.get_int("downsample_padding", c.downsample_padding);
  c.mid_block_scale_factor = r.get_double("mid_block_scale_factor", c.mid_block_scale_factor);
  c.dropout = r.get_double("dropout", c.dropout);
  c.act_fn = r.get_string("act_fn", c.act_fn);
  if (json.contains("norm_num_groups") && json.at("norm_num_groups").is_null()) {
    r.fail("norm_num_groups", "null (no output GroupNorm) is not supported");
  }
  c.norm_num_groups = r.get_int("norm_num_groups", c.norm_num_groups);
  c.norm_eps = r.get_double("norm_eps", c.norm_eps);
  c.cross_attention_dim = int_or_list(r, "cross_attention_dim", c.cross_attention_dim);
  c.transformer_layers_per_block =
      int_or_list(r, "transformer_layers_per_block", c.transformer_layers_per_block);
  if (r.has("reverse_transformer_layers_per_block")) {
    r.fail("reverse_transformer_layers_per_block", "is not supported (must be null)");
  }
  c.attention_head_dim = int_or_list(r, "attention_head_dim", c.attention_head_dim);
  if (r.has("num_attention_heads")) {
    c.num_attention_heads = int_or_list(r, "num_attention_heads", {});
  }
  c.dual_cross_attention = r.get_bool("dual_cross_attention", c.dual_cross_attention);
  c.use_linear_projection = r.get_bool("use_linear_projection", c.use_linear_projection);
  c.class_embed_type = r.get_optional_string("class_embed_type");
  c.num_class_embeds = r.get_optional_int("num_class_embeds");
  c.projection_class_embeddings_input_dim =
      r.get_optional_int("projection_class_embeddings_input_dim");
  c.class_embeddings_concat = r.get_bool("class_embeddings_concat", c.class_embeddings_concat);
  c.addition_embed_type = r.get_optional_string("addition_embed_type");
  c.encoder_hid_dim_type = r.get_optional_string("encoder_hid_dim_type");
  c.encoder_hid_dim = r.get_optional_int("encoder_hid_dim");
  c.upcast_attention = r.get_bool("upcast_attention", c.upcast_attention);
  c.resnet_time_scale_shift = r.get_string("resnet_time_scale_shift", c.resnet_time_scale_shift);
  c.time_embedding_type = r.get_string("time_embedding_type", c.time_embedding_type);
  c.time_embedding_dim = r.get_optional_int("time_embedding_dim");
  c.time_embedding_act_fn = r.get_optional_string("time_embedding_act_fn");
  c.timestep_post_act = r.get_optional_string("timestep_post_act");
  c.time_cond_proj_dim = r.get_optional_int("time_cond_proj_dim");
  c.conv_in_kernel = r.get_int("conv_in_kernel", c.conv_in_kernel);
  c.conv_out_kernel = r.get_int("conv_out_kernel", c.conv_out_kernel);
  c.attention_type = r.get_string("attention_type", c.attention_type);
  if (r.has("mid_block_only_cross_attention")) {
    c.mid_block_only_cross_attention = r.get_bool("mid_block_only_cross_attention", false);
  }
  c.validate(source);
  return c;
}

void UNet2DConditionModelConfig::validate(const std::string& source) const {
  const Json empty = Json::object();
  const ConfigReader r(empty, source);
  const size_t n = down_block_types.size();
  if (n == 0) r.fail("down_block_types", "must not be empty");
  if (up_block_types.size() != n) {
    r.fail("up_block_types", "must have as many entries as down_block_types (" + count(n) +
                                 "), has " + count(up_block_types.size()));
  }
  if (block_out_channels.size() != n) {
    r.fail("block_out_channels", "must have " + count(n) +
                                     " entries (one per down_block_types), has " +
                                     count(block_out_channels.size()));
  }
  const auto check_per_block = [&](const char* key, size_t size) {
    if (size != 1 && size != n) {
      r.fail(key, "must be a single value or have " + count(n) +
                      " entries (one per down_block_types), has " + count(size));
    }
  };
  check_per_block("only_cross_attention", only_cross_attention.size());
  check_per_block("layers_per_block", layers_per_block.size());
  check_per_block("cross_attention_dim", cross_attention_dim.size());
  check_per_block("transformer_layers_per_block", transformer_layers_per_block.size());
  check_per_block("attention_head_dim", attention_head_dim.size());

  for (size_t i = 0; i < n; ++i) {
    if (!is_supported_condition_down_block(down_block_types[i])) {
      r.fail("down_block_types", "entry " + count(i) + " \"" + down_block_types[i] +
                                     "\" is not a supported block type (CrossAttnDownBlock2D, "
                                     "DownBlock2D)");
    }
    if (!is_supported_condition_up_block(up_block_types[i])) {
      r.fail("up_block_types", "entry " + count(i) + " \"" + up_block_types[i] +
                                   "\" is not a supported block type (CrossAttnUpBlock2D, "
                                   "UpBlock2D)");
    }
  }
  if (mid_block_type && !is_supported_condition_mid_block(*mid_block_type)) {
    r.fail("mid_block_type", "\"" + *mid_block_type +
                                 "\" is not supported (UNetMidBlock2DCrossAttn, UNetMidBlock2D "
                                 "or null)");
  }
  if (norm_num_groups <= 0) r.fail("norm_num_groups", "must be positive");
  for (size_t i = 0; i < block_out_channels.size(); ++i) {
    const int64_t channels = block_out_channels[i];
    if (channels <= 0) r.fail("block_out_channels", "entries must be positive");
    if (channels % norm_num_groups != 0) {
      r.fail("norm_num_groups", "(" + std::to_string(norm_num_groups) +
                                    ") must divide every block_out_channels entry, not " +
                                    std::to_string(channels));
    }
  }
  for (size_t i = 0; i < n && block_out_channels.size() == n; ++i) {
    if (per_block(layers_per_block, i) < 0) r.fail("layers_per_block", "must not be negative");
    if (per_block(transformer_layers_per_block, i) <= 0) {
      r.fail("transformer_layers_per_block", "entries must be positive");
    }
    if (per_block(cross_attention_dim, i) <= 0) {
      r.fail("cross_attention_dim", "entries must be positive");
    }
    // Heads are used by the cross-attention down block i and the up block mirroring it.
    const bool uses_heads = is_cross_attention_block(down_block_types[i]) ||
                            is_cross_attention_block(up_block_types[n - 1 - i]) ||
                            (i + 1 == n && mid_block_type == "UNetMidBlock2DCrossAttn");
    const int64_t heads = per_block(attention_head_dim, i);
    if (uses_heads && (heads <= 0 || block_out_channels[i] % heads != 0)) {
      r.fail("attention_head_dim", "(the number of heads, " + std::to_string(heads) +
                                       ") must divide block_out_channels[" + count(i) +
                                       "] = " + std::to_string(block_out_channels[i]));
    }
  }
  if (!num_attention_heads.empty()) {
    r.fail("num_attention_heads",
           "is rejected by diffusers 0.27 (set attention_head_dim, which UNet2DConditionModel "
           "reads as the number of heads)");
  }
  if (dual_cross_attention) r.fail("dual_cross_attention", "true is not supported");
  if (in_channels <= 0) r.fail("in_channels", "must be positive");
  if (out_channels <= 0) r.fail("out_channels", "must be positive");
  if (downsample_padding < 0) r.fail("downsample_padding", "must not be negative");
  if (conv_in_kernel <= 0 || conv_in_kernel % 2 == 0) {
    r.fail("conv_in_kernel",
           "must be a positive odd integer, not " + std::to_string(conv_in_kernel));
  }
  if (conv_out_kernel <= 0 || conv_out_kernel % 2 == 0) {
    r.fail("conv_out_kernel",
           "must be a positive odd integer, not " + std::to_string(conv_out_kernel));
  }
  if (time_embedding_type != "positional") {
    r.fail("time_embedding_type",
           "\"" + time_embedding_type + "\" is not supported (only \"positional\")");
  }
  if (time_embedding_dim && *time_embedding_dim <= 0) {
    r.fail("time_embedding_dim", "must be positive");
  }
  if (time_cond_proj_dim && *time_cond_proj_dim <= 0) {
    r.fail("time_cond_proj_dim", "must be positive");
  }
  if (resnet_time_scale_shift != "default" && resnet_time_scale_shift != "scale_shift") {
    r.fail("resnet_time_scale_shift",
           "must be \"default\" or \"scale_shift\", not \"" + resnet_time_scale_shift + "\"");
  }
  if (class_embed_type && *class_embed_type != "timestep" && *class_embed_type != "identity" &&
      *class_embed_type != "projection" && *class_embed_type != "simple_projection") {
    r.fail("class_embed_type",
           "must be null, \"timestep\", \"identity\", \"projection\" or "
           "\"simple_projection\", not \"" +
               *class_embed_type + "\"");
  }
  if (class_embed_type &&
      (*class_embed_type == "projection" || *class_embed_type == "simple_projection") &&
      (!projection_class_embeddings_input_dim || *projection_class_embeddings_input_dim <= 0)) {
    r.fail("projection_class_embeddings_input_dim",
           "must be a positive integer when class_embed_type is \"" + *class_embed_type + "\"");
  }
  if (num_class_embeds && *num_class_embeds <= 0) r.fail("num_class_embeds", "must be positive");
  if (addition_embed_type) {
    r.fail("addition_embed_type", "\"" + *addition_embed_type +
                                      "\" is not supported yet (SDXL / Kandinsky-style added "
                                      "embeddings); only null");
  }
  if (encoder_hid_dim_type || encoder_hid_dim) {
    r.fail(encoder_hid_dim_type ? "encoder_hid_dim_type" : "encoder_hid_dim",
           "is not supported (encoder_hid_proj); must be null");
  }
  if (attention_type != "default") {
    r.fail("attention_type", "\"" + attention_type + "\" is not supported (only \"default\")");
  }
  get_activation(act_fn, source + ": act_fn");
  if (time_embedding_act_fn)
    get_activation(*time_embedding_act_fn, source + ": time_embedding_act_fn");
  if (timestep_post_act) get_activation(*timestep_post_act, source + ": timestep_post_act");
}

// ------------------------------------------------------------------------------------------- model

UNet2DConditionModelImpl::UNet2DConditionModelImpl(const UNet2DConditionModelConfig& config)
    : config_(config) {
  const auto& c = config_;
  c.validate("UNet2DConditionModel config");
  const size_t n = c.block_out_channels.size();
  const int64_t c0 = c.block_out_channels.front();
  const auto per_block = [](const std::vector<int64_t>& v, size_t i) {
    return UNet2DConditionModelConfig::per_block(v, i);
  };
  const auto only_cross = [&](size_t i) {
    return c.only_cross_attention.size() == 1 ? c.only_cross_attention.front()
                                              : c.only_cross_attention.at(i);
  };

  conv_in_ = register_module("conv_in",
                             Conv2d(torch::nn::Conv2dOptions(c.in_channels, c0, c.conv_in_kernel)
                                        .padding((c.conv_in_kernel - 1) / 2)));

  const int64_t time_embed_dim = c.time_embedding_dim.value_or(c0 * 4);
  const int64_t timestep_input_dim = c0;
  time_proj_ = register_module("time_proj", Timesteps(c0, c.flip_sin_to_cos, c.freq_shift));
  TimestepEmbeddingOptions t;
  t.in_channels = timestep_input_dim;
  t.time_embed_dim = time_embed_dim;
  t.act_fn = c.act_fn;
  t.post_act_fn = c.timestep_post_act;
  t.cond_proj_dim = c.time_cond_proj_dim;
  time_embedding_ = register_module("time_embedding", TimestepEmbedding(t));

  if (!c.class_embed_type && c.num_class_embeds) {
    class_embedding_table_ = register_module(
        "class_embedding", torch::nn::Embedding(*c.num_class_embeds, time_embed_dim));
  } else if (c.class_embed_type == "timestep") {
    TimestepEmbeddingOptions ct;
    ct.in_channels = timestep_input_dim;
    ct.time_embed_dim = time_embed_dim;
    ct.act_fn = c.act_fn;
    class_embedding_mlp_ = register_module("class_embedding", TimestepEmbedding(ct));
  } else if (c.class_embed_type == "identity") {
    class_identity_ = true;
  } else if (c.class_embed_type == "projection") {
    class_embedding_mlp_ = register_module(
        "class_embedding",
        TimestepEmbedding(*c.projection_class_embeddings_input_dim, time_embed_dim));
  } else if (c.class_embed_type == "simple_projection") {
    class_embedding_linear_ = register_module(
        "class_embedding",
        torch::nn::Linear(*c.projection_class_embeddings_input_dim, time_embed_dim));
  }
  if (c.time_embedding_act_fn) {
    time_embed_act_ = get_activation(*c.time_embedding_act_fn, "time_embedding_act_fn");
  }
  const int64_t blocks_time_embed_dim =
      c.class_embeddings_concat ? 2 * time_embed_dim : time_embed_dim;

  CrossAttnBlockOptions base;
  base.temb_channels = blocks_time_embed_dim;
  base.resnet_eps = c.norm_eps;
  base.resnet_act_fn = c.act_fn;
  base.resnet_groups = c.norm_num_groups;
  base.downsample_padding = c.downsample_padding;
  base.resnet_time_scale_shift = c.resnet_time_scale_shift;
  base.dropout = c.dropout;
  base.dual_cross_attention = c.dual_cross_attention;
  base.use_linear_projection = c.use_linear_projection;
  base.upcast_attention = c.upcast_attention;

  torch::nn::ModuleList down_blocks;
  int64_t output_channel = c0;
  for (size_t i = 0; i < n; ++i) {
    CrossAttnBlockOptions o = base;
    o.num_layers = per_block(c.layers_per_block, i);
    o.transformer_layers_per_block = per_block(c.transformer_layers_per_block, i);
    o.in_channels = output_channel;
    output_channel = c.block_out_channels[i];
    o.out_channels = output_channel;
    o.add_sample = i + 1 != n;
    o.cross_attention_dim = per_block(c.cross_attention_dim, i);
    o.num_attention_heads = per_block(c.attention_head_dim, i);
    o.attention_head_dim = o.num_attention_heads;
    o.only_cross_attention = only_cross(i);
    down_blocks_.push_back(
        get_condition_down_block(c.down_block_types[i], o, "down_block_types[" + count(i) + "]"));
    down_blocks->push_back(down_blocks_.back());
  }
  register_module("down_blocks", down_blocks);

  // diffusers registers up_blocks (empty) before mid_block, so mid_block's keys come last.
  const std::vector<int64_t> reversed_channels(c.block_out_channels.rbegin(),
                                               c.block_out_channels.rend());
  torch::nn::ModuleList up_blocks;
  output_channel = reversed_channels.front();
  for (size_t i = 0; i < n; ++i) {
    const size_t mirror = n - 1 - i;  // index into the non-reversed per-block lists
    CrossAttnBlockOptions o = base;
    o.num_layers = per_block(c.layers_per_block, mirror) + 1;
    o.transformer_layers_per_block = per_block(c.transformer_layers_per_block, mirror);
    o.prev_output_channel = output_channel;
    output_channel = reversed_channels[i];
    o.out_channels = output_channel;
    o.in_channels = reversed_channels[std::min(i + 1, n - 1)];
    o.add_sample = i + 1 != n;
    if (o.add_sample) ++num_upsamplers_;
    o.cross_attention_dim = per_block(c.cross_attention_dim, mirror);
    o.num_attention_heads = per_block(c.attention_head_dim, mirror);
    o.attention_head_dim = o.num_attention_heads;
    o.only_cross_attention = only_cross(mirror);
    up_blocks_.push_back(
        get_condition_up_block(c.up_block_types[i], o, "up_block_types[" + count(i) + "]"));
    up_blocks->push_back(up_blocks_.back());
  }
  register_module("up_blocks", up_blocks);

  if (c.mid_block_type) {
    UNetMidBlock2DCrossAttnOptions m;
    m.in_channels = c.block_out_channels.back();
    m.temb_channels = blocks_time_embed_dim;
    m.dropout = c.dropout;
    m.transformer_layers_per_block = per_block(c.transformer_layers_per_block, n - 1);
    m.resnet_eps = c.norm_eps;
    m.resnet_time_scale_shift = c.resnet_time_scale_shift;
    m.resnet_act_fn = c.act_fn;
    m.resnet_groups = c.norm_num_groups;
    m.num_attention_heads = per_block(c.attention_head_dim, n - 1);
    m.output_scale_factor = c.mid_block_scale_factor;
    m.cross_attention_dim = per_block(c.cross_attention_dim, n - 1);
    m.dual_cross_attention = c.dual_cross_attention;
    m.use_linear_projection = c.use_linear_projection;
    m.upcast_attention = c.upcast_attention;
    mid_block_ = register_module("mid_block",
                                 get_condition_mid_block(*c.mid_block_type, m, "mid_block_type"));
  }

  conv_norm_out_ = register_module(
      "conv_norm_out",
      torch::nn::GroupNorm(torch::nn::GroupNormOptions(c.norm_num_groups, c0).eps(c.norm_eps)));
  conv_act_ = get_activation(c.act_fn);
  conv_out_ = register_module("conv_out",
                              Conv2d(torch::nn::Conv2dOptions(c0, c.out_channels, c.conv_out_kernel)
                                         .padding((c.conv_out_kernel - 1) / 2)));
}

void UNet2DConditionModelImpl::set_activation_recorder(ActivationRecorder* recorder) {
  recorder_ = recorder;
  for (size_t i = 0; i < down_blocks_.size(); ++i) {
    down_blocks_[i]->set_activation_recorder(recorder, "down_blocks." + count(i));
  }
  for (size_t i = 0; i < up_blocks_.size(); ++i) {
    up_blocks_[i]->set_activation_recorder(recorder, "up_blocks." + count(i));
  }
  if (mid_block_) mid_block_->set_activation_recorder(recorder, "mid_block");
}

at::Tensor UNet2DConditionModelImpl::forward(const at::Tensor& sample, int64_t timestep,
                                             const at::Tensor& encoder_hidden_states) {
  return forward(sample,
                 at::tensor(std::vector<int64_t>{timestep},
                            at::TensorOptions().dtype(at::kLong).device(sample.device())),
                 encoder_hidden_states);
}

at::Tensor UNet2DConditionModelImpl::forward(const at::Tensor& sample, double timestep,
                                             const at::Tensor& encoder_hidden_states) {
  return forward(sample,
                 at::tensor(std::vector<double>{timestep},
                            at::TensorOptions().dtype(at::kDouble).device(sample.device())),
                 encoder_hidden_states);
}

at::Tensor UNet2DConditionModelImpl::forward(const at::Tensor& sample_in,
                                             const at::Tensor& timestep,
                                             const at::Tensor& encoder_hidden_states,
                                             const at::Tensor& class_labels_in,
                                             const at::Tensor& timestep_cond,
                                             const at::Tensor& attention_mask_in,
                                             const at::Tensor& encoder_attention_mask_in) {
  const AttentionScratchScope attention_scratch;  // one score buffer for all its attentions
  const auto& c = config_;
  if (sample_in.dim() != 4) {
    throw Error("UNet2DConditionModel: sample must be [batch, channels, height, width], got " +
                std::to_string(sample_in.dim()) + " dimensions");
  }
  if (!encoder_hidden_states.defined() || encoder_hidden_states.dim() != 3) {
    throw Error("UNet2DConditionModel: encoder_hidden_states must be [batch, tokens, dim]");
  }
  const auto dtype = sample_in.scalar_type();

  // Latent sizes that are not a multiple of 2^upsamplers: each upsampler resizes to its skip.
  const int64_t overall_up_factor = int64_t{1} << num_upsamplers_;
  const bool forward_upsample_size =
      sample_in.size(-2) % overall_up_factor != 0 || sample_in.size(-1) % overall_up_factor != 0;

  CrossAttentionContext context;
  context.encoder_hidden_states = encoder_hidden_states;
  if (attention_mask_in.defined()) {
    context.attention_mask = ((1 - attention_mask_in.to(dtype)) * -10000.0).unsqueeze(1);
  }
  if (encoder_attention_mask_in.defined()) {
    context.encoder_attention_mask =
        ((1 - encoder_attention_mask_in.to(dtype)) * -10000.0).unsqueeze(1);
  }

  at::Tensor sample = sample_in;
  if (c.center_input_sample) sample = 2 * sample - 1.0;

  // 1. time
  at::Tensor timesteps = timestep;
  if (timesteps.dim() == 0) timesteps = timesteps.unsqueeze(0).to(sample.device());
  timesteps = timesteps.expand({sample.size(0)});
  at::Tensor t_emb = time_proj_->forward(timesteps);
  record_activation(recorder_, "time_proj", t_emb);
  t_emb = t_emb.to(dtype);
  at::Tensor emb = time_embedding_->forward(t_emb, timestep_cond);
  record_activation(recorder_, "time_embedding", emb);

  const bool has_class_embedding =
      class_embedding_table_ || class_embedding_mlp_ || class_embedding_linear_ || class_identity_;
  if (has_class_embedding) {
    if (!class_labels_in.defined()) {
      throw Error("UNet2DConditionModel: class_labels must be given for a class-conditional model");
    }
    at::Tensor class_labels = class_labels_in;
    at::Tensor class_emb;
    if (class_embedding_table_) {
      class_emb = class_embedding_table_->forward(class_labels);
    } else if (class_embedding_mlp_) {
      if (c.class_embed_type == "timestep")
        class_labels = time_proj_->forward(class_labels).to(dtype);
      class_emb = class_embedding_mlp_->forward(class_labels);
    } else if (class_embedding_linear_) {
      class_emb = class_embedding_linear_->forward(class_labels);
    } else {
      class_emb = class_labels;
    }
    class_emb = class_emb.to(dtype);
    record_activation(recorder_, "class_embedding", class_emb);
    emb = c.class_embeddings_concat ? at::cat({emb, class_emb}, -1) : emb + class_emb;
  } else if (class_labels_in.defined()) {
    throw Error(
        "UNet2DConditionModel: class_labels were given but the model has no class "
        "embedding");
  }
  if (time_embed_act_) emb = apply_activation(*time_embed_act_, emb);

  // 2. pre-process
  sample = conv_in_->forward(sample);
  record_activation(recorder_, "conv_in", sample);

  // 3. down
  std::vector<at::Tensor> res_samples{sample};
  for (size_t i = 0; i < down_blocks_.size(); ++i) {
    DownBlockOutput out;
    if (auto* cross = dynamic_cast<CrossAttnDownBlock2DImpl*>(down_blocks_[i].get())) {
      out = cross->forward_cross_attention(sample, emb, context);
    } else {
      out = down_blocks_[i]->forward(sample, emb, at::Tensor());
    }
    sample = out.hidden_states;
    if (recorder_) recorder_->record("down_blocks." + count(i), sample);
    res_samples.insert(res_samples.end(), std::make_move_iterator(out.res_samples.begin()),
                       std::make_move_iterator(out.res_samples.end()));
  }

  // 4. mid
  if (mid_block_) {
    if (auto* cross = dynamic_cast<UNetMidBlock2DCrossAttnImpl*>(mid_block_.get())) {
      sample = cross->forward(sample, emb, context);
    } else {
      sample = dynamic_cast<UNetMidBlock2DImpl&>(*mid_block_).forward(sample, emb);
    }
    record_activation(recorder_, "mid_block", sample);
  }

  // 5. up
  std::vector<int64_t> upsample_size;
  for (size_t i = 0; i < up_blocks_.size(); ++i) {
    const bool is_final_block = i + 1 == up_blocks_.size();
    const size_t take = up_blocks_[i]->num_resnets();
    if (take > res_samples.size()) {
      throw Error("UNet2DConditionModel: up_blocks." + count(i) + " needs " + count(take) +
                  " skip tensors, only " + count(res_samples.size()) + " are left");
    }
    std::vector<at::Tensor> block_res(res_samples.end() - static_cast<std::ptrdiff_t>(take),
                                      res_samples.end());
    res_samples.resize(res_samples.size() - take);
    if (!is_final_block && forward_upsample_size && !res_samples.empty()) {
      const auto sizes = res_samples.back().sizes();
      upsample_size = {sizes[2], sizes[3]};
    }
    if (auto* cross = dynamic_cast<CrossAttnUpBlock2DImpl*>(up_blocks_[i].get())) {
      sample = cross->forward_cross_attention(sample, block_res, emb, context, upsample_size);
    } else if (auto* plain = dynamic_cast<UpBlock2DImpl*>(up_blocks_[i].get())) {
      sample =
          plain->forward_with_upsample_size(sample, block_res, emb, upsample_size).hidden_states;
    } else {
      sample = up_blocks_[i]->forward(sample, block_res, emb, at::Tensor()).hidden_states;
    }
    if (recorder_) recorder_->record("up_blocks." + count(i), sample);
  }

  // 6. post-process
  sample = norm_forward(*conv_norm_out_, sample);
  record_activation(recorder_, "conv_norm_out", sample);
  sample = apply_activation(conv_act_, sample);
  sample = conv_out_->forward(sample);
  record_activation(recorder_, "conv_out", sample);
  return sample;
}

// ----------------------------------------------------------------------------------------- loading

UNet2DConditionModel load_unet_2d_condition_model(const std::string& component_dir,
                                                  const std::string& variant, at::ScalarType dtype,
                                                  at::Device device) {
  const std::string config_path = component_dir + "/config.json";
  const UNet2DConditionModelConfig config =
      UNet2DConditionModelConfig::from_json(read_json_file(config_path), config_path);
  auto model = build_for_loading([&] { return UNet2DConditionModel(config); });
  model->to(device, dtype);
  load_component_weights(*model, component_dir, {"diffusion_pytorch_model"}, variant);
  model->eval();
  return model;
}

}  // namespace papillon
