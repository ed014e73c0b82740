// GenerationWorker: model loading, queued jobs on the worker thread, per-image previews, cancel,
// queue removal and readable errors, with the tiny DDPM fixture pipeline.
#include <torch/torch.h>

#include <QtTest>
#include <filesystem>

#include "core/io/safetensors.h"
#include "core/runtime/generation_worker.h"
#include "core/runtime/png_io.h"
#include "core/util/environment.h"
#include "tests/common/fixtures.h"
#include "tests/common/signal_recorder.h"

using namespace papillon;

namespace {

constexpr int kTimeoutMs = 60000;

QString ddpm_dir() {
  return QString::fromStdString(test::fixture_path("pipelines/ddpm_tiny"));
}

void load(GenerationWorker& worker) {
  test::SignalRecorder loaded(&worker, &GenerationWorker::modelLoaded);
  test::SignalRecorder failed(&worker, &GenerationWorker::modelFailed);
  worker.loadModel(ddpm_dir());
  QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty(),
                           kTimeoutMs);  // the signal may come before a wait() starts
  QCOMPARE(failed.count(), 0);
}

}  // namespace

class TestGenerationWorker : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  void model_info_follows_the_folder() {
    GenerationWorker worker;
    test::SignalRecorder loaded(&worker, &GenerationWorker::modelLoaded);
    worker.loadModel(ddpm_dir());
    QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty(),
                             kTimeoutMs);  // the signal may come before a wait() starts
    const QVariantMap info = loaded.at(0).at(0).toMap();
    const Json unet = test::fixture_json("pipelines/ddpm_tiny/unet/config.json");
    const Json scheduler =
        test::fixture_json("pipelines/ddpm_tiny/scheduler/scheduler_config.json");
    QCOMPARE(info.value("pipelineClass").toString(), QString("DDPMPipeline"));
    QCOMPARE(info.value("defaultWidth").toInt(), unet["sample_size"].get<int>());
    QCOMPARE(info.value("takesPrompt").toBool(), false);
    QCOMPARE(info.value("fixedSize").toBool(), true);
    const QString default_scheduler =
        QString::fromStdString(scheduler["_class_name"].get<std::string>());
    QCOMPARE(info.value("defaultScheduler").toString(), default_scheduler);
    QCOMPARE(info.value("schedulers").toStringList().value(0), default_scheduler);
    // The components of model_index.json, with their classes.
    const Json index = test::fixture_json("pipelines/ddpm_tiny/model_index.json");
    const QStringList components = info.value("components").toStringList();
    QCOMPARE(components.size(), 2);
    QVERIFY(components.contains(
        QString("unet (%1)").arg(QString::fromStdString(index["unet"][1].get<std::string>()))));
    QVERIFY(components.contains(
        QString("scheduler (%1)")
            .arg(QString::fromStdString(index["scheduler"][1].get<std::string>()))));
  }

  // The worker's final image is diffusers' image (fixture run), up to the 8-bit rounding of
  // numpy_to_pil: a float difference of ~1e-6 can flip one level at a .5 boundary, hence 1/255.
  void final_image_matches_the_diffusers_run() {
    GenerationWorker worker;
    load(worker);
    const auto run = SafetensorsFile::open(
        test::fixture_path("pipeline_runs/ddpm_50steps_seed1_bs1/run.safetensors"));
    const at::Tensor expected = run.get("image")[0].permute({2, 0, 1});
    GenerationJob job;
    job.id = 1;
    job.steps = 50;
    job.seed = 1;
    job.per_image_seeds = false;  // one generator for the batch, as the fixture
    test::SignalRecorder finished(&worker, &GenerationWorker::imageFinished);
    test::SignalRecorder done(&worker, &GenerationWorker::jobFinished);
    worker.enqueue(job);
    QTRY_VERIFY_WITH_TIMEOUT(!done.isEmpty(),
                             kTimeoutMs);  // the signal may come before a wait() starts
    QCOMPARE(finished.count(), 1);
    const QImage image = finished.at(0).at(2).value<QImage>();
    PAPILLON_EXPECT_CLOSE(qimage_to_tensor(image), (expected * 255).round() / 255, 1.0 / 255 + 1e-6,
                          0.0, "final image");
  }

  // A small model runs on one thread, OpenBLAS's own pool included (its spinning second thread
  // made tiny models several times slower with the other core busy).
  void a_small_model_runs_on_one_thread_blas_included() {
    set_thread_count(2);
    if (blas_thread_count() != -1) QCOMPARE(blas_thread_count(), 2);  // -1: not OpenBLAS
    GenerationWorker worker;
    load(worker);
    GenerationJob job;
    job.id = 1;
    job.steps = 2;
    test::SignalRecorder done(&worker, &GenerationWorker::jobFinished);
    worker.enqueue(job);
    QTRY_VERIFY_WITH_TIMEOUT(!done.isEmpty(), kTimeoutMs);
    if (blas_thread_count() != -1) QCOMPARE(blas_thread_count(), 1);  // one pool per process
    set_thread_count(1);
  }

  void every_image_gets_a_preview_each_step() {
    GenerationWorker worker;
    load(worker);
    GenerationJob job;
    job.id = 7;
    job.steps = 3;
    job.batch_size = 2;
    job.seed = 40;
    job.scheduler = "DDIMScheduler";
    test::SignalRecorder started(&worker, &GenerationWorker::jobStarted);
    test::SignalRecorder progress(&worker, &GenerationWorker::progress);
    test::SignalRecorder previews(&worker, &GenerationWorker::preview);
    test::SignalRecorder finished(&worker, &GenerationWorker::imageFinished);
    test::SignalRecorder done(&worker, &GenerationWorker::jobFinished);
    worker.enqueue(job);
    QTRY_VERIFY_WITH_TIMEOUT(!done.isEmpty(),
                             kTimeoutMs);  // the signal may come before a wait() starts
    QCOMPARE(started.count(), 1);
    QCOMPARE(progress.count(), 3);
    QCOMPARE(progress.last().at(1).toInt(), 3);
    QCOMPARE(previews.count(), 6);
    QSet<QPair<int, int>> seen;  // (image, step)
    for (const auto& args : previews) {
      QCOMPARE(args.at(0).toInt(), 7);
      const QImage image = args.at(3).value<QImage>();
      QCOMPARE(image.width(), 32);
      seen.insert({args.at(1).toInt(), args.at(2).toInt()});
    }
    QCOMPARE(seen.size(), 6);
    QCOMPARE(finished.count(), 2);
    for (int i = 0; i < 2; ++i) {
      QCOMPARE(finished.at(i).at(1).toInt(), i);
      const QJsonObject p =
          QJsonDocument::fromJson(finished.at(i).at(3).toString().toUtf8()).object();
      QCOMPARE(p.value("seed").toInteger(), 40 + i);  // per-image seeds
      QCOMPARE(p.value("steps").toInt(), 3);
      QCOMPARE(p.value("scheduler").toString(), QString("DDIMScheduler"));
    }
    // The last preview of a DDIM run is its final image's x0, the same picture.
    const QImage last_preview = previews.last().at(3).value<QImage>();
    const QImage final_image = finished.at(1).at(2).value<QImage>();
    PAPILLON_EXPECT_CLOSE(qimage_to_tensor(last_preview), qimage_to_tensor(final_image),
                          1.0 / 255 + 1e-6, 0.0, "last preview vs final image");
  }

  void cancel_stops_within_one_step_and_the_worker_stays_usable() {
    GenerationWorker worker;
    load(worker);
    GenerationJob job;
    job.id = 1;
    job.steps = 400;
    job.batch_size = 2;
    test::SignalRecorder cancelled(&worker, &GenerationWorker::jobCancelled);
    test::SignalRecorder done(&worker, &GenerationWorker::jobFinished);
    int step_at_cancel = -1;
    int last_step = 0;
    connect(&worker, &GenerationWorker::progress, this, [&](int, int step, int, double) {
      last_step = step;
      if (step == 3 && step_at_cancel < 0) {
        step_at_cancel = step;
        worker.cancelRunning();
      }
    });
    worker.enqueue(job);
    QTRY_VERIFY_WITH_TIMEOUT(!cancelled.isEmpty(),
                             kTimeoutMs);  // the signal may come before a wait() starts
    QCOMPARE(cancelled.at(0).at(0).toInt(), 1);
    QCOMPARE(done.count(), 0);
    // The queued progress signals lag the worker by at most the step it was running.
    QVERIFY2(last_step <= step_at_cancel + 2, qPrintable(QString::number(last_step)));

    job.id = 2;
    job.steps = 2;
    worker.enqueue(job);
    QTRY_VERIFY_WITH_TIMEOUT(!done.isEmpty(),
                             kTimeoutMs);  // the signal may come before a wait() starts
    QCOMPARE(done.at(0).at(0).toInt(), 2);
  }

  void queued_jobs_can_be_removed() {
    GenerationWorker worker;
    load(worker);
    GenerationJob a;
    a.id = 1;
    a.steps = 400;
    GenerationJob b = a;
    b.id = 2;
    test::SignalRecorder started(&worker, &GenerationWorker::jobStarted);
    test::SignalRecorder cancelled(&worker, &GenerationWorker::jobCancelled);
    worker.enqueue(a);
    worker.enqueue(b);
    QTRY_VERIFY_WITH_TIMEOUT(!started.isEmpty(),
                             kTimeoutMs);  // the signal may come before a wait() starts
    QCOMPARE(worker.queuedCount(), 1);
    QVERIFY(worker.removeQueued(2));
    QVERIFY(!worker.removeQueued(2));
    QCOMPARE(worker.queuedCount(), 0);
    worker.cancelRunning();
    QTRY_VERIFY_WITH_TIMEOUT(!cancelled.isEmpty(),
                             kTimeoutMs);  // the signal may come before a wait() starts
    QTest::qWait(50);
    QCOMPARE(started.count(), 1);  // job 2 never started
  }

  void corrupted_weights_give_a_readable_error() {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(test::temp_dir("corrupt_model")) / "ddpm_broken";
    fs::copy(test::fixture_path("pipelines/ddpm_tiny"), dir, fs::copy_options::recursive);
    const fs::path weights = dir / "unet" / "diffusion_pytorch_model.safetensors";
    fs::permissions(weights, fs::perms::owner_write, fs::perm_options::add);
    fs::resize_file(weights, 1000);
    GenerationWorker worker;
    test::SignalRecorder failed(&worker, &GenerationWorker::modelFailed);
    worker.loadModel(QString::fromStdString(dir.string()));
    QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(),
                             kTimeoutMs);  // the signal may come before a wait() starts
    const QString message = failed.at(0).at(0).toString();
    QVERIFY2(message.contains("diffusion_pytorch_model.safetensors"), qPrintable(message));
    QVERIFY2(!message.contains("Exception raised from"), qPrintable(message));

    // Without a model a job fails with a message instead of crashing.
    test::SignalRecorder job_failed(&worker, &GenerationWorker::jobFailed);
    GenerationJob job;
    job.id = 3;
    worker.enqueue(job);
    QTRY_VERIFY_WITH_TIMEOUT(!job_failed.isEmpty(),
                             kTimeoutMs);  // the signal may come before a wait() starts
    QVERIFY(!job_failed.at(0).at(1).toString().isEmpty());
  }

  void a_missing_folder_is_named_in_the_error() {
    GenerationWorker worker;
    test::SignalRecorder failed(&worker, &GenerationWorker::modelFailed);
    worker.loadModel("/nonexistent/papillon-model");
    QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(),
                             kTimeoutMs);  // the signal may come before a wait() starts
    QVERIFY2(failed.at(0).at(0).toString().contains("/nonexistent/papillon-model"),
             qPrintable(failed.at(0).at(0).toString()));
  }
};

QTEST_GUILESS_MAIN(TestGenerationWorker)
#include "tst_generation_worker.moc"
