#include "core/models/attention.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>

#include "core/models/activations.h"
#include "core/util/error.h"

// LibTorch 2.1+ has fused attention with a scale argument (scaled_dot_product_attention).
#if defined(TORCH_VERSION_MAJOR) && \
    (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1))
#define PAPILLON_HAVE_SDPA 1
#endif

namespace papillon {

namespace {

thread_local int scratch_scopes = 0;
thread_local at::Tensor scratch;  // 1-D; reused while a scope lives

// A [count, rows, cols] buffer for scores: a view of the thread's scratch inside a scope (grown
// when too small), else fresh memory.
at::Tensor score_buffer(int64_t count, int64_t rows, int64_t cols,
                        const at::TensorOptions& options) {
  const int64_t numel = count * rows * cols;
  if (scratch_scopes == 0) return at::empty({count, rows, cols}, options);
  if (!scratch.defined() || scratch.numel() < numel ||
      scratch.scalar_type() != options.dtype().toScalarType() ||
      scratch.device() != options.device()) {
    scratch = at::Tensor();  // free the old one first
    scratch = at::empty({numel}, options);
  }
  return scratch.narrow(0, 0, numel).view({count, rows, cols});
}

}  // namespace

AttentionScratchScope::AttentionScratchScope() {
  ++scratch_scopes;
}

AttentionScratchScope::~AttentionScratchScope() {
  if (--scratch_scopes == 0) scratch = at::Tensor();
}

int64_t attention_scratch_bytes() {
  return scratch.defined() ? static_cast<int64_t>(scratch.nbytes()) : 0;
}

AttentionImpl::AttentionImpl(const AttentionOptions& options) : options_(options) {
  const auto& o = options_;
  if (o.heads <= 0 && !o.out_dim) {
    throw Error("Attention: heads must be positive (query_dim " + std::to_string(o.query_dim) +
                ", dim_head " + std::to_string(o.dim_head) + ")");
  }
  const int64_t inner_dim = o.out_dim ? *o.out_dim : o.dim_head * o.heads;
  const int64_t out_dim = o.out_dim.value_or(o.query_dim);
  const int64_t cross_dim = o.cross_attention_dim.value_or(o.query_dim);
  heads_ = o.out_dim ? *o.out_dim / o.dim_head : o.heads;
  scale_ = o.scale_qk ? std::pow(static_cast<double>(o.dim_head), -0.5) : 1.0;

  if (o.norm_num_groups) {
    group_norm_ = register_module(
        "group_norm",
        torch::nn::GroupNorm(
            torch::nn::GroupNormOptions(*o.norm_num_groups, o.query_dim).eps(o.eps).affine(true)));
  }
  to_q_ = register_module(
      "to_q", torch::nn::Linear(torch::nn::LinearOptions(o.query_dim, inner_dim).bias(o.bias)));
  to_k_ = register_module(
      "to_k", torch::nn::Linear(torch::nn::LinearOptions(cross_dim, inner_dim).bias(o.bias)));
  to_v_ = register_module(
      "to_v", torch::nn::Linear(torch::nn::LinearOptions(cross_dim, inner_dim).bias(o.bias)));
  to_out_0_ = torch::nn::Linear(torch::nn::LinearOptions(inner_dim, out_dim).bias(o.out_bias));
  to_out_ = register_module("to_out", torch::nn::ModuleList(to_out_0_, torch::nn::Dropout(0.0)));
}

at::Tensor AttentionImpl::head_to_batch_dim(const at::Tensor& x) const {
  const int64_t batch = x.size(0), seq = x.size(1), dim = x.size(2);
  return x.reshape({batch, seq, heads_, dim / heads_})
      .permute({0, 2, 1, 3})
      .reshape({batch * heads_, seq, dim / heads_});
}

at::Tensor AttentionImpl::batch_to_head_dim(const at::Tensor& x) const {
  const int64_t batch = x.size(0), seq = x.size(1), dim = x.size(2);
  return x.reshape({batch / heads_, heads_, seq, dim})
      .permute({0, 2, 1, 3})
      .reshape({batch / heads_, seq, dim * heads_});
}

at::Tensor AttentionImpl::prepare_attention_mask(const at::Tensor& mask, int64_t target_length,
                                                 int64_t batch_size) const {
  if (!mask.defined()) return mask;
  at::Tensor m = mask;
  if (m.size(-1) != target_length) {
    // diffusers pads by target_length (not up to it); kept for parity.
    m = at::constant_pad_nd(m, {0, target_length}, 0.0);
  }
  if (m.size(0) < batch_size * heads_) m = m.repeat_interleave(heads_, 0);
  return m;
}

at::Tensor AttentionImpl::attend(const at::Tensor& query_in, const at::Tensor& key_in,
                                 const at::Tensor& value, const at::Tensor& mask) const {
#ifdef PAPILLON_HAVE_SDPA
  // On a GPU: LibTorch's fused attention (flash / memory-efficient kernels), as diffusers'
  // AttnProcessor2_0 does. No score matrix in memory; the kernels accumulate in fp32.
  if (query_in.is_cuda()) {
    c10::optional<at::Tensor> attn_mask;
    if (mask.defined()) attn_mask = mask.to(query_in.scalar_type());
    return at::scaled_dot_product_attention(query_in, key_in, value, attn_mask, /*dropout_p=*/0.0,
                                            /*is_causal=*/false, scale_);
  }
#endif
  const auto dtype = query_in.scalar_type();
  at::Tensor query = query_in;
  at::Tensor key = key_in;
  if (options_.upcast_attention) {
    query = query.to(at::kFloat);
    key = key.to(at::kFloat);
  }
  const at::Tensor key_t = key.transpose(-1, -2);
  const int64_t batch_heads = query.size(0);
  const int64_t tokens = query.size(1);
  const int64_t key_tokens = key.size(1);
  const auto score_type = options_.upcast_softmax ? at::kFloat : query.scalar_type();
  const int64_t bytes_per_item =
      tokens * key_tokens *
      static_cast<int64_t>(
          std::max(c10::elementSize(score_type), c10::elementSize(query.scalar_type())));
  int64_t slice = batch_heads;
  if (bytes_per_item > 0 && bytes_per_item * batch_heads > max_slice_bytes_) {
    slice = std::max<int64_t>(1, max_slice_bytes_ / bytes_per_item);
  }

  // The fast CPU path: scores, softmax and probabilities in one buffer per slice (softmax in
  // place), the buffer reused across slices (and across calls inside an AttentionScratchScope). The
  // same kernels on the same data as the path below, so the same numbers; it only skips allocating
  // and first-touching two fresh score blocks per slice, which cost more than the GEMMs at 4096
  // tokens.
  // Out= and in-place ops cannot be differentiated: training (grad enabled on inputs that need
  // it) takes the path below.
  const bool needs_grad = at::GradMode::is_enabled() &&
                          (query.requires_grad() || key.requires_grad() || value.requires_grad() ||
                           (mask.defined() && mask.requires_grad()));
  const bool in_place = !needs_grad && query.device().is_cpu() && score_type == dtype &&
                        query.scalar_type() == dtype && value.scalar_type() == dtype;
  if (in_place) {
    at::Tensor out = at::empty({batch_heads, tokens, value.size(2)}, value.options());
    at::Tensor buffer =
        score_buffer(std::min(slice, batch_heads), tokens, key_tokens, query.options());
    for (int64_t begin = 0; begin < batch_heads; begin += slice) {
      const int64_t count = std::min(slice, batch_heads - begin);
      at::Tensor scores = buffer.narrow(0, 0, count);
      const at::Tensor q = query.narrow(0, begin, count);
      const at::Tensor kt = key_t.narrow(0, begin, count);
      if (mask.defined()) {
        const at::Tensor m = mask.size(0) == 1 ? mask : mask.narrow(0, begin, count);
        scores.copy_(m.expand_as(scores));
        scores.baddbmm_(q, kt, /*beta=*/1, /*alpha=*/scale_);
      } else if (count * tokens * key_tokens <= (int64_t(1) << 16)) {
        // See below: LibTorch 1.13's small-product kernel reads its output even when beta = 0.
        scores.zero_();
        scores.baddbmm_(q, kt, /*beta=*/0, /*alpha=*/scale_);
      } else {
        at::baddbmm_out(scores, scores, q, kt, /*beta=*/0, /*alpha=*/scale_);
      }
      at::_softmax_out(scores, scores, -1, /*half_to_float=*/false);
      at::Tensor out_slice = out.narrow(0, begin, count);
      at::bmm_out(out_slice, scores, value.narrow(0, begin, count));
    }
    return out;
  }

  auto block = [&](int64_t begin, int64_t count) {
    const at::Tensor q = query.narrow(0, begin, count);
    const at::Tensor kt = key_t.narrow(0, begin, count);
    at::Tensor scores;
    if (mask.defined()) {
      const at::Tensor m = mask.size(0) == 1 ? mask : mask.narrow(0, begin, count);
      scores = at::baddbmm(m, q, kt, /*beta=*/1, /*alpha=*/scale_);
    } else {
      // diffusers' baddbmm(empty, beta=0). LibTorch 1.13's kernel for small products (contraction
      // x rows x cols < 400) computes beta * out + ... on its freshly allocated output, and
      // 0 * uninitialised memory can be NaN. Small blocks therefore go in place into zeros (the
      // same scores); big ones take the BLAS path, which never reads the output when beta = 0.
      const int64_t elements = count * tokens * key_tokens;
      if (elements <= (int64_t(1) << 16)) {
        scores = at::zeros({count, tokens, key_tokens}, q.options()).baddbmm_(q, kt, 0, scale_);
      } else {
        scores = at::baddbmm(at::empty({count, tokens, key_tokens}, q.options()), q, kt,
                             /*beta=*/0, /*alpha=*/scale_);
      }
    }
    if (options_.upcast_softmax) scores = scores.to(at::kFloat);
    at::Tensor probs = scores.softmax(-1);
    scores.reset();
    probs = probs.to(dtype);
    return probs;
  };

  if (slice >= batch_heads) return at::bmm(block(0, batch_heads), value);

  at::Tensor out = at::empty({batch_heads, tokens, value.size(2)}, value.options());
  for (int64_t begin = 0; begin < batch_heads; begin += slice) {
    const int64_t count = std::min(slice, batch_heads - begin);
    at::Tensor out_slice = out.narrow(0, begin, count);
    at::bmm_out(out_slice, block(begin, count), value.narrow(0, begin, count));
  }
  return out;
}

at::Tensor AttentionImpl::forward(const at::Tensor& hidden_states_in,
                                  const at::Tensor& encoder_hidden_states_in,
                                  const at::Tensor& attention_mask) {
  const at::Tensor residual = hidden_states_in;
  at::Tensor hidden_states = hidden_states_in;
  const int64_t input_ndim = hidden_states.dim();
  int64_t batch = 0, channels = 0, height = 0, width = 0;
  if (input_ndim == 4) {
    batch = hidden_states.size(0);
    channels = hidden_states.size(1);
    height = hidden_states.size(2);
    width = hidden_states.size(3);
    hidden_states = hidden_states.view({batch, channels, height * width}).transpose(1, 2);
  }
  const at::Tensor& context_for_shape =
      encoder_hidden_states_in.defined() ? encoder_hidden_states_in : hidden_states;
  const int64_t batch_size = context_for_shape.size(0);
  const int64_t sequence_length = context_for_shape.size(1);
  const at::Tensor mask = prepare_attention_mask(attention_mask, sequence_length, batch_size);

  if (group_norm_) {
    hidden_states = norm_forward(*group_norm_, hidden_states.transpose(1, 2)).transpose(1, 2);
  }
  at::Tensor query = to_q_->forward(hidden_states);
  const at::Tensor& context =
      encoder_hidden_states_in.defined() ? encoder_hidden_states_in : hidden_states;
  at::Tensor key = to_k_->forward(context);
  at::Tensor value = to_v_->forward(context);

  query = head_to_batch_dim(query);
  key = head_to_batch_dim(key);
  value = head_to_batch_dim(value);

  hidden_states = attend(query, key, value, mask);
  hidden_states = batch_to_head_dim(hidden_states);
  hidden_states = to_out_0_->forward(hidden_states);  // to_out.1 is Dropout(0): identity

  if (input_ndim == 4) {
    hidden_states = hidden_states.transpose(-1, -2).reshape({batch, channels, height, width});
  }
  if (options_.residual_connection) hidden_states = hidden_states + residual;
  return hidden_states / options_.rescale_output_factor;
}

void set_attention_slice_bytes(torch::nn::Module& module, int64_t bytes) {
  if (auto* self = dynamic_cast<AttentionImpl*>(&module)) self->set_max_slice_bytes(bytes);
  for (const auto& child : module.modules(/*include_self=*/false)) {
    if (auto attention = std::dynamic_pointer_cast<AttentionImpl>(child)) {
      attention->set_max_slice_bytes(bytes);
    }
  }
}

}  // namespace papillon
