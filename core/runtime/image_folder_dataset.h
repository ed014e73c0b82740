#pragma once
// A folder of images (PNG/JPEG/..., searched recursively) as a training data set: decoded with
// QImage, resized (shorter side) and centre-cropped to the resolution, RGB or grayscale, in
// [-1, 1]. Files that cannot be decoded are skipped and counted, never fatal.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "core/training/dataset.h"

namespace papillon {

class ImageFolderDataset : public Dataset {
 public:
  // Decodes every image once (kept in memory as uint8). Throws Error when the folder does not
  // exist or has no readable image.
  ImageFolderDataset(const std::string& dir, int64_t resolution, bool grayscale);
  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  Example get(int64_t index) const override;
  int64_t channels() const override { return grayscale_ ? 1 : 3; }
  int64_t resolution() const override { return resolution_; }
  std::string description() const override;
  const std::vector<std::string>& files() const { return files_; }
  // Files that looked like images but could not be decoded.
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  std::string dir_;
  int64_t resolution_;
  bool grayscale_;
  std::vector<std::string> files_, skipped_;
  at::Tensor images_;  // uint8 [N, C, R, R]
};

}  // namespace papillon
