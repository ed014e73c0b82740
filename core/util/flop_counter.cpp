#include "core/util/flop_counter.h"

#include <ATen/record_function.h>
#include <torch/torch.h>

#include <cstring>

namespace papillon {
namespace {

struct Counts {
  double conv = 0;
  double matmul = 0;
};
thread_local Counts counts;

std::vector<int64_t> sizes_of(const c10::IValue& v) {
  if (v.isTensor() && v.toTensor().defined()) return v.toTensor().sizes().vec();
  return {};
}

std::vector<int64_t> ints_of(const c10::IValue& v) {
  if (v.isIntList()) return v.toIntVector();
  return {};
}

double conv_flops(c10::ArrayRef<const c10::IValue> in) {
  if (in.size() < 9) return 0;
  const auto x = sizes_of(in[0]);
  const auto w = sizes_of(in[1]);
  if (x.size() != 4 || w.size() != 4) return 0;
  if (in[6].isBool() && in[6].toBool()) return 0;  // transposed: not used by our models
  auto stride = ints_of(in[3]);
  auto padding = ints_of(in[4]);
  auto dilation = ints_of(in[5]);
  const int64_t groups = in[8].isInt() ? in[8].toInt() : 1;
  auto at2 = [](const std::vector<int64_t>& v, size_t i, int64_t def) {
    return v.empty() ? def : v[std::min(i, v.size() - 1)];
  };
  double out_hw = 1;
  for (size_t d = 0; d < 2; ++d) {
    const int64_t k = w[2 + d];
    const int64_t o = (x[2 + d] + 2 * at2(padding, d, 0) - at2(dilation, d, 1) * (k - 1) - 1) /
                          at2(stride, d, 1) +
                      1;
    out_hw *= static_cast<double>(o);
  }
  return 2.0 * x[0] * w[0] * out_hw * (static_cast<double>(x[1]) / groups) * w[2] * w[3];
}

double matmul_flops(const char* name, c10::ArrayRef<const c10::IValue> in) {
  auto gemm = [](const std::vector<int64_t>& a, const std::vector<int64_t>& b) -> double {
    if (a.size() == 2 && b.size() == 2) return 2.0 * a[0] * a[1] * b[1];
    if (a.size() == 3 && b.size() == 3) return 2.0 * a[0] * a[1] * a[2] * b[2];
    return 0;
  };
  if (std::strcmp(name, "aten::mm") == 0 || std::strcmp(name, "aten::bmm") == 0) {
    return in.size() >= 2 ? gemm(sizes_of(in[0]), sizes_of(in[1])) : 0;
  }
  if (std::strcmp(name, "aten::addmm") == 0 || std::strcmp(name, "aten::baddbmm") == 0) {
    return in.size() >= 3 ? gemm(sizes_of(in[1]), sizes_of(in[2])) : 0;
  }
  return 0;
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  const char* name = fn.name();
  if (name == nullptr || std::strncmp(name, "aten::", 6) != 0) return nullptr;
  if (std::strcmp(name, "aten::convolution") == 0) {
    counts.conv += conv_flops(fn.inputs());
  } else {
    counts.matmul += matmul_flops(name, fn.inputs());
  }
  return nullptr;
}

}  // namespace

FlopCounter::FlopCounter() {
  counts = Counts{};
  handle_ = at::addThreadLocalCallback(
      at::RecordFunctionCallback(&on_start).needsInputs(true).scopes({at::RecordScope::FUNCTION}));
}

FlopCounter::~FlopCounter() {
  at::removeCallback(handle_);
}

double FlopCounter::total() const {
  return counts.conv + counts.matmul;
}
double FlopCounter::convolution() const {
  return counts.conv;
}
double FlopCounter::matmul() const {
  return counts.matmul;
}
void FlopCounter::reset() {
  counts = Counts{};
}

}  // namespace papillon
