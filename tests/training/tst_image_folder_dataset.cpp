// Image folders as training data: recursive, resized + centre-cropped, corrupt files skipped.
#include <torch/torch.h>

#include <QImage>
#include <QtTest>
#include <filesystem>
#include <fstream>

#include "core/runtime/image_folder_dataset.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using namespace papillon;

class TestImageFolderDataset : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  void corrupt_files_are_skipped_and_counted() {
    const std::string dir = test::temp_dir("image_folder");
    std::filesystem::create_directories(dir + "/sub/deeper");
    QImage red(40, 20, QImage::Format_RGB888);
    red.fill(QColor(255, 0, 0));
    QVERIFY(red.save(QString::fromStdString(dir + "/red.png")));
    QImage white(16, 16, QImage::Format_RGB888);
    white.fill(Qt::white);
    QVERIFY(white.save(QString::fromStdString(dir + "/sub/white.jpg"), "JPEG", 100));
    QImage half(32, 32, QImage::Format_RGB888);
    half.fill(Qt::black);
    for (int y = 0; y < 32; ++y)
      for (int x = 16; x < 32; ++x)
        half.setPixelColor(x, y, Qt::white);
    QVERIFY(half.save(QString::fromStdString(dir + "/sub/deeper/half.png")));
    {
      std::ofstream(dir + "/broken.png") << "this is not a PNG";
      std::ofstream(dir + "/sub/empty.jpg");
      std::ofstream(dir + "/notes.txt") << "ignored";
    }
    ImageFolderDataset ds(dir, 8, /*grayscale=*/false);
    QCOMPARE(ds.size(), int64_t(3));
    QCOMPARE(ds.skipped().size(), size_t(2));
    QVERIFY(ds.description().find("2 unreadable") != std::string::npos);
    QCOMPARE(ds.channels(), int64_t(3));
    // Sorted paths: broken/red at the top, then sub/deeper/half, sub/white.
    const Example red8 = ds.get(0);
    QVERIFY(red8.image.sizes() == at::IntArrayRef({3, 8, 8}));
    QVERIFY(torch::allclose(red8.image[0], torch::ones({8, 8})));
    QVERIFY(torch::allclose(red8.image[1], -torch::ones({8, 8})));
    const Example half8 = ds.get(1);  // left half black (-1), right half white (+1)
    QVERIFY(torch::allclose(half8.image[0].narrow(1, 0, 3), -torch::ones({8, 3})));
    QVERIFY(torch::allclose(half8.image[0].narrow(1, 5, 3), torch::ones({8, 3})));
    ImageFolderDataset gray(dir, 8, /*grayscale=*/true);
    QCOMPARE(gray.channels(), int64_t(1));
    QVERIFY(gray.get(2).image.sizes() == at::IntArrayRef({1, 8, 8}));
    QVERIFY(gray.get(2).image.min().item<float>() > 0.95f);  // white JPEG
  }

  void empty_or_missing_folders_are_errors() {
    const std::string dir = test::temp_dir("image_folder_empty");
    std::ofstream(dir + "/broken.png") << "nope";
    try {
      ImageFolderDataset ds(dir, 8, false);
      QFAIL("an unreadable folder was accepted");
    } catch (const Error& e) {
      QVERIFY(std::string(e.what()).find("1 unreadable") != std::string::npos);
    }
    QVERIFY_THROWS_EXCEPTION(Error, ImageFolderDataset(dir + "/missing", 8, false));
  }
};

QTEST_APPLESS_MAIN(TestImageFolderDataset)
#include "tst_image_folder_dataset.moc"
