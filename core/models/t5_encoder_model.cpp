#include "core/models/t5_encoder_model.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "core/io/state_dict.h"
#include "core/io/weights.h"
#include "core/models/skip_init.h"
#include "core/util/error.h"

namespace papillon {

namespace {

// torch.finfo(dtype).min / .max.
double finfo_min(at::ScalarType dtype) {
  switch (dtype) {
    case at::kDouble:
      return std::numeric_limits<double>::lowest();
    case at::kHalf:
      return -65504.0;
    case at::kBFloat16:
      return -3.3895313892515355e38;
    default:
      return static_cast<double>(std::numeric_limits<float>::lowest());
  }
}

constexpr char kEmbedTokens[] = "encoder.embed_tokens.weight";
constexpr char kShared[] = "shared.weight";

}  // namespace

// ------------------------------------------------------------------------------------------ config

T5Config T5Config::from_json(const Json& json, const std::string& source) {
  const ConfigReader r(json, source);
  T5Config c;
  c.vocab_size = r.get_int("vocab_size", c.vocab_size);
  c.d_model = r.get_int("d_model", c.d_model);
  c.d_kv = r.get_int("d_kv", c.d_kv);
  c.d_ff = r.get_int("d_ff", c.d_ff);
  c.num_layers = r.get_int("num_layers", c.num_layers);
  c.num_heads = r.get_int("num_heads", c.num_heads);
  c.relative_attention_num_buckets =
      r.get_int("relative_attention_num_buckets", c.relative_attention_num_buckets);
  c.relative_attention_max_distance =
      r.get_int("relative_attention_max_distance", c.relative_attention_max_distance);
  c.dropout_rate = r.get_double("dropout_rate", c.dropout_rate);
  c.layer_norm_epsilon = r.get_double("layer_norm_epsilon", c.layer_norm_epsilon);
  c.feed_forward_proj = r.get_string("feed_forward_proj", c.feed_forward_proj);
  c.pad_token_id = r.get_int("pad_token_id", c.pad_token_id);
  c.eos_token_id = r.get_int("eos_token_id", c.eos_token_id);

  // T5Config.__init__: "gated-{ACT}" or "{ACT}"; "gated-gelu" means gelu_new.
  const std::string& proj = c.feed_forward_proj;
  const size_t dash = proj.find('-');
  const bool gated = dash != std::string::npos && proj.substr(0, dash) == "gated";
  if ((dash != std::string::npos && !gated) ||
      (dash != std::string::npos && proj.find('-', dash + 1) != std::string::npos)) {
    r.fail("feed_forward_proj", "\"" + proj +
                                    "\" is not a valid activation of the dense layer (expected "
                                    "\"gated-{ACT_FN}\" or \"{ACT_FN}\", e.g. \"gated-gelu\")");
  }
  c.dense_act_fn = gated ? proj.substr(dash + 1) : proj;
  c.is_gated_act = gated;
  if (proj == "gated-gelu") c.dense_act_fn = "gelu_new";
  // PretrainedConfig sets the remaining keys after __init__: stored values win.
  c.dense_act_fn = r.get_string("dense_act_fn", c.dense_act_fn);
  c.is_gated_act = r.get_bool("is_gated_act", c.is_gated_act);
  c.validate(source);
  return c;
}

void T5Config::validate(const std::string& source) const {
  const Json empty = Json::object();
  const ConfigReader r(empty, source);
  const std::pair<const char*, int64_t> positive[] = {
      {"vocab_size", vocab_size},
      {"d_model", d_model},
      {"d_kv", d_kv},
      {"d_ff", d_ff},
      {"num_heads", num_heads},
      {"relative_attention_num_buckets", relative_attention_num_buckets},
      {"relative_attention_max_distance", relative_attention_max_distance}};
  for (const auto& [key, value] : positive) {
    if (value <= 0) r.fail(key, "must be positive, not " + std::to_string(value));
  }
  // Bounds that keep a hostile config from allocating without limit before any weight is read.
  if (num_layers < 0 || num_layers > 1000) r.fail("num_layers", "must be between 0 and 1000");
  if (relative_attention_num_buckets < 4)
    r.fail("relative_attention_num_buckets", "must be at least 4");
  if (relative_attention_max_distance <= relative_attention_num_buckets / 4)
    r.fail("relative_attention_max_distance",
           "must exceed relative_attention_num_buckets / 4 (the exact range)");
  if (!(layer_norm_epsilon > 0)) r.fail("layer_norm_epsilon", "must be positive");
  get_transformers_activation(dense_act_fn, source + ": dense_act_fn");
}

// ----------------------------------------------------------------------------------------- layers

T5LayerNormImpl::T5LayerNormImpl(int64_t hidden_size, double eps) : eps_(eps) {
  weight_ = register_parameter("weight", torch::ones({hidden_size}));
}

at::Tensor T5LayerNormImpl::forward(const at::Tensor& hidden_states) {
  const at::Tensor variance = hidden_states.to(at::kFloat).pow(2).mean(-1, /*keepdim=*/true);
  at::Tensor h = hidden_states * at::rsqrt(variance + eps_);
  const auto wdtype = weight_.scalar_type();
  if (wdtype == at::kHalf || wdtype == at::kBFloat16) h = h.to(wdtype);
  return weight_ * h;
}

T5AttentionImpl::T5AttentionImpl(const T5Config& c, bool has_relative_attention_bias)
    : n_heads_(c.num_heads),
      key_value_proj_dim_(c.d_kv),
      num_buckets_(c.relative_attention_num_buckets),
      max_distance_(c.relative_attention_max_distance) {
  const int64_t inner_dim = n_heads_ * key_value_proj_dim_;
  const auto linear = [](int64_t in, int64_t out) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
  };
  q_ = register_module("q", linear(c.d_model, inner_dim));
  k_ = register_module("k", linear(c.d_model, inner_dim));
  v_ = register_module("v", linear(c.d_model, inner_dim));
  o_ = register_module("o", linear(inner_dim, c.d_model));
  if (has_relative_attention_bias) {
    relative_attention_bias_ =
        register_module("relative_attention_bias", torch::nn::Embedding(num_buckets_, n_heads_));
  }
}

at::Tensor T5AttentionImpl::relative_position_bucket(const at::Tensor& relative_position_in,
                                                     bool bidirectional, int64_t num_buckets,
                                                     int64_t max_distance) {
  at::Tensor relative_buckets = at::zeros_like(relative_position_in);
  at::Tensor relative_position = relative_position_in;
  if (bidirectional) {
    num_buckets /= 2;
    relative_buckets = relative_buckets + (relative_position > 0).to(at::kLong) * num_buckets;
    relative_position = relative_position.abs();
  } else {
    relative_position = -at::minimum(relative_position, at::zeros_like(relative_position));
  }
  // Half the buckets are exact increments; the other half grow logarithmically up to
  // max_distance (float32 log, truncated), capped at num_buckets - 1.
  const int64_t max_exact = num_buckets / 2;
  const at::Tensor is_small = relative_position < max_exact;
  at::Tensor if_large =
      max_exact + (at::log(relative_position.to(at::kFloat) / static_cast<double>(max_exact)) /
                   std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)) *
                   static_cast<double>(num_buckets - max_exact))
                      .to(at::kLong);
  if_large = at::minimum(if_large, at::full_like(if_large, num_buckets - 1));
  return relative_buckets + at::where(is_small, relative_position, if_large);
}

at::Tensor T5AttentionImpl::compute_bias(int64_t query_length, int64_t key_length) {
  if (!has_relative_attention_bias())
    throw Error("T5Attention.compute_bias: this layer has no relative_attention_bias");
  const auto device = relative_attention_bias_->weight.device();
  const auto options = at::TensorOptions().dtype(at::kLong).device(device);
  const at::Tensor context_position = at::arange(query_length, options).unsqueeze(1);
  const at::Tensor memory_position = at::arange(key_length, options).unsqueeze(0);
  const at::Tensor buckets = relative_position_bucket(
      memory_position - context_position, /*bidirectional=*/true, num_buckets_, max_distance_);
  // [q, k, H] -> [1, H, q, k]
  return relative_attention_bias_->forward(buckets).permute({2, 0, 1}).unsqueeze(0);
}

at::Tensor T5AttentionImpl::forward(const at::Tensor& hidden_states,
                                    const at::Tensor& position_bias, at::Tensor* weights) {
  const int64_t batch = hidden_states.size(0), seq = hidden_states.size(1);
  const auto shape = [&](const at::Tensor& t) {
    return t.view({batch, -1, n_heads_, key_value_proj_dim_}).transpose(1, 2);
  };
  const at::Tensor query = shape(q_->forward(hidden_states));
  const at::Tensor key = shape(k_->forward(hidden_states));
  const at::Tensor value = shape(v_->forward(hidden_states));
  // No 1/sqrt(d_kv): T5 folds the scale into its initialisation.
  at::Tensor scores = at::matmul(query, key.transpose(3, 2));
  scores = scores + position_bias;
  const at::Tensor probs = at::softmax(scores.to(at::kFloat), -1).to(scores.scalar_type());
  if (weights != nullptr) *weights = probs;
  const at::Tensor out = at::matmul(probs, value)
                             .transpose(1, 2)
                             .contiguous()
                             .view({batch, seq, n_heads_ * key_value_proj_dim_});
  return o_->forward(out);
}

T5BlockImpl::T5BlockImpl(const T5Config& c, bool has_relative_attention_bias)
    : activation_(get_transformers_activation(c.dense_act_fn, "dense_act_fn")),
      gated_(c.is_gated_act) {
  const auto linear = [](int64_t in, int64_t out) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
  };
  torch::nn::ModuleList layers;
  auto attention_layer = std::make_shared<torch::nn::Module>();
  self_attention_ = attention_layer->register_module("SelfAttention",
                                                     T5Attention(c, has_relative_attention_bias));
  attention_norm_ =
      attention_layer->register_module("layer_norm", T5LayerNorm(c.d_model, c.layer_norm_epsilon));
  auto ff_layer = std::make_shared<torch::nn::Module>();
  auto dense = ff_layer->register_module("DenseReluDense", std::make_shared<torch::nn::Module>());
  if (gated_) {
    wi_0_ = dense->register_module("wi_0", linear(c.d_model, c.d_ff));
    wi_1_ = dense->register_module("wi_1", linear(c.d_model, c.d_ff));
  } else {
    wi_ = dense->register_module("wi", linear(c.d_model, c.d_ff));
  }
  wo_ = dense->register_module("wo", linear(c.d_ff, c.d_model));
  ff_norm_ = ff_layer->register_module("layer_norm", T5LayerNorm(c.d_model, c.layer_norm_epsilon));
  layers->push_back(attention_layer);
  layers->push_back(ff_layer);
  register_module("layer", layers);
}

namespace {

// fp16 only: clamp to ±(finfo.max − 1000) when something overflowed, else to ±finfo.max.
at::Tensor clamp_fp16(const at::Tensor& h) {
  if (h.scalar_type() != at::kHalf) return h;
  const double max = 65504.0;
  const double clamp_value = at::isinf(h).any().item<bool>() ? max - 1000 : max;
  return at::clamp(h, -clamp_value, clamp_value);
}

}  // namespace

at::Tensor T5BlockImpl::forward(const at::Tensor& hidden_states, const at::Tensor& position_bias,
                                at::Tensor* attention_weights) {
  at::Tensor h = hidden_states + self_attention_->forward(attention_norm_->forward(hidden_states),
                                                          position_bias, attention_weights);
  h = clamp_fp16(h);
  const at::Tensor normed = ff_norm_->forward(h);
  at::Tensor inner = gated_ ? apply_transformers_activation(activation_, wi_0_->forward(normed)) *
                                  wi_1_->forward(normed)
                            : apply_transformers_activation(activation_, wi_->forward(normed));
  if (inner.scalar_type() != wo_->weight.scalar_type()) inner = inner.to(wo_->weight.scalar_type());
  h = h + wo_->forward(inner);
  return clamp_fp16(h);
}

// ------------------------------------------------------------------------------------------ model

T5EncoderModelImpl::T5EncoderModelImpl(const T5Config& config) : config_(config) {
  config_.validate("T5EncoderModel config");
  shared_ = register_module("shared", torch::nn::Embedding(config_.vocab_size, config_.d_model));
  auto encoder = register_module("encoder", std::make_shared<torch::nn::Module>());
  encoder->register_module("embed_tokens", shared_);  // tied: the same module, the same tensor
  torch::nn::ModuleList blocks;
  for (int64_t i = 0; i < config_.num_layers; ++i) {
    blocks_.emplace_back(config_, /*has_relative_attention_bias=*/i == 0);
    blocks->push_back(blocks_.back());
  }
  encoder->register_module("block", blocks);
  final_layer_norm_ = encoder->register_module(
      "final_layer_norm", T5LayerNorm(config_.d_model, config_.layer_norm_epsilon));
}

T5EncoderOutput T5EncoderModelImpl::forward(const at::Tensor& input_ids_in,
                                            const at::Tensor& attention_mask_in,
                                            bool output_hidden_states, bool output_attentions) {
  if (!input_ids_in.defined() || input_ids_in.dim() < 1 || input_ids_in.dim() > 2)
    throw Error("T5EncoderModel: input_ids must be [batch, sequence] token ids");
  const at::Tensor input_ids =
      (input_ids_in.dim() == 1 ? input_ids_in.unsqueeze(0) : input_ids_in).to(at::kLong);
  const int64_t batch = input_ids.size(0), seq = input_ids.size(1);
  if (seq == 0 || batch == 0) throw Error("T5EncoderModel: input_ids is empty");
  if (blocks_.empty()) throw Error("T5EncoderModel: the model has no blocks (num_layers 0)");
  const int64_t min_id = input_ids.min().item<int64_t>();
  const int64_t max_id = input_ids.max().item<int64_t>();
  if (min_id < 0 || max_id >= config_.vocab_size) {
    throw Error("T5EncoderModel: token id " + std::to_string(min_id < 0 ? min_id : max_id) +
                " is outside the vocabulary (vocab_size " + std::to_string(config_.vocab_size) +
                ")");
  }
  const at::Tensor ids = input_ids.to(shared_->weight.device());

  at::Tensor hidden = shared_->forward(ids);  // T5 does not scale its embeddings
  const auto dtype = shared_->weight.scalar_type();

  // get_extended_attention_mask: (1 - mask) * finfo(dtype).min, [B, 1, 1, S].
  at::Tensor extended;
  if (attention_mask_in.defined()) {
    const at::Tensor mask = attention_mask_in.dim() == 1 && input_ids_in.dim() == 1
                                ? attention_mask_in.unsqueeze(0)
                                : attention_mask_in;
    if (mask.sizes() != input_ids.sizes())
      throw Error("T5EncoderModel: attention_mask must have the shape of input_ids");
    extended = (1.0 - mask.to(hidden.options()).unsqueeze(1).unsqueeze(1)) * finfo_min(dtype);
  } else {
    extended = at::zeros({batch, 1, 1, seq}, hidden.options());
  }
  // Block 0 computes the relative position bias; the mask is folded in and every block reuses it.
  const at::Tensor position_bias =
      blocks_[0]->self_attention()->compute_bias(seq, seq).to(dtype) + extended;

  T5EncoderOutput out;
  for (T5Block& block : blocks_) {
    if (output_hidden_states) out.hidden_states.push_back(hidden);
    at::Tensor weights;
    hidden = block->forward(hidden, position_bias, output_attentions ? &weights : nullptr);
    if (output_attentions) out.attentions.push_back(weights);
  }
  out.last_hidden_state = final_layer_norm_->forward(hidden);
  if (output_hidden_states) out.hidden_states.push_back(out.last_hidden_state);
  return out;
}

T5EncoderModel load_t5_encoder_model(const std::string& component_dir, at::ScalarType dtype,
                                     at::Device device) {
  const std::string config_path = component_dir + "/config.json";
  const T5Config config = T5Config::from_json(read_json_file(config_path), config_path);
  auto model = build_for_loading([&] { return T5EncoderModel(config); });
  model->to(device, dtype);
  const std::string weights_path = find_weights_file(component_dir, {"model", "pytorch_model"});
  LazyTensorList tensors = open_weights_file(weights_path);
  // T5EncoderModel._keys_to_ignore_on_load_unexpected = [r"decoder"]: a full T5 checkpoint loads.
  tensors.erase(
      std::remove_if(tensors.begin(), tensors.end(),
                     [](const LazyTensor& t) { return t.name.rfind("decoder.", 0) == 0; }),
      tensors.end());
  // The tied embedding is saved once (save_pretrained drops the alias): the other name is filled
  // by the same read, since both names are one tensor.
  const auto find = [&](const char* name) {
    return std::find_if(tensors.begin(), tensors.end(),
                        [&](const LazyTensor& t) { return t.name == name; });
  };
  const bool has_shared = find(kShared) != tensors.end();
  const bool has_embed = find(kEmbedTokens) != tensors.end();
  if (has_shared != has_embed) {
    LazyTensor alias = *find(has_shared ? kShared : kEmbedTokens);
    alias.name = has_shared ? kEmbedTokens : kShared;
    alias.read_into = [](const at::Tensor&) {};  // the tensor is filled through its twin
    tensors.push_back(std::move(alias));
  }
  load_state_dict(*model, tensors, weights_path);
  model->eval();
  return model;
}

}  // namespace papillon
