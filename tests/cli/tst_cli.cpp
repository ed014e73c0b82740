// papillon-cli end to end: run the real process, read back the PNGs and the dump.
#include <torch/torch.h>

#include <QProcess>
#include <QtTest>
#include <filesystem>

#include "core/io/safetensors.h"
#include "core/runtime/png_io.h"
#include "tests/common/cli_process.h"
#include "tests/common/fixtures.h"

using namespace papillon;
using test::run_cli;

namespace {

using Result = test::CliResult;

QString fixture(const std::string& rel) {
  return test::cli_fixture(rel);
}

}  // namespace

class TestCli : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY2(!qgetenv("PAPILLON_CLI").isEmpty(), "PAPILLON_CLI must point at papillon-cli");
  }

  // The DDPM fixture run, through the CLI: dump and PNG equal diffusers' output.
  void generate_matches_diffusers() {
    const std::string dir = test::temp_dir("cli-gen");
    const QString grid = QString::fromStdString(dir + "/grid.png");
    const QString dump = QString::fromStdString(dir + "/out.safetensors");
    const QString images = QString::fromStdString(dir + "/images");
    const auto r =
        run_cli({"generate",  "--model",    fixture("pipelines/ddpm_tiny"),
                 "--steps",   "50",         "--seed",
                 "1",         "--out",      grid,
                 "--dump",    dump,         "--save-images",
                 images,      "--padding",  "0",
                 "--scale",   "1",          "--preview-every",
                 "10",        "--timeline", QString::fromStdString(dir + "/timeline.png"),
                 "--threads", "1"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto run = SafetensorsFile::open(
        test::fixture_path("pipeline_runs/ddpm_50steps_seed1_bs1/run.safetensors"));
    const auto out = SafetensorsFile::open(dump.toStdString());
    const auto expected_image = run.get("image").permute({0, 3, 1, 2});
    PAPILLON_EXPECT_CLOSE(out.get("images"), expected_image, 1e-3, 0.0, "dumped images");
    PAPILLON_EXPECT_CLOSE(out.get("final_sample"), run.get("final_sample"), 1e-4, 0.0,
                          "dumped final_sample");
    QVERIFY(out.contains("pred_x0.step0000"));
    QVERIFY(out.contains("pred_x0.step0049"));

    // The grid PNG holds the image, rounded like diffusers' numpy_to_pil, and its parameters.
    const QImage png(grid);
    QCOMPARE(png.width(), 32);
    const auto pixels = qimage_to_tensor(png);
    PAPILLON_EXPECT_CLOSE(pixels, (expected_image[0] * 255).round() / 255, 1.01 / 255, 0.0,
                          "grid pixels");
    const auto text = read_png_text(grid.toStdString());
    const QString params = QString::fromStdString(text.at("parameters"));
    QVERIFY2(params.contains("Steps: 50") && params.contains("Sampler: DDPM") &&
                 params.contains("Seed: 1,") && params.contains("Size: 32x32") &&
                 params.contains("Model: ddpm_tiny"),
             qPrintable(params));
    const Json j = Json::parse(text.at("papillon"));
    QCOMPARE(j["seed"].get<uint64_t>(), uint64_t(1));
    QCOMPARE(j["steps"].get<int64_t>(), int64_t(50));
    QVERIFY(std::filesystem::exists(images.toStdString() + "/0-seed1.png"));
    const QImage timeline(QString::fromStdString(dir + "/timeline.png"));
    QCOMPARE(timeline.width(), 6 * (32 + 0));  // steps 0,10,20,30,40,49
  }

  // --seeds: one generator per image; image 1 of "--seeds 7,1" is the "--seed 1" image.
  void seeds_reproduce_single_images() {
    const std::string dir = test::temp_dir("cli-seeds");
    const auto a = run_cli({"generate", "--model", fixture("pipelines/ddpm_tiny"), "--steps", "5",
                            "--seeds", "7,1", "--out", QString::fromStdString(dir + "/a.png"),
                            "--dump", QString::fromStdString(dir + "/a.safetensors"), "--quiet"});
    QVERIFY2(a.code == 0, qPrintable(a.err));
    const auto b = run_cli({"generate", "--model", fixture("pipelines/ddpm_tiny"), "--steps", "5",
                            "--seed", "1", "--out", QString::fromStdString(dir + "/b.png"),
                            "--dump", QString::fromStdString(dir + "/b.safetensors"), "--quiet"});
    QVERIFY2(b.code == 0, qPrintable(b.err));
    const auto ia = SafetensorsFile::open(dir + "/a.safetensors").get("final_sample");
    const auto ib = SafetensorsFile::open(dir + "/b.safetensors").get("final_sample");
    // Batch 2 vs batch 1 changes only float rounding: the README's pipeline tolerance.
    PAPILLON_EXPECT_CLOSE(ia[1], ib[0], 1e-4, 1e-4, "seeds 7,1 image 1 vs seed 1");
    const auto text = read_png_text(dir + "/a.png");
    QVERIFY(Json::parse(text.at("papillon"))["seeds"] == Json::parse("[7, 1]"));
  }

  void scheduler_options_are_applied() {
    const std::string dir = test::temp_dir("cli-ddim");
    const auto r =
        run_cli({"generate", "--model", fixture("pipelines/ddpm_tiny"), "--scheduler", "ddim",
                 "--scheduler-opt", "clip_sample=false", "--steps", "50", "--seed", "2", "--batch",
                 "2", "--out", QString::fromStdString(dir + "/g.png"), "--dump",
                 QString::fromStdString(dir + "/d.safetensors"), "--quiet"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto run = SafetensorsFile::open(
        test::fixture_path("pipeline_runs/ddim_eta0_noclip_50steps_seed2_bs2/run.safetensors"));
    const auto expected = run.get("final_sample");
    const double scale = std::max(1.0, expected.abs().max().item<double>());
    PAPILLON_EXPECT_CLOSE(SafetensorsFile::open(dir + "/d.safetensors").get("final_sample"),
                          expected, 1e-4 * scale, 0.0, "DDIM final_sample via CLI");
  }

  // The bundled model with no sampling options runs its papillon.json defaults (DDIM, its steps
  // and eta) and says so; --eta 0 is a value, not "not given"; the typed prompt is the first line.
  void model_defaults_and_a_given_eta() {
    const std::string dir = test::temp_dir("cli-defaults");
    const QString model = QString::fromStdString(test::bundled_model_dir());
    const Json papillon = read_json_file(test::bundled_model_dir() + "/papillon.json");
    auto run = [&](const QString& name, const QStringList& more) {
      QStringList args = {"generate",
                          "--model",
                          model,
                          "--prompt",
                          "a sneaker",
                          "--seeds",
                          "3,4",
                          "--out",
                          QString::fromStdString(dir + "/" + name.toStdString() + ".png"),
                          "--dump",
                          QString::fromStdString(dir + "/" + name.toStdString() + ".safetensors"),
                          "--threads",
                          "1"};
      return run_cli(args + more);
    };
    const auto defaults = run("defaults", {});
    QVERIFY2(defaults.code == 0, qPrintable(defaults.err));
    QVERIFY2(defaults.err.contains("DDIMScheduler (model's default)") &&
                 defaults.err.contains("steps (model's default)") &&
                 defaults.err.contains("eta 1 (model's default)"),
             qPrintable(defaults.err));
    const auto text = read_png_text(dir + "/defaults.png");
    const Json j = Json::parse(text.at("papillon"));
    QCOMPARE(j["scheduler"].get<std::string>(), std::string("DDIMScheduler"));
    QCOMPARE(j["steps"].get<int64_t>(), papillon["default_steps"].get<int64_t>());
    QCOMPARE(j["eta"].get<double>(), papillon["default_eta"].get<double>());
    QCOMPARE(j["prompt"].get<std::string>(), std::string("a sneaker"));
    QCOMPARE(j["class_name"].get<std::string>(), std::string("Sneaker"));
    const QString a1111 = QString::fromStdString(text.at("parameters"));
    QVERIFY2(a1111.startsWith("a sneaker\nSteps: ") && a1111.contains("Eta: 1") &&
                 a1111.contains("Class: Sneaker"),
             qPrintable(a1111));

    const auto eta1 = run("eta1", {"--eta", "1", "--steps", "5"});
    const auto eta0 = run("eta0", {"--eta", "0", "--steps", "5"});
    QVERIFY2(eta1.code == 0 && eta0.code == 0, qPrintable(eta1.err + eta0.err));
    const Json j0 = Json::parse(read_png_text(dir + "/eta0.png").at("papillon"));
    QCOMPARE(j0["eta"].get<double>(), 0.0);
    const QString a1111_eta0 =
        QString::fromStdString(read_png_text(dir + "/eta0.png").at("parameters"));
    QVERIFY2(a1111_eta0.contains(QRegularExpression("Eta: 0(,|$)")), qPrintable(a1111_eta0));
    const auto i0 = SafetensorsFile::open(dir + "/eta0.safetensors").get("images");
    const auto i1 = SafetensorsFile::open(dir + "/eta1.safetensors").get("images");
    QVERIFY2(!torch::equal(i0, i1), "--eta 0 and --eta 1 gave the same images");
    // A scheduler without eta: the given eta is reported as ignored and not recorded.
    const auto ddpm = run("ddpm", {"--eta", "0.5", "--scheduler", "ddpm", "--steps", "3"});
    QVERIFY2(ddpm.code == 0, qPrintable(ddpm.err));
    QVERIFY2(ddpm.err.contains("--eta is ignored"), qPrintable(ddpm.err));
    QVERIFY(Json::parse(read_png_text(dir + "/ddpm.png").at("papillon"))["eta"].is_null());
  }

  void inspect_describes_a_folder() {
    const auto r = run_cli({"inspect", fixture("pipelines/ddpm_tiny"), "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const Json j = Json::parse(r.out.toStdString());
    QCOMPARE(j["pipeline"].get<std::string>(), std::string("DDPMPipeline"));
    int64_t expected = 0;
    for (const auto& k : test::fixture_json("models/unet2d_ddpm/keys.json")) {
      int64_t n = 1;
      for (const auto& d : k["shape"])
        n *= d.get<int64_t>();
      expected += n;
    }
    QCOMPARE(j["components"]["unet"]["weights"][0]["parameters"].get<int64_t>(), expected);
    QCOMPARE(j["components"]["scheduler"]["class"].get<std::string>(),
             std::string("DDPMScheduler"));
  }

  void bad_input_gives_clear_errors() {
    auto r = run_cli({"inspect", "/nonexistent/model"});
    QVERIFY(r.code != 0);
    QVERIFY2(r.err.contains("not a folder"), qPrintable(r.err));
    r = run_cli({"inspect", fixture("pipelines/ddpm_tiny/unet")});
    QVERIFY(r.code != 0);
    QVERIFY2(r.err.contains("model_index.json"), qPrintable(r.err));
    r = run_cli({"generate", "--model", fixture("pipelines/ddpm_tiny")});
    QVERIFY(r.code != 0);
    QVERIFY2(r.err.contains("--out"), qPrintable(r.err));
    r = run_cli({"generate", "--model", fixture("pipelines/ddpm_tiny"), "--out", "/tmp/x.png",
                 "--scheduler", "nonsense"});
    QVERIFY(r.code != 0);
    QVERIFY2(r.err.contains("nonsense"), qPrintable(r.err));
    r = run_cli({"generate", "--bogus"});
    QVERIFY(r.code != 0);
    QVERIFY2(r.err.contains("--bogus"), qPrintable(r.err));
    // A truncated weights file in a copied folder.
    namespace fs = std::filesystem;
    const std::string dir = test::temp_dir("cli-bad");
    fs::copy(test::fixture_path("pipelines/ddpm_tiny"), dir + "/m", fs::copy_options::recursive);
    const std::string w = dir + "/m/unet/diffusion_pytorch_model.safetensors";
    fs::resize_file(w, fs::file_size(w) / 2);
    r = run_cli({"generate", "--model", QString::fromStdString(dir + "/m"), "--out",
                 QString::fromStdString(dir + "/g.png"), "--steps", "2"});
    QVERIFY(r.code != 0);
    QVERIFY2(r.err.contains("diffusion_pytorch_model.safetensors"), qPrintable(r.err));
    QVERIFY(!fs::exists(dir + "/g.png"));
    r = run_cli({"inspect", QString::fromStdString(dir + "/m")});
    QVERIFY(r.code != 0);
  }
};

QTEST_APPLESS_MAIN(TestCli)
#include "tst_cli.moc"
