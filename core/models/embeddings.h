#pragma once
// diffusers models/embeddings.py: sinusoidal timestep embeddings, the timestep MLP and the Gaussian
// Fourier projection used by score-SDE style UNets.
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <optional>
#include <string>

#include "core/models/activations.h"

namespace papillon {

// get_timestep_embedding: [N] timesteps (any numeric dtype, may be fractional) -> [N,
// embedding_dim] float32 (sin | cos halves, swapped when flip_sin_to_cos, zero-padded when
// embedding_dim is odd).
at::Tensor get_timestep_embedding(const at::Tensor& timesteps, int64_t embedding_dim,
                                  bool flip_sin_to_cos = false, double downscale_freq_shift = 1.0,
                                  double scale = 1.0, int64_t max_period = 10000);

// diffusers Timesteps: a parameter-free module around get_timestep_embedding.
class TimestepsImpl : public torch::nn::Module {
 public:
  TimestepsImpl(int64_t num_channels, bool flip_sin_to_cos, double downscale_freq_shift);
  at::Tensor forward(const at::Tensor& timesteps) const;

 private:
  int64_t num_channels_;
  bool flip_sin_to_cos_;
  double downscale_freq_shift_;
};
TORCH_MODULE(Timesteps);

struct TimestepEmbeddingOptions {
  int64_t in_channels = 0;
  int64_t time_embed_dim = 0;
  std::string act_fn = "silu";
  std::optional<int64_t> out_dim;
  std::optional<std::string> post_act_fn;
  std::optional<int64_t> cond_proj_dim;
  bool sample_proj_bias = true;
};

// diffusers TimestepEmbedding: linear_1 -> act -> linear_2 [-> post_act], with an optional
// cond_proj.
class TimestepEmbeddingImpl : public torch::nn::Module {
 public:
  explicit TimestepEmbeddingImpl(const TimestepEmbeddingOptions& options);
  TimestepEmbeddingImpl(int64_t in_channels, int64_t time_embed_dim);
  at::Tensor forward(const at::Tensor& sample, const at::Tensor& condition = {});

 private:
  void init(const TimestepEmbeddingOptions& options);
  torch::nn::Linear linear_1_{nullptr};
  torch::nn::Linear linear_2_{nullptr};
  torch::nn::Linear cond_proj_{nullptr};
  Activation act_ = Activation::kSilu;
  std::optional<Activation> post_act_;
};
TORCH_MODULE(TimestepEmbedding);

// diffusers GaussianFourierProjection (set_W_to_weight=True: "weight" and "W" are one tensor, both
// appear in the state dict).
class GaussianFourierProjectionImpl : public torch::nn::Module {
 public:
  GaussianFourierProjectionImpl(int64_t embedding_size = 256, double scale = 1.0, bool log = true,
                                bool flip_sin_to_cos = false);
  at::Tensor forward(const at::Tensor& x) const;

 private:
  at::Tensor weight_;
  bool log_;
  bool flip_sin_to_cos_;
};
TORCH_MODULE(GaussianFourierProjection);

}  // namespace papillon
