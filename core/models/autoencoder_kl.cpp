#include "core/models/autoencoder_kl.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/io/state_dict.h"
#include "core/io/weights.h"
#include "core/models/skip_init.h"
#include "core/util/error.h"

namespace papillon {

// ------------------------------------------------------------------------------------------ config

AutoencoderKLConfig AutoencoderKLConfig::from_json(const Json& json, const std::string& source) {
  if (!json.is_object()) throw Error(source + ": expected a JSON object");
  const ConfigReader r(json, source);
  AutoencoderKLConfig c;
  c.in_channels = r.get_int("in_channels", c.in_channels);
  c.out_channels = r.get_int("out_channels", c.out_channels);
  c.down_block_types = r.get_string_list("down_block_types", c.down_block_types);
  c.up_block_types = r.get_string_list("up_block_types", c.up_block_types);
  c.block_out_channels = r.get_int_list("block_out_channels", c.block_out_channels);
  c.layers_per_block = r.get_int("layers_per_block", c.layers_per_block);
  c.act_fn = r.get_string("act_fn", c.act_fn);
  c.latent_channels = r.get_int("latent_channels", c.latent_channels);
  c.norm_num_groups = r.get_int("norm_num_groups", c.norm_num_groups);
  if (r.has("sample_size")) {
    if (json.at("sample_size").is_array()) {
      c.sample_size = r.get_int_list("sample_size", {});
      if (c.sample_size.size() != 2) {
        r.fail("sample_size", "must be an integer or [height, width], has " +
                                  std::to_string(c.sample_size.size()) + " entries");
      }
    } else {
      c.sample_size = {r.get_int("sample_size", 0)};
    }
  }
  c.scaling_factor = r.get_double("scaling_factor", c.scaling_factor);
  if (r.has("latents_mean")) c.latents_mean = r.get_double_list("latents_mean", {});
  if (r.has("latents_std")) c.latents_std = r.get_double_list("latents_std", {});
  // diffusers annotates force_upcast as float but writes a bool; accept both.
  if (r.has("force_upcast") && json.at("force_upcast").is_number()) {
    c.force_upcast = r.get_double("force_upcast", 1.0) != 0.0;
  } else {
    c.force_upcast = r.get_bool("force_upcast", c.force_upcast);
  }
  c.use_quant_conv = r.get_bool("use_quant_conv", c.use_quant_conv);
  c.use_post_quant_conv = r.get_bool("use_post_quant_conv", c.use_post_quant_conv);
  c.mid_block_add_attention = r.get_bool("mid_block_add_attention", c.mid_block_add_attention);
  c.validate(source);
  return c;
}

void AutoencoderKLConfig::validate(const std::string& source) const {
  const Json empty = Json::object();
  const ConfigReader r(empty, source);
  const auto count = [](size_t n) { return std::to_string(n); };
  if (block_out_channels.empty()) r.fail("block_out_channels", "must not be empty");
  if (down_block_types.size() != block_out_channels.size()) {
    r.fail("down_block_types", "must have one entry per block_out_channels entry (" +
                                   count(block_out_channels.size()) + "), has " +
                                   count(down_block_types.size()));
  }
  if (up_block_types.size() != block_out_channels.size()) {
    r.fail("up_block_types", "must have one entry per block_out_channels entry (" +
                                 count(block_out_channels.size()) + "), has " +
                                 count(up_block_types.size()));
  }
  for (size_t i = 0; i < down_block_types.size(); ++i) {
    if (!is_supported_vae_down_block(down_block_types[i])) {
      r.fail("down_block_types", "entry " + count(i) + " \"" + down_block_types[i] +
                                     "\" is not a supported VAE block type");
    }
  }
  for (size_t i = 0; i < up_block_types.size(); ++i) {
    if (!is_supported_vae_up_block(up_block_types[i])) {
      r.fail("up_block_types", "entry " + count(i) + " \"" + up_block_types[i] +
                                   "\" is not a supported VAE block type");
    }
  }
  for (int64_t channels : block_out_channels) {
    if (channels <= 0) r.fail("block_out_channels", "entries must be positive");
    if (norm_num_groups <= 0 || channels % norm_num_groups != 0) {
      r.fail("norm_num_groups", "(" + std::to_string(norm_num_groups) +
                                    ") must divide every block_out_channels entry, not " +
                                    std::to_string(channels));
    }
  }
  if (in_channels <= 0) r.fail("in_channels", "must be positive");
  if (out_channels <= 0) r.fail("out_channels", "must be positive");
  if (latent_channels <= 0) r.fail("latent_channels", "must be positive");
  if (layers_per_block < 1) r.fail("layers_per_block", "must be at least 1");
  for (int64_t s : sample_size) {
    if (s <= 0) r.fail("sample_size", "must be positive");
  }
  get_activation(act_fn, source + ": act_fn");
}

int64_t AutoencoderKLConfig::vae_scale_factor() const {
  return int64_t{1} << (block_out_channels.size() - 1);
}

// ----------------------------------------------------------------- DiagonalGaussianDistribution

DiagonalGaussianDistribution::DiagonalGaussianDistribution(const at::Tensor& params,
                                                           bool is_deterministic)
    : parameters(params), deterministic(is_deterministic) {
  const auto halves = parameters.chunk(2, 1);
  mean = halves[0];
  logvar = at::clamp(halves[1], -30.0, 20.0);
  std = at::exp(0.5 * logvar);
  var = at::exp(logvar);
  if (deterministic) {
    var = at::zeros_like(mean);
    std = var;
  }
}

at::Tensor DiagonalGaussianDistribution::sample(Generators& generators) const {
  const at::Tensor noise = generators.randn(mean.sizes(), parameters.options());
  return mean + std * noise;
}

at::Tensor DiagonalGaussianDistribution::kl(const DiagonalGaussianDistribution* other) const {
  if (deterministic) return at::zeros({1});
  if (other == nullptr) {
    return 0.5 * at::sum(at::pow(mean, 2) + var - 1.0 - logvar, {1, 2, 3});
  }
  return 0.5 * at::sum(at::pow(mean - other->mean, 2) / other->var + var / other->var - 1.0 -
                           logvar + other->logvar,
                       {1, 2, 3});
}

// ----------------------------------------------------------------------------------- the model

namespace {

// diffusers blend_v / blend_h: the first `extent` rows (columns) of b fade in from the last ones
// of a. Modifies b in place, as diffusers does (later blends see the blended tiles).
void blend_v(const at::Tensor& a, at::Tensor& b, int64_t blend_extent) {
  const int64_t extent = std::min({a.size(2), b.size(2), blend_extent});
  for (int64_t y = 0; y < extent; ++y) {
    const double w = static_cast<double>(y) / static_cast<double>(extent);
    at::Tensor row = b.select(2, y);
    row.copy_(a.select(2, a.size(2) - extent + y) * (1 - w) + row * w);
  }
}

void blend_h(const at::Tensor& a, at::Tensor& b, int64_t blend_extent) {
  const int64_t extent = std::min({a.size(3), b.size(3), blend_extent});
  for (int64_t x = 0; x < extent; ++x) {
    const double w = static_cast<double>(x) / static_cast<double>(extent);
    at::Tensor column = b.select(3, x);
    column.copy_(a.select(3, a.size(3) - extent + x) * (1 - w) + column * w);
  }
}

// Blends each tile with its upper and left neighbours, crops it to row_limit and joins the grid.
at::Tensor blend_tiles(std::vector<std::vector<at::Tensor>>& rows, int64_t blend_extent,
                       int64_t row_limit) {
  std::vector<at::Tensor> result_rows;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::vector<at::Tensor> result_row;
    for (size_t j = 0; j < rows[i].size(); ++j) {
      at::Tensor& tile = rows[i][j];
      if (i > 0) blend_v(rows[i - 1][j], tile, blend_extent);
      if (j > 0) blend_h(rows[i][j - 1], tile, blend_extent);
      result_row.push_back(tile.slice(2, 0, row_limit).slice(3, 0, row_limit));
    }
    result_rows.push_back(at::cat(result_row, 3));
  }
  return at::cat(result_rows, 2);
}

}  // namespace

AutoencoderKLImpl::AutoencoderKLImpl(const AutoencoderKLConfig& config) : config_(config) {
  config_.validate("AutoencoderKL config");
  EncoderOptions e;
  e.in_channels = config_.in_channels;
  e.out_channels = config_.latent_channels;
  e.down_block_types = config_.down_block_types;
  e.block_out_channels = config_.block_out_channels;
  e.layers_per_block = config_.layers_per_block;
  e.act_fn = config_.act_fn;
  e.norm_num_groups = config_.norm_num_groups;
  e.double_z = true;
  e.mid_block_add_attention = config_.mid_block_add_attention;
  encoder_ = register_module("encoder", Encoder(e));

  DecoderOptions d;
  d.in_channels = config_.latent_channels;
  d.out_channels = config_.out_channels;
  d.up_block_types = config_.up_block_types;
  d.block_out_channels = config_.block_out_channels;
  d.layers_per_block = config_.layers_per_block;
  d.norm_num_groups = config_.norm_num_groups;
  d.act_fn = config_.act_fn;
  d.mid_block_add_attention = config_.mid_block_add_attention;
  decoder_ = register_module("decoder", Decoder(d));

  const int64_t moments = 2 * config_.latent_channels;
  if (config_.use_quant_conv) {
    quant_conv_ =
        register_module("quant_conv", Conv2d(torch::nn::Conv2dOptions(moments, moments, 1)));
  }
  if (config_.use_post_quant_conv) {
    post_quant_conv_ = register_module(
        "post_quant_conv",
        Conv2d(torch::nn::Conv2dOptions(config_.latent_channels, config_.latent_channels, 1)));
  }

  // diffusers: tile_sample_min_size = sample_size (the first entry of a [h, w] pair),
  // tile_latent_min_size = int(sample_size / 2 ** (len(block_out_channels) - 1)).
  tile_sample_min_size_ = config_.sample_size.at(0);
  tile_latent_min_size_ = static_cast<int64_t>(static_cast<double>(config_.sample_size.at(0)) /
                                               static_cast<double>(config_.vae_scale_factor()));
}

void AutoencoderKLImpl::set_tile_sizes(int64_t sample_min_size, int64_t latent_min_size) {
  if (sample_min_size <= 0 || latent_min_size <= 0) {
    throw Error("AutoencoderKL: tile sizes must be positive");
  }
  tile_sample_min_size_ = sample_min_size;
  tile_latent_min_size_ = latent_min_size;
}

void AutoencoderKLImpl::set_activation_recorder(ActivationRecorder* recorder) {
  recorder_ = recorder;
  encoder_->set_activation_recorder(recorder, "encoder.");
  decoder_->set_activation_recorder(recorder, "decoder.");
}

at::Tensor AutoencoderKLImpl::quant(const at::Tensor& h, bool record_it) {
  if (!quant_conv_) return h;
  at::Tensor moments = quant_conv_->forward(h);
  if (record_it) record_activation(recorder_, "quant_conv", moments);
  return moments;
}

at::Tensor AutoencoderKLImpl::post_quant(const at::Tensor& z, bool record_it) {
  if (!post_quant_conv_) return z;
  at::Tensor out = post_quant_conv_->forward(z);
  if (record_it) record_activation(recorder_, "post_quant_conv", out);
  return out;
}

at::Tensor AutoencoderKLImpl::encode_moments(const at::Tensor& x) {
  const AttentionScratchScope attention_scratch;
  at::Tensor h;
  if (use_slicing_ && x.size(0) > 1) {
    std::vector<at::Tensor> slices;
    for (const at::Tensor& slice : x.split(1))
      slices.push_back(encoder_->forward(slice));
    h = at::cat(slices);
  } else {
    h = encoder_->forward(x);
  }
  return quant(h, true);
}

DiagonalGaussianDistribution AutoencoderKLImpl::encode(const at::Tensor& x) {
  TORCH_CHECK(x.dim() == 4, "AutoencoderKL.encode: expected [B, C, H, W], got ", x.sizes());
  if (use_tiling_ && (x.size(-1) > tile_sample_min_size_ || x.size(-2) > tile_sample_min_size_)) {
    return tiled_encode(x);
  }
  return DiagonalGaussianDistribution(encode_moments(x));
}

at::Tensor AutoencoderKLImpl::decode_plain(const at::Tensor& z) {
  if (use_tiling_ && (z.size(-1) > tile_latent_min_size_ || z.size(-2) > tile_latent_min_size_)) {
    return tiled_decode(z);
  }
  return decoder_->forward(post_quant(z, true));
}

at::Tensor AutoencoderKLImpl::decode(const at::Tensor& z) {
  const AttentionScratchScope attention_scratch;
  TORCH_CHECK(z.dim() == 4, "AutoencoderKL.decode: expected [B, C, h, w], got ", z.sizes());
  if (use_slicing_ && z.size(0) > 1) {
    std::vector<at::Tensor> slices;
    for (const at::Tensor& slice : z.split(1))
      slices.push_back(decode_plain(slice));
    return at::cat(slices);
  }
  return decode_plain(z);
}

at::Tensor AutoencoderKLImpl::decode_tiled(const at::Tensor& z) {
  const bool previous = use_tiling_;
  use_tiling_ = true;
  try {
    at::Tensor out = decode(z);
    use_tiling_ = previous;
    return out;
  } catch (...) {
    use_tiling_ = previous;
    throw;
  }
}

DiagonalGaussianDistribution AutoencoderKLImpl::tiled_encode(const at::Tensor& x) {
  const int64_t overlap_size =
      static_cast<int64_t>(static_cast<double>(tile_sample_min_size_) * (1 - tile_overlap_factor_));
  const int64_t blend_extent =
      static_cast<int64_t>(static_cast<double>(tile_latent_min_size_) * tile_overlap_factor_);
  const int64_t row_limit = tile_latent_min_size_ - blend_extent;
  TORCH_CHECK(overlap_size > 0, "AutoencoderKL: tile_sample_min_size too small to tile");

  std::vector<std::vector<at::Tensor>> rows;
  for (int64_t i = 0; i < x.size(2); i += overlap_size) {
    std::vector<at::Tensor> row;
    for (int64_t j = 0; j < x.size(3); j += overlap_size) {
      const at::Tensor tile =
          x.slice(2, i, i + tile_sample_min_size_).slice(3, j, j + tile_sample_min_size_);
      row.push_back(quant(encoder_->forward(tile), false));
    }
    rows.push_back(std::move(row));
  }
  return DiagonalGaussianDistribution(blend_tiles(rows, blend_extent, row_limit));
}

at::Tensor AutoencoderKLImpl::tiled_decode(const at::Tensor& z) {
  const int64_t overlap_size =
      static_cast<int64_t>(static_cast<double>(tile_latent_min_size_) * (1 - tile_overlap_factor_));
  const int64_t blend_extent =
      static_cast<int64_t>(static_cast<double>(tile_sample_min_size_) * tile_overlap_factor_);
  const int64_t row_limit = tile_sample_min_size_ - blend_extent;
  TORCH_CHECK(overlap_size > 0, "AutoencoderKL: tile_latent_min_size too small to tile");

  std::vector<std::vector<at::Tensor>> rows;
  for (int64_t i = 0; i < z.size(2); i += overlap_size) {
    std::vector<at::Tensor> row;
    for (int64_t j = 0; j < z.size(3); j += overlap_size) {
      const at::Tensor tile =
          z.slice(2, i, i + tile_latent_min_size_).slice(3, j, j + tile_latent_min_size_);
      row.push_back(decoder_->forward(post_quant(tile, false)));
    }
    rows.push_back(std::move(row));
  }
  return blend_tiles(rows, blend_extent, row_limit);
}

at::Tensor AutoencoderKLImpl::forward(const at::Tensor& x, bool sample_posterior,
                                      Generators* generators) {
  const DiagonalGaussianDistribution posterior = encode(x);
  at::Tensor z;
  if (sample_posterior) {
    if (generators == nullptr || generators->empty()) {
      throw Error("AutoencoderKL.forward: sample_posterior needs a generator");
    }
    z = posterior.sample(*generators);
  } else {
    z = posterior.mode();
  }
  return decode(z);
}

AutoencoderKL load_autoencoder_kl(const std::string& component_dir, const std::string& variant,
                                  at::ScalarType dtype, at::Device device) {
  const std::string config_path = component_dir + "/config.json";
  const AutoencoderKLConfig config =
      AutoencoderKLConfig::from_json(read_json_file(config_path), config_path);
  auto model = build_for_loading([&] { return AutoencoderKL(config); });
  model->to(device, dtype);
  load_component_weights(*model, component_dir, {"diffusion_pytorch_model"}, variant,
                         map_legacy_attention_key);
  model->eval();
  return model;
}

}  // namespace papillon
