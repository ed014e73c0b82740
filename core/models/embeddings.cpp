#include "core/models/embeddings.h"

#include <torch/torch.h>

#include <cmath>

#include "core/util/error.h"

namespace papillon {

at::Tensor get_timestep_embedding(const at::Tensor& timesteps, int64_t embedding_dim,
                                  bool flip_sin_to_cos, double downscale_freq_shift, double scale,
                                  int64_t max_period) {
  if (timesteps.dim() != 1) {
    throw Error("get_timestep_embedding: timesteps must be a 1-d tensor, got " +
                std::to_string(timesteps.dim()) + " dimensions");
  }
  const int64_t half_dim = embedding_dim / 2;
  // Same op sequence as diffusers (float32 arange times a double scalar, then divided by one).
  at::Tensor exponent = at::arange(0, half_dim, timesteps.options().dtype(at::kFloat)) *
                        -std::log(static_cast<double>(max_period));
  exponent = exponent / (static_cast<double>(half_dim) - downscale_freq_shift);

  at::Tensor emb = at::exp(exponent);
  emb = timesteps.unsqueeze(1).to(at::kFloat) * emb.unsqueeze(0);
  emb = emb * scale;
  emb = at::cat({at::sin(emb), at::cos(emb)}, -1);
  if (flip_sin_to_cos) {
    emb = at::cat({emb.slice(1, half_dim), emb.slice(1, 0, half_dim)}, -1);
  }
  if (embedding_dim % 2 == 1) emb = at::constant_pad_nd(emb, {0, 1, 0, 0}, 0);
  return emb;
}

TimestepsImpl::TimestepsImpl(int64_t num_channels, bool flip_sin_to_cos,
                             double downscale_freq_shift)
    : num_channels_(num_channels),
      flip_sin_to_cos_(flip_sin_to_cos),
      downscale_freq_shift_(downscale_freq_shift) {}

at::Tensor TimestepsImpl::forward(const at::Tensor& timesteps) const {
  return get_timestep_embedding(timesteps, num_channels_, flip_sin_to_cos_, downscale_freq_shift_);
}

TimestepEmbeddingImpl::TimestepEmbeddingImpl(const TimestepEmbeddingOptions& options) {
  init(options);
}

TimestepEmbeddingImpl::TimestepEmbeddingImpl(int64_t in_channels, int64_t time_embed_dim) {
  TimestepEmbeddingOptions options;
  options.in_channels = in_channels;
  options.time_embed_dim = time_embed_dim;
  init(options);
}

void TimestepEmbeddingImpl::init(const TimestepEmbeddingOptions& options) {
  linear_1_ = register_module(
      "linear_1",
      torch::nn::Linear(torch::nn::LinearOptions(options.in_channels, options.time_embed_dim)
                            .bias(options.sample_proj_bias)));
  if (options.cond_proj_dim) {
    cond_proj_ = register_module(
        "cond_proj",
        torch::nn::Linear(
            torch::nn::LinearOptions(*options.cond_proj_dim, options.in_channels).bias(false)));
  }
  act_ = get_activation(options.act_fn, "TimestepEmbedding act_fn");
  const int64_t out_dim = options.out_dim.value_or(options.time_embed_dim);
  linear_2_ = register_module(
      "linear_2", torch::nn::Linear(torch::nn::LinearOptions(options.time_embed_dim, out_dim)
                                        .bias(options.sample_proj_bias)));
  if (options.post_act_fn) {
    post_act_ = get_activation(*options.post_act_fn, "TimestepEmbedding post_act_fn");
  }
}

at::Tensor TimestepEmbeddingImpl::forward(const at::Tensor& sample, const at::Tensor& condition) {
  at::Tensor x = sample;
  if (condition.defined()) {
    if (!cond_proj_)
      throw Error("TimestepEmbedding: a condition was given but cond_proj_dim is unset");
    x = x + cond_proj_->forward(condition);
  }
  x = linear_1_->forward(x);
  x = apply_activation(act_, x);
  x = linear_2_->forward(x);
  if (post_act_) x = apply_activation(*post_act_, x);
  return x;
}

GaussianFourierProjectionImpl::GaussianFourierProjectionImpl(int64_t embedding_size, double scale,
                                                             bool log, bool flip_sin_to_cos)
    : log_(log), flip_sin_to_cos_(flip_sin_to_cos) {
  // diffusers draws weight and W; W replaces weight. Values come from the checkpoint.
  weight_ = register_parameter("weight", torch::randn({embedding_size}).mul_(scale),
                               /*requires_grad=*/false);
  register_parameter("W", weight_, /*requires_grad=*/false);
}

at::Tensor GaussianFourierProjectionImpl::forward(const at::Tensor& x_in) const {
  const at::Tensor x = log_ ? at::log(x_in) : x_in;
  const at::Tensor x_proj = x.unsqueeze(1) * weight_.unsqueeze(0) * 2 * M_PI;
  if (flip_sin_to_cos_) return at::cat({at::cos(x_proj), at::sin(x_proj)}, -1);
  return at::cat({at::sin(x_proj), at::cos(x_proj)}, -1);
}

}  // namespace papillon
