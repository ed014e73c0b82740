#pragma once
// torch::nn::Conv2d with optional weight pre-packing for inference on the CPU. LibTorch 1.13 runs
// fp32 CPU convolutions through oneDNN, which re-orders the weights into its blocked layout on
// every call. For layers whose weights outweigh their activations (the UNets' 8x8 and 4x4 levels)
// that re-ordering costs as much as the convolution. With pre-packing on, the weights are
// re-ordered once, at the first call, and kept in oneDNN's layout (an extra copy of the weights).
// The numbers are bit-identical: the same oneDNN convolution runs either way, and pre-packing is
// used only where LibTorch itself would pick oneDNN.
//
// LibTorch 2.x (measured on Debian 13's 2.6, AVX-512 CPU): oneDNN's CPU convolution reads memory
// it never wrote when a k x k (k > 1) kernel has more than 16 input channels that are not a
// multiple of 16 (fp32 with a batch of 2 or more; bf16 at any batch). The stray values are
// multiplied by zero, so the result is right until that memory happens to hold a NaN or an
// infinity, and then the whole output is NaN (a 24-channel up block of a tiny UNet trained to NaN
// after 21 steps). Such convolutions get their input channels zero-padded to a multiple of 16,
// input and weight alike: the same sums, computed where oneDNN reads only what it was given. The
// gradient of the input has the same fault over the output channels (any count not a multiple of
// 16, from 1 up): when the input needs a gradient, the output channels are padded too (zero
// filters whose outputs are cut off).
#include <torch/nn/modules/conv.h>

#include <cstdint>
#include <vector>

namespace papillon {

class Conv2dImpl : public torch::nn::Conv2dImpl {
 public:
  using torch::nn::Conv2dImpl::Conv2dImpl;
  at::Tensor forward(const at::Tensor& input);
  // Off by default. Turning it off (or on again) drops the packed copy; turn it on again after
  // writing new weights into the module in place.
  void set_prepacking(bool on);
  bool prepacking() const { return prepack_; }

 private:
  bool can_prepack(const at::Tensor& input) const;
  // The padding above: input and output channels to add (0 and 0: none needed).
  struct ChannelPadding {
    int64_t in = 0;
    int64_t out = 0;
    std::vector<int64_t> padding;  // the convolution's own (spatial) padding
  };
  ChannelPadding channel_padding(const at::Tensor& input) const;

  bool prepack_ = false;
  at::Tensor packed_;
  const void* packed_from_ = nullptr;
  int64_t packed_version_ = -1;
};
TORCH_MODULE(Conv2d);

// Sets pre-packing on every papillon::Conv2d inside `module` (including itself).
void set_conv_prepacking(torch::nn::Module& module, bool on);

}  // namespace papillon
