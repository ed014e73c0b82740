#pragma once
// Private to core/io: a restricted pickle virtual machine for torch.save state dicts. It knows only
// the globals a state dict needs (OrderedDict, torch's tensor/parameter rebuild functions, the
// typed storage classes); any other global is refused as soon as it is read. Nothing from the file
// is executed, memory use is bounded, and every tensor view is checked to lie inside its storage.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>

#include "core/io/safetensors.h"

namespace papillon::detail {

// Returns the storage record `key` as a 1-D CPU tensor of `dtype` with exactly `numel` elements
// (throws Error otherwise). Called once per distinct key.
using StorageLoader =
    std::function<at::Tensor(const std::string& key, at::ScalarType dtype, int64_t numel)>;

// Runs the pickle in data[0, size) and returns the state dict it builds, in insertion order. A
// state dict wrapped as {"state_dict": ...}, {"model": ...} or {"module": ...} is unwrapped.
// `source` prefixes every error message (the file path).
TensorList unpickle_state_dict(const uint8_t* data, size_t size, const std::string& source,
                               const StorageLoader& load_storage);

}  // namespace papillon::detail
