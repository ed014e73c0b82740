#pragma once
// A small Fashion-MNIST classifier (two conv layers + two linear layers, ~420k parameters) that
// the repository trains itself, used by `papillon-cli eval` to label generated samples.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <functional>
#include <string>

namespace papillon {

class FashionMnistDataset;

class FashionClassifierImpl : public torch::nn::Module {
 public:
  FashionClassifierImpl();
  // [B, 1, H, W] in [-1, 1] (H, W >= 28: centre-cropped to 28; < 28: padded with -1) -> logits
  // [B, 10].
  at::Tensor forward(const at::Tensor& images);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(FashionClassifier);

struct ClassifierTraining {
  int64_t epochs = 3;
  int64_t batch_size = 128;
  double learning_rate = 1e-3;
  uint64_t seed = 0;
  // Called after every epoch with (epoch, mean training loss, test accuracy).
  std::function<void(int64_t, double, double)> on_epoch;
};

// Trains with Adam and cross-entropy; returns the test accuracy.
double train_fashion_classifier(FashionClassifier& model, const FashionMnistDataset& train,
                                const FashionMnistDataset& test, const ClassifierTraining& options);
double classifier_accuracy(FashionClassifier& model, const FashionMnistDataset& test);
// Predicted labels [B] (int64) for images [B, 1, H, W] in [-1, 1].
at::Tensor classify(FashionClassifier& model, const at::Tensor& images);

// safetensors with the weights + metadata (architecture, test accuracy); loading is strict.
void save_classifier(FashionClassifier& model, const std::string& path, double test_accuracy);
FashionClassifier load_classifier(const std::string& path);

}  // namespace papillon
