#pragma once
// transformers models/t5/modeling_t5.py (v4.38): T5EncoderModel, the text encoder of PixArt-α
// (T5 v1.1: gated-GELU feed-forward, no biases, untied embeddings). RMS layer norms with the
// variance in fp32, self-attention without 1/sqrt(d_kv) scaling and with a learned relative
// position bias that block 0 computes (the padding mask folded in) and every block reuses.
// Registered names equal transformers' state-dict keys: shared.weight and
// encoder.embed_tokens.weight are one tensor (tied), encoder.block.N.layer.0.SelfAttention.q, ...
#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <string>
#include <vector>

#include "core/io/config.h"
#include "core/models/clip_text_model.h"  // TransformersActivation

namespace papillon {

// Field names = config.json keys, defaults = transformers' T5Config.__init__.
struct T5Config {
  int64_t vocab_size = 32128;
  int64_t d_model = 512;
  int64_t d_kv = 64;
  int64_t d_ff = 2048;
  int64_t num_layers = 6;
  int64_t num_heads = 8;
  int64_t relative_attention_num_buckets = 32;
  int64_t relative_attention_max_distance = 128;
  double dropout_rate = 0.1;  // parsed; inference only (eval)
  double layer_norm_epsilon = 1e-6;
  std::string feed_forward_proj = "relu";
  // Derived from feed_forward_proj as T5Config.__init__ does ("gated-gelu" -> gelu_new, gated);
  // explicit "dense_act_fn" / "is_gated_act" keys of config.json win, as in transformers.
  std::string dense_act_fn = "relu";
  bool is_gated_act = false;
  int64_t pad_token_id = 0;
  int64_t eos_token_id = 1;

  // Errors name `source` and the key.
  static T5Config from_json(const Json& json, const std::string& source);
  void validate(const std::string& source) const;
};

// T5LayerNorm: x * rsqrt(mean(x², -1) + eps) * weight, the variance in fp32; a bf16 / fp16 weight
// gets the normalised value cast to its dtype before the multiply. No mean, no bias.
class T5LayerNormImpl : public torch::nn::Module {
 public:
  T5LayerNormImpl(int64_t hidden_size, double eps);
  at::Tensor forward(const at::Tensor& hidden_states);

 private:
  double eps_;
  at::Tensor weight_;
};
TORCH_MODULE(T5LayerNorm);

// T5Attention (encoder self-attention, no cache).
class T5AttentionImpl : public torch::nn::Module {
 public:
  T5AttentionImpl(const T5Config& config, bool has_relative_attention_bias);
  // hidden_states [B, S, d_model]; position_bias [1 or B, H, S, S] with the mask folded in.
  // Returns the output [B, S, d_model]; the softmax probabilities when `weights` is given.
  at::Tensor forward(const at::Tensor& hidden_states, const at::Tensor& position_bias,
                     at::Tensor* weights = nullptr);
  // compute_bias(query_length, key_length): [1, H, q, k] from relative_attention_bias.
  at::Tensor compute_bias(int64_t query_length, int64_t key_length);
  // _relative_position_bucket (bidirectional for the encoder): int64 buckets of relative_position
  // (memory j - query i).
  static at::Tensor relative_position_bucket(const at::Tensor& relative_position,
                                             bool bidirectional, int64_t num_buckets,
                                             int64_t max_distance);
  bool has_relative_attention_bias() const { return !relative_attention_bias_.is_empty(); }

 private:
  int64_t n_heads_, key_value_proj_dim_, num_buckets_, max_distance_;
  torch::nn::Linear q_{nullptr}, k_{nullptr}, v_{nullptr}, o_{nullptr};
  torch::nn::Embedding relative_attention_bias_{nullptr};
};
TORCH_MODULE(T5Attention);

// One encoder block: T5LayerSelfAttention (layer.0) and T5LayerFF (layer.1), each pre-norm with a
// residual; fp16 hidden states are clamped to ±(finfo.max − 1000) where infinite, as in
// transformers.
class T5BlockImpl : public torch::nn::Module {
 public:
  T5BlockImpl(const T5Config& config, bool has_relative_attention_bias);
  at::Tensor forward(const at::Tensor& hidden_states, const at::Tensor& position_bias,
                     at::Tensor* attention_weights = nullptr);
  T5Attention& self_attention() { return self_attention_; }

 private:
  TransformersActivation activation_;
  bool gated_;
  T5Attention self_attention_{nullptr};
  T5LayerNorm attention_norm_{nullptr};
  torch::nn::Linear wi_{nullptr}, wi_0_{nullptr}, wi_1_{nullptr}, wo_{nullptr};
  T5LayerNorm ff_norm_{nullptr};
};
TORCH_MODULE(T5Block);

struct T5EncoderOutput {
  at::Tensor last_hidden_state;  // [B, S, d_model], after final_layer_norm
  // With output_hidden_states: the embeddings (the input of block 0), the input of every later
  // block, then last_hidden_state: num_layers + 1 entries. Empty otherwise.
  std::vector<at::Tensor> hidden_states;
  // With output_attentions: each block's softmax probabilities [B, H, S, S].
  std::vector<at::Tensor> attentions;
};

class T5EncoderModelImpl : public torch::nn::Module {
 public:
  explicit T5EncoderModelImpl(const T5Config& config);

  // input_ids [B, S] (or [S]) int64; attention_mask [B, S] (1 = token, 0 = padding) or undefined
  // (all ones). Throws Error for ids outside the vocabulary or a mask of another shape.
  T5EncoderOutput forward(const at::Tensor& input_ids, const at::Tensor& attention_mask = {},
                          bool output_hidden_states = false, bool output_attentions = false);

  const T5Config& config() const { return config_; }
  T5Block& block(size_t i) { return blocks_.at(i); }
  size_t num_blocks() const { return blocks_.size(); }

 private:
  T5Config config_;
  torch::nn::Embedding shared_{nullptr};  // also registered as encoder.embed_tokens
  std::vector<T5Block> blocks_;
  T5LayerNorm final_layer_norm_{nullptr};
};
TORCH_MODULE(T5EncoderModel);

// Reads <component_dir>/config.json and the weights (model.safetensors, a
// model.safetensors.index.json with its shards, or pytorch_model.bin[.index.json]) strictly.
// A file that holds only one of the tied shared.weight / encoder.embed_tokens.weight fills both;
// decoder.* tensors (a full T5 checkpoint) are ignored, as T5EncoderModel does. Returns the model
// in eval mode with its parameters in `dtype` on `device`: fp32 computes in fp32; bf16 (the CPU's
// "half") keeps the weights in bf16 without an fp32 copy and runs the norms and softmax in fp32.
T5EncoderModel load_t5_encoder_model(const std::string& component_dir,
                                     at::ScalarType dtype = at::kFloat,
                                     at::Device device = at::Device(at::kCPU));

}  // namespace papillon
