#pragma once
// torch.save(state_dict) .bin files (zip container + pickle) read by a restricted unpickler that only
// knows the globals a state dict needs; any other global is rejected with an error naming it, before
// anything is built. No code from the file is ever run.
#include <string>

#include "core/io/safetensors.h"

namespace papillon {

TensorList load_torch_bin(const std::string& path);

}  // namespace papillon
