// papillon-cli with a Stable Diffusion folder, end to end: fixture runs through the process
// (dump compared with diffusers' run: latents rtol 1e-4 + atol 1e-4, images atol 1e-3, prompt
// embeddings atol 1e-4 + rtol 1e-4 as the fixtures README), PNG parameters, tokenize.
#include <torch/torch.h>

#include <QProcess>
#include <QtTest>

#include "core/io/safetensors.h"
#include "core/runtime/png_io.h"
#include "core/util/device.h"
#include "core/util/error.h"
#include "tests/common/cli_process.h"
#include "tests/common/fixtures.h"

using namespace papillon;
using test::run_cli;

namespace {

using Result = test::CliResult;

QString fixture(const std::string& rel) {
  return test::cli_fixture(rel);
}

QString q(const Json& j) {
  return QString::fromStdString(j.get<std::string>());
}

}  // namespace

class TestCliSD : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY2(!qgetenv("PAPILLON_CLI").isEmpty(), "PAPILLON_CLI must point at papillon-cli");
  }

  // Two prompts with two negative prompts, seed 0, PNDM (the folder's scheduler), CFG 7.5.
  void generate_matches_diffusers() {
    const std::string name = "sd_pndm_cfg_neg_10steps_seed0";
    const Json meta = test::fixture_json("pipeline_runs/" + name + "/meta.json");
    const auto run =
        SafetensorsFile::open(test::fixture_path("pipeline_runs/" + name + "/run.safetensors"));
    const Json& kw = meta["call_kwargs"];
    const std::string dir = test::temp_dir("cli-sd");
    const QString grid = QString::fromStdString(dir + "/grid.png");
    const QString dump = QString::fromStdString(dir + "/out.safetensors");
    const auto r = run_cli({"generate",
                            "--model",
                            fixture("pipelines/sd_tiny"),
                            "--prompt",
                            q(kw["prompt"][0]),
                            "--prompt",
                            q(kw["prompt"][1]),
                            "--negative",
                            q(kw["negative_prompt"][0]),
                            "--negative",
                            q(kw["negative_prompt"][1]),
                            "--guidance",
                            "7.5",
                            "--steps",
                            "10",
                            "--seed",
                            "0",
                            "--width",
                            "64",
                            "--height",
                            "64",
                            "--out",
                            grid,
                            "--dump",
                            dump,
                            "--preview-every",
                            "5",
                            "--threads",
                            "1",
                            "--quiet"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto out = SafetensorsFile::open(dump.toStdString());
    PAPILLON_EXPECT_CLOSE(out.get("images"), run.get("image").permute({0, 3, 1, 2}), 1e-3, 0.0,
                          "dumped images");
    PAPILLON_EXPECT_CLOSE(out.get("latents"), run.get("latents_final"), 1e-4, 1e-4,
                          "dumped latents");
    PAPILLON_EXPECT_CLOSE(out.get("prompt_embeds"), run.get("prompt_embeds"), 1e-4, 1e-4,
                          "dumped prompt_embeds");
    PAPILLON_EXPECT_CLOSE(out.get("latents.step0005"), run.get("step005.latents"), 1e-4, 1e-4,
                          "dumped preview latents");
    QVERIFY(out.contains("latents.step0000"));

    const auto text = read_png_text(grid.toStdString());
    const QString params = QString::fromStdString(text.at("parameters"));
    QVERIFY2(params.startsWith(q(kw["prompt"][0])) &&
                 params.contains("Negative prompt: " + q(kw["negative_prompt"][0])) &&
                 params.contains("CFG scale: 7.5") && params.contains("Steps: 10") &&
                 params.contains("Sampler: ") && params.contains("Seed: 0") &&
                 params.contains("Size: 64x64") && params.contains("Model: sd_tiny"),
             qPrintable(params));
  }

  // --precision half: the UNet in bf16 on the CPU, within the bound of docs/performance.md
  // (image 0.04 at most, 0.005 on average, against diffusers' fp32 run), and the PNG says bf16.
  void half_precision_on_the_cpu() {
    const std::string name = "sd_pndm_cfg_neg_10steps_seed0";
    const Json meta = test::fixture_json("pipeline_runs/" + name + "/meta.json");
    const auto run =
        SafetensorsFile::open(test::fixture_path("pipeline_runs/" + name + "/run.safetensors"));
    const Json& kw = meta["call_kwargs"];
    const std::string dir = test::temp_dir("cli-sd-half");
    const QString grid = QString::fromStdString(dir + "/grid.png");
    const QString dump = QString::fromStdString(dir + "/out.safetensors");
    const QStringList common = {"--model",    fixture("pipelines/sd_tiny"),
                                "--prompt",   q(kw["prompt"][0]),
                                "--prompt",   q(kw["prompt"][1]),
                                "--negative", q(kw["negative_prompt"][0]),
                                "--negative", q(kw["negative_prompt"][1]),
                                "--steps",    "10",
                                "--seed",     "0",
                                "--threads",  "1",
                                "--quiet"};
    const auto r = run_cli(QStringList{"generate", "--device", "auto", "--precision", "half",
                                       "--out", grid, "--dump", dump} +
                           common);
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const at::Tensor diff = (SafetensorsFile::open(dump.toStdString()).get("images") -
                             run.get("image").permute({0, 3, 1, 2}))
                                .abs();
    QVERIFY2(diff.max().item<double>() <= 0.04,
             qPrintable(QString::number(diff.max().item<double>())));
    QVERIFY2(diff.mean().item<double>() <= 0.005,
             qPrintable(QString::number(diff.mean().item<double>())));
    const Json params = Json::parse(read_png_text(grid.toStdString()).at("papillon"));
    QCOMPARE(params["extra"].value("dtype", std::string()), std::string("bf16"));

    const auto both = run_cli(
        QStringList{"generate", "--precision", "half", "--dtype", "bf16", "--out", grid} + common);
    QCOMPARE(both.code, 1);
    QVERIFY2(both.err.contains("--precision or --dtype"), qPrintable(both.err));
    const auto unknown =
        run_cli(QStringList{"generate", "--precision", "quarter", "--out", grid} + common);
    QCOMPARE(unknown.code, 1);
    QVERIFY2(unknown.err.contains("full or half"), qPrintable(unknown.err));
  }

  // The device and precision settings resolve as the window and the CLI describe them.
  void compute_settings_resolve() {
    const ComputeTarget full = resolve_compute_target("cpu", "full");
    QVERIFY(full.device.is_cpu() && full.dtype == at::kFloat);
    const ComputeTarget half = resolve_compute_target("cpu", "half");
    QVERIFY(half.device.is_cpu() && half.dtype == at::kBFloat16);
    const ComputeTarget automatic = resolve_compute_target("auto", "half");
    QCOMPARE(automatic.device.is_cuda(), cuda_available());
    QCOMPARE(automatic.dtype, cuda_available() ? at::kHalf : at::kBFloat16);
    QVERIFY_THROWS_EXCEPTION(Error, resolve_compute_target("tpu", "full"));
    QVERIFY_THROWS_EXCEPTION(Error, resolve_compute_target("cpu", "fp8"));
    if (!cuda_available()) {
      try {
        resolve_compute_target("cuda", "full");
        QFAIL("cuda without a GPU must be refused");
      } catch (const Error& e) {
        QVERIFY2(QString(e.what()).contains("no CUDA support or no GPU"), e.what());
      }
    }
#if defined(__linux__) && defined(__x86_64__)
    // cpuid against what the kernel reports.
    QFile cpuinfo("/proc/cpuinfo");
    QVERIFY(cpuinfo.open(QIODevice::ReadOnly | QIODevice::Text));
    const QString flags = QString::fromLatin1(cpuinfo.readAll());
    const bool listed =
        flags.contains(QLatin1String(" avx512_bf16")) || flags.contains(QLatin1String(" amx_bf16"));
    QCOMPARE(cpu_has_native_bf16(), listed);
#endif
  }

  // diffusers' latents= argument and two images per prompt.
  void init_latents_and_images_per_prompt() {
    const std::string name = "sd_pndm_cfg_25steps_givenlatents_nipp2";
    const Json meta = test::fixture_json("pipeline_runs/" + name + "/meta.json");
    const auto run =
        SafetensorsFile::open(test::fixture_path("pipeline_runs/" + name + "/run.safetensors"));
    const std::string dir = test::temp_dir("cli-sd-latents");
    const std::string latents = dir + "/in.safetensors";
    save_safetensors(latents, {{"latents", run.get("latents_given")}});
    const QString dump = QString::fromStdString(dir + "/out.safetensors");
    const auto r = run_cli({"generate", "--model", fixture("pipelines/sd_tiny"), "--prompt",
                            q(meta["call_kwargs"]["prompt"]), "--batch", "2", "--steps", "25",
                            "--init-latents", QString::fromStdString(latents), "--out",
                            QString::fromStdString(dir + "/grid.png"), "--dump", dump, "--threads",
                            "1", "--quiet"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto out = SafetensorsFile::open(dump.toStdString());
    PAPILLON_EXPECT_CLOSE(out.get("latents"), run.get("latents_final"), 1e-4, 1e-4, "latents");
    PAPILLON_EXPECT_CLOSE(out.get("images"), run.get("image").permute({0, 3, 1, 2}), 1e-3, 0.0,
                          "images");

    const auto bad = run_cli({"generate", "--model", fixture("pipelines/sd_tiny"), "--prompt", "x",
                              "--width", "60", "--out", QString::fromStdString(dir + "/b.png")});
    QCOMPARE(bad.code, 1);
    QVERIFY2(bad.err.contains("multiples of 8"), qPrintable(bad.err));
  }

  void tokenize_prints_the_pipeline_ids() {
    const Json meta = test::fixture_json("pipeline_runs/sd_pndm_cfg_neg_10steps_seed0/meta.json");
    const auto r = run_cli(
        {"tokenize", "--model", fixture("pipelines/sd_tiny"), q(meta["call_kwargs"]["prompt"][1])});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const Json j = Json::parse(r.out.toStdString());
    QVERIFY2(j["input_ids"] == meta["input_ids"][1], qPrintable(r.out));
  }
};

QTEST_APPLESS_MAIN(TestCliSD)
#include "tst_cli_sd.moc"
