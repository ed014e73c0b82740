#pragma once
// transformers models/clip/modeling_clip.py (v4.38): CLIPTextModel — token + position embeddings,
// pre-LayerNorm encoder layers with a causal mask (plus an optional padding mask), a final
// LayerNorm, and the pooled output at the end-of-text token. Registered names carry the
// transformers prefix "text_model." so named_parameters() equals the checkpoint's state-dict keys.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <string>
#include <vector>

#include "core/io/config.h"
#include "core/models/activations.h"

namespace papillon {

// Field names = config.json keys, defaults = transformers' CLIPTextConfig.__init__.
struct CLIPTextConfig {
  int64_t vocab_size = 49408;
  int64_t hidden_size = 512;
  int64_t intermediate_size = 2048;
  int64_t projection_dim = 512;  // parsed, unused by CLIPTextModel
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 8;
  int64_t max_position_embeddings = 77;
  std::string hidden_act = "quick_gelu";
  double layer_norm_eps = 1e-5;
  double attention_dropout = 0.0;
  int64_t pad_token_id = 1;
  int64_t bos_token_id = 49406;
  int64_t eos_token_id = 49407;

  // A full CLIPModel config (model_type "clip") is read through its "text_config" object, as
  // CLIPTextConfig.from_pretrained does. Errors name `source` and the key.
  static CLIPTextConfig from_json(const Json& json, const std::string& source);
  void validate(const std::string& source) const;
};

// transformers' ACT2FN entries a CLIP config may name (quick_gelu, gelu, gelu_new, gelu_fast,
// gelu_pytorch_tanh, gelu_accurate, gelu_python, gelu_10, relu, relu2, relu6, leaky_relu, silu,
// swish, mish, sigmoid, tanh, linear, laplace).
enum class TransformersActivation {
  kQuickGelu,
  kGelu,
  kGeluNew,
  kGeluFast,
  kGeluPytorchTanh,
  kGeluAccurate,
  kGelu10,
  kRelu,
  kRelu2,
  kRelu6,
  kLeakyRelu,
  kSilu,
  kMish,
  kSigmoid,
  kTanh,
  kLinear,
  kLaplace,
};
// Throws Error("<context>: unsupported hidden_act ...") for other names.
TransformersActivation get_transformers_activation(const std::string& name,
                                                   const std::string& context);
at::Tensor apply_transformers_activation(TransformersActivation activation, const at::Tensor& x);

class CLIPTextEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit CLIPTextEmbeddingsImpl(const CLIPTextConfig& config);
  // input_ids [B, S] -> token_embedding(ids) + position_embedding(arange(S)).
  at::Tensor forward(const at::Tensor& input_ids, ActivationRecorder* recorder);

 private:
  torch::nn::Embedding token_embedding_{nullptr};
  torch::nn::Embedding position_embedding_{nullptr};
};
TORCH_MODULE(CLIPTextEmbeddings);

class CLIPAttentionImpl : public torch::nn::Module {
 public:
  explicit CLIPAttentionImpl(const CLIPTextConfig& config);
  // hidden_states [B, S, D]; causal_mask / attention_mask: additive [B, 1, S, S] or undefined.
  at::Tensor forward(const at::Tensor& hidden_states, const at::Tensor& attention_mask,
                     const at::Tensor& causal_mask);

 private:
  int64_t num_heads_;
  int64_t head_dim_;
  double scale_;
  torch::nn::Linear k_proj_{nullptr};
  torch::nn::Linear v_proj_{nullptr};
  torch::nn::Linear q_proj_{nullptr};
  torch::nn::Linear out_proj_{nullptr};
};
TORCH_MODULE(CLIPAttention);

class CLIPMLPImpl : public torch::nn::Module {
 public:
  explicit CLIPMLPImpl(const CLIPTextConfig& config);
  at::Tensor forward(const at::Tensor& hidden_states);

 private:
  TransformersActivation activation_;
  torch::nn::Linear fc1_{nullptr};
  torch::nn::Linear fc2_{nullptr};
};
TORCH_MODULE(CLIPMLP);

class CLIPEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit CLIPEncoderLayerImpl(const CLIPTextConfig& config);
  // Records <prefix>.layer_norm1, .self_attn, .layer_norm2, .mlp when a recorder is given.
  at::Tensor forward(const at::Tensor& hidden_states, const at::Tensor& attention_mask,
                     const at::Tensor& causal_mask, ActivationRecorder* recorder,
                     const std::string& prefix);

 private:
  CLIPAttention self_attn_{nullptr};
  torch::nn::LayerNorm layer_norm1_{nullptr};
  CLIPMLP mlp_{nullptr};
  torch::nn::LayerNorm layer_norm2_{nullptr};
};
TORCH_MODULE(CLIPEncoderLayer);

struct CLIPTextModelOutput {
  at::Tensor last_hidden_state;  // [B, S, D], after final_layer_norm
  at::Tensor pooler_output;      // [B, D], last_hidden_state at the end-of-text position
  // With output_hidden_states: the embeddings, then each layer's output (before the final norm);
  // num_hidden_layers + 1 entries. Empty otherwise.
  std::vector<at::Tensor> hidden_states;
};

// CLIPTextTransformer wrapped as CLIPTextModel: one child "text_model" holding embeddings,
// encoder.layers.N and final_layer_norm.
class CLIPTextModelImpl : public torch::nn::Module {
 public:
  explicit CLIPTextModelImpl(const CLIPTextConfig& config);

  // input_ids [B, S] (int64), S <= max_position_embeddings. attention_mask [B, S] (1 = attend,
  // 0 = padding) or undefined (Stable Diffusion pipelines pass none).
  CLIPTextModelOutput forward(const at::Tensor& input_ids, const at::Tensor& attention_mask = {},
                              bool output_hidden_states = false);

  const CLIPTextConfig& config() const { return config_; }
  // Records text_model.embeddings(.token_embedding / .position_embedding),
  // text_model.encoder.layers.N(.layer_norm1 / .self_attn / .layer_norm2 / .mlp),
  // text_model.final_layer_norm. nullptr switches off.
  void set_activation_recorder(ActivationRecorder* recorder) { recorder_ = recorder; }

 private:
  CLIPTextConfig config_;
  ActivationRecorder* recorder_ = nullptr;
  CLIPTextEmbeddings embeddings_{nullptr};
  std::vector<CLIPEncoderLayer> layers_;
  torch::nn::LayerNorm final_layer_norm_{nullptr};
};
TORCH_MODULE(CLIPTextModel);

// Reads <component_dir>/config.json and model.safetensors (else pytorch_model.bin), strictly; a
// stored text_model.embeddings.position_ids buffer (older checkpoints) is ignored. Returns the
// model in eval mode as dtype on device.
CLIPTextModel load_clip_text_model(const std::string& component_dir,
                                   at::ScalarType dtype = at::kFloat,
                                   at::Device device = at::Device(at::kCPU));

}  // namespace papillon
