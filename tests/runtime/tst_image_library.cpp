// ImageLibrary: finished images are stored atomically under unique names with their parameters
// and read back newest-last; parameters come back from Papillon's and AUTOMATIC1111's PNGs; bad
// files give errors that name them.
#include <QImage>
#include <QtTest>
#include <fstream>
#include <thread>

#include "core/pipelines/generation_parameters.h"
#include "core/runtime/image_library.h"
#include "core/runtime/png_io.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using namespace papillon;

namespace {

QImage solid(int shade) {
  QImage image(12, 10, QImage::Format_RGB888);
  image.fill(QColor(shade, 255 - shade, shade / 2));
  return image;
}

QString parameters_json(uint64_t seed) {
  GenerationParameters p;
  p.prompt = "a bag";
  p.steps = 25;
  p.scheduler = "DDIMScheduler";
  p.guidance_scale = 3.0;
  p.seed = seed;
  p.width = 12;
  p.height = 10;
  return QString::fromStdString(p.to_json().dump());
}

}  // namespace

class TestImageLibrary : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void stored_images_come_back_in_order_with_their_parameters() {
    const QString dir = QString::fromStdString(test::temp_dir("library_store")) + "/deep/lib";
    const ImageLibrary library(dir);
    QStringList paths;
    for (int i = 0; i < 3; ++i) {
      paths << library.store(solid(40 * i), parameters_json(100 + i));
      // Modification times order the library: keep them apart on coarse file systems.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    QCOMPARE(QSet<QString>(paths.begin(), paths.end()).size(), 3);  // unique names
    for (const QString& path : paths)
      QVERIFY(path.startsWith(dir + "/"));
    QVERIFY(paths[1].contains("-101"));  // the seed is in the name

    const QList<LibraryImage> all = library.load_recent(10);
    QCOMPARE(all.size(), 3);
    for (int i = 0; i < 3; ++i) {
      QCOMPARE(all[i].path, paths[i]);
      QCOMPARE(all[i].seed, quint64(100 + i));
      QCOMPARE(all[i].image.convertToFormat(QImage::Format_RGB888), solid(40 * i));
      QCOMPARE(Json::parse(all[i].parameters_json.toStdString()),
               Json::parse(parameters_json(100 + i).toStdString()));
    }
    // A limit keeps the newest, still oldest first.
    const QList<LibraryImage> two = library.load_recent(2);
    QCOMPARE(two.size(), 2);
    QCOMPARE(two[0].path, paths[1]);
    QCOMPARE(two[1].path, paths[2]);

    // Files that are not images are skipped; a missing folder is an empty library.
    std::ofstream((dir + "/broken.png").toStdString()) << "no PNG here";
    QCOMPARE(library.load_recent(10).size(), 3);
    QCOMPARE(ImageLibrary(dir + "/none").load_recent(10).size(), 0);

    QVERIFY(ImageLibrary::remove(paths[0]));
    QVERIFY(!QFileInfo::exists(paths[0]));
    QCOMPARE(library.load_recent(10).size(), 2);
  }

  void parameters_from_papillon_and_a1111_pngs() {
    const QString dir = QString::fromStdString(test::temp_dir("library_params"));
    const QString ours = ImageLibrary(dir).store(solid(9), parameters_json(77));
    const Json back = Json::parse(parameters_from_png(ours).toStdString());
    QCOMPARE(back["seed"].get<uint64_t>(), uint64_t(77));
    QCOMPARE(back["steps"].get<int>(), 25);

    const std::string text =
        "a dress\nNegative prompt: text\nSteps: 30, Sampler: Euler a, CFG scale: 6, Seed: "
        "18446744073709551615, Size: 64x48";
    save_png((dir + "/a1111.png").toStdString(), solid(1), {{"parameters", text}});
    const GenerationParameters expected = GenerationParameters::from_a1111(text);
    const Json a1111 = Json::parse(parameters_from_png(dir + "/a1111.png").toStdString());
    QCOMPARE(a1111, expected.to_json());
    QCOMPARE(a1111["seed"].get<uint64_t>(), uint64_t(18446744073709551615ull));
    QCOMPARE(a1111["prompt"].get<std::string>(), std::string("a dress"));

    save_png((dir + "/bare.png").toStdString(), solid(2));
    QVERIFY(parameters_from_png(dir + "/bare.png").isEmpty());

    save_png((dir + "/damaged.png").toStdString(), solid(3), {{"papillon", "{\"seed\": "}});
    QVERIFY_THROWS_EXCEPTION(Error, parameters_from_png(dir + "/damaged.png"));
    std::ofstream((dir + "/junk.png").toStdString()) << "junk";
    try {
      parameters_from_png(dir + "/junk.png");
      QFAIL("a file that is no image must be refused");
    } catch (const Error& e) {
      QVERIFY(std::string(e.what()).find("junk.png") != std::string::npos);
    }
  }

  void unique_names_never_overwrite() {
    const QString dir = QString::fromStdString(test::temp_dir("library_unique"));
    QCOMPARE(unique_png_path(dir, "a"), dir + "/a.png");
    save_png((dir + "/a.png").toStdString(), solid(5));
    QCOMPARE(unique_png_path(dir, "a"), dir + "/a-2.png");
    save_png((dir + "/a-2.png").toStdString(), solid(5));
    QCOMPARE(unique_png_path(dir, "a"), dir + "/a-3.png");
  }
};

QTEST_GUILESS_MAIN(TestImageLibrary)
#include "tst_image_library.moc"
