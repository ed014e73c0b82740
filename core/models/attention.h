#pragma once
// diffusers models/attention_processor.py: `Attention` computed like `AttnProcessor` (the torch < 2
// path: baddbmm -> softmax -> bmm), sliced over batch*heads so the score matrix stays bounded.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <cstdint>
#include <optional>

namespace papillon {

struct AttentionOptions {
  int64_t query_dim = 0;
  std::optional<int64_t> cross_attention_dim;  // unset: self-attention (= query_dim)
  int64_t heads = 8;
  int64_t dim_head = 64;
  bool bias = false;  // to_q / to_k / to_v
  bool upcast_attention = false;
  bool upcast_softmax = false;
  std::optional<int64_t> norm_num_groups;  // set: a GroupNorm ("group_norm") over the input
  bool out_bias = true;
  bool scale_qk = true;
  double eps = 1e-5;
  double rescale_output_factor = 1.0;
  bool residual_connection = false;
  std::optional<int64_t> out_dim;
};

// Default upper bound, in bytes, of one attention-score block (batch*heads slice x query x key).
constexpr int64_t kDefaultAttentionSliceBytes = int64_t{256} << 20;

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const AttentionOptions& options);

  // hidden_states: [B, C, H, W] (flattened to tokens and back) or [B, N, C].
  // encoder_hidden_states: [B, M, cross_attention_dim] or undefined for self-attention.
  // attention_mask: additive, [B, M] / [B, 1, M] / [B*heads, N|1, M], or undefined.
  at::Tensor forward(const at::Tensor& hidden_states, const at::Tensor& encoder_hidden_states = {},
                     const at::Tensor& attention_mask = {});

  int64_t heads() const { return heads_; }
  double scale() const { return scale_; }
  // Score blocks larger than this are computed in batch*heads slices (same numbers, less memory).
  void set_max_slice_bytes(int64_t bytes) { max_slice_bytes_ = bytes; }
  int64_t max_slice_bytes() const { return max_slice_bytes_; }

  // [B*heads, N, d] <-> [B, N, heads*d], as diffusers' head_to_batch_dim / batch_to_head_dim.
  at::Tensor head_to_batch_dim(const at::Tensor& x) const;
  at::Tensor batch_to_head_dim(const at::Tensor& x) const;
  // softmax(scale * q k^T [+ mask]) @ v over [B*heads, N, d] tensors, sliced along dim 0.
  at::Tensor attend(const at::Tensor& query, const at::Tensor& key, const at::Tensor& value,
                    const at::Tensor& mask) const;

 private:
  at::Tensor prepare_attention_mask(const at::Tensor& mask, int64_t target_length,
                                    int64_t batch_size) const;

  AttentionOptions options_;
  int64_t heads_;
  double scale_;
  int64_t max_slice_bytes_ = kDefaultAttentionSliceBytes;
  torch::nn::GroupNorm group_norm_{nullptr};
  torch::nn::Linear to_q_{nullptr};
  torch::nn::Linear to_k_{nullptr};
  torch::nn::Linear to_v_{nullptr};
  torch::nn::ModuleList to_out_{nullptr};
  torch::nn::Linear to_out_0_{nullptr};
};
TORCH_MODULE(Attention);

// Sets the slice bound of every Attention inside `module` (including itself).
void set_attention_slice_bytes(torch::nn::Module& module, int64_t bytes);

// While one of these lives on a thread, attention on that thread computes its score blocks in one
// reused buffer (up to the slice bound), released when the outermost scope ends. Fresh memory of
// that size costs a page fault per 4 kB page each time it is allocated: for SD 1.5 at 512x512 the
// score blocks are 256 MB each, and a pipeline keeps the scope around its whole denoising loop.
// Nestable; the numbers are bit-identical with or without it.
class AttentionScratchScope {
 public:
  AttentionScratchScope();
  ~AttentionScratchScope();
  AttentionScratchScope(const AttentionScratchScope&) = delete;
  AttentionScratchScope& operator=(const AttentionScratchScope&) = delete;
};

// Bytes of score buffer this thread keeps now (0 outside every AttentionScratchScope).
int64_t attention_scratch_bytes();

}  // namespace papillon
