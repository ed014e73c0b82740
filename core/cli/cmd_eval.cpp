// papillon-cli eval: trains the repository's small Fashion-MNIST classifier, or scores a
// class-conditional model: the fraction of generated samples the classifier labels as the class
// that was asked for.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/cli/progress.h"
#include "core/pipelines/class_prompt.h"
#include "core/pipelines/image_grid.h"
#include "core/pipelines/pipeline.h"
#include "core/runtime/png_io.h"
#include "core/training/classifier.h"
#include "core/training/dataset.h"
#include "core/util/environment.h"
#include "core/util/error.h"

namespace papillon::cli {

const char* const kEvalUsage =
    "usage: papillon-cli eval --model DIR --classifier FILE [options]\n"
    "       papillon-cli eval --train-classifier FILE [--epochs E]\n\n"
    "  --model DIR              a class-conditional model folder (papillon.json with class names)\n"
    "  --classifier FILE        the Fashion-MNIST classifier (safetensors)\n"
    "  --samples N              samples in all, spread evenly over the classes (default 1000)\n"
    "  --guidance G --scheduler NAME --steps N --eta E\n"
    "                           sampling (default: the model's defaults, as generate and the\n"
    "                           window use them)\n"
    "  --batch B                images per pipeline call (default 50)\n"
    "  --seed S                 first seed (image i uses seed S + i)\n"
    "  --grid FILE.png          also save the first samples of every class as a grid\n"
    "  --train-classifier FILE  train the classifier on Fashion-MNIST and save it\n"
    "  --data DIR               Fashion-MNIST idx folder (default "
    "/usr/share/datasets/fashion-mnist)\n"
    "  --epochs E               classifier training epochs (default 3)\n"
    "  --threads N              CPU threads (default: all cores)\n";

namespace {

int train_classifier(const Args& args) {
  const std::string dir = args.get_or("data", FashionMnistDataset::kDefaultDir);
  const FashionMnistDataset train(dir, "train", 28), test(dir, "t10k", 28);
  torch::manual_seed(args.get_u64("seed", 0));
  FashionClassifier model;
  ClassifierTraining o;
  o.epochs = args.get_int("epochs", 3, 1, 100);
  o.seed = args.get_u64("seed", 0);
  o.on_epoch = [](int64_t epoch, double loss, double accuracy) {
    std::printf("epoch %lld: training loss %.4f, test accuracy %.2f%%\n",
                static_cast<long long>(epoch), loss, accuracy * 100);
    std::fflush(stdout);
  };
  const double accuracy = train_fashion_classifier(model, train, test, o);
  const std::string out = *args.get("train-classifier");
  save_classifier(model, out, accuracy);
  std::printf("classifier: %.2f%% test accuracy on %lld Fashion-MNIST test images; saved %s\n",
              accuracy * 100, static_cast<long long>(test.size()), out.c_str());
  return 0;
}

}  // namespace

int cmd_eval(const std::vector<std::string>& argv) {
  const Args args(argv,
                  {"model", "classifier", "samples", "guidance", "scheduler", "steps", "batch",
                   "seed", "eta", "grid", "train-classifier", "data", "epochs", "threads"},
                  {});
  set_thread_count(static_cast<int>(args.get_int("threads", 0, 0, 1024)));
  if (args.has("train-classifier")) return train_classifier(args);
  if (!args.has("model") || !args.has("classifier")) {
    throw Error("--model DIR and --classifier FILE are required (or --train-classifier FILE)");
  }
  auto pipeline = load_pipeline(*args.get("model"), ComputeTarget{});
  const auto& info = pipeline->info();
  if (info.class_names.empty()) {
    throw Error(*args.get("model") + ": not a class-conditional model (no class names)");
  }
  FashionClassifier classifier = load_classifier(*args.get("classifier"));
  const int64_t classes = static_cast<int64_t>(info.class_names.size());
  const int64_t samples = args.get_int("samples", 1000, 1, 1000000);
  const int64_t batch = args.get_int("batch", 50, 1, 4096);
  const uint64_t seed = args.get_u64("seed", 0);
  GenerationRequest base;
  base.guidance_scale = args.get_optional_double("guidance");
  base.scheduler = args.get("scheduler");
  base.steps = args.get_optional_int("steps", 1, 100000);
  base.eta = args.get_optional_double("eta");
  const ResolvedParameters used = resolve_parameters(base, info);

  std::vector<int64_t> asked;  // sample i asks for class i % classes
  for (int64_t i = 0; i < samples; ++i)
    asked.push_back(i % classes);
  std::vector<int64_t> correct(static_cast<size_t>(classes), 0), total(correct);
  std::vector<at::Tensor> grid_images;
  ProgressBar bar("eval", static_cast<int>(samples));
  const auto start = std::chrono::steady_clock::now();
  for (int64_t begin = 0; begin < samples; begin += batch) {
    const int64_t n = std::min(batch, samples - begin);
    GenerationRequest r = base;
    r.batch_size = n;
    for (int64_t i = begin; i < begin + n; ++i) {
      r.seeds.push_back(seed + static_cast<uint64_t>(i));
      r.class_labels.push_back(asked[static_cast<size_t>(i)]);
    }
    const GenerationResult result = pipeline->generate(r, RunControl{});
    const at::Tensor predicted = classify(classifier, result.images * 2 - 1);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t want = asked[static_cast<size_t>(begin + i)];
      ++total[static_cast<size_t>(want)];
      if (predicted[i].item<int64_t>() == want) ++correct[static_cast<size_t>(want)];
    }
    if (grid_images.size() < static_cast<size_t>(classes * 8)) grid_images.push_back(result.images);
    bar.update(static_cast<int>(begin + n));
  }
  bar.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int64_t all_correct = 0;
  for (int64_t k = 0; k < classes; ++k) {
    all_correct += correct[static_cast<size_t>(k)];
    std::printf("  %-12s %4lld/%-4lld %.1f%%\n", info.class_names[static_cast<size_t>(k)].c_str(),
                static_cast<long long>(correct[static_cast<size_t>(k)]),
                static_cast<long long>(total[static_cast<size_t>(k)]),
                100.0 * static_cast<double>(correct[static_cast<size_t>(k)]) /
                    static_cast<double>(std::max<int64_t>(1, total[static_cast<size_t>(k)])));
  }
  char guidance[32] = "none", eta[32] = "";
  if (used.guidance_scale)
    std::snprintf(guidance, sizeof guidance, "%g", used.guidance_scale->value);
  if (used.eta) std::snprintf(eta, sizeof eta, ", eta %g", used.eta->value);
  std::printf(
      "eval: %.2f%% of %lld samples labelled as the asked class (guidance %s, %s %lld steps%s, "
      "%.0f s)\n",
      100.0 * static_cast<double>(all_correct) / static_cast<double>(samples),
      static_cast<long long>(samples), guidance, used.scheduler.value.c_str(),
      static_cast<long long>(used.steps.value), eta, seconds);
  if (args.has("grid")) {
    const at::Tensor images =
        torch::cat(grid_images)
            .narrow(0, 0, std::min<int64_t>(classes * 8, torch::cat(grid_images).size(0)));
    GridOptions g;
    g.columns = classes;
    save_png(*args.get("grid"), scale_nearest(tensor_to_qimage(make_grid(images, g)), 3));
  }
  return 0;
}

}  // namespace papillon::cli
