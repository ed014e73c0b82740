// StudioController + GalleryModel with real generations on the tiny DDPM fixture: tiles appear at
// once and update in place, parameters and saving, cancel, a corrupted folder, and the UI thread's
// event-loop latency during a generation.
#include <QAbstractItemModelTester>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QtTest>
#include <filesystem>

#include "core/runtime/png_io.h"
#include "tests/common/fixtures.h"
#include "ui/gallery_model.h"
#include "ui/studio_controller.h"

using namespace papillon;
using papillon::ui::GalleryModel;
using papillon::ui::StudioController;

namespace {

constexpr int kTimeoutMs = 60000;

QString ddpm_dir() {
  return QString::fromStdString(test::fixture_path("pipelines/ddpm_tiny"));
}

bool load(StudioController& c, const QString& dir = ddpm_dir()) {
  QSignalSpy changed(&c, &StudioController::modelChanged);
  c.loadModel(dir);
  return changed.wait(kTimeoutMs) && c.modelReady();
}

QVariant role(const GalleryModel& m, int row, const char* name) {
  return m.data(m.index(row), m.roleNames().key(name));
}

}  // namespace

class TestStudioController : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    at::set_num_threads(1);
    QStandardPaths::setTestModeEnabled(true);  // QSettings go to a test location
  }

  void loading_sets_the_model_defaults() {
    StudioController c(nullptr);
    QVERIFY(load(c));
    const Json unet = test::fixture_json("pipelines/ddpm_tiny/unet/config.json");
    QCOMPARE(c.modelPath(), QDir::cleanPath(ddpm_dir()));
    QCOMPARE(c.property("width").toInt(), unet["sample_size"].get<int>());
    QCOMPARE(c.property("scheduler").toString(), QString("DDPMScheduler"));
    QVERIFY(c.modelError().isEmpty());
    QCOMPARE(c.recentModels().value(0), c.modelPath());
  }

  void tiles_appear_at_once_then_previews_then_final_images() {
    StudioController c(nullptr);
    QVERIFY(load(c));
    QAbstractItemModelTester tester(c.gallery(),
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
    c.setProperty("steps", 4);
    c.setProperty("batchSize", 2);
    c.setProperty("randomSeed", false);
    c.setProperty("seed", "7");
    QSignalSpy previews(&c, &StudioController::previewArrived);
    QSignalSpy finished(&c, &StudioController::jobFinished);
    QSignalSpy rows_changed(c.gallery(), &QAbstractItemModel::dataChanged);
    const int job = c.generate();
    QVERIFY(job > 0);
    GalleryModel& g = *c.gallery();
    QCOMPARE(g.rowCount(), 2);  // both tiles at once
    QCOMPARE(role(g, 0, "tileState").toString(), QString("queued"));
    QVERIFY(role(g, 1, "source").toString().isEmpty());
    QVERIFY(c.busy());

    QVERIFY(finished.wait(kTimeoutMs));
    QCOMPARE(finished.at(0).at(0).toInt(), job);
    QVERIFY(!c.busy());
    QCOMPARE(g.rowCount(), 2);  // updated in place, no new rows
    QVERIFY(rows_changed.count() > 0);
    QSet<QPair<int, int>> seen;
    for (const auto& args : previews)
      seen.insert({args.at(1).toInt(), args.at(2).toInt()});
    for (int i = 0; i < 2; ++i) {
      for (int step = 1; step <= 4; ++step)
        QVERIFY2(seen.contains({i, step}),
                 qPrintable(QString("image %1 step %2").arg(i).arg(step)));
      QCOMPARE(role(g, i, "tileState").toString(), QString("done"));
      QCOMPARE(role(g, i, "step").toInt(), 4);
      QCOMPARE(role(g, i, "frameCount").toInt(), 4);
      QCOMPARE(role(g, i, "seed").toString(), QString::number(7 + i));
      QVERIFY(role(g, i, "source").toString().startsWith("image://gallery/"));
      const QJsonObject p =
          QJsonDocument::fromJson(role(g, i, "parameters").toString().toUtf8()).object();
      QCOMPARE(p.value("seed").toInteger(), 7 + i);
      QCOMPARE(p.value("steps").toInt(), 4);
      QCOMPARE(g.image(i).size(), QSize(32, 32));
      QVERIFY(g.frameSource(i, 0).contains("/frame/0"));
      QCOMPARE(g.frameStep(i, 3), 4);
    }
    QVERIFY(g.image(0) != g.image(1));  // different seeds, different images

    // Saving: one image with its parameters, and the grid.
    const QString dir = QString::fromStdString(test::temp_dir("studio_save"));
    QVERIFY(c.saveImage(1, dir + "/one.png"));
    const auto text = read_png_text((dir + "/one.png").toStdString());
    QVERIFY(QString::fromStdString(text.at("parameters")).contains("Seed: 8"));
    QCOMPARE(QImage(dir + "/one.png").convertToFormat(QImage::Format_RGB888),
             g.image(1).convertToFormat(QImage::Format_RGB888));
    QVERIFY(c.saveGrid(QUrl::fromLocalFile(dir + "/grid.png").toString(), 2));
    const QImage grid(dir + "/grid.png");
    QCOMPARE(grid.size(), QSize(2 * 32 + 3 * 2, 32 + 2 * 2));
    QCOMPARE(grid.pixelColor(2, 2), g.image(0).pixelColor(0, 0));
    const auto grid_text = read_png_text((dir + "/grid.png").toStdString());
    QVERIFY(QString::fromStdString(grid_text.at("papillon")).contains("\"grid_seeds\":[7,8]"));

    c.useParameters(1);
    QCOMPARE(c.seed(), QString("8"));
    QCOMPARE(c.property("batchSize").toInt(), 1);
  }

  void cancel_keeps_the_previews_and_queued_jobs_can_be_removed() {
    StudioController c(nullptr);
    QVERIFY(load(c));
    QAbstractItemModelTester tester(c.gallery(),
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
    c.setProperty("steps", 400);
    c.setProperty("batchSize", 2);
    c.setProperty("batchCount", 2);
    QSignalSpy cancelled(&c, &StudioController::jobCancelled);
    QSignalSpy previews(&c, &StudioController::previewArrived);
    const int first = c.generate();
    QCOMPARE(c.gallery()->rowCount(), 4);
    QCOMPARE(c.queuedJobs(), 2);
    QTRY_VERIFY_WITH_TIMEOUT(previews.count() >= 4, kTimeoutMs);
    QCOMPARE(c.runningJob(), first);
    QCOMPARE(c.removeQueued(), 1);
    QCOMPARE(c.gallery()->rowCount(), 2);
    c.cancel();
    QVERIFY(cancelled.wait(kTimeoutMs));
    QCOMPARE(cancelled.at(0).at(0).toInt(), first);
    QVERIFY(!c.busy());
    for (int i = 0; i < 2; ++i) {
      QCOMPARE(role(*c.gallery(), i, "tileState").toString(), QString("cancelled"));
      QVERIFY(!c.gallery()->image(i).isNull());  // what it had is kept
    }
    QVERIFY(c.currentStep() < 400);
  }

  void a_corrupted_model_folder_shows_a_readable_error() {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(test::temp_dir("studio_corrupt")) / "ddpm_broken";
    fs::copy(test::fixture_path("pipelines/ddpm_tiny"), dir, fs::copy_options::recursive);
    const fs::path weights = dir / "unet" / "diffusion_pytorch_model.safetensors";
    fs::permissions(weights, fs::perms::owner_write, fs::perm_options::add);
    fs::resize_file(weights, 4096);
    StudioController c(nullptr);
    QSignalSpy error(&c, &StudioController::modelErrorChanged);
    c.loadModel(QString::fromStdString(dir.string()));
    QTRY_VERIFY_WITH_TIMEOUT(!c.modelError().isEmpty(), kTimeoutMs);
    QVERIFY2(c.modelError().contains("diffusion_pytorch_model.safetensors"),
             qPrintable(c.modelError()));
    QVERIFY(!c.modelReady());
    QVERIFY(!c.modelLoading());
    QCOMPARE(c.generate(), 0);  // nothing to run: a message, no job
    QVERIFY(!c.errorText().isEmpty());
    // The good model still opens afterwards, and clears the error.
    QVERIFY(load(c));
    QVERIFY(c.modelError().isEmpty());
  }

  // The UI thread stays responsive while the worker generates: a 10 ms timer is never late by
  // 100 ms or more (the bound).
  void event_loop_latency_stays_under_100_ms() {
    StudioController c(nullptr);
    QVERIFY(load(c));
    c.setProperty("steps", 60);
    c.setProperty("batchSize", 4);
    QSignalSpy finished(&c, &StudioController::jobFinished);
    QElapsedTimer clock;
    qint64 last = 0;
    qint64 worst = 0;
    int ticks = 0;
    QTimer timer;
    timer.setInterval(10);
    connect(&timer, &QTimer::timeout, this, [&] {
      const qint64 now = clock.elapsed();
      worst = std::max(worst, now - last - 10);
      last = now;
      ++ticks;
    });
    c.generate();
    clock.start();
    timer.start();
    QVERIFY(finished.wait(kTimeoutMs));
    timer.stop();
    qInfo("event loop: %d ticks, worst lateness %lld ms", ticks, worst);
    QVERIFY(ticks > 5);
    QVERIFY2(worst < 100, qPrintable(QString("worst lateness %1 ms").arg(worst)));
  }
};

QTEST_MAIN(TestStudioController)
#include "tst_studio_controller.moc"
