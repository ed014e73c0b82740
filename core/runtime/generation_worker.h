#pragma once
// The generation worker: a QObject whose model and jobs live on its own QThread. The UI thread
// queues jobs and reads results through signals (queued connections), so the window never waits
// for LibTorch. The header is torch-free (pimpl).
#include <QImage>
#include <QObject>
#include <QString>
#include <QVariantMap>

#include <cstdint>
#include <memory>
#include <optional>

namespace papillon {

class CancelToken;

// One job as the front end describes it; a field not given takes the model's default (the rule of
// core/pipelines/generation_defaults.h).
struct GenerationJob {
  int id = 0;
  QString prompt;
  QString negative_prompt;
  std::optional<int> steps;
  std::optional<double> guidance_scale;
  std::optional<double> eta;  // schedulers that take none ignore it
  std::optional<int> width;
  std::optional<int> height;
  int batch_size = 1;
  quint64 seed = 0;
  bool per_image_seeds = true;  // image i uses seed + i, so each image can be reproduced alone
  std::optional<QString> scheduler;
  // Latent models: a full VAE decode of the prediction every N steps (0: never) in place of the
  // fast projection. Pixel models always show the exact prediction.
  int full_preview_every = 0;
  // Where finished images are kept (the image library); empty: not stored.
  QString library_dir;
};

class GenerationWorker : public QObject {
  Q_OBJECT

 public:
  explicit GenerationWorker(QObject* parent = nullptr);
  ~GenerationWorker() override;  // cancels the running job, drops the queue and joins the thread

  // All of these return at once; the work happens on the worker thread.
  // Loads a diffusers folder (after the running job); modelLoaded or modelFailed follows.
  // device: "auto", "cpu" or "cuda"; precision: "full" or "half" (resolve_compute_target).
  void loadModel(const QString& dir, const QString& device = QStringLiteral("cpu"),
                 const QString& precision = QStringLiteral("full"));
  // Queues a job; jobStarted / progress / preview / imageFinished / jobFinished follow.
  void enqueue(const GenerationJob& job);
  // Stops the running job at the next step (jobCancelled follows). Queued jobs stay.
  void cancelRunning();
  // Removes a job that has not started; true if it was still queued.
  bool removeQueued(int jobId);
  int queuedCount() const;
  // The loaded model's token count of a prompt ({tokens, limit}; empty without a text encoder or
  // a model). Any thread, at once: the tokenizer is not the running job's.
  QVariantMap countPromptTokens(const QString& prompt) const;

 Q_SIGNALS:
  void modelLoaded(const QVariantMap& info);
  void modelFailed(const QString& message);
  void jobStarted(int jobId, int totalSteps);
  void progress(int jobId, int step, int totalSteps, double itPerSec);
  void preview(int jobId, int imageIndex, int step, const QImage& image);
  void imageFinished(int jobId, int imageIndex, const QImage& image, const QString& parametersJson);
  // After imageFinished, when the job has a library_dir: where the image was stored, or why not.
  void imageStored(int jobId, int imageIndex, const QString& path, const QString& error);
  void jobFinished(int jobId);
  void jobFailed(int jobId, const QString& message);
  void jobCancelled(int jobId);

 private:
  struct Impl;
  void run(const GenerationJob& job, const CancelToken& token);
  std::unique_ptr<Impl> d_;
};

}  // namespace papillon

Q_DECLARE_METATYPE(papillon::GenerationJob)
