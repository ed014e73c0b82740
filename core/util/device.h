#pragma once
// Device and compute dtype chosen at run time ("cpu", "cuda", "cuda:1"; "fp32", "fp16", "bf16").
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace papillon {

struct ComputeTarget {
  c10::Device device = c10::Device(c10::kCPU);
  c10::ScalarType dtype = c10::kFloat;
};

// Throws Error with the accepted spellings; "cuda" without a CUDA build or device is an error that
// says so.
c10::Device parse_device(const std::string& text);
c10::ScalarType parse_dtype(const std::string& text);
std::string dtype_name(c10::ScalarType dtype);  // "fp32", "fp16", "bf16", ...
// Rejects combinations LibTorch cannot run (fp16 convolutions on the CPU).
ComputeTarget make_compute_target(const std::string& device, const std::string& dtype);

}  // namespace papillon
