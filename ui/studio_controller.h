#pragma once
// The window's controller (a QML singleton): the model, the generation parameters, the job queue
// and its progress. It adapts papillon::GenerationWorker (core/runtime) to QML.
#include <QtQml/qqmlregistration.h>
#include <QObject>
#include <QQuickWindow>
#include <QString>
#include <QStringList>
#include <QTimer>
#include <QVariantMap>

#include <memory>
#include <optional>

#include "core/runtime/generation_worker.h"
#include "ui/gallery_model.h"

class QQmlEngine;
class QJSEngine;

namespace papillon::ui {

class StudioController : public QObject {
  Q_OBJECT
  QML_ELEMENT
  QML_SINGLETON

  Q_PROPERTY(GalleryModel* gallery READ gallery CONSTANT)
  // The model
  Q_PROPERTY(QString modelPath READ modelPath NOTIFY modelChanged)
  Q_PROPERTY(QVariantMap modelInfo READ modelInfo NOTIFY modelChanged)
  Q_PROPERTY(bool modelReady READ modelReady NOTIFY modelChanged)
  Q_PROPERTY(bool modelLoading READ modelLoading NOTIFY modelLoadingChanged)
  Q_PROPERTY(QString modelError READ modelError NOTIFY modelErrorChanged)
  Q_PROPERTY(QStringList recentModels READ recentModels NOTIFY recentModelsChanged)
  // Generation parameters
  Q_PROPERTY(QString prompt MEMBER m_prompt NOTIFY parametersChanged)
  Q_PROPERTY(QString negativePrompt MEMBER m_negativePrompt NOTIFY parametersChanged)
  Q_PROPERTY(int steps MEMBER m_steps NOTIFY parametersChanged)
  Q_PROPERTY(double guidanceScale MEMBER m_guidanceScale NOTIFY parametersChanged)
  Q_PROPERTY(QString seed READ seed WRITE setSeed NOTIFY parametersChanged)
  Q_PROPERTY(bool randomSeed MEMBER m_randomSeed NOTIFY parametersChanged)
  Q_PROPERTY(int width MEMBER m_width NOTIFY parametersChanged)
  Q_PROPERTY(int height MEMBER m_height NOTIFY parametersChanged)
  Q_PROPERTY(int batchSize MEMBER m_batchSize NOTIFY parametersChanged)
  Q_PROPERTY(int batchCount MEMBER m_batchCount NOTIFY parametersChanged)
  // Changing the scheduler moves steps and eta to its defaults unless the user changed them.
  Q_PROPERTY(QString scheduler READ scheduler WRITE setScheduler NOTIFY parametersChanged)
  Q_PROPERTY(double eta MEMBER m_eta NOTIFY parametersChanged)
  Q_PROPERTY(
      bool etaAvailable READ etaAvailable NOTIFY parametersChanged)  // the scheduler takes eta
  // The model's defaults: scheduler, steps, guidance, eta (null: none), width, height, and
  // `fromModel`, the names of those its papillon.json set.
  Q_PROPERTY(QVariantMap modelDefaults READ modelDefaults NOTIFY modelChanged)
  Q_PROPERTY(QString modelDefaultsText READ modelDefaultsText NOTIFY modelChanged)
  Q_PROPERTY(bool atModelDefaults READ atModelDefaults NOTIFY parametersChanged)
  // Queue and progress
  Q_PROPERTY(bool busy READ busy NOTIFY queueChanged)
  Q_PROPERTY(int queuedJobs READ queuedJobs NOTIFY queueChanged)
  Q_PROPERTY(int runningJob READ runningJob NOTIFY queueChanged)
  Q_PROPERTY(int currentStep READ currentStep NOTIFY progressChanged)
  Q_PROPERTY(int totalSteps READ totalSteps NOTIFY progressChanged)
  Q_PROPERTY(double itPerSec READ itPerSec NOTIFY progressChanged)
  Q_PROPERTY(double etaSeconds READ etaSeconds NOTIFY progressChanged)
  Q_PROPERTY(double queueEtaSeconds READ queueEtaSeconds NOTIFY progressChanged)
  Q_PROPERTY(QString statusText READ statusText NOTIFY statusChanged)
  Q_PROPERTY(QString errorText READ errorText NOTIFY statusChanged)
  // Settings (persisted)
  Q_PROPERTY(QString libraryFolder READ libraryFolder NOTIFY settingsChanged)
  Q_PROPERTY(int fullPreviewEvery MEMBER m_fullPreviewEvery NOTIFY settingsChanged)
  Q_PROPERTY(QString language READ language WRITE setLanguage NOTIFY settingsChanged)
  Q_PROPERTY(QString theme READ theme WRITE setTheme NOTIFY settingsChanged)
  // Where models run: "auto" (CUDA where available), "cpu" or "cuda"; and in what precision:
  // "full" (fp32, the same numbers as diffusers) or "half" (bf16 on the CPU, fp16 on a GPU).
  // Changing either reloads the open model.
  Q_PROPERTY(QString computeDevice READ computeDevice WRITE setComputeDevice NOTIFY settingsChanged)
  Q_PROPERTY(QString precision READ precision WRITE setPrecision NOTIFY settingsChanged)
  Q_PROPERTY(bool cudaAvailable READ cudaAvailable CONSTANT)
  Q_PROPERTY(bool cpuNativeBf16 READ cpuNativeBf16 CONSTANT)
  Q_PROPERTY(bool historyLoading READ historyLoading NOTIFY historyLoadingChanged)

 public:
  // No default argument on purpose: a default-constructible singleton would be built by the engine
  // without create(), and so without the image provider.
  explicit StudioController(QObject* parent);
  ~StudioController() override;
  // The QML engine's singleton factory: also installs the "gallery" image provider.
  static StudioController* create(QQmlEngine* qmlEngine, QJSEngine* jsEngine);

  GalleryModel* gallery() { return &m_gallery; }
  QString modelPath() const { return m_modelPath; }
  QVariantMap modelInfo() const { return m_modelInfo; }
  bool modelReady() const { return !m_modelInfo.isEmpty(); }
  bool modelLoading() const { return m_modelLoading; }
  QString modelError() const { return m_modelError; }
  QStringList recentModels() const { return m_recentModels; }
  QString seed() const { return QString::number(m_seed); }
  void setSeed(const QString& seed);
  QString scheduler() const { return m_scheduler; }
  void setScheduler(const QString& scheduler);
  bool etaAvailable() const;
  QVariantMap modelDefaults() const;
  QString modelDefaultsText() const;
  bool atModelDefaults() const;
  // The job generate() queues first, from the controls as they are (tests read it).
  papillon::GenerationJob jobForControls() const;
  bool busy() const { return m_runningJob != 0 || !m_queue.isEmpty(); }
  int queuedJobs() const { return static_cast<int>(m_queue.size()); }
  int runningJob() const { return m_runningJob; }
  int currentStep() const { return m_currentStep; }
  int totalSteps() const { return m_totalSteps; }
  double itPerSec() const { return m_itPerSec; }
  double etaSeconds() const;
  double queueEtaSeconds() const;
  QString statusText() const { return m_statusText; }
  QString errorText() const { return m_errorText; }
  QString libraryFolder() const { return m_libraryFolder; }
  QString language() const { return m_language; }
  void setLanguage(const QString& language);
  QString theme() const { return m_theme; }
  void setTheme(const QString& theme);
  QString computeDevice() const { return m_computeDevice; }
  void setComputeDevice(const QString& device);
  QString precision() const { return m_precision; }
  void setPrecision(const QString& precision);
  bool cudaAvailable() const;
  bool cpuNativeBf16() const;
  bool historyLoading() const { return m_historyLoading; }

  // Accepts a path or a file:// URL (from FolderDialog).
  Q_INVOKABLE void loadModel(const QString& pathOrUrl);
  // Queues batchCount jobs of batchSize images; returns the first job's id (0 if none).
  Q_INVOKABLE int generate();
  Q_INVOKABLE void cancel();
  Q_INVOKABLE int removeQueued();  // drops every job that has not started; returns how many
  Q_INVOKABLE void randomizeSeed();
  // Scheduler, steps, guidance, eta and size back to the model's defaults.
  Q_INVOKABLE void resetToModelDefaults();
  Q_INVOKABLE bool saveImage(int row, const QString& pathOrUrl);
  // The whole gallery (or the selection) as one grid PNG: `columns` 0 = square-ish; with
  // timelineFrames > 0 each image becomes a row of that many steps of its timeline, then itself.
  Q_INVOKABLE bool saveGrid(const QString& pathOrUrl, int columns = 0, int padding = 2,
                            bool selectedOnly = false, int timelineFrames = 0);
  // Every selected finished image (or `currentRow` when none is selected) into a folder, each
  // with its parameters; returns how many were written.
  Q_INVOKABLE int saveSelected(const QString& folderOrUrl, int currentRow = -1);
  // Removes the selected images (or `currentRow`) from the gallery and their files from the
  // library (to the trash where there is one). Images of running or queued jobs stay.
  Q_INVOKABLE int deleteSelected(int currentRow = -1);
  // Reads the generation parameters of a PNG (Papillon's or AUTOMATIC1111's) into the controls.
  Q_INVOKABLE bool restoreFromImage(const QString& pathOrUrl);
  Q_INVOKABLE void setLibraryFolder(const QString& pathOrUrl);
  // Re-reads the newest images of the library folder into the gallery (after the running job).
  Q_INVOKABLE void reloadHistory();
  Q_INVOKABLE void copySeed(int row);
  Q_INVOKABLE void copyParameters(int row);
  Q_INVOKABLE void useParameters(int row);
  Q_INVOKABLE void clearGallery();
  Q_INVOKABLE QString formatDuration(double seconds) const;
  Q_INVOKABLE QString schedulerLabel(const QString& schedulerClass) const;
  // The loaded model's token count of a prompt: {tokens, limit}, empty without a text encoder.
  Q_INVOKABLE QVariantMap promptTokens(const QString& prompt) const;
  Q_INVOKABLE bool saveWindowScreenshot(QQuickWindow* window, const QString& path);

 Q_SIGNALS:
  void modelChanged();
  void modelLoadingChanged();
  void modelErrorChanged();
  void recentModelsChanged();
  void parametersChanged();
  void queueChanged();
  void progressChanged();
  void statusChanged();
  void jobQueued(int jobId, int firstRow);  // its tiles start at firstRow of the gallery
  void jobFinished(int jobId);
  void jobFailed(int jobId, const QString& message);
  void jobCancelled(int jobId);
  void previewArrived(int jobId, int imageIndex, int step);
  void settingsChanged();
  void historyLoadingChanged();
  void historyLoaded(int count);
  void parametersRestored();

 private:
  void onModelLoaded(const QVariantMap& info);
  void onModelFailed(const QString& message);
  void onJobStarted(int jobId, int totalSteps);
  void onProgress(int jobId, int step, int totalSteps, double itPerSec);
  void onJobEnded(int jobId);
  void setStatus(const QString& status, const QString& error = QString());
  static QString localPath(const QString& pathOrUrl);
  void applyParameters(const QString& parametersJson);
  // The defaults of one scheduler of the model: "steps" and "eta" (null when it takes none).
  QVariantMap schedulerDefaults(const QString& scheduler) const;
  QList<int> targetRows(int currentRow) const;
  void loadSettings();
  void reloadForComputeSettings();
  void saveParameters() const;

  GalleryModel m_gallery;
  std::unique_ptr<papillon::GenerationWorker> m_worker;
  QString m_modelPath;
  QString m_pendingModelPath;
  QVariantMap m_modelInfo;
  bool m_modelLoading = false;
  QString m_modelError;
  QStringList m_recentModels;

  QString m_prompt;
  QString m_negativePrompt;
  int m_steps = 50;
  double m_guidanceScale = 7.5;
  quint64 m_seed = 0;
  bool m_randomSeed = true;
  int m_width = 512;
  int m_height = 512;
  int m_batchSize = 4;
  int m_batchCount = 1;
  QString m_scheduler;
  double m_eta = 0.0;
  // The eta default the control last followed; eta follows the next scheduler's default while it
  // still equals this (the user has not changed it).
  std::optional<double> m_etaDefault;

  QList<int> m_queue;  // job ids not started yet, in order
  QHash<int, int> m_jobSteps;
  int m_runningJob = 0;
  int m_nextJobId = 1;
  int m_currentStep = 0;
  int m_totalSteps = 0;
  double m_itPerSec = 0;
  QString m_statusText;
  QString m_errorText;

  QString m_libraryFolder;
  int m_fullPreviewEvery = 0;
  QString m_language;  // "": the system's
  QString m_theme = QStringLiteral("system");
  QString m_computeDevice = QStringLiteral("auto");
  QString m_precision = QStringLiteral("full");
  bool m_keepControls = false;   // a reload for new compute settings keeps the user's controls
  bool m_reloadPending = false;  // the settings changed while a model was loading
  bool m_historyLoading = false;
  int m_historyGeneration = 0;  // a newer reload makes an older one's result stale
  QTimer m_saveTimer;           // persists the parameters shortly after they change
  QQmlEngine* m_engine = nullptr;
};

// Installs the translation for `language` ("" or "system": the system locale; "en": none) and
// returns whether one was found. The window calls QQmlEngine::retranslate() after a change.
bool apply_language(const QString& language);

}  // namespace papillon::ui
