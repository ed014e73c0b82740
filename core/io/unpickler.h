#pragma once
// torch.save(state_dict) .bin files (zip container + pickle) read by a restricted unpickler that
// only knows the globals a state dict needs; any other global is rejected with an error naming it,
// before anything is built. No code from the file is ever run.
#include <string>

#include "core/io/safetensors.h"

namespace papillon {

// Every tensor, in memory (views sharing a storage share it here too).
TensorList load_torch_bin(const std::string& path);

// Every tensor, read on demand: the archive and the pickle are checked now, each tensor's bytes are
// read from its storage record when read_into is called (straight into the destination when it is a
// contiguous CPU tensor of the stored dtype and the view is contiguous).
LazyTensorList open_torch_bin(const std::string& path);

}  // namespace papillon
