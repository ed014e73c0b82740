#include "core/runtime/image_folder_dataset.h"

#include <torch/torch.h>

#include <QDirIterator>
#include <QImage>
#include <QImageReader>
#include <algorithm>

#include "core/runtime/png_io.h"
#include "core/util/error.h"

namespace papillon {

ImageFolderDataset::ImageFolderDataset(const std::string& dir, int64_t resolution, bool grayscale)
    : dir_(dir), resolution_(resolution), grayscale_(grayscale) {
  if (!QFileInfo(QString::fromStdString(dir)).isDir()) {
    throw Error(dir + ": not a folder of images");
  }
  if (resolution < 8 || resolution > 1024) {
    throw Error("resolution " + std::to_string(resolution) + " is outside 8..1024");
  }
  const QStringList patterns = {"*.png", "*.jpg", "*.jpeg", "*.bmp", "*.webp", "*.gif",
                                "*.PNG", "*.JPG", "*.JPEG", "*.BMP", "*.WEBP", "*.GIF"};
  std::vector<std::string> candidates;
  QDirIterator it(QString::fromStdString(dir), patterns, QDir::Files, QDirIterator::Subdirectories);
  while (it.hasNext())
    candidates.push_back(it.next().toStdString());
  std::sort(candidates.begin(), candidates.end());  // a stable order: the same run every time
  std::vector<at::Tensor> images;
  for (const auto& path : candidates) {
    QImageReader reader(QString::fromStdString(path));
    reader.setAutoTransform(true);
    const QImage image = reader.read();
    if (image.isNull() || image.width() < 1 || image.height() < 1) {
      skipped_.push_back(path);
      continue;
    }
    const at::Tensor x = qimage_to_tensor(image, grayscale);  // [C, H, W] in [0, 1]
    const at::Tensor y = resize_and_center_crop(x, resolution).clamp(0, 1);
    images.push_back(y.mul(255).round().to(torch::kUInt8));
    files_.push_back(path);
  }
  if (files_.empty()) {
    throw Error(dir + ": no readable image (PNG, JPEG, BMP, WebP, GIF) found" +
                (skipped_.empty() ? std::string()
                                  : " (" + std::to_string(skipped_.size()) + " unreadable)"));
  }
  images_ = torch::stack(images);
}

Example ImageFolderDataset::get(int64_t index) const {
  if (index < 0 || index >= size()) throw Error("dataset index out of range");
  return {images_[index].to(torch::kFloat).div(127.5).sub(1.0), -1};
}

std::string ImageFolderDataset::description() const {
  return "image folder " + dir_ + " (" + std::to_string(files_.size()) + " images, " +
         std::to_string(skipped_.size()) + " unreadable skipped)";
}

}  // namespace papillon
