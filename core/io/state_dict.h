#pragma once
// Strict loading of named tensors into a LibTorch module whose registered names equal the
// diffusers/transformers state-dict keys.
#include <torch/nn/module.h>

#include <functional>
#include <string>
#include <vector>

#include "core/io/safetensors.h"

namespace papillon {

// Copies each tensor into the parameter or buffer of the same name (converted to that parameter's
// dtype and device). One Error, naming `source`, lists every missing, unexpected and wrongly-shaped
// key. `rename` maps a file key to the module's key (e.g. legacy attention names); may be empty.
void load_state_dict(torch::nn::Module& module, const TensorList& tensors,
                     const std::string& source,
                     const std::function<std::string(const std::string&)>& rename = {});
// The same from tensors read on demand (open_weights_file): names and shapes are checked first,
// then each tensor is read straight into its parameter. A file that fails while being read (e.g.
// truncated meanwhile) gives an Error naming it; the module is then partly loaded.
void load_state_dict(torch::nn::Module& module, const LazyTensorList& tensors,
                     const std::string& source,
                     const std::function<std::string(const std::string&)>& rename = {});

// Finds the weights file of a component folder (find_weights_file: `stems`, `variant`) and loads it
// strictly into `module` with load_state_dict.
void load_component_weights(torch::nn::Module& module, const std::string& component_dir,
                            const std::vector<std::string>& stems, const std::string& variant,
                            const std::function<std::string(const std::string&)>& rename = {});

// diffusers checkpoints from 2022 name attention weights query/key/value/proj_attn; today's modules
// call them to_q/to_k/to_v/to_out.0. Returns the key unchanged when it is not a legacy name.
std::string map_legacy_attention_key(const std::string& key);

}  // namespace papillon
