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

// x, w: input and weight sizes; the rest as aten::convolution takes them.
double conv_flops(const std::vector<int64_t>& x, const std::vector<int64_t>& w,
                  const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                  const std::vector<int64_t>& dilation, int64_t groups);

// aten::convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
// groups)
double conv_flops(c10::ArrayRef<const c10::IValue> in) {
  if (in.size() < 9) return 0;
  if (in[6].isBool() && in[6].toBool()) return 0;  // transposed: not used by our models
  return conv_flops(sizes_of(in[0]), sizes_of(in[1]), ints_of(in[3]), ints_of(in[4]),
                    ints_of(in[5]), in[8].isInt() ? in[8].toInt() : 1);
}

// aten::mkldnn_convolution(input, weight, bias, padding, stride, dilation, groups): the
// pre-packed convolutions of core/models/conv.h.
double mkldnn_conv_flops(c10::ArrayRef<const c10::IValue> in) {
  if (in.size() < 7) return 0;
  return conv_flops(sizes_of(in[0]), sizes_of(in[1]), ints_of(in[4]), ints_of(in[3]),
                    ints_of(in[5]), in[6].isInt() ? in[6].toInt() : 1);
}

double conv_flops(const std::vector<int64_t>& x, const std::vector<int64_t>& w,
                  const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                  const std::vector<int64_t>& dilation, int64_t groups) {
  if (x.size() != 4 || w.size() != 4) return 0;
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

// aten::convolution calls aten::mkldnn_convolution itself on the CPU: that nested call is not
// counted again.
thread_local int convolution_depth = 0;

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  const char* name = fn.name();
  if (name == nullptr || std::strncmp(name, "aten::", 6) != 0) return nullptr;
  if (std::strcmp(name, "aten::convolution") == 0) {
    if (convolution_depth++ == 0) counts.conv += conv_flops(fn.inputs());
  } else if (std::strcmp(name, "aten::mkldnn_convolution") == 0) {
    if (convolution_depth == 0) counts.conv += mkldnn_conv_flops(fn.inputs());
  } else {
    counts.matmul += matmul_flops(name, fn.inputs());
  }
  return nullptr;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext*) {
  const char* name = fn.name();
  if (name != nullptr && std::strcmp(name, "aten::convolution") == 0 && convolution_depth > 0)
    --convolution_depth;
}

}  // namespace

FlopCounter::FlopCounter() {
  counts = Counts{};
  convolution_depth = 0;
  handle_ = at::addThreadLocalCallback(at::RecordFunctionCallback(&on_start, &on_end)
                                           .needsInputs(true)
                                           .scopes({at::RecordScope::FUNCTION}));
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
