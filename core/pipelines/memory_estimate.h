#pragma once
// Refusing a generation that cannot fit in memory before anything is allocated: a rough estimate of
// a run's peak working memory (the activations, not the weights, which are already loaded) checked
// against the memory the system has available.
#include <cstdint>
#include <string>

namespace papillon {

struct UNet2DConditionModelConfig;
struct AutoencoderKLConfig;
struct PixArtTransformer2DModelConfig;

// Peak activation bytes of one Stable Diffusion run of `images` images of width x height pixels
// (`guidance`: classifier-free guidance doubles the UNet batch), `element_size` bytes per value.
// It counts the largest terms only, so it is a lower bound of the real peak: the attention score
// matrices of the UNet's attention blocks (batch x heads x tokens^2, three live copies: scores,
// softmax, and the baddbmm input) and the VAE decoder's largest activation (four live copies) or
// its mid-block attention (tokens^2).
uint64_t estimate_stable_diffusion_bytes(const UNet2DConditionModelConfig& unet,
                                         const AutoencoderKLConfig& vae, int64_t width,
                                         int64_t height, int64_t images, bool guidance,
                                         int64_t element_size);

// The same for a PixArt-α run: the transformer's self- and cross-attention scores over the patch
// tokens (text_tokens: the T5 sequence) or its feed-forward activation, and the VAE decoder.
uint64_t estimate_pixart_bytes(const PixArtTransformer2DModelConfig& transformer,
                               const AutoencoderKLConfig& vae, int64_t width, int64_t height,
                               int64_t images, bool guidance, int64_t element_size,
                               int64_t text_tokens);

// Bytes this process can still allocate: MemAvailable of /proc/meminfo, lowered by a cgroup
// (v2 or v1) memory limit when one is set. 0 when unknown (then nothing is refused).
uint64_t available_memory_bytes();

// Throws papillon::Error "<what> needs about X GB of memory (estimate) but only Y GB are
// available; <advice>" when needed > available (and available is known, i.e. not 0).
void check_memory_fits(uint64_t needed, uint64_t available, const std::string& what,
                       const std::string& advice);

// "1.5 GB", "300 MB", "12 TB".
std::string format_bytes(uint64_t bytes);

}  // namespace papillon
