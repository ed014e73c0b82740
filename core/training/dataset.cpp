#include "core/training/dataset.h"

#include <torch/torch.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>

#include "core/util/error.h"

namespace papillon {

void Dataset::get_batch(const std::vector<int64_t>& indices, at::Tensor* images,
                        at::Tensor* labels) const {
  std::vector<at::Tensor> parts;
  std::vector<int64_t> ids;
  parts.reserve(indices.size());
  for (int64_t i : indices) {
    Example e = get(i);
    parts.push_back(e.image);
    ids.push_back(e.label);
  }
  *images = torch::stack(parts);
  *labels = torch::tensor(ids, torch::kLong);
}

const std::vector<std::string>& fashion_mnist_class_names() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                 "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};
  return names;
}

// ------------------------------------------------------------------------------------- idx files

namespace {

std::vector<uint8_t> read_maybe_gzipped(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files too
  if (!f) throw Error(path + ": cannot open");
  std::vector<uint8_t> data;
  std::vector<uint8_t> chunk(1 << 20);
  while (true) {
    const int n = gzread(f, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int code = 0;
      const std::string message = gzerror(f, &code);
      gzclose(f);
      throw Error(path + ": not a valid gzip/idx file (" + message + ")");
    }
    if (n == 0) break;
    data.insert(data.end(), chunk.begin(), chunk.begin() + n);
  }
  gzclose(f);
  return data;
}

uint32_t big_endian_u32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

std::string find_idx(const std::string& dir, const std::string& stem) {
  for (const std::string& name : {stem + ".gz", stem}) {
    const std::string path = dir + "/" + name;
    if (std::filesystem::exists(path)) return path;
  }
  throw Error(dir + ": no " + stem + " or " + stem +
              ".gz (Fashion-MNIST idx files; on Debian: apt install dataset-fashion-mnist)");
}

}  // namespace

at::Tensor read_idx_file(const std::string& path) {
  const std::vector<uint8_t> data = read_maybe_gzipped(path);
  if (data.size() < 4) throw Error(path + ": too short for an idx file");
  if (data[0] != 0 || data[1] != 0 || data[2] != 0x08) {
    throw Error(path + ": bad idx magic number (expected 00 00 08 <ndim>: unsigned bytes)");
  }
  const int ndim = data[3];
  if (ndim < 1 || ndim > 4)
    throw Error(path + ": idx with " + std::to_string(ndim) + " dimensions");
  if (data.size() < 4 + 4 * size_t(ndim)) throw Error(path + ": truncated idx header");
  std::vector<int64_t> shape;
  uint64_t count = 1;
  for (int d = 0; d < ndim; ++d) {
    const uint32_t n = big_endian_u32(&data[4 + 4 * size_t(d)]);
    shape.push_back(n);
    count *= n;
  }
  const size_t offset = 4 + 4 * size_t(ndim);
  if (data.size() - offset != count) {
    throw Error(path + ": idx payload is " + std::to_string(data.size() - offset) +
                " bytes, the header says " + std::to_string(count));
  }
  at::Tensor t = torch::empty(shape, torch::kUInt8);
  std::memcpy(t.data_ptr<uint8_t>(), data.data() + offset, count);
  return t;
}

// --------------------------------------------------------------------------------- Fashion-MNIST

FashionMnistDataset::FashionMnistDataset(const std::string& dir, const std::string& split,
                                         int64_t resolution)
    : dir_(dir), split_(split), resolution_(resolution) {
  if (split != "train" && split != "t10k" && split != "test") {
    throw Error("Fashion-MNIST split must be train or t10k (test), got '" + split + "'");
  }
  if (resolution < 8 || resolution > 512) {
    throw Error("resolution " + std::to_string(resolution) + " is outside 8..512");
  }
  const std::string stem = split == "train" ? "train" : "t10k";
  const std::string images_path = find_idx(dir, stem + "-images-idx3-ubyte");
  const std::string labels_path = find_idx(dir, stem + "-labels-idx1-ubyte");
  images_ = read_idx_file(images_path);
  at::Tensor labels = read_idx_file(labels_path);
  if (images_.dim() != 3) throw Error(images_path + ": expected 3 dimensions (N, rows, columns)");
  if (labels.dim() != 1) throw Error(labels_path + ": expected 1 dimension (N)");
  if (images_.size(0) != labels.size(0)) {
    throw Error(images_path + ": " + std::to_string(images_.size(0)) + " images but " +
                labels_path + " has " + std::to_string(labels.size(0)) + " labels");
  }
  if (images_.size(1) != 28 || images_.size(2) != 28) {
    throw Error(images_path + ": images are " + std::to_string(images_.size(1)) + "x" +
                std::to_string(images_.size(2)) + ", expected 28x28");
  }
  labels_ = labels.to(torch::kLong);
  if (labels_.numel() > 0 && labels_.max().item<int64_t>() > 9) {
    throw Error(labels_path + ": label " + std::to_string(labels_.max().item<int64_t>()) +
                " is outside 0..9");
  }
  count_ = images_.size(0);
}

std::string FashionMnistDataset::description() const {
  return "fashion-mnist " + split_ + " (" + std::to_string(count_) + " images, " + dir_ + ")";
}

at::Tensor FashionMnistDataset::convert(const at::Tensor& raw) const {
  at::Tensor x = raw.to(torch::kFloat).div(127.5).sub(1.0).unsqueeze(1);  // [B, 1, 28, 28]
  if (resolution_ == 28) return x;
  if (resolution_ > 28) {
    const int64_t before = (resolution_ - 28) / 2;
    const int64_t after = resolution_ - 28 - before;
    return torch::constant_pad_nd(x, {before, after, before, after}, -1.0);
  }
  return at::_upsample_bilinear2d_aa(x, {resolution_, resolution_}, false, c10::nullopt,
                                     c10::nullopt);
}

Example FashionMnistDataset::get(int64_t index) const {
  if (index < 0 || index >= count_) throw Error("dataset index out of range");
  return {convert(images_.narrow(0, index, 1))[0], labels_[index].item<int64_t>()};
}

void FashionMnistDataset::get_batch(const std::vector<int64_t>& indices, at::Tensor* images,
                                    at::Tensor* labels) const {
  const at::Tensor idx = torch::tensor(indices, torch::kLong);
  *images = convert(images_.index_select(0, idx));
  *labels = labels_.index_select(0, idx);
}

// ---------------------------------------------------------------------------------------- tensors

TensorDataset::TensorDataset(at::Tensor images, at::Tensor labels,
                             std::vector<std::string> class_names)
    : images_(std::move(images)), labels_(std::move(labels)), class_names_(std::move(class_names)) {
  if (images_.dim() != 4 || images_.size(2) != images_.size(3)) {
    throw Error("TensorDataset: images must be [N, C, R, R]");
  }
  images_ = images_.to(torch::kFloat).contiguous();
  if (labels_.defined()) {
    if (labels_.dim() != 1 || labels_.size(0) != images_.size(0)) {
      throw Error("TensorDataset: labels must be [N]");
    }
    labels_ = labels_.to(torch::kLong);
  }
}

Example TensorDataset::get(int64_t index) const {
  if (index < 0 || index >= size()) throw Error("dataset index out of range");
  return {images_[index], labels_.defined() ? labels_[index].item<int64_t>() : -1};
}

std::string TensorDataset::description() const {
  return "in-memory (" + std::to_string(size()) + " images)";
}

// ---------------------------------------------------------------------------------- preprocessing

at::Tensor resize_and_center_crop(const at::Tensor& image, int64_t resolution) {
  if (image.dim() != 3) throw Error("resize_and_center_crop: expected [C, H, W]");
  const int64_t h = image.size(1), w = image.size(2);
  at::Tensor x = image.to(torch::kFloat).unsqueeze(0);
  if (std::min(h, w) != resolution) {
    // torchvision Resize(int): the shorter side becomes `resolution`, the other keeps the aspect.
    int64_t nh, nw;
    if (h <= w) {
      nh = resolution;
      nw = std::max<int64_t>(resolution, int64_t(double(resolution) * w / h));
    } else {
      nw = resolution;
      nh = std::max<int64_t>(resolution, int64_t(double(resolution) * h / w));
    }
    x = at::_upsample_bilinear2d_aa(x, {nh, nw}, false, c10::nullopt, c10::nullopt);
  }
  const int64_t top = static_cast<int64_t>(std::round((x.size(2) - resolution) / 2.0));
  const int64_t left = static_cast<int64_t>(std::round((x.size(3) - resolution) / 2.0));
  return x[0].narrow(1, top, resolution).narrow(2, left, resolution).contiguous();
}

}  // namespace papillon
