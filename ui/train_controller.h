#pragma once
// The Train page's controller (a QML singleton): the settings of a training run, its live loss
// curve, the latest sample grid and the checkpoint. It adapts papillon::TrainingWorker
// (core/runtime) to QML; settings persist in QSettings.
#include <QtQml/qqmlregistration.h>
#include <QElapsedTimer>
#include <QImage>
#include <QList>
#include <QMutex>
#include <QObject>
#include <QString>
#include <QTimer>
#include <QVariantList>

#include <memory>

#include "core/runtime/training_worker.h"

class QQmlEngine;
class QJSEngine;

namespace papillon::ui {

// The latest sample grid, shared with the "training" image provider (any thread).
class TrainingSample {
 public:
  void set(const QImage& image);
  QImage get() const;

 private:
  mutable QMutex mutex_;
  QImage image_;
};

class TrainController : public QObject {
  Q_OBJECT
  QML_ELEMENT
  QML_SINGLETON

  // Settings of the next run
  Q_PROPERTY(QString data MEMBER m_data NOTIFY settingsChanged)  // folder or "fashion-mnist"
  Q_PROPERTY(QString outputDir MEMBER m_outputDir NOTIFY settingsChanged)
  Q_PROPERTY(QString preset MEMBER m_preset NOTIFY settingsChanged)
  Q_PROPERTY(int resolution MEMBER m_resolution NOTIFY settingsChanged)
  Q_PROPERTY(bool grayscale MEMBER m_grayscale NOTIFY settingsChanged)
  Q_PROPERTY(bool classConditional MEMBER m_classConditional NOTIFY settingsChanged)
  Q_PROPERTY(bool randomFlip MEMBER m_randomFlip NOTIFY settingsChanged)
  Q_PROPERTY(int steps MEMBER m_steps NOTIFY settingsChanged)
  Q_PROPERTY(int batchSize MEMBER m_batchSize NOTIFY settingsChanged)
  Q_PROPERTY(double learningRate MEMBER m_learningRate NOTIFY settingsChanged)
  Q_PROPERTY(int seed MEMBER m_seed NOTIFY settingsChanged)
  Q_PROPERTY(int sampleEvery MEMBER m_sampleEvery NOTIFY settingsChanged)
  Q_PROPERTY(int checkpointEvery MEMBER m_checkpointEvery NOTIFY settingsChanged)
  Q_PROPERTY(bool fashionMnistInstalled READ fashionMnistInstalled CONSTANT)
  Q_PROPERTY(bool canResume READ canResume NOTIFY settingsChanged)
  // The run
  Q_PROPERTY(bool running READ running NOTIFY stateChanged)
  Q_PROPERTY(bool stopping READ stopping NOTIFY stateChanged)
  Q_PROPERTY(QString statusText READ statusText NOTIFY stateChanged)
  Q_PROPERTY(QString errorText READ errorText NOTIFY stateChanged)
  Q_PROPERTY(QString checkpointDir READ checkpointDir NOTIFY stateChanged)
  Q_PROPERTY(qint64 stepsDone READ stepsDone NOTIFY progressChanged)
  Q_PROPERTY(qint64 totalSteps READ totalSteps NOTIFY progressChanged)
  Q_PROPERTY(double loss READ loss NOTIFY progressChanged)
  Q_PROPERTY(double smoothedLoss READ smoothedLoss NOTIFY progressChanged)
  Q_PROPERTY(double currentLearningRate READ currentLearningRate NOTIFY progressChanged)
  Q_PROPERTY(double stepsPerSecond READ stepsPerSecond NOTIFY progressChanged)
  Q_PROPERTY(double etaSeconds READ etaSeconds NOTIFY progressChanged)
  Q_PROPERTY(int lossCount READ lossCount NOTIFY lossCurveChanged)
  Q_PROPERTY(QString sampleSource READ sampleSource NOTIFY sampleChanged)
  Q_PROPERTY(qint64 sampleStep READ sampleStep NOTIFY sampleChanged)

 public:
  explicit TrainController(QObject* parent);  // no default: see StudioController
  ~TrainController() override;
  static TrainController* create(QQmlEngine* qmlEngine, QJSEngine* jsEngine);

  std::shared_ptr<TrainingSample> sample() const { return m_sample; }
  bool fashionMnistInstalled() const;
  bool canResume() const;
  bool running() const { return m_running; }
  bool stopping() const { return m_stopping; }
  QString statusText() const { return m_statusText; }
  QString errorText() const { return m_errorText; }
  QString checkpointDir() const { return m_checkpointDir; }
  qint64 stepsDone() const { return m_stepsDone; }
  qint64 totalSteps() const { return m_totalSteps; }
  double loss() const { return m_losses.isEmpty() ? 0.0 : m_losses.last(); }
  double smoothedLoss() const { return m_smoothed; }
  double currentLearningRate() const { return m_lr; }
  double stepsPerSecond() const { return m_rate; }
  double etaSeconds() const;
  int lossCount() const { return static_cast<int>(m_losses.size()); }
  QString sampleSource() const;
  qint64 sampleStep() const { return m_sampleStep; }

  // Starts a new run (resume = false) or continues the checkpoint in outputDir.
  Q_INVOKABLE bool start(bool resume = false);
  Q_INVOKABLE void stop();
  // Accepts a path or a file:// URL.
  Q_INVOKABLE void setDataFolder(const QString& pathOrUrl);
  Q_INVOKABLE void setOutputFolder(const QString& pathOrUrl);
  Q_INVOKABLE QString newOutputDir() const;
  // The loss curve in at most maxPoints points (means of equal runs of steps): [{x: step, y}].
  Q_INVOKABLE QVariantList lossCurve(int maxPoints) const;
  Q_INVOKABLE void saveSettings() const;

 Q_SIGNALS:
  void settingsChanged();
  void stateChanged();
  void progressChanged();
  void lossCurveChanged();
  void sampleChanged();
  void trainingFinished(const QString& checkpointDir, bool stopped);
  void trainingFailed(const QString& message);

 private:
  void setState(const QString& status, const QString& error = QString());
  void loadSettings();

  std::unique_ptr<papillon::TrainingWorker> m_worker;
  std::shared_ptr<TrainingSample> m_sample = std::make_shared<TrainingSample>();
  QString m_data;
  QString m_outputDir;
  QString m_preset = QStringLiteral("tiny");  // trains at a few steps a second on a laptop CPU
  int m_resolution = 32;
  bool m_grayscale = false;
  bool m_classConditional = false;
  bool m_randomFlip = true;
  int m_steps = 2000;
  int m_batchSize = 16;
  double m_learningRate = 1e-4;
  int m_seed = 0;
  int m_sampleEvery = 200;
  int m_checkpointEvery = 500;

  bool m_running = false;
  bool m_stopping = false;
  QString m_statusText;
  QString m_errorText;
  QString m_checkpointDir;
  qint64 m_stepsDone = 0;
  qint64 m_totalSteps = 0;
  qint64 m_firstStep = 0;  // the step the loss curve starts after (a resumed run: its start)
  double m_smoothed = 0;
  double m_lr = 0;
  double m_rate = 0;
  QList<double> m_losses;
  QTimer m_curveTimer;  // coalesces loss-curve repaints to a few a second
  qint64 m_sampleStep = 0;
  int m_sampleRevision = 0;
};

}  // namespace papillon::ui
