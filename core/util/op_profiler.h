#pragma once
// Where a model call's time goes: wall time per top-level ATen op (conv2d, matmul, softmax, ...)
// on this thread while an OpProfiler is alive (a RecordFunction observer; nested ops count toward
// their outermost op). For `papillon-cli bench --profile` and docs/performance.md.
#include <cstdint>
#include <string>
#include <vector>

namespace papillon {

class OpProfiler {
 public:
  struct Entry {
    std::string op;
    double seconds = 0;
    int64_t calls = 0;
  };

  OpProfiler();
  ~OpProfiler();
  OpProfiler(const OpProfiler&) = delete;
  OpProfiler& operator=(const OpProfiler&) = delete;

  // Ops by time spent, longest first.
  std::vector<Entry> entries() const;
  double total_seconds() const;  // the sum over every op

 private:
  uint64_t handle_ = 0;
};

}  // namespace papillon
