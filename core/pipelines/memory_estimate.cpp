#include "core/pipelines/memory_estimate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/models/autoencoder_kl.h"
#include "core/models/pixart_transformer_2d.h"
#include "core/models/unet_2d_condition.h"
#include "core/util/error.h"

namespace papillon {
namespace {

// Products of user-chosen sizes overflow 64 bits long before they fit in memory: compute in
// double and saturate.
uint64_t saturate(double bytes) {
  if (!(bytes < 1.8e19)) return std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(bytes);
}

uint64_t read_number_file(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return 0;
  try {
    return std::stoull(text);
  } catch (const std::exception&) {
    return 0;
  }
}

// The VAE decoder's peak for latents of h x w (one image at a time is not assumed: diffusers
// decodes the batch at once): its mid-block attention (one head, latent tokens) or its largest
// activation.
double vae_decoder_peak(const AutoencoderKLConfig& vae, double h, double w, int64_t images,
                        double elt) {
  const double batch = static_cast<double>(images);
  double peak = batch * h * w * h * w * elt;
  const auto& channels = vae.block_out_channels;
  for (size_t level = 0; level < channels.size(); ++level) {
    // Up blocks run on reversed channels from the latent resolution up to the full one.
    const double c = static_cast<double>(channels[channels.size() - 1 - level]);
    const double scale = std::pow(2.0, static_cast<double>(level));
    peak = std::max(peak, 4.0 * batch * c * (h * scale) * (w * scale) * elt);
  }
  return peak;
}

}  // namespace

uint64_t estimate_stable_diffusion_bytes(const UNet2DConditionModelConfig& unet,
                                         const AutoencoderKLConfig& vae, int64_t width,
                                         int64_t height, int64_t images, bool guidance,
                                         int64_t element_size) {
  const double elt = static_cast<double>(element_size);
  const int64_t factor = vae.vae_scale_factor();
  const double h = static_cast<double>(height / factor);
  const double w = static_cast<double>(width / factor);
  const double unet_batch = static_cast<double>(images) * (guidance ? 2.0 : 1.0);

  // UNet: self-attention scores at each resolution whose down block has attention.
  double unet_peak = 0;
  for (size_t i = 0; i < unet.down_block_types.size(); ++i) {
    if (unet.down_block_types[i].find("Attn") == std::string::npos) continue;
    const double scale = std::pow(2.0, static_cast<double>(i));
    const double tokens = (h / scale) * (w / scale);
    const auto& heads_list = unet.attention_head_dim;
    const double heads = heads_list.empty()
                             ? 1.0
                             : static_cast<double>(heads_list[std::min(i, heads_list.size() - 1)]);
    unet_peak = std::max(unet_peak, 3.0 * unet_batch * heads * tokens * tokens * elt);
  }

  return saturate(std::max(unet_peak, vae_decoder_peak(vae, h, w, images, elt)));
}

uint64_t available_memory_bytes() {
  uint64_t available = 0;
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    unsigned long long kb = 0;
    if (std::sscanf(line.c_str(), "MemAvailable: %llu kB", &kb) == 1) {
      available = static_cast<uint64_t>(kb) * 1024;
      break;
    }
  }
  // A container's limit: cgroup v2, else v1.
  uint64_t limit = read_number_file("/sys/fs/cgroup/memory.max");
  uint64_t used = read_number_file("/sys/fs/cgroup/memory.current");
  if (limit == 0) {
    limit = read_number_file("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    used = read_number_file("/sys/fs/cgroup/memory/memory.usage_in_bytes");
  }
  if (limit > 0 && limit < (uint64_t{1} << 60)) {
    const uint64_t left = limit > used ? limit - used : 0;
    available = available == 0 ? left : std::min(available, left);
  }
  return available;
}

std::string format_bytes(uint64_t bytes) {
  const char* units[] = {"bytes", "KB", "MB", "GB", "TB", "PB", "EB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1000 && unit + 1 < std::size(units)) {
    value /= 1000;
    ++unit;
  }
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(unit == 0 ? 0 : value < 10 ? 2 : value < 100 ? 1 : 0);
  out << value << " " << units[unit];
  return out.str();
}

void check_memory_fits(uint64_t needed, uint64_t available, const std::string& what,
                       const std::string& advice) {
  if (available == 0 || needed <= available) return;
  throw Error(what + " needs about " + format_bytes(needed) + " of memory (estimate) but only " +
              format_bytes(available) + " are available; " + advice);
}

uint64_t estimate_pixart_bytes(const PixArtTransformer2DModelConfig& transformer,
                               const AutoencoderKLConfig& vae, int64_t width, int64_t height,
                               int64_t images, bool guidance, int64_t element_size,
                               int64_t text_tokens) {
  const double elt = static_cast<double>(element_size);
  const int64_t factor = vae.vae_scale_factor();
  const double h = static_cast<double>(height / factor);
  const double w = static_cast<double>(width / factor);
  const double batch = static_cast<double>(images) * (guidance ? 2.0 : 1.0);
  const double patch = static_cast<double>(std::max<int64_t>(transformer.patch_size, 1));
  const double tokens = (h / patch) * (w / patch);
  const double heads = static_cast<double>(transformer.num_attention_heads);
  // Self-attention scores (three live copies, as the UNet's) or the cross-attention's, and the
  // feed-forward's hidden activation (4 x inner per token, two live copies).
  const double self_scores = 3.0 * batch * heads * tokens * tokens * elt;
  const double cross_scores =
      3.0 * batch * heads * tokens * static_cast<double>(std::max<int64_t>(text_tokens, 1)) * elt;
  const double ff = 2.0 * batch * tokens * 4.0 * static_cast<double>(transformer.inner_dim()) * elt;
  const double transformer_peak = std::max({self_scores, cross_scores, ff});
  return saturate(std::max(transformer_peak, vae_decoder_peak(vae, h, w, images, elt)));
}

}  // namespace papillon
