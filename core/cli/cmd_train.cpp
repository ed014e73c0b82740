// papillon-cli train: diffusers' train_unconditional.py recipe (optionally class-conditional) on
// an image folder or Fashion-MNIST, with resumable atomic checkpoints and sample grids.
#include <torch/torch.h>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/cli/progress.h"
#include "core/pipelines/image_grid.h"
#include "core/runtime/image_folder_dataset.h"
#include "core/runtime/png_io.h"
#include "core/runtime/training_data.h"
#include "core/training/dataset.h"
#include "core/training/trainer.h"
#include "core/util/environment.h"
#include "core/util/error.h"

namespace papillon::cli {

const char* const kTrainUsage =
    "usage: papillon-cli train --data DIR|fashion-mnist --out DIR [options]\n\n"
    "  --data DIR|fashion-mnist  a folder of images (PNG/JPEG, recursive) or Fashion-MNIST's idx\n"
    "                           files (fashion-mnist = /usr/share/datasets/fashion-mnist, or\n"
    "                           fashion-mnist:DIR)\n"
    "  --out DIR                output: DIR/checkpoint (a diffusers DDPMPipeline folder + "
    "training\n"
    "                           state), DIR/samples/step-N.png, DIR/loss.csv\n"
    "  --resolution R           image size (default 32)\n"
    "  --grayscale              image folders: train on one channel\n"
    "  --preset tiny|small|butterflies  UNet size (default small: CPU-friendly)\n"
    "  --steps N | --epochs E   training length (default 1 epoch)\n"
    "  --batch B                batch size (default 16)\n"
    "  --lr LR                  peak learning rate (default 1e-4)\n"
    "  --warmup N               learning-rate warm-up steps (default 500)\n"
    "  --lr-schedule NAME       cosine | linear | constant | constant_with_warmup (default "
    "cosine)\n"
    "  --prediction epsilon|v_prediction|sample   training target (default epsilon)\n"
    "  --class-conditional      condition on the data set's labels (Fashion-MNIST)\n"
    "  --label-dropout P        classifier-free guidance: labels dropped to the null class (0.1)\n"
    "  --flip                   random horizontal flips\n"
    "  --no-ema                 save the raw weights instead of the EMA\n"
    "  --seed S                 all randomness (default 0)\n"
    "  --checkpoint-every K     also checkpoint every K steps (default 500)\n"
    "  --sample-every K         a sample grid every K steps (default 0: at the end only)\n"
    "  --fp16-weights           save the pipeline weights in fp16 (half the size)\n"
    "  --default-steps N --default-eta E   DDIM steps / eta recorded in papillon.json (50, 0)\n"
    "  --resume                 continue from DIR/checkpoint (settings are taken from it)\n"
    "  --device cpu|cuda        where to train (default cpu)\n"
    "  --mixed-precision no|fp16|bf16   CUDA autocast (fp16 with dynamic loss scaling)\n"
    "  --threads N              CPU threads (default: all cores)\n"
    "  --quiet                  no progress line\n";

namespace {

CancelToken& train_interrupt() {
  static CancelToken token;
  return token;
}

extern "C" void on_train_sigint(int) {
  train_interrupt().cancel();
}

}  // namespace

int cmd_train(const std::vector<std::string>& argv) {
  const Args args(
      argv,
      {"data",
       "out",
       "resolution",
       "grayscale",
       "preset",
       "steps",
       "epochs",
       "batch",
       "lr",
       "warmup",
       "lr-schedule",
       "prediction",
       "class-conditional",
       "label-dropout",
       "flip",
       "no-ema",
       "seed",
       "checkpoint-every",
       "sample-every",
       "fp16-weights",
       "resume",
       "device",
       "mixed-precision",
       "threads",
       "quiet"},
      {"grayscale", "class-conditional", "flip", "no-ema", "fp16-weights", "resume", "quiet"});
  if (!args.has("out")) throw Error("--out DIR is required");
  if (!args.has("data")) throw Error("--data DIR|fashion-mnist is required");
  const bool quiet = args.has("quiet");
  set_thread_count(static_cast<int>(args.get_int("threads", 0, 0, 1024)));

  TrainerConfig c;
  const std::string out = *args.get("out");
  const std::string ckpt = checkpoint_dir(out);
  const bool resuming =
      args.has("resume") && std::filesystem::exists(ckpt + "/training_state.json");
  if (!args.has("resume") && std::filesystem::exists(ckpt)) {
    throw Error(out +
                " already has a checkpoint: continue it with --resume or choose another --out");
  }
  if (resuming) {
    // The run's own settings; only output-side options may change.
    const std::string path = ckpt + "/training_state.json";
    c = TrainerConfig::from_json(read_json_file(path).at("config"), path);
  } else {
    c.resolution = args.get_int("resolution", 32, 8, 1024);
    c.preset = args.get_or("preset", "small");
    if (args.has("steps") && args.has("epochs")) throw Error("give --steps or --epochs, not both");
    c.max_steps = args.get_int("steps", 0, 0, int64_t(1) << 40);
    c.epochs = args.get_int("epochs", 1, 1, 1000000);
    c.batch_size = args.get_int("batch", 16, 1, 4096);
    c.learning_rate = args.get_double("lr", c.learning_rate);
    c.lr_warmup_steps = args.get_int("warmup", c.lr_warmup_steps, 0, int64_t(1) << 40);
    c.lr_scheduler = args.get_or("lr-schedule", c.lr_scheduler);
    c.prediction_type = args.get_or("prediction", c.prediction_type);
    c.class_conditional = args.has("class-conditional");
    c.label_dropout = args.get_double("label-dropout", c.label_dropout);
    c.random_flip = args.has("flip");
    c.use_ema = !args.has("no-ema");
    c.seed = args.get_u64("seed", 0);
  }
  c.output_dir = out;
  c.checkpoint_every =
      args.get_int("checkpoint-every", resuming ? c.checkpoint_every : 500, 0, int64_t(1) << 40);
  c.sample_every = args.get_int("sample-every", resuming ? c.sample_every : 0, 0, int64_t(1) << 40);
  if (args.has("fp16-weights")) c.weights_dtype = "fp16";
  c.device = args.get_or("device", c.device);
  c.mixed_precision = args.get_or("mixed-precision", c.mixed_precision);
  c.default_steps = args.get_int("default-steps", c.default_steps, 1, 1000);
  c.default_eta = args.get_double("default-eta", c.default_eta);
  const bool grayscale = args.has("grayscale");

  auto dataset = open_training_dataset(*args.get("data"), c.resolution, grayscale);
  if (const size_t skipped = skipped_file_count(*dataset); !quiet && skipped > 0) {
    std::fprintf(stderr, "train: skipped %zu unreadable file(s), e.g. %s\n", skipped,
                 dynamic_cast<const ImageFolderDataset&>(*dataset).skipped().front().c_str());
  }
  Trainer trainer(c, dataset, args.has("resume"));
  if (!quiet) {
    std::fprintf(stderr, "train: %s; UNet %s, %.2fM parameters; %lld steps of %lld%s\n",
                 dataset->description().c_str(), c.preset.c_str(),
                 static_cast<double>(trainer.parameter_count()) / 1e6,
                 static_cast<long long>(trainer.total_steps()),
                 static_cast<long long>(c.batch_size),
                 trainer.steps_done() > 0
                     ? (", resuming at step " + std::to_string(trainer.steps_done())).c_str()
                     : "");
  }

  TrainerCallbacks callbacks;
  callbacks.cancel = train_interrupt();
  const auto start = std::chrono::steady_clock::now();
  const int64_t first = trainer.steps_done();
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  double smoothed = -1;
  callbacks.on_step = [&](const TrainStep& s) {
    smoothed = smoothed < 0 ? s.loss : 0.98 * smoothed + 0.02 * s.loss;
    if (quiet) return;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = elapsed > 0 ? static_cast<double>(s.step - first) / elapsed : 0;
    const double eta = rate > 0 ? static_cast<double>(s.total_steps - s.step) / rate : -1;
    if (!tty && s.step % 50 != 0 && s.step != s.total_steps) return;
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * s.step / std::max<int64_t>(1, s.total_steps));
    std::string bar(static_cast<size_t>(filled), '#');
    bar.append(static_cast<size_t>(kWidth - filled), '-');
    std::fprintf(stderr,
                 "%strain [%s] %lld/%lld  loss %.4f (avg %.4f)  lr %.2e  %.2f it/s  ETA %s%s",
                 tty ? "\r" : "", bar.c_str(), static_cast<long long>(s.step),
                 static_cast<long long>(s.total_steps), s.loss, smoothed, s.lr, rate,
                 format_duration(eta).c_str(), tty ? "" : "\n");
    std::fflush(stderr);
  };
  callbacks.on_sample = [&](int64_t step, const at::Tensor& grid) {
    save_sample_grid(out, step, grid);
  };
  auto previous = std::signal(SIGINT, on_train_sigint);
  TrainResult result;
  try {
    result = trainer.train(callbacks);
  } catch (...) {
    std::signal(SIGINT, previous);
    throw;
  }
  std::signal(SIGINT, previous);
  if (!quiet && tty) std::fprintf(stderr, "\n");
  if (!result.cancelled) save_sample_grid(out, result.steps_done, trainer.sample_grid());
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s at step %lld/%lld in %s; checkpoint: %s%s\n",
              result.cancelled ? "stopped" : "trained", static_cast<long long>(result.steps_done),
              static_cast<long long>(result.total_steps), format_duration(elapsed).c_str(),
              result.checkpoint_dir.c_str(), result.cancelled ? " (continue with --resume)" : "");
  return result.cancelled ? 130 : 0;
}

}  // namespace papillon::cli
