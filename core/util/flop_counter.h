#pragma once
// Counts the floating-point operations of the matrix-multiply and convolution ATen ops that run on
// this thread while a FlopCounter is alive (a RecordFunction observer, like torch.profiler's
// with_flops). Counts come from the ops' own input shapes: 2*M*N*K per GEMM, 2*N*Cout*Hout*Wout*
// (Cin/groups)*kh*kw per convolution. Elementwise ops, norms and softmax are not counted.
#include <cstdint>
#include <memory>

namespace papillon {

class FlopCounter {
 public:
  FlopCounter();
  ~FlopCounter();
  FlopCounter(const FlopCounter&) = delete;
  FlopCounter& operator=(const FlopCounter&) = delete;

  double total() const;        // all counted FLOPs
  double convolution() const;  // of which convolutions
  double matmul() const;       // of which mm/addmm/bmm/baddbmm
  void reset();

 private:
  uint64_t handle_ = 0;
};

}  // namespace papillon
