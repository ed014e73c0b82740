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
#include <utility>

#include <QCoreApplication>
#include <QFileInfo>
#include <QLocale>
#include <QPointer>
#include <QThreadPool>
#include <QTranslator>

#include "core/io/config.h"
#include "core/runtime/image_export.h"
#include "core/runtime/image_library.h"
#include "core/util/device.h"
#include "ui/gallery_image_provider.h"

namespace papillon::ui {
namespace {

constexpr int kMaxRecentModels = 8;
constexpr int kHistoryImages = 200;  // the newest library images shown after a start
const char* const kRecentKey = "models/recent";

// The values the compute settings take (resolve_compute_target's), anything else is ignored.
bool is_device_setting(const QString& v) {
  return v == QLatin1String("auto") || v == QLatin1String("cpu") || v == QLatin1String("cuda");
}
bool is_precision_setting(const QString& v) {
  return v == QLatin1String("full") || v == QLatin1String("half");
}

}  // namespace

StudioController::StudioController(QObject* parent)
    : QObject(parent), m_worker(std::make_unique<papillon::GenerationWorker>()) {
  m_seed = QRandomGenerator::global()->bounded(1u << 31);
  m_recentModels = QSettings().value(QLatin1String(kRecentKey)).toStringList();
  loadSettings();
  m_saveTimer.setSingleShot(true);
  m_saveTimer.setInterval(400);
  connect(&m_saveTimer, &QTimer::timeout, this, &StudioController::saveParameters);
  connect(this, &StudioController::parametersChanged, &m_saveTimer, qOverload<>(&QTimer::start));
  connect(this, &StudioController::settingsChanged, &m_saveTimer, qOverload<>(&QTimer::start));
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
  connect(m_worker.get(), &W::imageStored, this,
          [this](int jobId, int index, const QString& path, const QString& error) {
            if (!error.isEmpty()) {
              setStatus(tr("Could not keep the image in the library"), error);
              return;
            }
            m_gallery.setFilePath(jobId, index, path);
          });
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

StudioController::~StudioController() {
  if (m_saveTimer.isActive()) saveParameters();
}

StudioController* StudioController::create(QQmlEngine* qmlEngine, QJSEngine*) {
  auto* controller = new StudioController(nullptr);
  controller->m_engine = qmlEngine;
  controller->reloadHistory();
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
  m_worker->loadModel(path, m_computeDevice, m_precision);
}

void StudioController::onModelLoaded(const QVariantMap& info) {
  m_modelInfo = info;
  m_modelPath = m_pendingModelPath;
  m_modelLoading = false;
  // The controls follow the model: its defaults replace the previous model's (not when the same
  // model was only reloaded for another device or precision).
  if (!std::exchange(m_keepControls, false)) {
    m_scheduler.clear();  // so that resetToModelDefaults() takes every default
    resetToModelDefaults();
  }
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
  if (std::exchange(m_reloadPending, false)) reloadForComputeSettings();
}

void StudioController::onModelFailed(const QString& message) {
  m_modelLoading = false;
  m_keepControls = false;
  m_reloadPending = false;  // the next load takes the settings as they are then
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
  const int batch = std::clamp(m_batchSize, 1, 64);
  int first = 0;
  for (int n = 0; n < std::max(1, m_batchCount); ++n) {
    papillon::GenerationJob job = jobForControls();
    job.id = m_nextJobId++;
    job.seed = m_seed + static_cast<quint64>(n) * static_cast<quint64>(batch);
    job.full_preview_every = m_fullPreviewEvery;
    job.library_dir = m_libraryFolder;
    const int firstRow = m_gallery.rowCount();
    m_gallery.addJob(job.id, batch, job.seed, m_steps);
    if (n == 0) Q_EMIT jobQueued(job.id, firstRow);
    m_queue.append(job.id);
    m_jobSteps.insert(job.id, m_steps);
    m_worker->enqueue(job);
    if (first == 0) first = job.id;
  }
  if (m_runningJob == 0) setStatus(tr("Starting…"));
  Q_EMIT queueChanged();
  return first;
}

papillon::GenerationJob StudioController::jobForControls() const {
  // What the controls show is what runs: every value is given (the controls start at the model's
  // defaults, by the core's rule), the ones the model does not take are left out.
  papillon::GenerationJob job;
  job.prompt = m_prompt;
  job.negative_prompt = m_negativePrompt;
  job.steps = m_steps;
  if (m_modelInfo.value(QStringLiteral("takesGuidance")).toBool()) {
    job.guidance_scale = m_guidanceScale;
  }
  if (etaAvailable()) job.eta = m_eta;
  if (!m_modelInfo.value(QStringLiteral("fixedSize")).toBool()) {
    job.width = m_width;
    job.height = m_height;
  }
  job.batch_size = std::clamp(m_batchSize, 1, 64);
  job.seed = m_seed;
  if (!m_scheduler.isEmpty()) job.scheduler = m_scheduler;
  job.full_preview_every = m_fullPreviewEvery;
  job.library_dir = m_libraryFolder;
  return job;
}

QVariantMap StudioController::schedulerDefaults(const QString& scheduler) const {
  return m_modelInfo.value(QStringLiteral("defaults"))
      .toMap()
      .value(QStringLiteral("schedulers"))
      .toMap()
      .value(scheduler)
      .toMap();
}

void StudioController::setScheduler(const QString& scheduler) {
  if (scheduler == m_scheduler) return;
  const QVariantMap before = schedulerDefaults(m_scheduler);
  const QVariantMap after = schedulerDefaults(scheduler);
  // Steps and eta the user left at their defaults follow the new scheduler's.
  if (after.contains(QStringLiteral("steps")) &&
      (before.isEmpty() || m_steps == before.value(QStringLiteral("steps")).toInt())) {
    m_steps = after.value(QStringLiteral("steps")).toInt();
  }
  const QVariant eta = after.value(QStringLiteral("eta"));
  if (eta.isValid() && !eta.isNull()) {
    if (!m_etaDefault || m_eta == *m_etaDefault) m_eta = eta.toDouble();
    m_etaDefault = eta.toDouble();
  }
  m_scheduler = scheduler;
  Q_EMIT parametersChanged();
}

bool StudioController::etaAvailable() const {
  const QVariant eta = schedulerDefaults(m_scheduler).value(QStringLiteral("eta"));
  return eta.isValid() && !eta.isNull();
}

QVariantMap StudioController::modelDefaults() const {
  if (m_modelInfo.isEmpty()) return {};
  const QVariantMap sources = m_modelInfo.value(QStringLiteral("defaults"))
                                  .toMap()
                                  .value(QStringLiteral("sources"))
                                  .toMap();
  QStringList fromModel;
  for (auto it = sources.begin(); it != sources.end(); ++it) {
    if (it.value().toString() == QLatin1String("model")) fromModel << it.key();
  }
  return {
      {QStringLiteral("scheduler"), m_modelInfo.value(QStringLiteral("defaultScheduler"))},
      {QStringLiteral("steps"), m_modelInfo.value(QStringLiteral("defaultSteps"))},
      {QStringLiteral("guidance"), m_modelInfo.value(QStringLiteral("takesGuidance")).toBool()
                                       ? m_modelInfo.value(QStringLiteral("defaultGuidance"))
                                       : QVariant()},
      {QStringLiteral("eta"), m_modelInfo.value(QStringLiteral("defaultEta"))},
      {QStringLiteral("width"), m_modelInfo.value(QStringLiteral("defaultWidth"))},
      {QStringLiteral("height"), m_modelInfo.value(QStringLiteral("defaultHeight"))},
      {QStringLiteral("fromModel"), fromModel},
  };
}

QString StudioController::modelDefaultsText() const {
  const QVariantMap d = modelDefaults();
  if (d.isEmpty()) return {};
  const QStringList fromModel = d.value(QStringLiteral("fromModel")).toStringList();
  QStringList parts;
  if (fromModel.contains(QLatin1String("scheduler"))) {
    QString label = d.value(QStringLiteral("scheduler")).toString();
    label.remove(QLatin1String("Scheduler"));
    parts << label;
  }
  if (fromModel.contains(QLatin1String("steps"))) {
    parts << tr("steps %1").arg(d.value(QStringLiteral("steps")).toInt());
  }
  if (fromModel.contains(QLatin1String("guidance"))) {
    parts << tr("guidance %1").arg(d.value(QStringLiteral("guidance")).toDouble());
  }
  if (fromModel.contains(QLatin1String("eta"))) {
    parts << tr("eta %1").arg(d.value(QStringLiteral("eta")).toDouble());
  }
  if (fromModel.contains(QLatin1String("width")) || fromModel.contains(QLatin1String("height"))) {
    parts << QStringLiteral("%1×%2")
                 .arg(d.value(QStringLiteral("width")).toInt())
                 .arg(d.value(QStringLiteral("height")).toInt());
  }
  if (parts.isEmpty()) return tr("Defaults: diffusers' own");
  return tr("Defaults from the model: %1").arg(parts.join(QStringLiteral(", ")));
}

bool StudioController::atModelDefaults() const {
  if (m_modelInfo.isEmpty()) return true;
  const QVariantMap d = modelDefaults();
  if (m_scheduler != d.value(QStringLiteral("scheduler")).toString()) return false;
  if (m_steps != d.value(QStringLiteral("steps")).toInt()) return false;
  if (d.value(QStringLiteral("guidance")).isValid() &&
      m_guidanceScale != d.value(QStringLiteral("guidance")).toDouble()) {
    return false;
  }
  const QVariant eta = d.value(QStringLiteral("eta"));
  if (eta.isValid() && !eta.isNull() && m_eta != eta.toDouble()) return false;
  if (!m_modelInfo.value(QStringLiteral("fixedSize")).toBool() &&
      (m_width != d.value(QStringLiteral("width")).toInt() ||
       m_height != d.value(QStringLiteral("height")).toInt())) {
    return false;
  }
  return true;
}

void StudioController::resetToModelDefaults() {
  if (m_modelInfo.isEmpty()) return;
  const QVariantMap d = modelDefaults();
  m_scheduler = d.value(QStringLiteral("scheduler")).toString();
  m_steps = d.value(QStringLiteral("steps")).toInt();
  m_guidanceScale = m_modelInfo.value(QStringLiteral("defaultGuidance")).toDouble();
  m_width = d.value(QStringLiteral("width")).toInt();
  m_height = d.value(QStringLiteral("height")).toInt();
  // The default scheduler may take no eta; the value then comes from the first one that does.
  QVariant eta = d.value(QStringLiteral("eta"));
  if (!eta.isValid() || eta.isNull()) {
    const QVariantMap all = m_modelInfo.value(QStringLiteral("defaults"))
                                .toMap()
                                .value(QStringLiteral("schedulers"))
                                .toMap();
    for (const QVariant& s : all) {
      const QVariant e = s.toMap().value(QStringLiteral("eta"));
      if (e.isValid() && !e.isNull()) {
        eta = e;
        break;
      }
    }
  }
  m_eta = eta.isValid() && !eta.isNull() ? eta.toDouble() : 0.0;
  m_etaDefault = m_eta;
  Q_EMIT parametersChanged();
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

bool StudioController::saveGrid(const QString& pathOrUrl, int columns, int padding,
                                bool selectedOnly, int timelineFrames) {
  QList<int> rows;
  const QList<int> selected = m_gallery.selectedRows();
  for (int row = 0; row < m_gallery.rowCount(); ++row) {
    if (selectedOnly && !selected.contains(row)) continue;
    if (m_gallery.state(row) == QLatin1String("done")) rows.append(row);
  }
  QList<QImage> images;
  QList<QString> parameters;
  for (int row : rows) {
    const QImage final_image = m_gallery.image(row);
    if (timelineFrames > 0) {
      // One row per image: its timeline (blank where it has none, e.g. from the library), then
      // the image itself.
      QList<QImage> frames = m_gallery.timeline(row, timelineFrames);
      QImage blank(final_image.size(), QImage::Format_RGB888);
      blank.fill(Qt::black);
      while (frames.size() < timelineFrames)
        frames.prepend(blank);
      images.append(frames);
    }
    images.append(final_image);
    parameters.append(m_gallery.parameters(row));
  }
  if (images.isEmpty()) {
    setStatus(QString(), tr("There is no finished image to put in a grid."));
    return false;
  }
  if (timelineFrames > 0) {
    columns = timelineFrames + 1;
  } else if (columns <= 0) {
    columns = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(images.size()))));
  }
  try {
    papillon::save_grid_with_parameters(localPath(pathOrUrl), images, parameters, columns,
                                        std::clamp(padding, 0, 64));
    setStatus(tr("Saved %1").arg(QDir::toNativeSeparators(localPath(pathOrUrl))));
    return true;
  } catch (const std::exception& e) {
    setStatus(tr("Could not save the grid"), QString::fromUtf8(e.what()));
    return false;
  }
}

QList<int> StudioController::targetRows(int currentRow) const {
  QList<int> rows = m_gallery.selectedRows();
  if (rows.isEmpty() && currentRow >= 0 && currentRow < m_gallery.rowCount())
    rows.append(currentRow);
  return rows;
}

int StudioController::saveSelected(const QString& folderOrUrl, int currentRow) {
  const QString folder = localPath(folderOrUrl);
  if (!QDir().mkpath(folder)) {
    setStatus(QString(), tr("Cannot create the folder %1").arg(QDir::toNativeSeparators(folder)));
    return 0;
  }
  int saved = 0;
  for (int row : targetRows(currentRow)) {
    if (m_gallery.state(row) != QLatin1String("done")) continue;
    const QString path =
        papillon::unique_png_path(folder, QStringLiteral("papillon-%1").arg(m_gallery.seed(row)));
    try {
      papillon::save_image_with_parameters(path, m_gallery.image(row), m_gallery.parameters(row));
      ++saved;
    } catch (const std::exception& e) {
      setStatus(tr("Could not save the image"), QString::fromUtf8(e.what()));
      return saved;
    }
  }
  setStatus(tr("Saved %n image(s) to %1", nullptr, saved).arg(QDir::toNativeSeparators(folder)));
  return saved;
}

int StudioController::deleteSelected(int currentRow) {
  QList<int> rows;
  QStringList failed;
  for (int row : targetRows(currentRow)) {
    const QString state = m_gallery.state(row);
    if (state == QLatin1String("running") || state == QLatin1String("queued")) continue;
    const QString path = m_gallery.filePath(row);
    if (!path.isEmpty() && !papillon::ImageLibrary::remove(path)) {
      failed << QDir::toNativeSeparators(path);
      continue;
    }
    rows.append(row);
  }
  m_gallery.removeRowsAt(rows);
  if (!failed.isEmpty()) {
    setStatus(tr("Could not delete %1").arg(failed.join(QLatin1String(", "))));
  } else {
    setStatus(tr("Deleted %n image(s)", nullptr, static_cast<int>(rows.size())));
  }
  return static_cast<int>(rows.size());
}

bool StudioController::restoreFromImage(const QString& pathOrUrl) {
  const QString path = localPath(pathOrUrl);
  QString json;
  try {
    json = papillon::parameters_from_png(path);
  } catch (const std::exception& e) {
    setStatus(tr("Could not read the image"), QString::fromUtf8(e.what()));
    return false;
  }
  if (json.isEmpty()) {
    setStatus(QString(), tr("%1 carries no generation parameters").arg(QFileInfo(path).fileName()));
    return false;
  }
  applyParameters(json);
  setStatus(tr("Parameters of %1 restored").arg(QFileInfo(path).fileName()));
  Q_EMIT parametersRestored();
  return true;
}

void StudioController::setLibraryFolder(const QString& pathOrUrl) {
  const QString folder = QDir::cleanPath(localPath(pathOrUrl));
  if (folder.isEmpty() || folder == m_libraryFolder) return;
  m_libraryFolder = folder;
  QSettings().setValue(QStringLiteral("library/folder"), m_libraryFolder);
  Q_EMIT settingsChanged();
  reloadHistory();
}

void StudioController::reloadHistory() {
  // Rows of finished and failed jobs go; the library's images come back (read off the UI thread).
  QList<int> stale;
  for (int row = 0; row < m_gallery.rowCount(); ++row) {
    const QString state = m_gallery.state(row);
    if (state != QLatin1String("running") && state != QLatin1String("queued")) stale.append(row);
  }
  m_gallery.removeRowsAt(stale);
  const int generation = ++m_historyGeneration;
  m_historyLoading = true;
  Q_EMIT historyLoadingChanged();
  QPointer<StudioController> self(this);
  const QString folder = m_libraryFolder;
  QThreadPool::globalInstance()->start([self, folder, generation] {
    const QList<papillon::LibraryImage> items =
        papillon::ImageLibrary(folder).load_recent(kHistoryImages);
    if (!self) return;
    QMetaObject::invokeMethod(
        self.data(),
        [self, items, generation] {
          if (!self || generation != self->m_historyGeneration) return;
          // Library images go before the rows of jobs that ran while they loaded.
          const int jobRows = self->m_gallery.rowCount();
          for (const auto& item : items)
            self->m_gallery.addStored(item);
          if (jobRows > 0) self->m_gallery.moveRowsToEnd(0, jobRows);
          self->m_historyLoading = false;
          Q_EMIT self->historyLoadingChanged();
          Q_EMIT self->historyLoaded(static_cast<int>(items.size()));
        },
        Qt::QueuedConnection);
  });
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
  const QString json = m_gallery.parameters(row);
  if (json.isEmpty()) {
    m_seed = m_gallery.seed(row);
    m_randomSeed = false;
    m_batchSize = 1;
    Q_EMIT parametersChanged();
    return;
  }
  applyParameters(json);
}

void StudioController::applyParameters(const QString& parametersJson) {
  const QJsonObject p = QJsonDocument::fromJson(parametersJson.toUtf8()).object();
  m_prompt = p.value(QLatin1String("prompt")).toString(m_prompt);
  m_negativePrompt = p.value(QLatin1String("negative_prompt")).toString(m_negativePrompt);
  m_steps = p.value(QLatin1String("steps")).toInt(m_steps);
  m_guidanceScale = p.value(QLatin1String("guidance_scale")).toDouble(m_guidanceScale);
  // A class-conditional image made from no typed prompt: its class is the prompt that makes it.
  const QString className = p.value(QLatin1String("class_name")).toString();
  if (p.value(QLatin1String("prompt")).toString().isEmpty() && !className.isEmpty()) {
    m_prompt = className;
  }
  const QString scheduler = p.value(QLatin1String("scheduler")).toString();
  // Only a scheduler the model offers (an A1111 PNG may name a sampler we do not have).
  if (!scheduler.isEmpty() &&
      m_modelInfo.value(QStringLiteral("schedulers")).toStringList().contains(scheduler)) {
    m_scheduler = scheduler;
  }
  // The eta the image was made with; a scheduler that takes one but none recorded: diffusers' and
  // AUTOMATIC1111's 0 made it.
  if (etaAvailable()) {
    const QJsonValue eta = p.value(QLatin1String("eta"));
    m_eta = eta.isDouble() ? eta.toDouble() : 0.0;
  }
  if (!m_modelInfo.value(QStringLiteral("fixedSize")).toBool()) {
    const int width = p.value(QLatin1String("width")).toInt();
    const int height = p.value(QLatin1String("height")).toInt();
    if (width > 0 && height > 0) {
      m_width = width;
      m_height = height;
    }
  }
  // Seeds are 64-bit: QJsonValue keeps only doubles above 2^63, so read the exact number.
  try {
    const papillon::Json json = papillon::Json::parse(parametersJson.toStdString());
    if (json.contains("seed") && json["seed"].is_number_unsigned()) {
      m_seed = json["seed"].get<uint64_t>();
    } else if (json.contains("seed") && json["seed"].is_number_integer()) {
      m_seed = static_cast<quint64>(json["seed"].get<int64_t>());
    }
  } catch (const std::exception&) {
    // Not JSON: QJsonDocument gave an empty object above and nothing changes.
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

QVariantMap StudioController::promptTokens(const QString& prompt) const {
  return m_worker->countPromptTokens(prompt);
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

void StudioController::setLanguage(const QString& language) {
  if (language == m_language) return;
  m_language = language;
  QSettings().setValue(QStringLiteral("ui/language"), m_language);
  apply_language(m_language);
  if (m_engine) m_engine->retranslate();
  Q_EMIT settingsChanged();
}

void StudioController::setTheme(const QString& theme) {
  if (theme == m_theme) return;
  m_theme = theme;
  QSettings().setValue(QStringLiteral("ui/theme"), m_theme);
  Q_EMIT settingsChanged();
}

void StudioController::setComputeDevice(const QString& device) {
  if (device == m_computeDevice || !is_device_setting(device)) return;
  m_computeDevice = device;
  QSettings().setValue(QStringLiteral("compute/device"), m_computeDevice);
  Q_EMIT settingsChanged();
  reloadForComputeSettings();
}

void StudioController::setPrecision(const QString& precision) {
  if (precision == m_precision || !is_precision_setting(precision)) return;
  m_precision = precision;
  QSettings().setValue(QStringLiteral("compute/precision"), m_precision);
  Q_EMIT settingsChanged();
  reloadForComputeSettings();
}

bool StudioController::cudaAvailable() const {
  static const bool available = papillon::cuda_available();
  return available;
}

bool StudioController::cpuNativeBf16() const {
  static const bool native = papillon::cpu_has_native_bf16();
  return native;
}

void StudioController::reloadForComputeSettings() {
  // The open model is loaded again on the new device / in the new dtype, after any running job;
  // a model still loading is loaded again once it is there.
  if (m_modelLoading) {
    m_reloadPending = true;
    return;
  }
  if (m_modelPath.isEmpty()) return;
  m_keepControls = true;
  loadModel(m_modelPath);
}

void StudioController::loadSettings() {
  QSettings s;
  m_libraryFolder =
      s.value(QStringLiteral("library/folder"), papillon::ImageLibrary::default_folder())
          .toString();
  m_fullPreviewEvery = s.value(QStringLiteral("generate/fullPreviewEvery"), 0).toInt();
  m_language = s.value(QStringLiteral("ui/language")).toString();
  m_theme = s.value(QStringLiteral("ui/theme"), m_theme).toString();
  const QString device = s.value(QStringLiteral("compute/device"), m_computeDevice).toString();
  if (is_device_setting(device)) m_computeDevice = device;
  const QString precision = s.value(QStringLiteral("compute/precision"), m_precision).toString();
  if (is_precision_setting(precision)) m_precision = precision;
  s.beginGroup(QStringLiteral("generate"));
  m_prompt = s.value(QStringLiteral("prompt")).toString();
  m_negativePrompt = s.value(QStringLiteral("negativePrompt")).toString();
  m_randomSeed = s.value(QStringLiteral("randomSeed"), m_randomSeed).toBool();
  if (!m_randomSeed) m_seed = s.value(QStringLiteral("seed"), m_seed).toULongLong();
  m_batchSize = std::clamp(s.value(QStringLiteral("batchSize"), m_batchSize).toInt(), 1, 64);
  m_batchCount = std::clamp(s.value(QStringLiteral("batchCount"), m_batchCount).toInt(), 1, 100);
}

void StudioController::saveParameters() const {
  QSettings s;
  s.setValue(QStringLiteral("generate/fullPreviewEvery"), m_fullPreviewEvery);
  s.beginGroup(QStringLiteral("generate"));
  s.setValue(QStringLiteral("prompt"), m_prompt);
  s.setValue(QStringLiteral("negativePrompt"), m_negativePrompt);
  s.setValue(QStringLiteral("randomSeed"), m_randomSeed);
  s.setValue(QStringLiteral("seed"), m_seed);
  s.setValue(QStringLiteral("batchSize"), m_batchSize);
  s.setValue(QStringLiteral("batchCount"), m_batchCount);
}

bool apply_language(const QString& language) {
  static QTranslator* translator = nullptr;
  if (translator) {
    QCoreApplication::removeTranslator(translator);
    delete translator;
    translator = nullptr;
  }
  if (language == QLatin1String("en")) return true;
  const QLocale locale = language.isEmpty() || language == QLatin1String("system")
                             ? QLocale::system()
                             : QLocale(language);
  auto* next = new QTranslator;
  if (!next->load(locale, QStringLiteral("papillon"), QStringLiteral("_"),
                  QStringLiteral(":/i18n"))) {
    delete next;
    return false;
  }
  QCoreApplication::installTranslator(next);
  translator = next;
  return true;
}

}  // namespace papillon::ui
