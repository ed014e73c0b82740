#pragma once
// Random draws exactly as diffusers' randn_tensor makes them on CPU.
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <cstdint>
#include <vector>

namespace papillon {

// One generator for the whole batch (diffusers: generator=torch.Generator().manual_seed(S)) or one
// per image (a list of generators). randn() draws on the CPU in float32 and then moves to the
// requested device/dtype, so the same seed gives the same numbers on every device.
class Generators {
 public:
  Generators() = default;
  static Generators from_seed(uint64_t seed);
  static Generators from_seeds(const std::vector<uint64_t>& seeds);

  bool empty() const { return gens_.empty(); }
  bool per_sample() const { return per_sample_; }
  size_t size() const { return gens_.size(); }
  const std::vector<uint64_t>& seeds() const { return seeds_; }

  // randn(shape): with one generator, one draw of the full shape; with a list of generators,
  // shape[0] must equal the list's size and each draws (1, shape[1:]) in turn, concatenated.
  at::Tensor randn(at::IntArrayRef shape, const at::TensorOptions& options = {});

 private:
  std::vector<at::Generator> gens_;
  std::vector<uint64_t> seeds_;
  bool per_sample_ = false;
};

}  // namespace papillon
