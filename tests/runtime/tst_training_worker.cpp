// TrainingWorker: a training run on the worker thread reports the trainer's own losses, sample
// grids and checkpoints; stop checkpoints and a resumed run continues where it stopped; bad
// settings fail with a readable message.
#include <torch/torch.h>

#include <QtTest>
#include <filesystem>
#include <fstream>

#include "core/runtime/training_data.h"
#include "core/runtime/training_worker.h"
#include "core/training/trainer.h"
#include "core/util/device.h"
#include "tests/common/fixtures.h"
#include "tests/common/signal_recorder.h"

using namespace papillon;

namespace {

constexpr int kTimeoutMs = 120000;

// Eight 8x8 images (a bright square in one of two corners) and one file that is not an image.
std::string make_image_folder(const std::string& tag) {
  const std::string dir = test::temp_dir(tag);
  for (int i = 0; i < 8; ++i) {
    QImage image(8, 8, QImage::Format_RGB888);
    image.fill(Qt::black);
    const int off = i % 2 == 0 ? 1 : 4;
    for (int y = off; y < off + 3; ++y)
      for (int x = off; x < off + 3; ++x)
        image.setPixelColor(x, y, QColor(255, 200 - 20 * i, 40 * (i / 2)));
    image.save(QString::fromStdString(dir + "/img" + std::to_string(i) + ".png"));
  }
  std::ofstream(dir + "/broken.png") << "not a PNG at all";
  return dir;
}

TrainingJob tiny_job(const std::string& data, const std::string& out, qint64 steps) {
  TrainingJob job;
  job.data = QString::fromStdString(data);
  job.output_dir = QString::fromStdString(out);
  job.preset = QStringLiteral("tiny");
  job.resolution = 8;
  job.steps = steps;
  job.batch_size = 4;
  job.learning_rate = 2e-3;
  job.warmup_steps = 2;
  job.seed = 5;
  job.sample_every = 3;
  job.checkpoint_every = 0;
  return job;
}

template <typename Recorder>
QList<double> losses_of(const Recorder& steps) {
  QList<double> out;
  for (const auto& args : steps)
    out.append(args.at(2).toDouble());
  return out;
}

}  // namespace

class TestTrainingWorker : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  void a_run_reports_the_trainers_losses_samples_and_checkpoint() {
    const std::string data = make_image_folder("train_worker_data");
    const std::string out = test::temp_dir("train_worker_out");
    TrainingWorker worker;
    test::SignalRecorder started(&worker, &TrainingWorker::started);
    test::SignalRecorder steps(&worker, &TrainingWorker::stepDone);
    test::SignalRecorder samples(&worker, &TrainingWorker::sampleReady);
    test::SignalRecorder checkpoints(&worker, &TrainingWorker::checkpointSaved);
    test::SignalRecorder finished(&worker, &TrainingWorker::finished);
    test::SignalRecorder failed(&worker, &TrainingWorker::failed);
    TrainingJob on_auto = tiny_job(data, out, 7);
    on_auto.device = QStringLiteral("auto");  // the window's default: the CPU without CUDA
    worker.start(on_auto);
    QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() || !failed.isEmpty(), kTimeoutMs);
    QVERIFY2(failed.isEmpty(), qPrintable(failed.value(0).value(0).toString()));
    QVERIFY(!worker.isRunning());

    QCOMPARE(started.count(), 1);
    QCOMPARE(started.at(0).at(0).toLongLong(), 0);  // steps done before
    QCOMPARE(started.at(0).at(1).toLongLong(), 7);  // total
    QCOMPARE(started.at(0).at(4).toInt(), 1);       // broken.png skipped and counted
    QCOMPARE(steps.count(), 7);
    for (int i = 0; i < steps.count(); ++i)
      QCOMPARE(steps.at(i).at(0).toLongLong(), i + 1);
    // Samples every 3 steps, then one for the end (7 is not a multiple of 3).
    QCOMPARE(samples.count(), 3);
    QCOMPARE(samples.at(0).at(0).toLongLong(), 3);
    QCOMPARE(samples.at(2).at(0).toLongLong(), 7);
    const QImage grid = samples.at(2).at(1).value<QImage>();
    QVERIFY(!grid.isNull());
    QVERIFY(QFileInfo::exists(samples.at(2).at(2).toString()));
    QCOMPARE(finished.at(0).at(1).toLongLong(), 7);
    QCOMPARE(finished.at(0).at(2).toBool(), false);
    QVERIFY(!checkpoints.isEmpty());
    const QString ckpt = finished.at(0).at(0).toString();
    QVERIFY(QFileInfo::exists(ckpt + "/model_index.json"));
    QVERIFY(QFileInfo::exists(ckpt + "/unet/config.json"));

    // The same settings run by the Trainer itself give the same losses (the worker adds nothing).
    const std::string out2 = test::temp_dir("train_worker_direct");
    TrainingJob job = tiny_job(data, out2, 7);
    TrainerConfig c;
    c.resolution = job.resolution;
    c.preset = job.preset.toStdString();
    c.max_steps = job.steps;
    c.batch_size = job.batch_size;
    c.learning_rate = job.learning_rate;
    c.lr_warmup_steps = job.warmup_steps;
    c.seed = job.seed;
    c.output_dir = out2;
    Trainer direct(c, open_training_dataset(data, 8, false));
    const TrainResult expected = direct.train();
    const QList<double> got = losses_of(steps);
    QCOMPARE(static_cast<size_t>(got.size()), expected.losses.size());
    for (int i = 0; i < got.size(); ++i)
      QCOMPARE(got.at(i), expected.losses.at(static_cast<size_t>(i)));
  }

  void stop_checkpoints_and_resume_continues() {
    const std::string data = make_image_folder("train_worker_stop_data");
    const std::string out = test::temp_dir("train_worker_stop_out");
    qint64 stopped_at = 0;
    QList<double> first_losses;
    {
      TrainingWorker worker;
      test::SignalRecorder steps(&worker, &TrainingWorker::stepDone);
      test::SignalRecorder finished(&worker, &TrainingWorker::finished);
      test::SignalRecorder failed(&worker, &TrainingWorker::failed);
      connect(
          &worker, &TrainingWorker::stepDone, &worker,
          [&worker](qint64 step) {
            if (step == 2) worker.stop();
          },
          Qt::DirectConnection);
      worker.start(tiny_job(data, out, 1000));
      QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() || !failed.isEmpty(), kTimeoutMs);
      QVERIFY(failed.isEmpty());
      QCOMPARE(finished.at(0).at(2).toBool(), true);  // cancelled
      stopped_at = finished.at(0).at(1).toLongLong();
      QVERIFY(stopped_at >= 2 && stopped_at < 1000);
      first_losses = losses_of(steps);
      QVERIFY(QFileInfo::exists(finished.at(0).at(0).toString() + "/model_index.json"));
    }
    {
      // Starting over into the same folder without resume is refused, and names the way out.
      TrainingWorker worker;
      test::SignalRecorder failed(&worker, &TrainingWorker::failed);
      worker.start(tiny_job(data, out, 1000));
      QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), kTimeoutMs);
      QVERIFY(failed.at(0).at(0).toString().contains("resume"));
    }
    TrainingWorker worker;
    test::SignalRecorder started(&worker, &TrainingWorker::started);
    test::SignalRecorder steps(&worker, &TrainingWorker::stepDone);
    test::SignalRecorder finished(&worker, &TrainingWorker::finished);
    connect(
        &worker, &TrainingWorker::stepDone, &worker,
        [&worker, stopped_at](qint64 step) {
          if (step == stopped_at + 3) worker.stop();
        },
        Qt::DirectConnection);
    TrainingJob resume = tiny_job(data, out, 1000);
    resume.resume = true;
    worker.start(resume);
    QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty(), kTimeoutMs);
    QCOMPARE(started.at(0).at(0).toLongLong(), stopped_at);
    QCOMPARE(steps.at(0).at(0).toLongLong(), stopped_at + 1);

    // The stopped-and-resumed run has the losses of one uninterrupted run.
    const std::string out2 = test::temp_dir("train_worker_stop_straight");
    TrainingWorker straight;
    test::SignalRecorder straight_steps(&straight, &TrainingWorker::stepDone);
    test::SignalRecorder straight_done(&straight, &TrainingWorker::finished);
    const qint64 total = stopped_at + 3;
    connect(
        &straight, &TrainingWorker::stepDone, &straight,
        [&straight, total](qint64 step) {
          if (step == total) straight.stop();
        },
        Qt::DirectConnection);
    straight.start(tiny_job(data, out2, 1000));
    QTRY_VERIFY_WITH_TIMEOUT(!straight_done.isEmpty(), kTimeoutMs);
    const QList<double> joined = first_losses + losses_of(steps);
    const QList<double> reference = losses_of(straight_steps);
    QVERIFY(joined.size() >= total);
    for (int i = 0; i < total; ++i)
      QCOMPARE(joined.at(i), reference.at(i));
  }

  void bad_settings_fail_with_a_message() {
    const std::string out = test::temp_dir("train_worker_bad");
    TrainingWorker worker;
    test::SignalRecorder failed(&worker, &TrainingWorker::failed);
    worker.start(tiny_job(out + "/no-such-folder", out + "/run", 10));
    QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), kTimeoutMs);
    QVERIFY(failed.at(0).at(0).toString().contains("no-such-folder"));
    TrainingJob odd = tiny_job(make_image_folder("train_worker_bad_data"), out + "/odd", 10);
    odd.resolution = 10;  // the tiny preset halves twice
    worker.start(odd);
    QTRY_VERIFY_WITH_TIMEOUT(failed.count() == 2, kTimeoutMs);
    QVERIFY(failed.at(1).at(0).toString().contains("multiple of 4"));
    if (!papillon::cuda_available()) {
      TrainingJob gpu = tiny_job(make_image_folder("train_worker_gpu_data"), out + "/gpu", 10);
      gpu.device = QStringLiteral("cuda");  // the window's "Run on: GPU" without a GPU
      worker.start(gpu);
      QTRY_VERIFY_WITH_TIMEOUT(failed.count() == 3, kTimeoutMs);
      QVERIFY2(failed.at(2).at(0).toString().contains("CUDA"),
               qPrintable(failed.at(2).at(0).toString()));
    }
  }
};

QTEST_GUILESS_MAIN(TestTrainingWorker)
#include "tst_training_worker.moc"
