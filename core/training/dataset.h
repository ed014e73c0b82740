#pragma once
// Training data: an abstract dataset of [C, H, W] images in [-1, 1] with optional labels, the
// Fashion-MNIST idx files, and an in-memory tensor dataset (synthetic data, tests).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace papillon {

struct Example {
  at::Tensor image;    // [C, H, W] float32 in [-1, 1], CPU
  int64_t label = -1;  // -1: unlabelled
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual Example get(int64_t index) const = 0;
  virtual int64_t channels() const = 0;
  virtual int64_t resolution() const = 0;  // images are resolution x resolution
  // Class names when the dataset is labelled (labels index this list); empty otherwise.
  virtual std::vector<std::string> class_names() const { return {}; }
  // A short description for logs and the checkpoint ("fashion-mnist train (60000)").
  virtual std::string description() const = 0;
  // A batch [B, C, H, W] + labels [B] (int64, -1 when unlabelled). The default stacks get().
  virtual void get_batch(const std::vector<int64_t>& indices, at::Tensor* images,
                         at::Tensor* labels) const;
};

// The Fashion-MNIST class names, in label order.
const std::vector<std::string>& fashion_mnist_class_names();

// Fashion-MNIST / MNIST idx files (optionally gzip-compressed):
// <dir>/<split>-images-idx3-ubyte[.gz] and <split>-labels-idx1-ubyte[.gz], split "train" or "t10k".
// 28x28 images are centred on a black
// (-1) canvas of `resolution` (>= 28) or resized bilinearly when resolution < 28. Magic numbers,
// counts and sizes are validated; errors name the file.
class FashionMnistDataset : public Dataset {
 public:
  static constexpr const char* kDefaultDir = "/usr/share/datasets/fashion-mnist";
  FashionMnistDataset(const std::string& dir, const std::string& split, int64_t resolution);
  int64_t size() const override { return count_; }
  Example get(int64_t index) const override;
  void get_batch(const std::vector<int64_t>& indices, at::Tensor* images,
                 at::Tensor* labels) const override;
  int64_t channels() const override { return 1; }
  int64_t resolution() const override { return resolution_; }
  std::vector<std::string> class_names() const override { return fashion_mnist_class_names(); }
  std::string description() const override;
  // The raw 28x28 uint8 images [N, 28, 28] and labels [N] (int64).
  const at::Tensor& raw_images() const { return images_; }
  const at::Tensor& raw_labels() const { return labels_; }

 private:
  at::Tensor convert(const at::Tensor& raw) const;  // [B, 28, 28] uint8 -> [B, 1, R, R] [-1, 1]
  std::string dir_, split_;
  int64_t resolution_;
  int64_t count_ = 0;
  at::Tensor images_;  // uint8 [N, 28, 28]
  at::Tensor labels_;  // int64 [N]
};

// Reads an idx file (gzip or plain) into a uint8 tensor with the file's dimensions; checks the
// magic number (0x0000080<ndim>, unsigned bytes) and that the payload size matches.
at::Tensor read_idx_file(const std::string& path);

// Images (and labels) held in memory: synthetic data for tests and small experiments.
class TensorDataset : public Dataset {
 public:
  // images [N, C, R, R] in [-1, 1]; labels [N] int64 or undefined.
  TensorDataset(at::Tensor images, at::Tensor labels = {},
                std::vector<std::string> class_names = {});
  int64_t size() const override { return images_.size(0); }
  Example get(int64_t index) const override;
  int64_t channels() const override { return images_.size(1); }
  int64_t resolution() const override { return images_.size(2); }
  std::vector<std::string> class_names() const override { return class_names_; }
  std::string description() const override;

 private:
  at::Tensor images_, labels_;
  std::vector<std::string> class_names_;
};

// Resizes (bilinear, antialiased when shrinking: the shorter side to `resolution`) and centre-crops
// [C, H, W] in any range to [C, resolution, resolution]: torchvision Resize + CenterCrop.
at::Tensor resize_and_center_crop(const at::Tensor& image, int64_t resolution);

}  // namespace papillon
