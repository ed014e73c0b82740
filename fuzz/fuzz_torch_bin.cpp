// Fuzzes the torch.save (.bin) reader as users hit it: load_torch_bin on a file (zip container,
// restricted unpickler, storage records). Every tensor it returns must lie inside its storage.
#include <ATen/ATen.h>

#include "core/io/unpickler.h"
#include "fuzz/fuzz_common.h"

using papillon::fuzz::fail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = papillon::fuzz::write_scratch_file("input.bin", data, size);
  papillon::fuzz::run_expecting_clean_errors("torch_bin", [&] {
    const papillon::TensorList tensors = papillon::load_torch_bin(path);
    for (const auto& [name, t] : tensors) {
      if (!t.defined()) fail("torch_bin", name + ": undefined tensor");
      if (t.numel() == 0) continue;
      if (t.storage_offset() < 0) fail("torch_bin", name + ": negative storage offset");
      int64_t last = t.storage_offset();
      for (int64_t d = 0; d < t.dim(); ++d) {
        if (t.stride(d) < 0) fail("torch_bin", name + ": negative stride");
        last += (t.size(d) - 1) * t.stride(d);
      }
      const uint64_t end = static_cast<uint64_t>(last + 1) * t.element_size();
      if (end > t.storage().nbytes()) fail("torch_bin", name + ": view outside its storage");
      // Touch the first and the last element of the view.
      const auto* base = static_cast<const volatile uint8_t*>(t.storage().data());
      (void)base[t.storage_offset() * t.element_size()];
      (void)base[end - 1];
    }
  });
  return 0;
}
