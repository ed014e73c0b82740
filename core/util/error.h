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

// The part of an exception's message a user can read: LibTorch's c10::Error carries a C++
// backtrace after its first lines ("Exception raised from ..."), which is cut off.
inline std::string user_message(const std::exception& e) {
  std::string text = e.what();
  const size_t cut = text.find("\nException raised from");
  if (cut != std::string::npos) text.resize(cut);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Thrown when a running job was cancelled through its CancelToken.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

}  // namespace papillon
