// DDPMPipeline / DDIMPipeline against diffusers runs from seeds (fixtures/pipeline_runs/ddpm_*,
// ddim_*).
#include <torch/torch.h>

#include <QtTest>

#include "core/pipelines/model_folder.h"
#include "core/pipelines/pipeline_ddpm.h"
#include "core/schedulers/scheduler.h"
#include "core/util/error.h"
#include "core/util/random.h"
#include "tests/common/fixtures.h"
#include "tests/common/pipeline_runs.h"

using namespace papillon;

namespace {

using test::load_run;
using test::Run;

DDPMPipeline load_pipeline(const Run& run) {
  return test::load_ddpm_pipeline(run);
}

}  // namespace

class TestPipelineDDPM : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  void initial_noise_matches_diffusers_draw() {
    const Run run = load_run("ddpm_50steps_seed1_bs1");
    Generators g = Generators::from_seed(1);
    const auto expected = run.tensors.get("rng_init_noise");
    PAPILLON_EXPECT_CLOSE(g.randn(expected.sizes()), expected, 0.0, 0.0, "rng_init_noise");
  }

  // Runs a fixture end to end and compares the per-step inputs, the final sample and the image.
  void runs_match_diffusers_data() {
    QTest::addColumn<QString>("name");
    QTest::newRow("ddpm_50steps_seed1_bs1") << "ddpm_50steps_seed1_bs1";
    QTest::newRow("ddim_eta0_noclip_50steps_seed2_bs2") << "ddim_eta0_noclip_50steps_seed2_bs2";
    QTest::newRow("ddpm_1000steps_seed0_bs2") << "ddpm_1000steps_seed0_bs2";
  }
  void runs_match_diffusers() {
    QFETCH(QString, name);
    const Run run = load_run(name.toStdString());
    DDPMPipeline pipeline = load_pipeline(run);
    const UnconditionalRequest request = test::ddpm_request_of(run);

    std::map<int, at::Tensor> inputs;  // the sample entering step i
    RunControl control;
    control.on_step = [&](const StepEvent& e) {
      if (e.step + 1 < e.num_steps) inputs[e.step + 1] = e.sample.clone();
    };
    const auto out = pipeline(request, control);

    // Timesteps exactly.
    const auto& expected_t = run.meta["timesteps"];
    QCOMPARE(out.timesteps.size(), expected_t.size());
    for (size_t i = 0; i < expected_t.size(); ++i)
      QCOMPARE(out.timesteps[i], expected_t[i].get<double>());

    const auto final_expected = run.tensors.get("final_sample");
    const double scale = std::max(1.0, final_expected.abs().max().item<double>());
    // README: DDPM/DDIM final_sample atol 1e-4 * max(1, max|x|); per-step tensors likewise.
    for (const auto& step : run.meta["recorded_steps"]) {
      const int i = step.get<int>();
      if (i == 0) continue;
      char key[64];
      std::snprintf(key, sizeof key, "step%04d.sample_in", i);
      if (!run.tensors.contains(key)) continue;
      PAPILLON_EXPECT_CLOSE(inputs.at(i), run.tensors.get(key), 1e-4 * scale, 0.0, key);
    }
    PAPILLON_EXPECT_CLOSE(out.final_sample, final_expected, 1e-4 * scale, 0.0, "final_sample");
    // image (NHWC in the fixture), atol 1e-3. Not for the unclipped DDIM run: its image saturates
    // (|x| ~ 500), so the README compares final_sample there.
    if (!name.startsWith("ddim")) {
      PAPILLON_EXPECT_CLOSE(out.images.permute({0, 2, 3, 1}), run.tensors.get("image"), 1e-3, 0.0,
                            "image");
    }
  }

  // A list of generators: each image equals the same seed run alone (diffusers' generator list).
  void per_image_generators_reproduce_single_images() {
    const Run run = load_run("ddpm_50steps_seed1_bs1");
    DDPMPipeline pipeline = load_pipeline(run);
    UnconditionalRequest request;
    request.num_inference_steps = 10;
    request.seeds = {5, 1};
    request.batch_size = 2;
    const auto pair = pipeline(request, {});
    UnconditionalRequest alone;
    alone.num_inference_steps = 10;
    alone.seed = 1;
    const auto single = pipeline(alone, {});
    // Batch 2 vs batch 1 changes only float rounding: the README's pipeline tolerance.
    PAPILLON_EXPECT_CLOSE(pair.final_sample[1], single.final_sample[0], 1e-4, 1e-4,
                          "image 1 of seeds {5,1} vs seed 1 alone");
    QVERIFY(!torch::allclose(pair.final_sample[0], pair.final_sample[1]));
  }

  void cancel_stops_within_a_step() {
    const Run run = load_run("ddpm_50steps_seed1_bs1");
    DDPMPipeline pipeline = load_pipeline(run);
    UnconditionalRequest request;
    request.num_inference_steps = 50;
    RunControl control;
    int steps_seen = 0;
    control.on_step = [&](const StepEvent& e) {
      ++steps_seen;
      if (e.step == 2) control.cancel.cancel();
    };
    QVERIFY_THROWS_EXCEPTION(Cancelled, pipeline(request, control));
    QCOMPARE(steps_seen, 3);
    // The pipeline stays usable after a cancel.
    request.num_inference_steps = 2;
    QCOMPARE(pipeline(request, {}).images.size(0), 1);
  }

  void bad_requests_are_clear_errors() {
    const Run run = load_run("ddpm_50steps_seed1_bs1");
    DDPMPipeline pipeline = load_pipeline(run);
    UnconditionalRequest request;
    request.batch_size = 0;
    QVERIFY_THROWS_EXCEPTION(Error, pipeline(request, {}));
    request.batch_size = 2;
    request.seeds = {1, 2, 3};
    QVERIFY_THROWS_EXCEPTION(Error, pipeline(request, {}));
    request.seeds.clear();
    request.class_labels = {1, 2};
    QVERIFY_THROWS_EXCEPTION(Error, pipeline(request, {}));  // unconditional model
  }

  void wrong_folders_are_clear_errors() {
    QVERIFY_THROWS_EXCEPTION(Error, open_model_folder("/nonexistent/folder"));
    QVERIFY_THROWS_EXCEPTION(Error,
                             open_model_folder(test::fixture_path("pipelines/ddpm_tiny/unet")));
    const auto sd = open_model_folder(test::fixture_path("pipelines/sd_tiny"));
    QVERIFY_THROWS_EXCEPTION(Error, DDPMPipeline::load(sd, {}));
    try {
      DDPMPipeline::load(sd, {});
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("StableDiffusionPipeline") != std::string::npos,
               e.what());
    }
  }
};

QTEST_APPLESS_MAIN(TestPipelineDDPM)
#include "tst_pipeline_ddpm.moc"
