#include "ui/studio_controller.h"

#include <QClipboard>
#include <QDir>
#include <QGuiApplication>
#include <QJsonDocument>
#include <QJsonObject>
#include <QQmlEngine>
#include <QQuickWindow>
#include <QRandomGenerator>
#include <QSettings>
#include <QUrl>
#include <cmath>
#include <exception>

#include "core/runtime/image_export.h"
#include "ui/gallery_image_provider.h"

namespace papillon::ui {
namespace {

constexpr int kMaxRecentModels = 8;
const char* const kRecentKey = "models/recent";

}  // namespace

StudioController::StudioController(QObject* parent)
    : QObject(parent), m_worker(std::make_unique<papillon::GenerationWorker>()) {
  m_seed = QRandomGenerator::global()->bounded(1u << 31);
  m_recentModels = QSettings().value(QLatin1String(kRecentKey)).toStringList();
  using W = papillon::GenerationWorker;
  connect(m_worker.get(), &W::modelLoaded, this, &StudioController::onModelLoaded);
  connect(m_worker.get(), &W::modelFailed, this, &StudioController::onModelFailed);
  connect(m_worker.get(), &W::jobStarted, this, &StudioController::onJobStarted);
  connect(m_worker.get(), &W::progress, this, &StudioController::onProgress);
  connect(m_worker.get(), &W::preview, this,
          [this](int jobId, int index, int step, const QImage& image) {
            m_gallery.setPreview(jobId, index, step, image);
            Q_EMIT previewArrived(jobId, index, step);
          });
  connect(m_worker.get(), &W::imageFinished, &m_gallery, &GalleryModel::setFinal);
  connect(m_worker.get(), &W::jobFinished, this, [this](int jobId) {
    m_gallery.setJobState(jobId, QStringLiteral("done"));
    setStatus(
        tr("Finished %n step(s) at %1 it/s", nullptr, m_totalSteps).arg(m_itPerSec, 0, 'f', 1));
    onJobEnded(jobId);
    Q_EMIT jobFinished(jobId);
  });
  connect(m_worker.get(), &W::jobFailed, this, [this](int jobId, const QString& message) {
    m_gallery.setJobState(jobId, QStringLiteral("failed"));
    setStatus(tr("Generation failed"), message);
    onJobEnded(jobId);
    Q_EMIT jobFailed(jobId, message);
  });
  connect(m_worker.get(), &W::jobCancelled, this, [this](int jobId) {
    m_gallery.setJobState(jobId, QStringLiteral("cancelled"));
    setStatus(tr("Cancelled at step %1 of %2").arg(m_currentStep).arg(m_totalSteps));
    onJobEnded(jobId);
    Q_EMIT jobCancelled(jobId);
  });
}

StudioController::~StudioController() = default;

StudioController* StudioController::create(QQmlEngine* qmlEngine, QJSEngine*) {
  auto* controller = new StudioController(nullptr);
  qmlEngine->addImageProvider(QStringLiteral("gallery"),
                              new GalleryImageProvider(controller->gallery()->images()));
  return controller;
}

QString StudioController::localPath(const QString& pathOrUrl) {
  const QUrl url(pathOrUrl);
  return url.isLocalFile() ? url.toLocalFile() : pathOrUrl;
}

void StudioController::setSeed(const QString& seed) {
  bool ok = false;
  const quint64 value = seed.trimmed().toULongLong(&ok);
  if (ok && value != m_seed) {
    m_seed = value;
    Q_EMIT parametersChanged();
  }
}

double StudioController::etaSeconds() const {
  if (m_runningJob == 0 || m_itPerSec <= 0) return -1;
  return (m_totalSteps - m_currentStep) / m_itPerSec;
}

double StudioController::queueEtaSeconds() const {
  const double running = etaSeconds();
  if (running < 0) return -1;
  double steps = 0;
  for (int id : m_queue)
    steps += m_jobSteps.value(id);
  return running + steps / m_itPerSec;
}

void StudioController::loadModel(const QString& pathOrUrl) {
  const QString path = QDir::cleanPath(localPath(pathOrUrl));
  if (path.isEmpty()) return;
  m_pendingModelPath = path;
  m_modelLoading = true;
  Q_EMIT modelLoadingChanged();
  if (!m_modelError.isEmpty()) {
    m_modelError.clear();
    Q_EMIT modelErrorChanged();
  }
  setStatus(tr("Loading %1…").arg(QDir(path).dirName()));
  m_worker->loadModel(path);
}

void StudioController::onModelLoaded(const QVariantMap& info) {
  m_modelInfo = info;
  m_modelPath = m_pendingModelPath;
  m_modelLoading = false;
  // The controls follow the model: its defaults replace the previous model's.
  m_steps = info.value(QStringLiteral("defaultSteps")).toInt();
  m_guidanceScale = info.value(QStringLiteral("defaultGuidance")).toDouble();
  m_width = info.value(QStringLiteral("defaultWidth")).toInt();
  m_height = info.value(QStringLiteral("defaultHeight")).toInt();
  m_scheduler = info.value(QStringLiteral("defaultScheduler")).toString();
  m_recentModels.removeAll(m_modelPath);
  m_recentModels.prepend(m_modelPath);
  while (m_recentModels.size() > kMaxRecentModels)
    m_recentModels.removeLast();
  QSettings().setValue(QLatin1String(kRecentKey), m_recentModels);
  Q_EMIT recentModelsChanged();
  Q_EMIT modelLoadingChanged();
  Q_EMIT modelChanged();
  Q_EMIT parametersChanged();
  setStatus(tr("Ready: %1").arg(info.value(QStringLiteral("modelName")).toString()));
}

void StudioController::onModelFailed(const QString& message) {
  m_modelLoading = false;
  m_modelError = message;
  Q_EMIT modelLoadingChanged();
  Q_EMIT modelErrorChanged();
  setStatus(tr("Could not open the model"), message);
}

int StudioController::generate() {
  if (!modelReady()) {
    setStatus(QString(), tr("Open a model folder first."));
    return 0;
  }
  if (m_randomSeed) randomizeSeed();
  const bool fixedSize = m_modelInfo.value(QStringLiteral("fixedSize")).toBool();
  const int batch = std::clamp(m_batchSize, 1, 64);
  int first = 0;
  for (int n = 0; n < std::max(1, m_batchCount); ++n) {
    papillon::GenerationJob job;
    job.id = m_nextJobId++;
    job.prompt = m_prompt;
    job.negative_prompt = m_negativePrompt;
    job.steps = m_steps;
    job.guidance_scale = m_guidanceScale;
    job.width = fixedSize ? 0 : m_width;
    job.height = fixedSize ? 0 : m_height;
    job.batch_size = batch;
    job.seed = m_seed + static_cast<quint64>(n) * static_cast<quint64>(batch);
    job.scheduler = m_scheduler;
    m_gallery.addJob(job.id, batch, job.seed, job.steps);
    m_queue.append(job.id);
    m_jobSteps.insert(job.id, job.steps);
    m_worker->enqueue(job);
    if (first == 0) first = job.id;
  }
  if (m_runningJob == 0) setStatus(tr("Starting…"));
  Q_EMIT queueChanged();
  return first;
}

void StudioController::cancel() {
  if (m_runningJob != 0) {
    setStatus(tr("Cancelling…"));
    m_worker->cancelRunning();
  }
}

int StudioController::removeQueued() {
  int removed = 0;
  for (int id : QList<int>(m_queue)) {
    if (m_worker->removeQueued(id)) {
      m_queue.removeAll(id);
      m_jobSteps.remove(id);
      m_gallery.removeJob(id);
      ++removed;
    }
  }
  if (removed > 0) Q_EMIT queueChanged();
  return removed;
}

void StudioController::randomizeSeed() {
  m_seed = QRandomGenerator::global()->bounded(1u << 31);
  Q_EMIT parametersChanged();
}

void StudioController::onJobStarted(int jobId, int totalSteps) {
  m_queue.removeAll(jobId);
  m_runningJob = jobId;
  m_currentStep = 0;
  m_totalSteps = totalSteps;
  m_itPerSec = 0;
  m_gallery.setJobState(jobId, QStringLiteral("running"), totalSteps);
  setStatus(tr("Generating job %1").arg(jobId));
  Q_EMIT queueChanged();
  Q_EMIT progressChanged();
}

void StudioController::onProgress(int jobId, int step, int totalSteps, double itPerSec) {
  if (jobId != m_runningJob) return;
  if (totalSteps != m_totalSteps)
    m_gallery.setJobState(jobId, QStringLiteral("running"), totalSteps);
  m_currentStep = step;
  m_totalSteps = totalSteps;
  m_itPerSec = itPerSec;
  Q_EMIT progressChanged();
}

void StudioController::onJobEnded(int jobId) {
  m_queue.removeAll(jobId);
  m_jobSteps.remove(jobId);
  if (m_runningJob == jobId) m_runningJob = 0;
  Q_EMIT queueChanged();
  Q_EMIT progressChanged();
}

void StudioController::setStatus(const QString& status, const QString& error) {
  m_statusText = status;
  m_errorText = error;
  Q_EMIT statusChanged();
}

bool StudioController::saveImage(int row, const QString& pathOrUrl) {
  try {
    papillon::save_image_with_parameters(localPath(pathOrUrl), m_gallery.image(row),
                                         m_gallery.parameters(row));
    setStatus(tr("Saved %1").arg(QDir::toNativeSeparators(localPath(pathOrUrl))));
    return true;
  } catch (const std::exception& e) {
    setStatus(tr("Could not save the image"), QString::fromUtf8(e.what()));
    return false;
  }
}

bool StudioController::saveGrid(const QString& pathOrUrl, int columns) {
  QList<QImage> images;
  QList<QString> parameters;
  for (int row = 0; row < m_gallery.rowCount(); ++row) {
    images.append(m_gallery.image(row));
    parameters.append(m_gallery.parameters(row));
  }
  if (columns <= 0) {
    columns = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(images.size()))));
  }
  try {
    papillon::save_grid_with_parameters(localPath(pathOrUrl), images, parameters, columns);
    setStatus(tr("Saved %1").arg(QDir::toNativeSeparators(localPath(pathOrUrl))));
    return true;
  } catch (const std::exception& e) {
    setStatus(tr("Could not save the grid"), QString::fromUtf8(e.what()));
    return false;
  }
}

void StudioController::copySeed(int row) {
  if (auto* clipboard = QGuiApplication::clipboard()) {
    clipboard->setText(QString::number(m_gallery.seed(row)));
  }
  setStatus(tr("Seed %1 copied").arg(m_gallery.seed(row)));
}

void StudioController::copyParameters(int row) {
  if (auto* clipboard = QGuiApplication::clipboard()) clipboard->setText(m_gallery.parameters(row));
  setStatus(tr("Parameters copied"));
}

void StudioController::useParameters(int row) {
  const QJsonObject p = QJsonDocument::fromJson(m_gallery.parameters(row).toUtf8()).object();
  if (p.isEmpty()) {
    m_seed = m_gallery.seed(row);
  } else {
    m_prompt = p.value(QLatin1String("prompt")).toString(m_prompt);
    m_negativePrompt = p.value(QLatin1String("negative_prompt")).toString(m_negativePrompt);
    m_steps = p.value(QLatin1String("steps")).toInt(m_steps);
    m_guidanceScale = p.value(QLatin1String("guidance_scale")).toDouble(m_guidanceScale);
    m_scheduler = p.value(QLatin1String("scheduler")).toString(m_scheduler);
    m_seed = static_cast<quint64>(p.value(QLatin1String("seed")).toInteger());
  }
  m_randomSeed = false;
  m_batchSize = 1;
  Q_EMIT parametersChanged();
}

void StudioController::clearGallery() {
  if (busy()) return;
  m_gallery.clear();
}

QString StudioController::formatDuration(double seconds) const {
  if (seconds < 0 || !std::isfinite(seconds)) return QStringLiteral("–");
  const int s = static_cast<int>(std::round(seconds));
  return QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

QString StudioController::schedulerLabel(const QString& schedulerClass) const {
  QString label = schedulerClass;
  label.remove(QLatin1String("Scheduler"));
  if (schedulerClass == m_modelInfo.value(QStringLiteral("defaultScheduler")).toString()) {
    return tr("%1 (model default)").arg(label);
  }
  return label;
}

bool StudioController::saveWindowScreenshot(QQuickWindow* window, const QString& path) {
  return window && window->grabWindow().save(localPath(path));
}

}  // namespace papillon::ui
