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

// fp16 / bf16: the dtypes only the UNet runs in. Everything around it (latents, noise, scheduler,
// text encoder, VAE) keeps side_dtype(): fp32 for a reduced dtype, else the dtype itself.
bool is_reduced_precision(c10::ScalarType dtype);
c10::ScalarType side_dtype(c10::ScalarType dtype);
// "auto": the first CUDA device where available, else the CPU; "cpu", "cuda", "cuda:N" as
// parse_device. Throws Error for anything else.
c10::Device resolve_device(const std::string& device);

// Process-wide numerics for a target, called by the pipeline loaders: on CUDA, TF32 off for
// convolutions and matmuls (LibTorch allows it for cuDNN convolutions by default), so that fp32
// on a GPU is fp32 and matches diffusers' CPU numbers within the fixtures' tolerance.
void prepare_device(const ComputeTarget& target);

// Whether this LibTorch has CUDA and sees a GPU.
bool cuda_available();
// Whether this CPU computes bfloat16 natively (AVX512_BF16 or AMX-BF16, with the OS saving the
// AVX-512 state). Only there does bf16 run faster than fp32: elsewhere LibTorch converts every
// value and bf16 is slower.
bool cpu_has_native_bf16();

// The app's two settings, as the window and `generate --device auto --precision ...` name them:
//   device     "auto" (CUDA where available, else the CPU), "cpu" or "cuda"
//   precision  "full" (fp32: the same numbers as diffusers in fp32) or "half" (fp16 on a GPU,
//              bf16 on the CPU: faster where the hardware has it, images differ slightly)
// Throws Error for an unknown value or "cuda" without a GPU.
ComputeTarget resolve_compute_target(const std::string& device, const std::string& precision);

}  // namespace papillon
