// Fuzzes the safetensors reader as users hit it: SafetensorsFile::open on a file, then get() of
// every tensor. Accepted files must describe spans inside the file whose size matches shape x
// dtype.
#include <ATen/ATen.h>

#include "core/io/safetensors.h"
#include "fuzz/fuzz_common.h"

using papillon::fuzz::fail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = papillon::fuzz::write_scratch_file("input.safetensors", data, size);
  papillon::fuzz::run_expecting_clean_errors("safetensors", [&] {
    const auto file = papillon::SafetensorsFile::open(path);
    for (const auto& e : file.entries()) {
      if (e.end < e.begin || e.end > size) fail("safetensors", e.name + ": span outside the file");
      const at::Tensor t = file.get(e.name);
      const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
      if (bytes != e.end - e.begin) fail("safetensors", e.name + ": tensor size != span");
      if (t.numel() > 0) {
        // Touch the first and the last byte: both must be readable memory of the tensor.
        const auto* p = static_cast<const volatile uint8_t*>(t.data_ptr());
        (void)p[0];
        (void)p[bytes - 1];
      }
    }
  });
  return 0;
}
