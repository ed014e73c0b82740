#include "core/pipelines/image_grid.h"

#include <torch/torch.h>

#include "core/util/error.h"

namespace papillon {

at::Tensor make_grid(const at::Tensor& images, const GridOptions& options) {
  if (images.dim() != 4) throw Error("make_grid expects [N, C, H, W] images");
  if (options.columns < 1 || options.padding < 0) throw Error("grid: columns >= 1, padding >= 0");
  const int64_t n = images.size(0);
  const int64_t c = images.size(1);
  const int64_t h = images.size(2);
  const int64_t w = images.size(3);
  if (n == 0) throw Error("make_grid: no images");
  const int64_t pad = options.padding;
  const int64_t cols = std::min(options.columns, n);
  const int64_t rows = (n + cols - 1) / cols;
  const int64_t cell_h = h + pad;
  const int64_t cell_w = w + pad;
  at::Tensor grid = torch::full({c, rows * cell_h + pad, cols * cell_w + pad}, options.pad_value,
                                images.options());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t y = (i / cols) * cell_h + pad;
    const int64_t x = (i % cols) * cell_w + pad;
    grid.narrow(1, y, h).narrow(2, x, w).copy_(images[i]);
  }
  return grid;
}

at::Tensor make_timeline(const std::vector<at::Tensor>& frames, const GridOptions& options) {
  if (frames.empty()) throw Error("timeline: no frames");
  const int64_t n = frames.front().size(0);
  // [F, N, C, H, W] -> [N, F, C, H, W] -> rows of F frames.
  at::Tensor stacked = torch::stack(frames, 0).transpose(0, 1).contiguous();
  GridOptions o = options;
  o.columns = static_cast<int64_t>(frames.size());
  return make_grid(stacked.view({n * o.columns, stacked.size(2), stacked.size(3), stacked.size(4)}),
                   o);
}

at::Tensor to_image_range(const at::Tensor& sample) {
  return (sample / 2 + 0.5).clamp(0, 1);
}

}  // namespace papillon
