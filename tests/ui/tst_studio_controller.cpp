// StudioController + GalleryModel with real generations on the tiny DDPM fixture: tiles appear at
// once and update in place, parameters and saving, cancel, a corrupted folder, and the UI thread's
// event-loop latency during a generation.
#include <QAbstractItemModelTester>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QtTest>
#include <filesystem>

#include "core/runtime/png_io.h"
#include "core/tokenizers/clip_tokenizer.h"
#include "core/util/device.h"
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

// Runs one job of `batch` images with `steps` steps from `seed` and waits until the images are
// finished and stored in the library.
bool run_job(StudioController& c, int batch, int steps, int seed) {
  c.setProperty("steps", steps);
  c.setProperty("batchSize", batch);
  c.setProperty("batchCount", 1);
  c.setProperty("randomSeed", false);
  c.setProperty("seed", QString::number(seed));
  QSignalSpy finished(&c, &StudioController::jobFinished);
  const int first_row = c.gallery()->rowCount();
  if (c.generate() == 0) return false;
  if (!finished.wait(kTimeoutMs)) return false;
  for (int row = first_row; row < first_row + batch; ++row) {
    if (!QTest::qWaitFor([&] { return !c.gallery()->filePath(row).isEmpty(); }, kTimeoutMs))
      return false;
  }
  return true;
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
    QSettings().clear();
    // Finished images are kept in the library: a fresh folder for this run, never ~/Pictures.
    QSettings().setValue("library/folder",
                         QString::fromStdString(test::temp_dir("studio_library_default")));
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

  // The prompt box's token count follows the loaded model's text encoder: none for an
  // unconditional model, T5's ids (</s> included, as the pipeline tokenizes them) against 120 for
  // PixArt-α, CLIP tokens in chunks of 75 for Stable Diffusion.
  void prompt_tokens_follow_the_text_encoder() {
    StudioController c(nullptr);
    QVERIFY(load(c));
    QVERIFY(c.promptTokens("a cat").isEmpty());
    QVERIFY(load(c, QString::fromStdString(test::fixture_path("t5_pixart/pipelines/pixart_tiny"))));
    QCOMPARE(c.modelInfo().value("family").toString(), QString("PixArt-α"));
    const Json meta =
        test::fixture_json("t5_pixart/pipeline_runs/pixart_dpmpp2m_8steps_seed1/meta.json");
    int real = 0;
    for (const auto& id : meta["input_ids"])
      real += id.get<int>() != 0 ? 1 : 0;
    const QVariantMap t5 =
        c.promptTokens(QString::fromStdString(meta["call_kwargs"]["prompt"].get<std::string>()));
    QCOMPARE(t5.value("limit").toInt(), 120);
    QCOMPARE(t5.value("tokens").toInt(), real);
    QVERIFY(load(c, QString::fromStdString(test::fixture_path("pipelines/sd_tiny"))));
    QCOMPARE(c.modelInfo().value("family").toString(), QString("Stable Diffusion"));
    const QVariantMap clip = c.promptTokens("a cat");
    QCOMPARE(clip.value("limit").toInt(), 75);
    const auto tokenizer =
        CLIPTokenizer::from_folder(test::fixture_path("pipelines/sd_tiny/tokenizer"));
    QCOMPARE(clip.value("tokens").toInt(), static_cast<int>(tokenizer.encode("a cat").size()));
    QString long_prompt;
    for (int i = 0; i < 80; ++i)
      long_prompt += "cat ";
    QCOMPARE(c.promptTokens(long_prompt).value("limit").toInt(), 150);
  }

  // The bundled model: the controls and the job the controller sends are its papillon.json
  // defaults; eta follows the scheduler unless the user changed it; Reset brings them back; the
  // saved image has the typed prompt and its class apart, and restores the typed prompt.
  void the_bundled_model_starts_at_its_defaults() {
    const Json papillon = read_json_file(test::bundled_model_dir() + "/papillon.json");
    const int steps = papillon["default_steps"].get<int>();
    const double eta = papillon["default_eta"].get<double>();
    const double guidance = papillon["default_guidance"].get<double>();
    StudioController c(nullptr);
    QVERIFY(load(c, QString::fromStdString(test::bundled_model_dir())));
    QCOMPARE(c.property("scheduler").toString(), QString("DDIMScheduler"));
    QCOMPARE(c.property("steps").toInt(), steps);
    QCOMPARE(c.property("eta").toDouble(), eta);
    QCOMPARE(c.property("guidanceScale").toDouble(), guidance);
    QVERIFY(c.property("etaAvailable").toBool());
    QVERIFY(c.property("atModelDefaults").toBool());
    const QStringList fromModel = c.modelDefaults().value("fromModel").toStringList();
    for (const char* key : {"scheduler", "steps", "eta", "guidance"})
      QVERIFY2(fromModel.contains(key), key);
    QVERIFY2(c.modelDefaultsText().contains("DDIM"), qPrintable(c.modelDefaultsText()));

    c.setProperty("prompt", "a sneaker");
    papillon::GenerationJob job = c.jobForControls();
    QCOMPARE(job.scheduler.value_or(QString()), QString("DDIMScheduler"));
    QCOMPARE(job.steps.value_or(-1), steps);
    QCOMPARE(job.eta.value_or(-1), eta);
    QCOMPARE(job.guidance_scale.value_or(-1), guidance);
    QVERIFY(!job.width && !job.height);  // a fixed-size model: the size is not the user's

    // DDPM takes no eta: the control goes, steps stay the model's; back on DDIM eta is its default.
    c.setProperty("scheduler", "DDPMScheduler");
    QVERIFY(!c.property("etaAvailable").toBool());
    QVERIFY(!c.jobForControls().eta);
    QCOMPARE(c.property("steps").toInt(), steps);
    QVERIFY(!c.property("atModelDefaults").toBool());
    c.setProperty("scheduler", "DDIMScheduler");
    QCOMPARE(c.property("eta").toDouble(), eta);
    // An eta the user set survives a change of scheduler.
    c.setProperty("eta", 0.0);
    c.setProperty("scheduler", "DDPMScheduler");
    c.setProperty("scheduler", "DDIMScheduler");
    QCOMPARE(c.property("eta").toDouble(), 0.0);
    QCOMPARE(c.jobForControls().eta.value_or(-1), 0.0);
    c.setProperty("steps", 3);
    QVERIFY(!c.property("atModelDefaults").toBool());
    c.resetToModelDefaults();
    QVERIFY(c.property("atModelDefaults").toBool());
    QCOMPARE(c.property("eta").toDouble(), eta);
    QCOMPARE(c.property("steps").toInt(), steps);

    // A real run: what the image records is what the controls showed.
    c.setProperty("batchSize", 1);
    c.setProperty("batchCount", 1);
    c.setProperty("randomSeed", false);
    c.setProperty("seed", "5");
    QSignalSpy finished(&c, &StudioController::jobFinished);
    const int row = c.gallery()->rowCount();
    QVERIFY(c.generate() > 0);
    QVERIFY(finished.wait(kTimeoutMs));
    const Json made = Json::parse(c.gallery()->parameters(row).toStdString());
    QCOMPARE(made["scheduler"].get<std::string>(), std::string("DDIMScheduler"));
    QCOMPARE(made["steps"].get<int>(), steps);
    QCOMPARE(made["eta"].get<double>(), eta);
    QCOMPARE(made["prompt"].get<std::string>(), std::string("a sneaker"));
    QCOMPARE(made["class_name"].get<std::string>(), std::string("Sneaker"));
    c.setProperty("prompt", "a bag");
    c.setProperty("eta", 0.5);
    c.useParameters(row);
    QCOMPARE(c.property("prompt").toString(), QString("a sneaker"));
    QCOMPARE(c.property("eta").toDouble(), eta);
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

  void finished_images_are_kept_and_come_back_after_a_restart() {
    const QString library = QString::fromStdString(test::temp_dir("studio_library"));
    QStringList paths, parameters;
    QList<QImage> images;
    {
      StudioController c(nullptr);
      c.setLibraryFolder(library);
      QVERIFY(load(c));
      QVERIFY(run_job(c, 2, 3, 11));
      GalleryModel& g = *c.gallery();
      for (int row = 0; row < 2; ++row) {
        paths << g.filePath(row);
        parameters << g.parameters(row);
        images << g.image(row).convertToFormat(QImage::Format_RGB888);
        QVERIFY(paths.back().startsWith(library + "/"));
        QVERIFY(QFileInfo::exists(paths.back()));
      }
    }
    // A new start: the library folder is a persisted setting, its images return in order.
    StudioController c(nullptr);
    QCOMPARE(c.libraryFolder(), library);
    QAbstractItemModelTester tester(c.gallery(),
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy loaded(&c, &StudioController::historyLoaded);
    c.reloadHistory();
    QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty(), kTimeoutMs);
    QCOMPARE(loaded.at(0).at(0).toInt(), 2);
    GalleryModel& g = *c.gallery();
    QCOMPARE(g.rowCount(), 2);
    for (int row = 0; row < 2; ++row) {
      QCOMPARE(g.filePath(row), paths[row]);
      QCOMPARE(g.state(row), QString("done"));
      QCOMPARE(g.seed(row), quint64(11 + row));
      QCOMPARE(QJsonDocument::fromJson(g.parameters(row).toUtf8()),
               QJsonDocument::fromJson(parameters[row].toUtf8()));
      QCOMPARE(g.image(row).convertToFormat(QImage::Format_RGB888), images[row]);
    }
    // Delete: the row and its file go; the other image stays.
    g.select(0);
    QCOMPARE(c.deleteSelected(), 1);
    QCOMPARE(g.rowCount(), 1);
    QVERIFY(!QFileInfo::exists(paths[0]));
    QVERIFY(QFileInfo::exists(paths[1]));
    QCOMPARE(g.filePath(0), paths[1]);
  }

  void parameters_and_settings_persist() {
    {
      StudioController c(nullptr);
      c.setProperty("prompt", "an ankle boot");
      c.setProperty("randomSeed", false);
      c.setProperty("seed", "987654321987");
      c.setProperty("batchSize", 3);
      c.setProperty("fullPreviewEvery", 5);
      c.setTheme("dark");
    }  // saved when the controller goes, at the latest
    StudioController c(nullptr);
    QCOMPARE(c.property("prompt").toString(), QString("an ankle boot"));
    QCOMPARE(c.seed(), QString("987654321987"));
    QCOMPARE(c.property("batchSize").toInt(), 3);
    QCOMPARE(c.property("fullPreviewEvery").toInt(), 5);
    QCOMPARE(c.theme(), QString("dark"));
    c.setTheme("system");
    c.setProperty("fullPreviewEvery", 0);
    c.setProperty("randomSeed", true);
  }

  // Device and precision: a change reloads the open model in the new dtype, keeps the user's
  // controls and persists; a device that is not there is a readable error that keeps the model.
  void compute_settings_reload_the_model() {
    const bool cuda = papillon::cuda_available();
    {
      StudioController c(nullptr);
      QCOMPARE(c.computeDevice(), QString("auto"));
      QCOMPARE(c.precision(), QString("full"));
      QVERIFY(load(c));
      QCOMPARE(c.modelInfo().value("dtype").toString(), QString("fp32"));
      QCOMPARE(c.modelInfo().value("device").toString().startsWith("cuda"), cuda);
      c.setProperty("steps", 7);
      QSignalSpy changed(&c, &StudioController::modelChanged);
      c.setPrecision("half");
      QVERIFY(changed.wait(kTimeoutMs));
      QCOMPARE(c.modelInfo().value("dtype").toString(), QString(cuda ? "fp16" : "bf16"));
      QCOMPARE(c.property("steps").toInt(), 7);
      QVERIFY(run_job(c, 1, 2, 5));
      c.setPrecision("quarter");  // not a precision: ignored
      QCOMPARE(c.precision(), QString("half"));
    }
    StudioController c(nullptr);
    QCOMPARE(c.precision(), QString("half"));  // persisted
    QVERIFY(load(c));
    QCOMPARE(c.modelInfo().value("dtype").toString(), QString(cuda ? "fp16" : "bf16"));
    QSignalSpy changed(&c, &StudioController::modelChanged);
    // Changed while the model is still loading: loaded again once it is there.
    c.loadModel(ddpm_dir());
    c.setPrecision("full");
    QTRY_VERIFY_WITH_TIMEOUT(changed.count() == 2 && !c.modelLoading(), kTimeoutMs);
    QCOMPARE(c.modelInfo().value("dtype").toString(), QString("fp32"));
    c.setPrecision("half");
    QVERIFY(changed.wait(kTimeoutMs));
    changed.clear();
    c.setComputeDevice("cpu");
    QVERIFY(changed.wait(kTimeoutMs));
    QCOMPARE(c.modelInfo().value("device").toString(), QString("cpu"));
    QCOMPARE(c.modelInfo().value("dtype").toString(), QString("bf16"));
    c.setPrecision("full");
    QVERIFY(changed.wait(kTimeoutMs));
    QCOMPARE(c.modelInfo().value("dtype").toString(), QString("fp32"));
    if (!cuda) {
      QSignalSpy error(&c, &StudioController::modelErrorChanged);
      c.setComputeDevice("cuda");
      QVERIFY(error.wait(kTimeoutMs));
      QVERIFY2(c.modelError().contains("CUDA"), qPrintable(c.modelError()));
      QVERIFY(c.modelReady());  // the CPU model is still there
      QVERIFY(run_job(c, 1, 2, 6));
    }
    c.setComputeDevice("auto");
  }

  void a_dropped_png_restores_its_parameters() {
    const QString dir = QString::fromStdString(test::temp_dir("studio_drop"));
    StudioController c(nullptr);
    QVERIFY(load(c));
    QVERIFY(run_job(c, 1, 3, 4242));
    const int row = c.gallery()->rowCount() - 1;
    QVERIFY(c.saveImage(row, dir + "/papillon.png"));

    // Papillon's own PNG: every parameter comes back.
    c.setProperty("steps", 50);
    c.setProperty("seed", "1");
    c.setProperty("randomSeed", true);
    QSignalSpy restored(&c, &StudioController::parametersRestored);
    QVERIFY(c.restoreFromImage(QUrl::fromLocalFile(dir + "/papillon.png").toString()));
    QCOMPARE(restored.count(), 1);
    QCOMPARE(c.property("steps").toInt(), 3);
    QCOMPARE(c.seed(), QString("4242"));
    QVERIFY(!c.property("randomSeed").toBool());

    // An AUTOMATIC1111 PNG (only its "parameters" text).
    QImage plain(8, 8, QImage::Format_RGB888);
    plain.fill(Qt::gray);
    const std::string a1111 =
        "a sneaker\nNegative prompt: blurry\nSteps: 17, Sampler: DDIM, CFG scale: 4.5, Seed: "
        "31337, Size: 32x32, Model: sd";
    save_png((dir + "/a1111.png").toStdString(), plain, {{"parameters", a1111}});
    QVERIFY(c.restoreFromImage(dir + "/a1111.png"));
    QCOMPARE(c.property("steps").toInt(), 17);
    QCOMPARE(c.seed(), QString("31337"));
    QCOMPARE(c.property("prompt").toString(), QString("a sneaker"));
    QCOMPARE(c.property("negativePrompt").toString(), QString("blurry"));
    QCOMPARE(c.property("guidanceScale").toDouble(), 4.5);
    if (c.modelInfo().value("schedulers").toStringList().contains("DDIMScheduler")) {
      QCOMPARE(c.property("scheduler").toString(), QString("DDIMScheduler"));
    }

    // A PNG without parameters, and a file that is no image: a message, nothing changes.
    save_png((dir + "/bare.png").toStdString(), plain);
    QVERIFY(!c.restoreFromImage(dir + "/bare.png"));
    QVERIFY(c.errorText().contains("bare.png"));
    QFile junk(dir + "/junk.png");
    QVERIFY(junk.open(QIODevice::WriteOnly));
    junk.write("not a png");
    junk.close();
    QVERIFY(!c.restoreFromImage(dir + "/junk.png"));
    QVERIFY(c.errorText().contains("junk.png"));
    QCOMPARE(c.property("steps").toInt(), 17);
  }

  void selection_grids_and_saving_follow_their_options() {
    const QString dir = QString::fromStdString(test::temp_dir("studio_grid"));
    StudioController c(nullptr);
    c.setLibraryFolder(dir + "/library");
    QVERIFY(load(c));
    QVERIFY(run_job(c, 3, 4, 5));
    GalleryModel& g = *c.gallery();
    QCOMPARE(g.rowCount(), 3);

    // Selection: click, Ctrl+click, Shift+click.
    g.select(0);
    g.select(2, GalleryModel::SelectToggle);
    QCOMPARE(g.selectedRows(), QList<int>({0, 2}));
    g.select(1, GalleryModel::SelectOnly);
    g.select(2, GalleryModel::SelectRange);
    QCOMPARE(g.selectedRows(), QList<int>({1, 2}));
    g.selectAll();
    QCOMPARE(g.selectedCount(), 3);
    g.clearSelection();
    QCOMPARE(g.selectedCount(), 0);

    // The whole gallery, automatic columns (2 for 3 images), padding 5.
    QVERIFY(c.saveGrid(dir + "/all.png", 0, 5));
    QCOMPARE(QImage(dir + "/all.png").size(), QSize(2 * 32 + 3 * 5, 2 * 32 + 3 * 5));
    // Only the selection.
    g.select(0);
    g.select(2, GalleryModel::SelectToggle);
    QVERIFY(c.saveGrid(dir + "/selected.png", 0, 2, true));
    const QImage selected(dir + "/selected.png");
    QCOMPARE(selected.size(), QSize(2 * 32 + 3 * 2, 32 + 2 * 2));
    QCOMPARE(selected.pixelColor(2 + 34, 2), g.image(2).pixelColor(0, 0));
    const auto text = read_png_text((dir + "/selected.png").toStdString());
    QVERIFY(QString::fromStdString(text.at("papillon")).contains("\"grid_seeds\":[5,7]"));
    // With the timeline: one row per image, 3 frames then the image.
    QVERIFY(c.saveGrid(dir + "/timeline.png", 0, 1, true, 3));
    const QImage timeline(dir + "/timeline.png");
    QCOMPARE(timeline.size(), QSize(4 * 32 + 5 * 1, 2 * 32 + 3 * 1));
    const QList<QImage> frames = g.timeline(0, 3);
    QCOMPARE(frames.size(), 3);
    QCOMPARE(timeline.copy(1, 1, 32, 32).convertToFormat(QImage::Format_RGB888),
             frames[0].convertToFormat(QImage::Format_RGB888));
    QCOMPARE(timeline.copy(1 + 3 * 33, 1, 32, 32).convertToFormat(QImage::Format_RGB888),
             g.image(0).convertToFormat(QImage::Format_RGB888));

    // Save the selection as files, each with its parameters.
    QCOMPARE(c.saveSelected(QUrl::fromLocalFile(dir + "/picked").toString()), 2);
    const QStringList files = QDir(dir + "/picked").entryList({"*.png"}, QDir::Files, QDir::Name);
    QCOMPARE(files, QStringList({"papillon-5.png", "papillon-7.png"}));
    const auto picked = read_png_text((dir + "/picked/papillon-7.png").toStdString());
    QVERIFY(QString::fromStdString(picked.at("parameters")).contains("Seed: 7"));
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
