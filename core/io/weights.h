#pragma once
// Finding and reading weight files in a diffusers / transformers component folder.
#include <string>
#include <vector>

#include "core/io/safetensors.h"

namespace papillon {

// Reads every tensor of a .safetensors file or a torch.save .bin (zip) file, chosen by extension.
TensorList load_weights_file(const std::string& path);

// The weights file of a component folder. `stems` are tried in order, each first as
// "<stem>[.<variant>].safetensors" then "<stem>[.<variant>].bin" — diffusers:
// {"diffusion_pytorch_model"}, transformers: {"model", "pytorch_model"}. Throws an Error that lists
// what was looked for when nothing is there.
std::string find_weights_file(const std::string& dir, const std::vector<std::string>& stems,
                              const std::string& variant = "");

}  // namespace papillon
