#include "core/util/random.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <string>

#include "core/util/error.h"

namespace papillon {

Generators Generators::from_seed(uint64_t seed) {
  Generators g;
  g.gens_.push_back(at::detail::createCPUGenerator(seed));
  g.seeds_.push_back(seed);
  return g;
}

Generators Generators::from_seeds(const std::vector<uint64_t>& seeds) {
  Generators g;
  for (uint64_t s : seeds) {
    g.gens_.push_back(at::detail::createCPUGenerator(s));
    g.seeds_.push_back(s);
  }
  g.per_sample_ = true;
  return g;
}

at::Tensor Generators::randn(at::IntArrayRef shape, const at::TensorOptions& options) {
  if (gens_.empty()) throw Error("random draw requested but no generator was given");
  const auto cpu = at::TensorOptions().dtype(at::kFloat).device(at::kCPU);
  at::Tensor out;
  if (!per_sample_) {
    out = at::randn(shape, gens_[0], cpu);
  } else {
    if (shape.empty() || shape[0] != static_cast<int64_t>(gens_.size())) {
      throw Error("got " + std::to_string(gens_.size()) + " generators for a batch of " +
                  (shape.empty() ? std::string("0") : std::to_string(shape[0])));
    }
    std::vector<int64_t> one(shape.begin(), shape.end());
    one[0] = 1;
    std::vector<at::Tensor> parts;
    parts.reserve(gens_.size());
    for (auto& g : gens_)
      parts.push_back(at::randn(one, g, cpu));
    out = at::cat(parts, 0);
  }
  const auto dtype = options.has_dtype() ? options.dtype().toScalarType() : at::kFloat;
  const auto device = options.has_device() ? options.device() : at::Device(at::kCPU);
  return out.to(device, dtype);
}

}  // namespace papillon
