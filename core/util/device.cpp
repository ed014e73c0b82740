#include "core/util/device.h"

#include <ATen/Context.h>
#include <torch/cuda.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

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

void prepare_device(const ComputeTarget& target) {
  if (!target.device.is_cuda()) return;
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setAllowTF32CuBLAS(false);
}

bool cuda_available() {
  return torch::cuda::is_available();
}

bool cpu_has_native_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid_count(1, 0, a, b, c, d);
  const bool osxsave = (c >> 27) & 1u;
  if (!osxsave) return false;
  // XCR0: SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM state saved by the OS (bits 1, 2, 5, 6, 7).
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  if ((xcr0_lo & 0xE6u) != 0xE6u) return false;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx512bw = (b >> 30) & 1u;
  const bool avx512vl = (b >> 31) & 1u;
  const bool amx_bf16 = (d >> 22) & 1u;
  __cpuid_count(7, 1, a, b, c, d);
  const bool avx512_bf16 = (a >> 5) & 1u;
  return (avx512bw && avx512vl && avx512_bf16) || amx_bf16;
#else
  return false;  // ARM's BF16 extensions: not measured, so not assumed faster
#endif
}

bool is_reduced_precision(c10::ScalarType dtype) {
  return dtype == c10::kHalf || dtype == c10::kBFloat16;
}

c10::ScalarType side_dtype(c10::ScalarType dtype) {
  return is_reduced_precision(dtype) ? c10::kFloat : dtype;
}

c10::Device resolve_device(const std::string& device) {
  if (device == "auto") {
    return cuda_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  }
  if (device == "cpu" || device.rfind("cuda", 0) == 0) return parse_device(device);
  throw Error("unknown device '" + device + "' (use auto, cpu or cuda)");
}

ComputeTarget resolve_compute_target(const std::string& device, const std::string& precision) {
  ComputeTarget t;
  t.device = resolve_device(device);
  if (precision == "full") {
    t.dtype = c10::kFloat;
  } else if (precision == "half") {
    t.dtype = t.device.is_cuda() ? c10::kHalf : c10::kBFloat16;
  } else {
    throw Error("unknown precision '" + precision + "' (use full or half)");
  }
  return t;
}

}  // namespace papillon
