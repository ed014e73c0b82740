#pragma once
// Finding and reading weight files in a diffusers / transformers component folder.
#include <string>
#include <vector>

#include "core/io/safetensors.h"

namespace papillon {

// Every tensor of a .safetensors file, a torch.save .bin (zip) file or a shard index .json (chosen
// by extension), checked now and read on demand: what model loading uses, so each tensor goes
// straight into its parameter.
LazyTensorList open_weights_file(const std::string& path);

// The same, read into memory.
TensorList load_weights_file(const std::string& path);

// The weights file of a component folder. `stems` are tried in order, each first as
// "<stem>[.<variant>].safetensors" then "<stem>[.<variant>].bin" — diffusers:
// {"diffusion_pytorch_model"}, transformers: {"model", "pytorch_model"}. Throws an Error that lists
// what was looked for when nothing is there.
std::string find_weights_file(const std::string& dir, const std::vector<std::string>& stems,
                              const std::string& variant = "");

}  // namespace papillon
