#include "core/runtime/training_worker.h"

#include <torch/torch.h>

#include <QMetaObject>
#include <QThread>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>

#include "core/io/config.h"
#include "core/runtime/png_io.h"
#include "core/runtime/training_data.h"
#include "core/training/dataset.h"
#include "core/training/trainer.h"
#include "core/util/cancel.h"
#include "core/util/device.h"
#include "core/util/environment.h"
#include "core/util/error.h"

namespace papillon {
namespace {

QString readable(const std::exception& e) {
  return QString::fromStdString(user_message(e));
}

TrainerConfig config_of(const TrainingJob& job) {
  const std::string out = job.output_dir.toStdString();
  const std::string state = checkpoint_dir(out) + "/training_state.json";
  TrainerConfig c;
  if (job.resume && std::filesystem::exists(state)) {
    // The run's own settings; only where it writes and how often may change.
    c = TrainerConfig::from_json(read_json_file(state).at("config"), state);
  } else {
    c.resolution = job.resolution;
    c.preset = job.preset.toStdString();
    c.class_conditional = job.class_conditional;
    c.random_flip = job.random_flip;
    c.max_steps = job.steps;
    c.batch_size = job.batch_size;
    c.learning_rate = job.learning_rate;
    c.lr_warmup_steps = job.warmup_steps;
    c.seed = job.seed;
  }
  c.output_dir = out;
  // The device may change on resume (the random draws do not depend on it); fp32 always.
  c.device =
      resolve_compute_target(job.device.toStdString(), "full").device.is_cuda() ? "cuda" : "cpu";
  c.sample_every = job.sample_every;
  c.checkpoint_every = job.checkpoint_every;
  return c;
}

}  // namespace

struct TrainingWorker::Impl {
  QThread thread;
  QObject* context = nullptr;  // lives on `thread`
  mutable std::mutex mutex;
  CancelToken cancel;  // the running training's token
  std::atomic<bool> running{false};
};

TrainingWorker::TrainingWorker(QObject* parent) : QObject(parent), d_(std::make_unique<Impl>()) {
  qRegisterMetaType<TrainingJob>();
  d_->thread.setObjectName(QStringLiteral("papillon-training"));
  d_->context = new QObject;
  d_->context->moveToThread(&d_->thread);
  d_->thread.start();
}

TrainingWorker::~TrainingWorker() {
  stop();
  d_->thread.quit();
  d_->thread.wait();
  delete d_->context;
}

void TrainingWorker::start(const TrainingJob& job) {
  d_->running = true;
  QMetaObject::invokeMethod(d_->context, [this, job] { run(job); });
}

void TrainingWorker::stop() {
  std::lock_guard<std::mutex> lock(d_->mutex);
  d_->cancel.cancel();
}

bool TrainingWorker::isRunning() const {
  return d_->running;
}

void TrainingWorker::run(const TrainingJob& job) {
  CancelToken token;
  {
    std::lock_guard<std::mutex> lock(d_->mutex);
    d_->cancel = token;
  }
  try {
    if (job.output_dir.trimmed().isEmpty()) throw Error("choose an output folder");
    if (job.data.trimmed().isEmpty()) throw Error("choose the training data");
    const std::string out = job.output_dir.toStdString();
    const std::string ckpt = checkpoint_dir(out);
    if (!job.resume && std::filesystem::exists(ckpt)) {
      throw Error(out + " already has a checkpoint: resume it or choose another output folder");
    }
    const TrainerConfig config = config_of(job);
    auto dataset = open_training_dataset(job.data.toStdString(), config.resolution, job.grayscale);
    Trainer trainer(config, dataset, job.resume);
    set_thread_count(auto_thread_count(trainer.parameter_count() * config.batch_size));
    Q_EMIT started(trainer.steps_done(), trainer.total_steps(), trainer.parameter_count(),
                   QString::fromStdString(dataset->description()),
                   static_cast<int>(skipped_file_count(*dataset)));

    TrainerCallbacks callbacks;
    callbacks.cancel = token;
    const auto begin = std::chrono::steady_clock::now();
    const int64_t first = trainer.steps_done();
    callbacks.on_step = [&](const TrainStep& s) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
      const double rate = elapsed > 0 ? static_cast<double>(s.step - first) / elapsed : 0.0;
      Q_EMIT stepDone(s.step, s.total_steps, s.loss, s.lr, rate);
    };
    callbacks.on_sample = [&](int64_t step, const at::Tensor& grid) {
      const std::string path = save_sample_grid(out, step, grid);
      Q_EMIT sampleReady(step, scale_nearest(tensor_to_qimage(grid), 2),
                         QString::fromStdString(path));
    };
    callbacks.on_checkpoint = [&](int64_t step, const std::string& dir) {
      Q_EMIT checkpointSaved(step, QString::fromStdString(dir));
    };
    const TrainResult result = trainer.train(callbacks);
    if (!result.cancelled &&
        (config.sample_every == 0 || result.steps_done % config.sample_every != 0)) {
      const at::Tensor grid = trainer.sample_grid();
      const std::string path = save_sample_grid(out, result.steps_done, grid);
      Q_EMIT sampleReady(result.steps_done, scale_nearest(tensor_to_qimage(grid), 2),
                         QString::fromStdString(path));
    }
    d_->running = false;
    Q_EMIT finished(QString::fromStdString(result.checkpoint_dir), result.steps_done,
                    result.cancelled);
  } catch (const std::exception& e) {
    d_->running = false;
    Q_EMIT failed(readable(e));
  }
}

}  // namespace papillon
