#include "ui/train_controller.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QQmlEngine>
#include <QQuickImageProvider>
#include <QSettings>
#include <QStandardPaths>
#include <QUrl>
#include <algorithm>
#include <cmath>

namespace papillon::ui {
namespace {

const QString kFashionMnist = QStringLiteral("fashion-mnist");

QString local_path(const QString& pathOrUrl) {
  const QUrl url(pathOrUrl);
  return QDir::cleanPath(url.isLocalFile() ? url.toLocalFile() : pathOrUrl);
}

// image://training/sample/<revision>: the latest sample grid.
class TrainingImageProvider : public QQuickImageProvider {
 public:
  explicit TrainingImageProvider(std::shared_ptr<TrainingSample> sample)
      : QQuickImageProvider(QQuickImageProvider::Image), sample_(std::move(sample)) {}
  QImage requestImage(const QString&, QSize* size, const QSize& requestedSize) override {
    QImage image = sample_->get();
    if (image.isNull()) {
      image = QImage(1, 1, QImage::Format_ARGB32);
      image.fill(Qt::transparent);
    }
    if (size) *size = image.size();
    if (requestedSize.isValid() && !requestedSize.isEmpty())
      image = image.scaled(requestedSize, Qt::KeepAspectRatio, Qt::FastTransformation);
    return image;
  }

 private:
  std::shared_ptr<TrainingSample> sample_;
};

}  // namespace

void TrainingSample::set(const QImage& image) {
  QMutexLocker lock(&mutex_);
  image_ = image;
}

QImage TrainingSample::get() const {
  QMutexLocker lock(&mutex_);
  return image_;
}

TrainController::TrainController(QObject* parent)
    : QObject(parent), m_worker(std::make_unique<papillon::TrainingWorker>()) {
  loadSettings();
  m_curveTimer.setInterval(250);
  m_curveTimer.setSingleShot(true);
  connect(&m_curveTimer, &QTimer::timeout, this, &TrainController::lossCurveChanged);

  using W = papillon::TrainingWorker;
  connect(m_worker.get(), &W::started, this,
          [this](qint64 done, qint64 total, qint64 parameters, const QString& data, int skipped) {
            m_stepsDone = done;
            m_firstStep = done;
            m_totalSteps = total;
            QString status = tr("Training %1 M parameters on %2")
                                 .arg(static_cast<double>(parameters) / 1e6, 0, 'f', 2)
                                 .arg(data);
            if (skipped > 0)
              status += QLatin1String(" · ") + tr("%n file(s) skipped", nullptr, skipped);
            setState(status);
            Q_EMIT progressChanged();
          });
  connect(m_worker.get(), &W::stepDone, this,
          [this](qint64 step, qint64 total, double loss, double lr, double rate) {
            m_stepsDone = step;
            m_totalSteps = total;
            m_smoothed = m_losses.isEmpty() ? loss : 0.98 * m_smoothed + 0.02 * loss;
            m_losses.append(loss);
            m_lr = lr;
            m_rate = rate;
            Q_EMIT progressChanged();
            if (!m_curveTimer.isActive()) m_curveTimer.start();
          });
  connect(m_worker.get(), &W::sampleReady, this,
          [this](qint64 step, const QImage& grid, const QString&) {
            m_sample->set(grid);
            m_sampleStep = step;
            ++m_sampleRevision;
            Q_EMIT sampleChanged();
          });
  connect(m_worker.get(), &W::checkpointSaved, this, [this](qint64, const QString& dir) {
    m_checkpointDir = dir;
    Q_EMIT stateChanged();
  });
  connect(
      m_worker.get(), &W::finished, this, [this](const QString& dir, qint64 steps, bool cancelled) {
        m_running = false;
        m_stopping = false;
        m_checkpointDir = dir;
        m_curveTimer.stop();
        Q_EMIT lossCurveChanged();
        setState(
            cancelled
                ? tr("Stopped at step %1: the checkpoint is saved, Resume continues it").arg(steps)
                : tr("Done: %n step(s)", nullptr, static_cast<int>(steps)));
        Q_EMIT settingsChanged();  // canResume
        Q_EMIT trainingFinished(dir, cancelled);
      });
  connect(m_worker.get(), &W::failed, this, [this](const QString& message) {
    m_running = false;
    m_stopping = false;
    setState(tr("Training failed"), message);
    Q_EMIT trainingFailed(message);
  });
}

TrainController::~TrainController() = default;

TrainController* TrainController::create(QQmlEngine* qmlEngine, QJSEngine*) {
  auto* controller = new TrainController(nullptr);
  qmlEngine->addImageProvider(QStringLiteral("training"),
                              new TrainingImageProvider(controller->sample()));
  return controller;
}

bool TrainController::fashionMnistInstalled() const {
  return QFileInfo::exists(QStringLiteral("/usr/share/datasets/fashion-mnist"));
}

bool TrainController::canResume() const {
  return !m_running && !m_outputDir.isEmpty() &&
         QFileInfo::exists(m_outputDir + QStringLiteral("/checkpoint/training_state.json"));
}

double TrainController::etaSeconds() const {
  if (!m_running || m_rate <= 0) return -1;
  return static_cast<double>(m_totalSteps - m_stepsDone) / m_rate;
}

QString TrainController::sampleSource() const {
  return m_sampleRevision == 0 ? QString()
                               : QStringLiteral("image://training/sample/%1").arg(m_sampleRevision);
}

bool TrainController::start(bool resume) {
  if (m_running) return false;
  if (m_data.isEmpty()) {
    setState(QString(), tr("Choose the training images first."));
    return false;
  }
  // A new run never overwrites one: a folder that holds a checkpoint gives way to a fresh one.
  if (m_outputDir.isEmpty() ||
      (!resume && QFileInfo::exists(m_outputDir + QStringLiteral("/checkpoint")))) {
    m_outputDir = newOutputDir();
  }
  papillon::TrainingJob job;
  job.data = m_data;
  job.output_dir = m_outputDir;
  job.preset = m_preset;
  job.resolution = m_resolution;
  job.grayscale = m_grayscale;
  job.class_conditional = m_classConditional && m_data.startsWith(kFashionMnist);
  job.random_flip = m_randomFlip;
  job.steps = m_steps;
  job.batch_size = m_batchSize;
  job.learning_rate = m_learningRate;
  job.warmup_steps = std::min<qint64>(500, m_steps / 10);
  job.seed = static_cast<quint64>(m_seed);
  job.sample_every = m_sampleEvery;
  job.checkpoint_every = m_checkpointEvery;
  job.resume = resume;
  // Where models run is the window's setting (Settings › Run on), shared with generation.
  job.device =
      QSettings().value(QStringLiteral("compute/device"), QStringLiteral("auto")).toString();
  saveSettings();
  m_losses.clear();
  m_smoothed = 0;
  m_rate = 0;
  m_stepsDone = 0;
  m_running = true;
  m_stopping = false;
  m_checkpointDir.clear();
  setState(resume ? tr("Resuming…") : tr("Preparing the data…"));
  Q_EMIT settingsChanged();
  Q_EMIT progressChanged();
  Q_EMIT lossCurveChanged();
  m_worker->start(job);
  return true;
}

void TrainController::stop() {
  if (!m_running) return;
  m_stopping = true;
  setState(tr("Stopping after this step…"));
  m_worker->stop();
}

void TrainController::setDataFolder(const QString& pathOrUrl) {
  m_data = pathOrUrl == kFashionMnist ? pathOrUrl : local_path(pathOrUrl);
  Q_EMIT settingsChanged();
}

void TrainController::setOutputFolder(const QString& pathOrUrl) {
  m_outputDir = local_path(pathOrUrl);
  Q_EMIT settingsChanged();
}

QString TrainController::newOutputDir() const {
  QString base = QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation);
  if (base.isEmpty()) base = QDir::homePath();
  return QDir(base).filePath(
      QStringLiteral("Papillon/training/run-%1")
          .arg(QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"))));
}

QVariantList TrainController::lossCurve(int maxPoints) const {
  QVariantList out;
  const qsizetype n = m_losses.size();
  if (n == 0 || maxPoints <= 0) return out;
  const qsizetype bucket = std::max<qsizetype>(1, (n + maxPoints - 1) / maxPoints);
  for (qsizetype start = 0; start < n; start += bucket) {
    const qsizetype end = std::min(n, start + bucket);
    double sum = 0;
    for (qsizetype i = start; i < end; ++i)
      sum += m_losses[i];
    const double mean = sum / static_cast<double>(end - start);
    if (!std::isfinite(mean)) continue;
    out.append(QVariantMap{{QStringLiteral("x"), static_cast<double>(m_firstStep + end)},
                           {QStringLiteral("y"), mean}});
  }
  return out;
}

void TrainController::setState(const QString& status, const QString& error) {
  m_statusText = status;
  m_errorText = error;
  Q_EMIT stateChanged();
}

void TrainController::loadSettings() {
  QSettings s;
  s.beginGroup(QStringLiteral("train"));
  m_data = s.value(QStringLiteral("data"), fashionMnistInstalled() ? kFashionMnist : QString())
               .toString();
  m_outputDir = s.value(QStringLiteral("outputDir")).toString();
  m_preset = s.value(QStringLiteral("preset"), m_preset).toString();
  m_resolution = s.value(QStringLiteral("resolution"), m_resolution).toInt();
  m_grayscale = s.value(QStringLiteral("grayscale"), m_grayscale).toBool();
  m_classConditional = s.value(QStringLiteral("classConditional"), m_classConditional).toBool();
  m_randomFlip = s.value(QStringLiteral("randomFlip"), m_randomFlip).toBool();
  m_steps = s.value(QStringLiteral("steps"), m_steps).toInt();
  m_batchSize = s.value(QStringLiteral("batchSize"), m_batchSize).toInt();
  m_learningRate = s.value(QStringLiteral("learningRate"), m_learningRate).toDouble();
  m_seed = s.value(QStringLiteral("seed"), m_seed).toInt();
  m_sampleEvery = s.value(QStringLiteral("sampleEvery"), m_sampleEvery).toInt();
  m_checkpointEvery = s.value(QStringLiteral("checkpointEvery"), m_checkpointEvery).toInt();
}

void TrainController::saveSettings() const {
  QSettings s;
  s.beginGroup(QStringLiteral("train"));
  s.setValue(QStringLiteral("data"), m_data);
  s.setValue(QStringLiteral("outputDir"), m_outputDir);
  s.setValue(QStringLiteral("preset"), m_preset);
  s.setValue(QStringLiteral("resolution"), m_resolution);
  s.setValue(QStringLiteral("grayscale"), m_grayscale);
  s.setValue(QStringLiteral("classConditional"), m_classConditional);
  s.setValue(QStringLiteral("randomFlip"), m_randomFlip);
  s.setValue(QStringLiteral("steps"), m_steps);
  s.setValue(QStringLiteral("batchSize"), m_batchSize);
  s.setValue(QStringLiteral("learningRate"), m_learningRate);
  s.setValue(QStringLiteral("seed"), m_seed);
  s.setValue(QStringLiteral("sampleEvery"), m_sampleEvery);
  s.setValue(QStringLiteral("checkpointEvery"), m_checkpointEvery);
}

}  // namespace papillon::ui
