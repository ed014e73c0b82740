// PNG writing with parameter chunks, tensor<->QImage rounding, and atomic saves.
#include <sys/stat.h>
#include <unistd.h>
#include <torch/torch.h>

#include <QtTest>
#include <filesystem>
#include <fstream>

#include "core/runtime/png_io.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using namespace papillon;

class TestPng : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  // diffusers' numpy_to_pil: (image * 255).round().astype(uint8), on a fixture image.
  void rounding_matches_numpy_to_pil() {
    const auto run = SafetensorsFile::open(
        test::fixture_path("pipeline_runs/ddpm_50steps_seed1_bs1/run.safetensors"));
    const auto image = run.get("image")[0].permute({2, 0, 1});  // HWC -> CHW
    const QImage q = tensor_to_qimage(image);
    QCOMPARE(q.width(), 32);
    const auto back = qimage_to_tensor(q);
    const auto expected = (image * 255).round() / 255;
    PAPILLON_EXPECT_CLOSE(back, expected, 1e-6, 0.0, "8-bit round trip");
  }

  void text_chunks_round_trip() {
    const std::string dir = test::temp_dir("png");
    const std::string path = dir + "/a.png";
    const auto image = torch::rand({3, 8, 8});
    const std::string params = "a prompt with ünïcödé 蝴蝶\nSteps: 50, Sampler: DDIM, Seed: 1";
    save_png(path, tensor_to_qimage(image), {{"parameters", params}, {"papillon", "{\"seed\":1}"}});
    const auto text = read_png_text(path);
    QCOMPARE(QString::fromStdString(text.at("parameters")), QString::fromStdString(params));
    QCOMPARE(text.at("papillon"), std::string("{\"seed\":1}"));
    QVERIFY(!std::filesystem::exists(path + ".tmp"));
  }

  void missing_folders_are_created() {
    const std::string dir = test::temp_dir("png-mkdir");
    const std::string path = dir + "/runs/today/grid.png";
    save_png(path, tensor_to_qimage(torch::zeros({3, 4, 4})), {{"parameters", "x"}});
    QVERIFY(std::filesystem::is_regular_file(path));
    QCOMPARE(read_png_text(path).at("parameters"), std::string("x"));
  }

  void failed_save_keeps_the_old_file() {
    if (::geteuid() == 0) {
      // root ignores directory permissions; use a path whose parent is a file instead.
      const std::string dir = test::temp_dir("png-fail");
      std::ofstream(dir + "/file") << "x";
      QVERIFY_THROWS_EXCEPTION(Error,
                               save_png(dir + "/file/a.png", QImage(4, 4, QImage::Format_RGB888)));
    }
    const std::string dir = test::temp_dir("png-ro");
    const std::string path = dir + "/keep.png";
    save_png(path, tensor_to_qimage(torch::zeros({3, 4, 4})), {{"parameters", "old"}});
    const auto before = std::filesystem::file_size(path);
    // Writing an unwritable image format fails and must leave the old file as it was.
    QImage null_image;
    QVERIFY_THROWS_EXCEPTION(Error, save_png(path, null_image, {{"parameters", "new"}}));
    QCOMPARE(std::filesystem::file_size(path), before);
    QCOMPARE(read_png_text(path).at("parameters"), std::string("old"));
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      QVERIFY2(e.path().filename() == "keep.png", e.path().c_str());  // no temp files left
    }
  }
};

QTEST_APPLESS_MAIN(TestPng)
#include "tst_png.moc"
