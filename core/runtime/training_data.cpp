#include "core/runtime/training_data.h"

#include <cstdio>
#include <filesystem>

#include "core/runtime/image_folder_dataset.h"
#include "core/runtime/png_io.h"
#include "core/training/dataset.h"

namespace papillon {

std::shared_ptr<const Dataset> open_training_dataset(const std::string& data, int64_t resolution,
                                                     bool grayscale) {
  static const std::string kFashion = "fashion-mnist";
  if (data == kFashion || data.rfind(kFashion + ":", 0) == 0) {
    const std::string dir =
        data == kFashion ? FashionMnistDataset::kDefaultDir : data.substr(kFashion.size() + 1);
    return std::make_shared<FashionMnistDataset>(dir, "train", resolution);
  }
  return std::make_shared<ImageFolderDataset>(data, resolution, grayscale);
}

size_t skipped_file_count(const Dataset& dataset) {
  const auto* folder = dynamic_cast<const ImageFolderDataset*>(&dataset);
  return folder ? folder->skipped().size() : 0;
}

std::string save_sample_grid(const std::string& out_dir, int64_t step, const at::Tensor& grid) {
  const std::string dir = out_dir + "/samples";
  std::filesystem::create_directories(dir);
  char name[64];
  std::snprintf(name, sizeof name, "/step-%06lld.png", static_cast<long long>(step));
  const QImage image = scale_nearest(tensor_to_qimage(grid), 2);
  const std::map<std::string, std::string> text{{"papillon:step", std::to_string(step)}};
  save_png(dir + name, image, text);
  save_png(dir + "/latest.png", image, text);
  return dir + "/latest.png";
}

}  // namespace papillon
