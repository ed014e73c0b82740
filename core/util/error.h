#pragma once
// Errors a user can read: every failure in core is a papillon::Error whose message names the file,
// the key or the value at fault ("unet/config.json: block_out_channels must have 3 entries, has
// 2").
#include <stdexcept>
#include <string>

namespace papillon {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown when a running job was cancelled through its CancelToken.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

}  // namespace papillon
