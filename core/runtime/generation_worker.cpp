#include "core/runtime/generation_worker.h"

#include <torch/torch.h>

#include <QMetaObject>
#include <QThread>
#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>

#include "core/io/config.h"
#include "core/pipelines/pipeline.h"
#include "core/runtime/image_library.h"
#include "core/runtime/png_io.h"
#include "core/util/environment.h"
#include "core/util/error.h"

namespace papillon {
namespace {

QStringList to_string_list(const std::vector<std::string>& values) {
  QStringList out;
  for (const auto& v : values)
    out << QString::fromStdString(v);
  return out;
}

// "unet (UNet2DModel)", ... from the folder's model_index.json, for the window's model row.
QStringList components_of(const std::string& model_dir) {
  QStringList out;
  try {
    const Json index = read_json_file(model_dir + "/model_index.json");
    for (auto it = index.begin(); it != index.end(); ++it) {
      if (!it.value().is_array() || it.value().size() != 2 || !it.value()[1].is_string()) continue;
      out << QStringLiteral("%1 (%2)").arg(
          QString::fromStdString(it.key()),
          QString::fromStdString(it.value()[1].get<std::string>()));
    }
  } catch (const std::exception&) {
    // The pipeline loaded, so the index was readable; nothing to add if it changed since.
  }
  return out;
}

QVariant optional_value(const std::optional<double>& v) {
  return v ? QVariant(*v) : QVariant();
}

// What the window shows of the defaults rule: the defaults of an empty request, where each came
// from, and for every scheduler the steps and eta it defaults to (eta: null when it takes none).
QVariantMap defaults_to_map(const PipelineInfo& info) {
  const ResolvedParameters d = default_parameters(info);
  QVariantMap sources{
      {QStringLiteral("scheduler"), default_source_name(d.scheduler.source)},
      {QStringLiteral("steps"), default_source_name(d.steps.source)},
      {QStringLiteral("width"), default_source_name(d.width.source)},
      {QStringLiteral("height"), default_source_name(d.height.source)},
  };
  if (d.guidance_scale) {
    sources.insert(QStringLiteral("guidance"), default_source_name(d.guidance_scale->source));
  }
  if (d.eta) sources.insert(QStringLiteral("eta"), default_source_name(d.eta->source));
  QVariantMap per_scheduler;
  for (const auto& name : info.schedulers) {
    const ResolvedParameters s = default_parameters(info, name);
    per_scheduler.insert(
        QString::fromStdString(s.scheduler.value),
        QVariantMap{{QStringLiteral("steps"), static_cast<int>(s.steps.value)},
                    {QStringLiteral("eta"), s.eta ? QVariant(s.eta->value) : QVariant()}});
  }
  return {{QStringLiteral("sources"), sources}, {QStringLiteral("schedulers"), per_scheduler}};
}

QVariantMap info_to_map(const PipelineInfo& info) {
  QStringList schedulers = to_string_list(info.schedulers);
  const QString default_scheduler = QString::fromStdString(info.default_scheduler);
  schedulers.removeAll(default_scheduler);
  schedulers.prepend(default_scheduler);  // the model's default first
  return {
      {QStringLiteral("pipelineClass"), QString::fromStdString(info.pipeline_class)},
      {QStringLiteral("family"), QString::fromStdString(info.family)},
      {QStringLiteral("modelName"), QString::fromStdString(info.model_name)},
      {QStringLiteral("modelDir"), QString::fromStdString(info.model_dir)},
      {QStringLiteral("takesPrompt"), info.takes_prompt},
      {QStringLiteral("takesNegativePrompt"), info.takes_negative_prompt},
      {QStringLiteral("takesGuidance"), info.takes_guidance},
      {QStringLiteral("fixedSize"), info.fixed_size},
      {QStringLiteral("sizeMultiple"), static_cast<int>(info.size_multiple)},
      {QStringLiteral("defaultWidth"), static_cast<int>(info.default_width)},
      {QStringLiteral("defaultHeight"), static_cast<int>(info.default_height)},
      {QStringLiteral("defaultSteps"), static_cast<int>(info.default_steps)},
      {QStringLiteral("defaultGuidance"), info.default_guidance},
      {QStringLiteral("defaultEta"), optional_value(info.default_eta)},
      {QStringLiteral("defaultScheduler"), default_scheduler},
      {QStringLiteral("defaults"), defaults_to_map(info)},
      {QStringLiteral("schedulers"), schedulers},
      {QStringLiteral("classNames"), to_string_list(info.class_names)},
      {QStringLiteral("parameters"), static_cast<double>(info.parameters)},
      {QStringLiteral("components"), components_of(info.model_dir)},
      {QStringLiteral("device"), QString::fromStdString(info.device)},
      {QStringLiteral("dtype"), QString::fromStdString(info.dtype)},
  };
}

QString message_of(const std::exception& e) {
  return QString::fromStdString(user_message(e));
}

}  // namespace

struct GenerationWorker::Impl {
  QThread thread;
  QObject* context = nullptr;  // lives on `thread`; queued functors run in its event loop

  mutable std::mutex mutex;  // guards queue and running
  std::deque<GenerationJob> queue;
  CancelToken running;               // the token of the job that runs now
  PromptTokenCounter token_counter;  // the loaded model's; empty: none

  // Worker thread only.
  std::unique_ptr<ImagePipeline> pipeline;
};

GenerationWorker::GenerationWorker(QObject* parent)
    : QObject(parent), d_(std::make_unique<Impl>()) {
  qRegisterMetaType<GenerationJob>();
  d_->thread.setObjectName(QStringLiteral("papillon-generation"));
  d_->context = new QObject;
  d_->context->moveToThread(&d_->thread);
  d_->thread.start();
}

GenerationWorker::~GenerationWorker() {
  {
    std::lock_guard<std::mutex> lock(d_->mutex);
    d_->queue.clear();
    d_->running.cancel();
  }
  d_->thread.quit();
  d_->thread.wait();
  delete d_->context;
  d_->pipeline.reset();
}

void GenerationWorker::loadModel(const QString& dir, const QString& device,
                                 const QString& precision) {
  QMetaObject::invokeMethod(d_->context, [this, dir, device, precision] {
    c10::InferenceMode inference;
    try {
      const ComputeTarget target =
          resolve_compute_target(device.toStdString(), precision.toStdString());
      auto pipeline = load_pipeline(dir.toStdString(), target);
      d_->pipeline = std::move(pipeline);
      {
        std::lock_guard<std::mutex> lock(d_->mutex);
        d_->token_counter = d_->pipeline->prompt_token_counter();
      }
      Q_EMIT modelLoaded(info_to_map(d_->pipeline->info()));
    } catch (const std::exception& e) {
      Q_EMIT modelFailed(message_of(e));
    }
  });
}

QVariantMap GenerationWorker::countPromptTokens(const QString& prompt) const {
  PromptTokenCounter counter;
  {
    std::lock_guard<std::mutex> lock(d_->mutex);
    counter = d_->token_counter;
  }
  if (!counter) return {};
  try {
    const PromptTokenCount count = counter(prompt.toStdString());
    return {{QStringLiteral("tokens"), static_cast<int>(count.tokens)},
            {QStringLiteral("limit"), static_cast<int>(count.limit)}};
  } catch (const std::exception&) {
    return {};
  }
}

void GenerationWorker::enqueue(const GenerationJob& job) {
  {
    std::lock_guard<std::mutex> lock(d_->mutex);
    d_->queue.push_back(job);
  }
  QMetaObject::invokeMethod(d_->context, [this] {
    while (true) {
      GenerationJob next;
      CancelToken token;
      {
        std::lock_guard<std::mutex> lock(d_->mutex);
        if (d_->queue.empty()) return;
        next = d_->queue.front();
        d_->queue.pop_front();
        d_->running = token;
      }
      run(next, token);
    }
  });
}

void GenerationWorker::cancelRunning() {
  std::lock_guard<std::mutex> lock(d_->mutex);
  d_->running.cancel();
}

bool GenerationWorker::removeQueued(int jobId) {
  std::lock_guard<std::mutex> lock(d_->mutex);
  for (auto it = d_->queue.begin(); it != d_->queue.end(); ++it) {
    if (it->id == jobId) {
      d_->queue.erase(it);
      return true;
    }
  }
  return false;
}

int GenerationWorker::queuedCount() const {
  std::lock_guard<std::mutex> lock(d_->mutex);
  return static_cast<int>(d_->queue.size());
}

void GenerationWorker::run(const GenerationJob& job, const CancelToken& token) {
  c10::InferenceMode inference;  // thread-local: set here, on the worker thread
  if (!d_->pipeline) {
    Q_EMIT jobFailed(job.id, QStringLiteral("no model is loaded"));
    return;
  }
  ImagePipeline& pipeline = *d_->pipeline;
  const PipelineInfo& info = pipeline.info();
  set_thread_count(auto_thread_count(info.parameters));

  GenerationRequest request;
  const int64_t batch = std::max(1, job.batch_size);
  if (info.takes_prompt) {
    request.prompts = {job.prompt.toStdString()};
    if (info.takes_negative_prompt && !job.negative_prompt.isEmpty()) {
      request.negative_prompts = {job.negative_prompt.toStdString()};
    }
  }
  if (info.takes_guidance) request.guidance_scale = job.guidance_scale;
  if (!info.fixed_size) {
    request.width = job.width;
    request.height = job.height;
  }
  request.steps = job.steps;
  request.eta = job.eta;
  request.batch_size = batch;
  request.seed = job.seed;
  if (job.per_image_seeds) {
    for (int64_t i = 0; i < batch; ++i)
      request.seeds.push_back(job.seed + static_cast<uint64_t>(i));
  }
  if (job.scheduler) request.scheduler = job.scheduler->toStdString();

  int total_steps = 0;
  try {
    total_steps = static_cast<int>(resolve_parameters(request, info).steps.value);
  } catch (const std::exception& e) {
    Q_EMIT jobFailed(job.id, message_of(e));
    return;
  }
  Q_EMIT jobStarted(job.id, total_steps);
  const auto start = std::chrono::steady_clock::now();
  RunControl control;
  control.cancel = token;
  control.on_step = [&](const StepEvent& event) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const int done = event.step + 1;
    Q_EMIT progress(job.id, done, event.num_steps, elapsed > 0 ? done / elapsed : 0.0);
    // Cheap by default (clamped x0 / latent projection, no PNG encoding); a full decode every
    // N steps and at the last step when asked.
    const bool full = job.full_preview_every > 0 &&
                      (done % job.full_preview_every == 0 || done == event.num_steps);
    const at::Tensor images = full ? pipeline.full_preview(event) : pipeline.preview(event);
    for (int64_t i = 0; i < images.size(0); ++i) {
      Q_EMIT preview(job.id, static_cast<int>(i), done, tensor_to_qimage(images[i]));
    }
  };

  try {
    const GenerationResult result = pipeline.generate(request, control);
    const at::Tensor& check = result.final_sample.defined() ? result.final_sample : result.images;
    if (!torch::isfinite(check).all().item<bool>()) {
      throw Error("the model produced NaN or infinite values; try another scheduler or fp32");
    }
    std::vector<std::pair<QImage, QString>> finished;
    for (int64_t i = 0; i < result.images.size(0); ++i) {
      const auto& parameters = result.parameters.at(static_cast<size_t>(i));
      finished.emplace_back(tensor_to_qimage(result.images[i]),
                            QString::fromStdString(parameters.to_json().dump()));
      Q_EMIT imageFinished(job.id, static_cast<int>(i), finished.back().first,
                           finished.back().second);
    }
    Q_EMIT jobFinished(job.id);
    if (!job.library_dir.isEmpty()) {
      // Kept after the job is reported done: the PNG encoding does not delay the next job's
      // start by more than it must, and a failed save never fails the images.
      const ImageLibrary library(job.library_dir);
      for (size_t i = 0; i < finished.size(); ++i) {
        try {
          const QString path = library.store(finished[i].first, finished[i].second);
          Q_EMIT imageStored(job.id, static_cast<int>(i), path, QString());
        } catch (const std::exception& e) {
          Q_EMIT imageStored(job.id, static_cast<int>(i), QString(), message_of(e));
        }
      }
    }
  } catch (const Cancelled&) {
    Q_EMIT jobCancelled(job.id);
  } catch (const std::exception& e) {
    Q_EMIT jobFailed(job.id, message_of(e));
  }
}

}  // namespace papillon
