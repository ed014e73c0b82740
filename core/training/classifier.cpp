#include "core/training/classifier.h"

#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <mutex>

#include "core/io/safetensors.h"
#include "core/io/state_dict.h"
#include "core/training/dataset.h"
#include "core/util/error.h"

namespace papillon {

FashionClassifierImpl::FashionClassifierImpl() {
  conv1_ =
      register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 3).padding(1)));
  conv2_ =
      register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3).padding(1)));
  fc1_ = register_module("fc1", torch::nn::Linear(64 * 7 * 7, 128));
  fc2_ = register_module("fc2", torch::nn::Linear(128, 10));
}

at::Tensor FashionClassifierImpl::forward(const at::Tensor& images) {
  at::Tensor x = images.to(torch::kFloat);
  if (x.dim() != 4 || x.size(1) != 1) throw Error("the classifier takes [B, 1, H, W] images");
  const int64_t h = x.size(2), w = x.size(3);
  if (h >= 28 && w >= 28) {
    x = x.narrow(2, (h - 28) / 2, 28).narrow(3, (w - 28) / 2, 28);
  } else {
    const int64_t ph = 28 - h, pw = 28 - w;
    x = torch::constant_pad_nd(x, {pw / 2, pw - pw / 2, ph / 2, ph - ph / 2}, -1.0);
  }
  x = torch::max_pool2d(torch::relu(conv1_->forward(x)), 2);
  x = torch::max_pool2d(torch::relu(conv2_->forward(x)), 2);
  x = torch::relu(fc1_->forward(x.flatten(1)));
  return fc2_->forward(x);
}

at::Tensor classify(FashionClassifier& model, const at::Tensor& images) {
  torch::NoGradGuard no_grad;
  model->eval();
  return model->forward(images).argmax(1);
}

double classifier_accuracy(FashionClassifier& model, const FashionMnistDataset& test) {
  int64_t correct = 0;
  for (int64_t begin = 0; begin < test.size(); begin += 500) {
    const int64_t n = std::min<int64_t>(500, test.size() - begin);
    std::vector<int64_t> idx(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      idx[static_cast<size_t>(i)] = begin + i;
    at::Tensor images, labels;
    test.get_batch(idx, &images, &labels);
    correct += classify(model, images).eq(labels).sum().item<int64_t>();
  }
  return static_cast<double>(correct) / static_cast<double>(test.size());
}

double train_fashion_classifier(FashionClassifier& model, const FashionMnistDataset& train,
                                const FashionMnistDataset& test, const ClassifierTraining& o) {
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(o.learning_rate));
  double accuracy = 0;
  for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    at::Generator g = at::detail::createCPUGenerator(o.seed * 1000003ULL + uint64_t(epoch));
    const at::Tensor order = at::randperm(train.size(), g, torch::kLong);
    model->train();
    double total = 0;
    int64_t batches = 0;
    for (int64_t begin = 0; begin < train.size(); begin += o.batch_size) {
      const int64_t n = std::min<int64_t>(o.batch_size, train.size() - begin);
      const at::Tensor slice = order.narrow(0, begin, n);
      std::vector<int64_t> idx(slice.data_ptr<int64_t>(), slice.data_ptr<int64_t>() + n);
      at::Tensor images, labels;
      train.get_batch(idx, &images, &labels);
      optimizer.zero_grad();
      const at::Tensor loss = torch::cross_entropy_loss(model->forward(images), labels);
      loss.backward();
      optimizer.step();
      total += loss.item<double>();
      ++batches;
    }
    accuracy = classifier_accuracy(model, test);
    if (o.on_epoch) o.on_epoch(epoch + 1, total / static_cast<double>(batches), accuracy);
  }
  return accuracy;
}

void save_classifier(FashionClassifier& model, const std::string& path, double test_accuracy) {
  TensorList tensors;
  for (const auto& p : model->named_parameters())
    tensors.emplace_back(p.key(), p.value().detach());
  save_safetensors(path, tensors,
                   {{"format", "pt"},
                    {"architecture", "papillon FashionClassifier (conv32-conv64-fc128-fc10)"},
                    {"test_accuracy", std::to_string(test_accuracy)}});
}

FashionClassifier load_classifier(const std::string& path) {
  FashionClassifier model;
  load_state_dict(*model, load_safetensors(path), path);
  model->eval();
  return model;
}

}  // namespace papillon
