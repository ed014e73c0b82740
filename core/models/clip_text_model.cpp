#include "core/models/clip_text_model.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "core/io/state_dict.h"
#include "core/io/weights.h"
#include "core/models/activations.h"
#include "core/models/skip_init.h"
#include "core/util/error.h"

namespace papillon {

// ------------------------------------------------------------------------------------------ config

CLIPTextConfig CLIPTextConfig::from_json(const Json& json_in, const std::string& source) {
  if (!json_in.is_object()) throw Error(source + ": expected a JSON object");
  const Json* json = &json_in;
  if (json_in.contains("model_type") && json_in.at("model_type") == "clip") {
    if (!json_in.contains("text_config") || !json_in.at("text_config").is_object()) {
      throw Error(source + ": a CLIPModel config (model_type \"clip\") needs a text_config object");
    }
    json = &json_in.at("text_config");
  }
  const ConfigReader r(*json, source);
  CLIPTextConfig c;
  c.vocab_size = r.get_int("vocab_size", c.vocab_size);
  c.hidden_size = r.get_int("hidden_size", c.hidden_size);
  c.intermediate_size = r.get_int("intermediate_size", c.intermediate_size);
  c.projection_dim = r.get_int("projection_dim", c.projection_dim);
  c.num_hidden_layers = r.get_int("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = r.get_int("num_attention_heads", c.num_attention_heads);
  c.max_position_embeddings = r.get_int("max_position_embeddings", c.max_position_embeddings);
  c.hidden_act = r.get_string("hidden_act", c.hidden_act);
  c.layer_norm_eps = r.get_double("layer_norm_eps", c.layer_norm_eps);
  c.attention_dropout = r.get_double("attention_dropout", c.attention_dropout);
  c.pad_token_id = r.get_int("pad_token_id", c.pad_token_id);
  c.bos_token_id = r.get_int("bos_token_id", c.bos_token_id);
  c.eos_token_id = r.get_int("eos_token_id", c.eos_token_id);
  c.validate(source);
  return c;
}

void CLIPTextConfig::validate(const std::string& source) const {
  const Json empty = Json::object();
  const ConfigReader r(empty, source);
  const std::pair<const char*, int64_t> positive[] = {
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"intermediate_size", intermediate_size},
      {"num_attention_heads", num_attention_heads},
      {"max_position_embeddings", max_position_embeddings}};
  for (const auto& [key, value] : positive) {
    if (value <= 0) r.fail(key, "must be positive, not " + std::to_string(value));
  }
  if (num_hidden_layers < 0) r.fail("num_hidden_layers", "must not be negative");
  if (hidden_size % num_attention_heads != 0) {
    r.fail("num_attention_heads", "(" + std::to_string(num_attention_heads) +
                                      ") must divide hidden_size (" + std::to_string(hidden_size) +
                                      ")");
  }
  if (!(layer_norm_eps > 0)) r.fail("layer_norm_eps", "must be positive");
  get_transformers_activation(hidden_act, source + ": hidden_act");
}

// ------------------------------------------------------------------------------------ activations

TransformersActivation get_transformers_activation(const std::string& name,
                                                   const std::string& context) {
  using A = TransformersActivation;
  static const std::pair<const char*, A> table[] = {
      {"quick_gelu", A::kQuickGelu},
      {"gelu", A::kGelu},
      {"gelu_python", A::kGelu},  // the erf formula; same values as the built-in
      {"gelu_new", A::kGeluNew},
      {"gelu_fast", A::kGeluFast},
      {"gelu_pytorch_tanh", A::kGeluPytorchTanh},
      {"gelu_accurate", A::kGeluAccurate},
      {"gelu_10", A::kGelu10},
      {"relu", A::kRelu},
      {"relu2", A::kRelu2},
      {"relu6", A::kRelu6},
      {"leaky_relu", A::kLeakyRelu},
      {"silu", A::kSilu},
      {"swish", A::kSilu},
      {"mish", A::kMish},
      {"sigmoid", A::kSigmoid},
      {"tanh", A::kTanh},
      {"linear", A::kLinear},
      {"laplace", A::kLaplace},
  };
  for (const auto& [key, value] : table) {
    if (name == key) return value;
  }
  throw Error(context + ": unsupported activation \"" + name +
              "\" (expected one of transformers' ACT2FN names, e.g. quick_gelu, gelu, gelu_new)");
}

at::Tensor apply_transformers_activation(TransformersActivation activation, const at::Tensor& x) {
  using A = TransformersActivation;
  const double sqrt_2_over_pi = std::sqrt(2.0 / std::acos(-1.0));  // math.sqrt(2 / math.pi)
  switch (activation) {
    case A::kQuickGelu:
      return x * at::sigmoid(1.702 * x);
    case A::kGelu:
      return at::gelu(x);
    case A::kGeluNew:
      return 0.5 * x * (1.0 + at::tanh(sqrt_2_over_pi * (x + 0.044715 * at::pow(x, 3.0))));
    case A::kGeluFast:
      return 0.5 * x * (1.0 + at::tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)));
    case A::kGeluPytorchTanh:
      return at::gelu(x, "tanh");
    case A::kGeluAccurate:
      return 0.5 * x * (1 + at::tanh(sqrt_2_over_pi * (x + 0.044715 * at::pow(x, 3))));
    case A::kGelu10:
      return at::clip(at::gelu(x), -10, 10);
    case A::kRelu:
      return at::relu(x);
    case A::kRelu2:
      return at::square(at::relu(x));
    case A::kRelu6:
      return at::relu6(x);
    case A::kLeakyRelu:
      return at::leaky_relu(x, 0.01);
    case A::kSilu:
      return at::silu(x);
    case A::kMish:
      return at::mish(x);
    case A::kSigmoid:
      return at::sigmoid(x);
    case A::kTanh:
      return at::tanh(x);
    case A::kLinear:
      return x;
    case A::kLaplace: {
      const double mu = 0.707107, sigma = 0.282095;
      return 0.5 * (1.0 + at::erf((x - mu).div(sigma * std::sqrt(2.0))));
    }
  }
  throw Error("apply_transformers_activation: unknown activation");
}

// ----------------------------------------------------------------------------------------- layers

CLIPTextEmbeddingsImpl::CLIPTextEmbeddingsImpl(const CLIPTextConfig& c) {
  token_embedding_ =
      register_module("token_embedding", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  position_embedding_ = register_module(
      "position_embedding", torch::nn::Embedding(c.max_position_embeddings, c.hidden_size));
  // transformers 4.38 keeps position_ids = arange(max_position_embeddings) as a non-persistent
  // buffer; it is not part of the state dict, so it is computed in forward instead.
}

at::Tensor CLIPTextEmbeddingsImpl::forward(const at::Tensor& input_ids,
                                           ActivationRecorder* recorder) {
  const int64_t seq_length = input_ids.size(-1);
  const at::Tensor position_ids =
      at::arange(seq_length, input_ids.options().dtype(at::kLong)).unsqueeze(0);
  const at::Tensor inputs_embeds = token_embedding_->forward(input_ids);
  record_activation(recorder, "text_model.embeddings.token_embedding", inputs_embeds);
  const at::Tensor position_embeds = position_embedding_->forward(position_ids);
  record_activation(recorder, "text_model.embeddings.position_embedding", position_embeds);
  at::Tensor embeddings = inputs_embeds + position_embeds;
  record_activation(recorder, "text_model.embeddings", embeddings);
  return embeddings;
}

CLIPAttentionImpl::CLIPAttentionImpl(const CLIPTextConfig& c)
    : num_heads_(c.num_attention_heads), head_dim_(c.hidden_size / c.num_attention_heads) {
  scale_ = std::pow(static_cast<double>(head_dim_), -0.5);
  k_proj_ = register_module("k_proj", torch::nn::Linear(c.hidden_size, c.hidden_size));
  v_proj_ = register_module("v_proj", torch::nn::Linear(c.hidden_size, c.hidden_size));
  q_proj_ = register_module("q_proj", torch::nn::Linear(c.hidden_size, c.hidden_size));
  out_proj_ = register_module("out_proj", torch::nn::Linear(c.hidden_size, c.hidden_size));
}

at::Tensor CLIPAttentionImpl::forward(const at::Tensor& hidden_states,
                                      const at::Tensor& attention_mask,
                                      const at::Tensor& causal_mask) {
  const int64_t bsz = hidden_states.size(0), tgt_len = hidden_states.size(1);
  const int64_t embed_dim = hidden_states.size(2);
  // [B, S, D] -> [B, H, S, d] -> [B*H, S, d]
  const auto shape = [&](const at::Tensor& t) {
    return t.view({bsz, tgt_len, num_heads_, head_dim_})
        .transpose(1, 2)
        .contiguous()
        .view({bsz * num_heads_, tgt_len, head_dim_});
  };
  // CLIP scales the query before q @ k^T.
  const at::Tensor query = shape(q_proj_->forward(hidden_states) * scale_);
  const at::Tensor key = shape(k_proj_->forward(hidden_states));
  const at::Tensor value = shape(v_proj_->forward(hidden_states));
  const int64_t src_len = key.size(1);

  at::Tensor weights = at::bmm(query, key.transpose(1, 2));
  if (causal_mask.defined()) {
    weights = (weights.view({bsz, num_heads_, tgt_len, src_len}) + causal_mask)
                  .view({bsz * num_heads_, tgt_len, src_len});
  }
  if (attention_mask.defined()) {
    weights = (weights.view({bsz, num_heads_, tgt_len, src_len}) + attention_mask)
                  .view({bsz * num_heads_, tgt_len, src_len});
  }
  weights = weights.softmax(-1);  // attention_dropout only applies in training
  at::Tensor out = at::bmm(weights, value)
                       .view({bsz, num_heads_, tgt_len, head_dim_})
                       .transpose(1, 2)
                       .reshape({bsz, tgt_len, embed_dim});
  return out_proj_->forward(out);
}

CLIPMLPImpl::CLIPMLPImpl(const CLIPTextConfig& c)
    : activation_(get_transformers_activation(c.hidden_act, "hidden_act")) {
  fc1_ = register_module("fc1", torch::nn::Linear(c.hidden_size, c.intermediate_size));
  fc2_ = register_module("fc2", torch::nn::Linear(c.intermediate_size, c.hidden_size));
}

at::Tensor CLIPMLPImpl::forward(const at::Tensor& hidden_states) {
  return fc2_->forward(apply_transformers_activation(activation_, fc1_->forward(hidden_states)));
}

CLIPEncoderLayerImpl::CLIPEncoderLayerImpl(const CLIPTextConfig& c) {
  const auto norm = [&]() {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps));
  };
  self_attn_ = register_module("self_attn", CLIPAttention(c));
  layer_norm1_ = register_module("layer_norm1", norm());
  mlp_ = register_module("mlp", CLIPMLP(c));
  layer_norm2_ = register_module("layer_norm2", norm());
}

at::Tensor CLIPEncoderLayerImpl::forward(const at::Tensor& hidden_states,
                                         const at::Tensor& attention_mask,
                                         const at::Tensor& causal_mask,
                                         ActivationRecorder* recorder, const std::string& prefix) {
  const auto rec = [&](const char* name, const at::Tensor& value) {
    if (recorder != nullptr) recorder->record(prefix + "." + name, value);
  };
  at::Tensor h = norm_forward(*layer_norm1_, hidden_states);
  rec("layer_norm1", h);
  h = self_attn_->forward(h, attention_mask, causal_mask);
  rec("self_attn", h);
  const at::Tensor after_attention = hidden_states + h;
  h = norm_forward(*layer_norm2_, after_attention);
  rec("layer_norm2", h);
  h = mlp_->forward(h);
  rec("mlp", h);
  return after_attention + h;
}

// ------------------------------------------------------------------------------------------ model

CLIPTextModelImpl::CLIPTextModelImpl(const CLIPTextConfig& config) : config_(config) {
  config_.validate("CLIPTextModel config");
  auto text_model = register_module("text_model", std::make_shared<torch::nn::Module>());
  embeddings_ = text_model->register_module("embeddings", CLIPTextEmbeddings(config_));
  auto encoder = text_model->register_module("encoder", std::make_shared<torch::nn::Module>());
  torch::nn::ModuleList layers;
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    layers_.emplace_back(config_);
    layers->push_back(layers_.back());
  }
  encoder->register_module("layers", layers);
  final_layer_norm_ = text_model->register_module(
      "final_layer_norm",
      torch::nn::LayerNorm(
          torch::nn::LayerNormOptions({config_.hidden_size}).eps(config_.layer_norm_eps)));
}

CLIPTextModelOutput CLIPTextModelImpl::forward(const at::Tensor& input_ids_in,
                                               const at::Tensor& attention_mask_in,
                                               bool output_hidden_states) {
  if (!input_ids_in.defined() || input_ids_in.dim() < 1 || input_ids_in.dim() > 2) {
    throw Error("CLIPTextModel: input_ids must be [batch, sequence] token ids");
  }
  const at::Tensor input_ids =
      (input_ids_in.dim() == 1 ? input_ids_in.unsqueeze(0) : input_ids_in).to(at::kLong);
  const int64_t bsz = input_ids.size(0), seq_length = input_ids.size(1);
  if (seq_length > config_.max_position_embeddings) {
    throw Error("CLIPTextModel: sequence length " + std::to_string(seq_length) +
                " exceeds max_position_embeddings (" +
                std::to_string(config_.max_position_embeddings) + ")");
  }
  if (seq_length == 0) throw Error("CLIPTextModel: input_ids is empty");
  const int64_t min_id = input_ids.min().item<int64_t>();
  const int64_t max_id = input_ids.max().item<int64_t>();
  if (min_id < 0 || max_id >= config_.vocab_size) {
    throw Error("CLIPTextModel: token id " + std::to_string(min_id < 0 ? min_id : max_id) +
                " is outside the vocabulary (vocab_size " + std::to_string(config_.vocab_size) +
                ")");
  }

  at::Tensor hidden = embeddings_->forward(input_ids, recorder_);
  const auto dtype = hidden.scalar_type();
  const auto options = hidden.options();
  const double lowest = dtype == at::kDouble ? std::numeric_limits<double>::lowest()
                        : dtype == at::kHalf ? -65504.0
                        : dtype == at::kBFloat16
                            ? -3.3895313892515355e38
                            : static_cast<double>(std::numeric_limits<float>::lowest());

  // transformers _create_4d_causal_attention_mask: finfo.min above the diagonal, 0 elsewhere.
  at::Tensor causal = at::full({seq_length, seq_length}, lowest, options);
  const at::Tensor cond = at::arange(seq_length, options.dtype(at::kLong));
  causal.masked_fill_(cond < (cond + 1).view({seq_length, 1}), 0);
  causal = causal.unsqueeze(0).unsqueeze(0).expand({bsz, 1, seq_length, seq_length});

  // _prepare_4d_attention_mask: 1 - mask, and finfo.min wherever that is non-zero.
  at::Tensor attention_mask;
  if (attention_mask_in.defined()) {
    if (attention_mask_in.sizes() != input_ids.sizes()) {
      throw Error("CLIPTextModel: attention_mask must have the shape of input_ids");
    }
    const at::Tensor expanded = attention_mask_in.unsqueeze(1)
                                    .unsqueeze(1)
                                    .expand({bsz, 1, seq_length, seq_length})
                                    .to(options);
    const at::Tensor inverted = 1.0 - expanded;
    attention_mask = inverted.masked_fill(inverted.to(at::kBool), lowest);
  }

  CLIPTextModelOutput out;
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (output_hidden_states) out.hidden_states.push_back(hidden);
    const std::string name = "text_model.encoder.layers." + std::to_string(i);
    hidden = layers_[i]->forward(hidden, attention_mask, causal, recorder_, name);
    record_activation(recorder_, name.c_str(), hidden);
  }
  if (output_hidden_states) out.hidden_states.push_back(hidden);

  out.last_hidden_state = norm_forward(*final_layer_norm_, hidden);
  record_activation(recorder_, "text_model.final_layer_norm", out.last_hidden_state);

  // Pooling: legacy configs (eos_token_id == 2) take the highest id's position (the end-of-text
  // token of the original CLIP vocabulary); others the first position holding eos_token_id.
  const at::Tensor ids32 = input_ids.to(at::kInt);
  const at::Tensor positions = config_.eos_token_id == 2
                                   ? ids32.argmax(-1)
                                   : (ids32 == config_.eos_token_id).to(at::kInt).argmax(-1);
  const at::Tensor batch_index = at::arange(bsz, positions.options().dtype(at::kLong));
  out.pooler_output = out.last_hidden_state.index({batch_index, positions});
  return out;
}

CLIPTextModel load_clip_text_model(const std::string& component_dir, at::ScalarType dtype,
                                   at::Device device) {
  const std::string config_path = component_dir + "/config.json";
  const CLIPTextConfig config = CLIPTextConfig::from_json(read_json_file(config_path), config_path);
  auto model = build_for_loading([&] { return CLIPTextModel(config); });
  model->to(device, dtype);
  const std::string weights_path = find_weights_file(component_dir, {"model", "pytorch_model"});
  LazyTensorList tensors = open_weights_file(weights_path);
  // Checkpoints written before transformers made position_ids non-persistent still carry it.
  tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                               [](const LazyTensor& item) {
                                 return item.name == "text_model.embeddings.position_ids";
                               }),
                tensors.end());
  load_state_dict(*model, tensors, weights_path);
  model->eval();
  return model;
}

}  // namespace papillon
