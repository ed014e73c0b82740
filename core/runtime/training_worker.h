#pragma once
// The training worker: runs papillon::Trainer on its own QThread so the window stays responsive,
// and reports every step's loss, the sample grids and the checkpoints through signals (queued
// connections). Stop writes a checkpoint at the next step boundary; a stopped run resumes from it.
// The header is torch-free (pimpl).
#include <QImage>
#include <QObject>
#include <QString>

#include <memory>

namespace papillon {

// One training run as the front end describes it.
struct TrainingJob {
  QString data;        // an image folder, "fashion-mnist" or "fashion-mnist:DIR"
  QString output_dir;  // the checkpoint goes to <output_dir>/checkpoint
  QString preset = QStringLiteral("small");  // tiny | small | butterflies
  int resolution = 32;
  bool grayscale = false;  // image folders: one channel
  bool class_conditional = false;
  bool random_flip = false;
  qint64 steps = 1000;
  int batch_size = 16;
  double learning_rate = 1e-4;
  qint64 warmup_steps = 500;
  quint64 seed = 0;
  qint64 sample_every = 200;               // 0: only at the end
  qint64 checkpoint_every = 500;           // 0: only at the end (and on stop)
  bool resume = false;                     // continue <output_dir>/checkpoint (its settings win)
  QString device = QStringLiteral("cpu");  // "auto" (CUDA where available), "cpu" or "cuda"
};

class TrainingWorker : public QObject {
  Q_OBJECT

 public:
  explicit TrainingWorker(QObject* parent = nullptr);
  ~TrainingWorker() override;  // stops a running training (it checkpoints) and joins the thread

  // Starts a run on the worker thread (after a previous one ends); started or failed follows.
  void start(const TrainingJob& job);
  // Asks the running training to stop after its current step; it checkpoints, then finished
  // follows with cancelled = true.
  void stop();
  bool isRunning() const;

 Q_SIGNALS:
  void started(qint64 stepsDone, qint64 totalSteps, qint64 parameters, const QString& data,
               int skippedFiles);
  void stepDone(qint64 step, qint64 totalSteps, double loss, double learningRate,
                double stepsPerSecond);
  void sampleReady(qint64 step, const QImage& grid, const QString& path);
  void checkpointSaved(qint64 step, const QString& dir);
  void finished(const QString& checkpointDir, qint64 stepsDone, bool cancelled);
  void failed(const QString& message);

 private:
  struct Impl;
  void run(const TrainingJob& job);
  std::unique_ptr<Impl> d_;
};

}  // namespace papillon

Q_DECLARE_METATYPE(papillon::TrainingJob)
