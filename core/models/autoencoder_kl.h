#pragma once
// diffusers models/autoencoders/autoencoder_kl.py: AutoencoderKL (the Stable Diffusion VAE), with
// vae.py's DiagonalGaussianDistribution, tiled encode/decode and batch slicing.
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>

#include <optional>
#include <string>
#include <vector>

#include "core/io/config.h"
#include "core/models/activations.h"
#include "core/models/conv.h"
#include "core/models/vae.h"
#include "core/util/random.h"

namespace papillon {

// Field names = config.json keys, defaults = diffusers' AutoencoderKL.__init__.
struct AutoencoderKLConfig {
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  std::vector<std::string> down_block_types = {"DownEncoderBlock2D"};
  std::vector<std::string> up_block_types = {"UpDecoderBlock2D"};
  std::vector<int64_t> block_out_channels = {64};
  int64_t layers_per_block = 1;
  std::string act_fn = "silu";
  int64_t latent_channels = 4;
  int64_t norm_num_groups = 32;
  std::vector<int64_t> sample_size = {32};  // one int, or {height, width}
  double scaling_factor = 0.18215;
  std::optional<std::vector<double>> latents_mean;  // parsed, unused by the model itself
  std::optional<std::vector<double>> latents_std;
  bool force_upcast = true;
  // Keys of later diffusers versions (absent in 0.27 configs; defaults keep 0.27 behaviour).
  bool use_quant_conv = true;
  bool use_post_quant_conv = true;
  bool mid_block_add_attention = true;

  static AutoencoderKLConfig from_json(const Json& json, const std::string& source);
  void validate(const std::string& source) const;
  // 2 ** (len(block_out_channels) - 1): image pixels per latent pixel.
  int64_t vae_scale_factor() const;
};

// vae.py DiagonalGaussianDistribution: mean / logvar are the channel halves of `parameters`, logvar
// clamped to [-30, 20], std = exp(0.5 * logvar), var = exp(logvar) (zeros when deterministic).
struct DiagonalGaussianDistribution {
  explicit DiagonalGaussianDistribution(const at::Tensor& parameters, bool deterministic = false);

  // mean + std * randn(mean.shape) drawn like diffusers' randn_tensor (CPU float32 draws through
  // `generators`, then moved to the parameters' device / dtype).
  at::Tensor sample(Generators& generators) const;
  at::Tensor mode() const { return mean; }
  // KL divergence to N(0, 1) (other unset) or to `other`, summed over dims 1..3.
  at::Tensor kl(const DiagonalGaussianDistribution* other = nullptr) const;

  at::Tensor parameters;
  at::Tensor mean;
  at::Tensor logvar;
  at::Tensor std;
  at::Tensor var;
  bool deterministic = false;
};

class AutoencoderKLImpl : public torch::nn::Module {
 public:
  explicit AutoencoderKLImpl(const AutoencoderKLConfig& config);

  // x [B, in_channels, H, W] -> the latent distribution (moments [B, 2 * latent_channels, H/f,
  // W/f]). With tiling enabled and an input larger than a tile, uses tiled_encode.
  DiagonalGaussianDistribution encode(const at::Tensor& x);
  // z [B, latent_channels, h, w] (already divided by scaling_factor) -> image [B, out, h*f, w*f].
  // With tiling enabled and a latent larger than a tile, uses tiled_decode.
  at::Tensor decode(const at::Tensor& z);
  // decode(encode(x).mode()), or a posterior sample when sample_posterior (needs generators).
  at::Tensor forward(const at::Tensor& x, bool sample_posterior = false,
                     Generators* generators = nullptr);

  // decode() with tiling for this call only: plain decode when z fits one tile, else tiled_decode.
  at::Tensor decode_tiled(const at::Tensor& z);
  // diffusers tiled_encode / tiled_decode: overlapping tiles of tile_sample_min_size pixels /
  // tile_latent_min_size latents (overlap factor 0.25), blended linearly, then cropped and joined.
  // Always tiles (a latent smaller than a tile still gets the crop to the tile's row limit).
  DiagonalGaussianDistribution tiled_encode(const at::Tensor& x);
  at::Tensor tiled_decode(const at::Tensor& z);

  void enable_tiling(bool use_tiling = true) { use_tiling_ = use_tiling; }
  void enable_slicing(bool use_slicing = true) { use_slicing_ = use_slicing; }
  bool use_tiling() const { return use_tiling_; }
  bool use_slicing() const { return use_slicing_; }
  int64_t tile_sample_min_size() const { return tile_sample_min_size_; }
  int64_t tile_latent_min_size() const { return tile_latent_min_size_; }
  double tile_overlap_factor() const { return tile_overlap_factor_; }
  // Overrides the tile sizes (diffusers lets callers assign these attributes).
  void set_tile_sizes(int64_t sample_min_size, int64_t latent_min_size);

  const AutoencoderKLConfig& config() const { return config_; }
  // Records encoder.* / decoder.* (see Encoder / Decoder), quant_conv, post_quant_conv.
  void set_activation_recorder(ActivationRecorder* recorder);

 private:
  at::Tensor encode_moments(const at::Tensor& x);
  at::Tensor decode_plain(const at::Tensor& z);
  at::Tensor quant(const at::Tensor& h, bool record_it);
  at::Tensor post_quant(const at::Tensor& z, bool record_it);

  AutoencoderKLConfig config_;
  ActivationRecorder* recorder_ = nullptr;
  bool use_tiling_ = false;
  bool use_slicing_ = false;
  int64_t tile_sample_min_size_ = 0;
  int64_t tile_latent_min_size_ = 0;
  double tile_overlap_factor_ = 0.25;
  Encoder encoder_{nullptr};
  Decoder decoder_{nullptr};
  Conv2d quant_conv_{nullptr};
  Conv2d post_quant_conv_{nullptr};
};
TORCH_MODULE(AutoencoderKL);

// Reads <component_dir>/config.json and diffusion_pytorch_model[.<variant>].safetensors (else
// .bin), strictly (legacy attention names mapped); returns the model in eval mode as dtype on
// device.
AutoencoderKL load_autoencoder_kl(const std::string& component_dir, const std::string& variant = "",
                                  at::ScalarType dtype = at::kFloat,
                                  at::Device device = at::Device(at::kCPU));

}  // namespace papillon
