#include "core/util/device.h"

#include <torch/cuda.h>

#include "core/util/error.h"

namespace papillon {

c10::Device parse_device(const std::string& text) {
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(text);
  } catch (const std::exception&) {
    throw Error("unknown device '" + text + "' (use cpu, cuda or cuda:N)");
  }
  if (device.is_cuda()) {
    if (!torch::cuda::is_available()) {
      throw Error("device '" + text +
                  "' requested but this LibTorch has no CUDA support or no GPU is visible");
    }
    const auto count = static_cast<int64_t>(torch::cuda::device_count());
    if (device.has_index() && device.index() >= count) {
      throw Error("device '" + text + "' does not exist (" + std::to_string(count) + " GPUs)");
    }
  } else if (!device.is_cpu()) {
    throw Error("unsupported device '" + text + "' (use cpu, cuda or cuda:N)");
  }
  return device;
}

c10::ScalarType parse_dtype(const std::string& text) {
  if (text == "fp32" || text == "float32" || text == "float") return c10::kFloat;
  if (text == "fp16" || text == "float16" || text == "half") return c10::kHalf;
  if (text == "bf16" || text == "bfloat16") return c10::kBFloat16;
  throw Error("unknown dtype '" + text + "' (use fp32, fp16 or bf16)");
}

std::string dtype_name(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::kFloat:
      return "fp32";
    case c10::kHalf:
      return "fp16";
    case c10::kBFloat16:
      return "bf16";
    case c10::kDouble:
      return "fp64";
    default:
      return c10::toString(dtype);
  }
}

ComputeTarget make_compute_target(const std::string& device, const std::string& dtype) {
  ComputeTarget t;
  t.device = parse_device(device);
  t.dtype = parse_dtype(dtype);
  if (t.device.is_cpu() && t.dtype == c10::kHalf) {
    throw Error(
        "fp16 compute is not supported on the CPU (LibTorch has no fp16 CPU convolutions); "
        "use --dtype fp32 or bf16");
  }
  return t;
}

}  // namespace papillon
