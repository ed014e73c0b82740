#pragma once
// Image grids like torchvision.utils.make_grid (what the tutorial's show_images uses).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace papillon {

struct GridOptions {
  int64_t columns = 8;     // images per row (torchvision's nrow); rows follow
  int64_t padding = 2;     // pixels around and between images
  double pad_value = 0.0;  // in the images' value range
};

// images: [N, C, H, W] -> [C, H', W'] with ceil(N/columns) rows.
at::Tensor make_grid(const at::Tensor& images, const GridOptions& options = {});

// frames[f]: [N, C, H, W] (the same N images at successive steps) -> one row per image, one column
// per frame.
at::Tensor make_timeline(const std::vector<at::Tensor>& frames, const GridOptions& options = {});

// Model space [-1, 1] -> image space [0, 1], as diffusers' (x / 2 + 0.5).clamp(0, 1).
at::Tensor to_image_range(const at::Tensor& sample);

}  // namespace papillon
