#include "core/models/pixart_transformer_2d.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/io/state_dict.h"
#include "core/models/activations.h"
#include "core/models/skip_init.h"
#include "core/util/error.h"

namespace papillon {

// ------------------------------------------------------------------------------------ config

double PixArtTransformer2DModelConfig::resolved_interpolation_scale() const {
  if (interpolation_scale) return *interpolation_scale;
  return static_cast<double>(std::max<int64_t>(sample_size / 64, 1));
}

PixArtTransformer2DModelConfig PixArtTransformer2DModelConfig::from_json(
    const Json& json, const std::string& source) {
  const ConfigReader r(json, source);
  PixArtTransformer2DModelConfig c;
  c.num_attention_heads = r.get_int("num_attention_heads", c.num_attention_heads);
  c.attention_head_dim = r.get_int("attention_head_dim", c.attention_head_dim);
  c.in_channels = r.get_int("in_channels", c.in_channels);
  c.out_channels = r.get_optional_int("out_channels");
  c.num_layers = r.get_int("num_layers", c.num_layers);
  c.dropout = r.get_double("dropout", c.dropout);
  c.cross_attention_dim = r.get_optional_int("cross_attention_dim");
  c.attention_bias = r.get_bool("attention_bias", c.attention_bias);
  c.sample_size = r.get_int("sample_size", c.sample_size);
  c.patch_size = r.get_int("patch_size", c.patch_size);
  c.activation_fn = r.get_string("activation_fn", c.activation_fn);
  c.num_embeds_ada_norm = r.get_optional_int("num_embeds_ada_norm");
  c.only_cross_attention = r.get_bool("only_cross_attention", c.only_cross_attention);
  c.double_self_attention = r.get_bool("double_self_attention", c.double_self_attention);
  c.upcast_attention = r.get_bool("upcast_attention", c.upcast_attention);
  c.norm_type = r.get_string("norm_type", c.norm_type);
  c.norm_elementwise_affine = r.get_bool("norm_elementwise_affine", c.norm_elementwise_affine);
  c.norm_eps = r.get_double("norm_eps", c.norm_eps);
  c.attention_type = r.get_string("attention_type", c.attention_type);
  c.caption_channels = r.get_optional_int("caption_channels");
  c.interpolation_scale = r.get_optional_double("interpolation_scale");
  if (r.has("num_vector_embeds")) {
    r.fail("num_vector_embeds",
           "is set: only the patched (PixArt) Transformer2DModel is supported");
  }
  c.validate(source);
  return c;
}

void PixArtTransformer2DModelConfig::validate(const std::string& source) const {
  const Json empty = Json::object();
  const ConfigReader r(empty, source);
  const auto positive = [&](const char* key, int64_t value, int64_t max) {
    if (value < 1 || value > max) {
      r.fail(key,
             "must be between 1 and " + std::to_string(max) + ", got " + std::to_string(value));
    }
  };
  positive("num_attention_heads", num_attention_heads, 1024);
  positive("attention_head_dim", attention_head_dim, 4096);
  positive("in_channels", in_channels, 4096);
  if (out_channels) positive("out_channels", *out_channels, 4096);
  positive("num_layers", num_layers, 1024);
  positive("sample_size", sample_size, 4096);
  positive("patch_size", patch_size, 64);
  if (caption_channels) positive("caption_channels", *caption_channels, 65536);
  if (norm_type != "ada_norm_single") {
    r.fail("norm_type", "is \"" + norm_type +
                            "\": only PixArt's \"ada_norm_single\" transformer is supported here");
  }
  if (!caption_channels) r.fail("caption_channels", "must be set for a PixArt transformer");
  if (!cross_attention_dim) r.fail("cross_attention_dim", "must be set for a PixArt transformer");
  if (*cross_attention_dim != inner_dim()) {
    r.fail("cross_attention_dim", "must equal num_attention_heads * attention_head_dim (" +
                                      std::to_string(inner_dim()) +
                                      "), the width the caption projection gives, got " +
                                      std::to_string(*cross_attention_dim));
  }
  if (only_cross_attention || double_self_attention) {
    r.fail(only_cross_attention ? "only_cross_attention" : "double_self_attention",
           "is not supported for a PixArt transformer");
  }
  if (attention_type != "default") {
    r.fail("attention_type", "\"" + attention_type + "\" is not supported (only \"default\")");
  }
  if (!(norm_eps > 0) || !std::isfinite(norm_eps)) r.fail("norm_eps", "must be positive");
  if (interpolation_scale &&
      (!(*interpolation_scale > 0) || !std::isfinite(*interpolation_scale))) {
    r.fail("interpolation_scale", "must be positive");
  }
  if (inner_dim() % 4 != 0) {
    r.fail("attention_head_dim", "gives an inner dimension of " + std::to_string(inner_dim()) +
                                     "; the 2-D sin-cos position embedding needs a multiple of 4");
  }
  if (use_additional_conditions() && inner_dim() % 3 != 0) {
    r.fail("attention_head_dim",
           "gives an inner dimension of " + std::to_string(inner_dim()) +
               "; the size embeddings of sample_size 128 need a multiple of 3");
  }
}

// ----------------------------------------------------------------------- position embedding

at::Tensor get_2d_sincos_pos_embed(int64_t embed_dim, int64_t grid_h, int64_t grid_w,
                                   double base_size, double interpolation_scale) {
  if (embed_dim % 4 != 0 || grid_h < 1 || grid_w < 1) {
    throw Error(
        "get_2d_sincos_pos_embed: embed_dim must be a multiple of 4 and the grid non-empty");
  }
  // numpy: arange(float32) / (grid / base_size) / interpolation_scale, each step in float32.
  const auto coords = [&](int64_t n) {
    const float step = static_cast<float>(static_cast<double>(n) / base_size);
    const float scale = static_cast<float>(interpolation_scale);
    std::vector<float> c(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      c[i] = static_cast<float>(i) / step / scale;
    return c;
  };
  const std::vector<float> ys = coords(grid_h);
  const std::vector<float> xs = coords(grid_w);
  const int64_t quarter = embed_dim / 4;  // each 1-D half: sin | cos of embed_dim/4 frequencies
  std::vector<double> omega(static_cast<size_t>(quarter));
  for (int64_t d = 0; d < quarter; ++d) {
    omega[d] = 1.0 / std::pow(10000.0, static_cast<double>(d) / (static_cast<double>(quarter)));
  }
  at::Tensor out = at::empty({grid_h * grid_w, embed_dim}, at::kFloat);
  float* p = out.data_ptr<float>();
  for (int64_t i = 0; i < grid_h; ++i) {
    for (int64_t j = 0; j < grid_w; ++j) {
      float* row = p + (i * grid_w + j) * embed_dim;
      // diffusers' meshgrid(grid_w, grid_h): the first half embeds the column coordinate.
      const double positions[2] = {static_cast<double>(xs[j]), static_cast<double>(ys[i])};
      for (int half = 0; half < 2; ++half) {
        float* h = row + half * 2 * quarter;
        for (int64_t d = 0; d < quarter; ++d) {
          const double v = positions[half] * omega[d];
          h[d] = static_cast<float>(std::sin(v));
          h[quarter + d] = static_cast<float>(std::cos(v));
        }
      }
    }
  }
  return out;
}

// ------------------------------------------------------------------------------- PatchEmbed

PatchEmbedImpl::PatchEmbedImpl(int64_t sample_size, int64_t patch_size, int64_t in_channels,
                               int64_t embed_dim, double interpolation_scale)
    : patch_size_(patch_size),
      embed_dim_(embed_dim),
      base_size_(sample_size / patch_size),
      interpolation_scale_(interpolation_scale) {
  proj_ = register_module(
      "proj",
      Conv2d(torch::nn::Conv2dOptions(in_channels, embed_dim, patch_size).stride(patch_size)));
}

at::Tensor PatchEmbedImpl::forward(const at::Tensor& latent) {
  const int64_t h = latent.size(-2) / patch_size_;
  const int64_t w = latent.size(-1) / patch_size_;
  at::Tensor tokens = proj_->forward(latent).flatten(2).transpose(1, 2);
  if (!pos_embed_.defined() || h != pos_h_ || w != pos_w_ ||
      pos_embed_.device() != tokens.device()) {
    // diffusers keeps the table of the sample size and recomputes it for any other grid; both
    // come from the same function with the same base size.
    pos_embed_ = get_2d_sincos_pos_embed(embed_dim_, h, w, static_cast<double>(base_size_),
                                         interpolation_scale_)
                     .unsqueeze(0)
                     .to(tokens.device());
    pos_h_ = h;
    pos_w_ = w;
  }
  // diffusers adds the float32 table, then casts back to the latent's dtype.
  return (tokens + pos_embed_).to(tokens.scalar_type());
}

// ----------------------------------------------------------------------- AdaLayerNormSingle

AdaLayerNormSingleImpl::AdaLayerNormSingleImpl(int64_t embedding_dim,
                                               bool use_additional_conditions)
    : use_additional_conditions_(use_additional_conditions) {
  // "emb" is PixArtAlphaCombinedTimestepSizeEmbeddings: a module of its own in diffusers, a name
  // prefix here.
  auto emb = register_module("emb", std::make_shared<torch::nn::Module>());
  time_proj_ = Timesteps(256, /*flip_sin_to_cos=*/true, /*downscale_freq_shift=*/0.0);
  timestep_embedder_ =
      emb->register_module("timestep_embedder", TimestepEmbedding(256, embedding_dim));
  if (use_additional_conditions_) {
    const int64_t size_dim = embedding_dim / 3;
    resolution_embedder_ =
        emb->register_module("resolution_embedder", TimestepEmbedding(256, size_dim));
    aspect_ratio_embedder_ =
        emb->register_module("aspect_ratio_embedder", TimestepEmbedding(256, size_dim));
  }
  linear_ = register_module("linear", torch::nn::Linear(embedding_dim, 6 * embedding_dim));
}

AdaLayerNormSingleImpl::Output AdaLayerNormSingleImpl::forward(const at::Tensor& timestep,
                                                               const at::Tensor& resolution,
                                                               const at::Tensor& aspect_ratio,
                                                               at::ScalarType dtype) {
  const int64_t batch = timestep.size(0);
  at::Tensor conditioning = timestep_embedder_->forward(time_proj_->forward(timestep).to(dtype));
  if (use_additional_conditions_) {
    if (!resolution.defined() || !aspect_ratio.defined()) {
      throw Error(
          "PixArt transformer: this model (sample_size 128) needs the image resolution and aspect "
          "ratio");
    }
    const at::Tensor res =
        resolution_embedder_->forward(time_proj_->forward(resolution.flatten()).to(dtype))
            .reshape({batch, -1});
    const at::Tensor ar =
        aspect_ratio_embedder_->forward(time_proj_->forward(aspect_ratio.flatten()).to(dtype))
            .reshape({batch, -1});
    conditioning = conditioning + at::cat({res, ar}, 1);
  }
  return {linear_->forward(at::silu(conditioning)), conditioning};
}

// ---------------------------------------------------------------- PixArtAlphaTextProjection

PixArtAlphaTextProjectionImpl::PixArtAlphaTextProjectionImpl(int64_t in_features,
                                                             int64_t hidden_size) {
  linear_1_ = register_module("linear_1", torch::nn::Linear(in_features, hidden_size));
  linear_2_ = register_module("linear_2", torch::nn::Linear(hidden_size, hidden_size));
}

at::Tensor PixArtAlphaTextProjectionImpl::forward(const at::Tensor& caption) {
  return linear_2_->forward(at::gelu(linear_1_->forward(caption), "tanh"));
}

// ------------------------------------------------------------------ PixArtTransformerBlock

namespace {

torch::nn::LayerNorm make_layer_norm(int64_t dim, const PixArtTransformer2DModelConfig& c) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})
                                  .eps(c.norm_eps)
                                  .elementwise_affine(c.norm_elementwise_affine));
}

// (1 + scale) * x + shift on [B, N, dim] with [B, 1, dim] modulation.
at::Tensor modulate(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& scale) {
  return x * (1 + scale) + shift;
}

}  // namespace

PixArtTransformerBlockImpl::PixArtTransformerBlockImpl(const PixArtTransformer2DModelConfig& c)
    : dim_(c.inner_dim()) {
  const auto attention = [&](std::optional<int64_t> cross) {
    AttentionOptions a;
    a.query_dim = dim_;
    a.cross_attention_dim = cross;
    a.heads = c.num_attention_heads;
    a.dim_head = c.attention_head_dim;
    a.bias = c.attention_bias;
    a.upcast_attention = c.upcast_attention;
    return Attention(a);
  };
  norm1_ = register_module("norm1", make_layer_norm(dim_, c));
  attn1_ = register_module("attn1", attention(std::nullopt));
  norm2_ = register_module("norm2", make_layer_norm(dim_, c));
  attn2_ = register_module("attn2", attention(c.cross_attention_dim));
  FeedForwardOptions f;
  f.dim = dim_;
  f.dropout = c.dropout;
  f.activation_fn = c.activation_fn;
  ff_ = register_module("ff", FeedForward(f));
  // diffusers: torch.randn(6, dim) / dim**0.5; the weights file overwrites it.
  scale_shift_table_ = register_parameter("scale_shift_table", at::zeros({6, dim_}));
}

at::Tensor PixArtTransformerBlockImpl::forward(const at::Tensor& hidden_states_in,
                                               const at::Tensor& encoder_hidden_states,
                                               const at::Tensor& encoder_attention_mask,
                                               const at::Tensor& timestep) {
  const int64_t batch = hidden_states_in.size(0);
  const std::vector<at::Tensor> m =
      (scale_shift_table_.unsqueeze(0) + timestep.reshape({batch, 6, -1})).chunk(6, 1);
  const at::Tensor &shift_msa = m[0], &scale_msa = m[1], &gate_msa = m[2];
  const at::Tensor &shift_mlp = m[3], &scale_mlp = m[4], &gate_mlp = m[5];

  at::Tensor hidden_states = hidden_states_in;
  at::Tensor norm = modulate(norm_forward(*norm1_, hidden_states), shift_msa, scale_msa);
  hidden_states = gate_msa * attn1_->forward(norm) + hidden_states;

  // ada_norm_single: the cross-attention reads the hidden states as they are.
  hidden_states =
      attn2_->forward(hidden_states, encoder_hidden_states, encoder_attention_mask) + hidden_states;

  norm = modulate(norm_forward(*norm2_, hidden_states), shift_mlp, scale_mlp);
  hidden_states = gate_mlp * ff_->forward(norm) + hidden_states;
  return hidden_states;
}

// --------------------------------------------------------------- PixArtTransformer2DModel

PixArtTransformer2DModelImpl::PixArtTransformer2DModelImpl(const PixArtTransformer2DModelConfig& c)
    : config_(c) {
  config_.validate("PixArt transformer config");
  const int64_t dim = c.inner_dim();
  pos_embed_ = register_module("pos_embed", PatchEmbed(c.sample_size, c.patch_size, c.in_channels,
                                                       dim, c.resolved_interpolation_scale()));
  torch::nn::ModuleList blocks;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    blocks_.push_back(PixArtTransformerBlock(c));
    blocks->push_back(blocks_.back());
  }
  register_module("transformer_blocks", blocks);
  norm_out_ = register_module(
      "norm_out",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-6).elementwise_affine(false)));
  proj_out_ = register_module(
      "proj_out", torch::nn::Linear(dim, c.patch_size * c.patch_size * c.output_channels()));
  scale_shift_table_ = register_parameter("scale_shift_table", at::zeros({2, dim}));
  adaln_single_ =
      register_module("adaln_single", AdaLayerNormSingle(dim, c.use_additional_conditions()));
  caption_projection_ =
      register_module("caption_projection", PixArtAlphaTextProjection(*c.caption_channels, dim));
}

at::Tensor PixArtTransformer2DModelImpl::forward(const at::Tensor& hidden_states_in,
                                                 const at::Tensor& encoder_hidden_states_in,
                                                 const at::Tensor& timestep_in,
                                                 const at::Tensor& encoder_attention_mask_in,
                                                 const at::Tensor& resolution,
                                                 const at::Tensor& aspect_ratio) {
  const auto& c = config_;
  if (hidden_states_in.dim() != 4 || hidden_states_in.size(1) != c.in_channels ||
      hidden_states_in.size(2) % c.patch_size != 0 ||
      hidden_states_in.size(3) % c.patch_size != 0) {
    throw Error("PixArt transformer: expected latents [B, " + std::to_string(c.in_channels) +
                ", H, W] with H and W multiples of " + std::to_string(c.patch_size));
  }
  if (encoder_hidden_states_in.dim() != 3 ||
      encoder_hidden_states_in.size(0) != hidden_states_in.size(0) ||
      encoder_hidden_states_in.size(2) != *c.caption_channels) {
    throw Error("PixArt transformer: expected text embeddings [B, M, " +
                std::to_string(*c.caption_channels) + "] for " +
                std::to_string(hidden_states_in.size(0)) + " latents");
  }
  const int64_t batch = hidden_states_in.size(0);
  const int64_t height = hidden_states_in.size(2) / c.patch_size;
  const int64_t width = hidden_states_in.size(3) / c.patch_size;
  const at::ScalarType dtype = hidden_states_in.scalar_type();

  at::Tensor encoder_attention_mask;
  if (encoder_attention_mask_in.defined()) {
    if (encoder_attention_mask_in.dim() == 2) {
      encoder_attention_mask = ((1 - encoder_attention_mask_in.to(dtype)) * -10000.0).unsqueeze(1);
    } else {
      encoder_attention_mask = encoder_attention_mask_in;
    }
  }
  at::Tensor timestep = timestep_in.dim() == 0 ? timestep_in.expand({batch}) : timestep_in;

  at::Tensor hidden_states = pos_embed_->forward(hidden_states_in);
  const auto ada = adaln_single_->forward(timestep, resolution, aspect_ratio, dtype);
  const at::Tensor encoder_hidden_states = caption_projection_->forward(encoder_hidden_states_in)
                                               .view({batch, -1, hidden_states.size(-1)});
  for (auto& block : blocks_) {
    hidden_states =
        block->forward(hidden_states, encoder_hidden_states, encoder_attention_mask, ada.timestep);
  }
  const std::vector<at::Tensor> ss =
      (scale_shift_table_.unsqueeze(0) + ada.embedded_timestep.unsqueeze(1)).chunk(2, 1);
  hidden_states = modulate(norm_forward(*norm_out_, hidden_states), ss[0], ss[1]);
  hidden_states = proj_out_->forward(hidden_states);

  // unpatchify: [B, h*w, p*p*C] -> nhwpqc -> nchpwq -> [B, C, h*p, w*p].
  const int64_t p = c.patch_size;
  const int64_t out_channels = c.output_channels();
  return hidden_states.reshape({batch, height, width, p, p, out_channels})
      .permute({0, 5, 1, 3, 2, 4})
      .reshape({batch, out_channels, height * p, width * p});
}

// ------------------------------------------------------------------------------------ loading

PixArtTransformer2DModel load_pixart_transformer_2d_model(const std::string& component_dir,
                                                          const std::string& variant,
                                                          at::ScalarType dtype, at::Device device) {
  const std::string config_path = component_dir + "/config.json";
  const PixArtTransformer2DModelConfig config =
      PixArtTransformer2DModelConfig::from_json(read_json_file(config_path), config_path);
  auto model = build_for_loading([&] { return PixArtTransformer2DModel(config); });
  model->to(device, dtype);
  load_component_weights(*model, component_dir, {"diffusion_pytorch_model"}, variant);
  model->eval();
  return model;
}

}  // namespace papillon
