// StableDiffusionPipeline against diffusers 0.27.2 runs (fixtures/pipeline_runs/sd_*): prompt
// embeddings, initial latents, RNG draws, every UNet call and step, final latents, decode, image.
// Tolerances from the fixtures README: latents / per-step tensors rtol 1e-4 + atol 1e-4 (the UNet
// outputs are single model forwards: atol 1e-4 + rtol 1e-4 too), decoded / image atol 1e-3,
// prompt embeddings (one text-encoder forward) atol 1e-4 + rtol 1e-4, RNG draws exact.
#include <torch/torch.h>

#include <QtTest>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/pipelines/model_folder.h"
#include "core/pipelines/pipeline.h"
#include "core/pipelines/pipeline_stable_diffusion.h"
#include "core/schedulers/scheduler.h"
#include "core/util/error.h"
#include "core/util/random.h"
#include "tests/common/fixtures.h"
#include "tests/common/pipeline_runs.h"

using namespace papillon;
namespace fs = std::filesystem;

namespace {

using test::from_config_overrides;
using test::load_run;
using test::Run;

std::vector<std::string> sd_runs() {
  return test::run_names("sd_");
}

StableDiffusionRequest request_of(const Run& run) {
  return test::sd_request_of(run);
}

std::string sd_dir() {
  return test::fixture_path("pipelines/sd_tiny");
}

// A writable copy of sd_tiny with symlinked weight files, to break one thing in.
std::string copy_of_sd_tiny(const std::string& tag) {
  const fs::path dst = test::temp_dir(tag);
  for (const auto& e : fs::recursive_directory_iterator(sd_dir())) {
    const fs::path rel = fs::relative(e.path(), sd_dir());
    if (e.is_directory()) {
      fs::create_directories(dst / rel);
    } else if (e.path().extension() == ".json" || e.path().extension() == ".txt") {
      fs::copy_file(e.path(), dst / rel, fs::copy_options::overwrite_existing);
    } else {
      fs::create_symlink(e.path(), dst / rel);
    }
  }
  return dst.string();
}

std::string load_error(const std::string& dir) {
  try {
    StableDiffusionPipeline::load(open_model_folder(dir));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

class TestPipelineStableDiffusion : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  void runs_match_diffusers_data() {
    QTest::addColumn<QString>("name");
    const auto names = sd_runs();
    QVERIFY(names.size() >= 7);
    for (const auto& n : names)
      QTest::newRow(n.c_str()) << QString::fromStdString(n);
  }
  void runs_match_diffusers() {
    QFETCH(QString, name);
    const Run run = load_run(name.toStdString());
    StableDiffusionPipeline pipeline = StableDiffusionPipeline::load(open_model_folder(sd_dir()));
    // The run's scheduler, converted from the folder's config with diffusers' from_config rule.
    const std::string cls = run.meta["scheduler_class"].get<std::string>();
    pipeline.set_scheduler(cls, from_config_overrides(run.meta["call"].get<std::string>()));
    const Json config = pipeline.scheduler().config();
    const Json& resolved = run.meta["scheduler_config_resolved"];
    for (auto it = resolved.begin(); it != resolved.end(); ++it) {
      if (it.key()[0] == '_' || !config.contains(it.key())) continue;
      QVERIFY2(config[it.key()] == it.value(),
               (it.key() + ": " + config[it.key()].dump() + " vs " + it.value().dump()).c_str());
    }

    StableDiffusionRequest request = request_of(run);
    std::map<int64_t, std::pair<at::Tensor, at::Tensor>> unet_calls;
    std::map<int, at::Tensor> step_latents;
    request.on_unet_call = [&](int64_t i, const at::Tensor& in, const at::Tensor& out) {
      unet_calls[i] = {in.clone(), out.clone()};
    };
    RunControl control;
    control.on_step = [&](const StepEvent& e) { step_latents[e.step] = e.sample.clone(); };
    const StableDiffusionOutput out = pipeline(request, control);

    // Timesteps of the UNet calls, exactly.
    const auto& expected_t = run.meta["unet_call_timesteps"];
    QCOMPARE(out.timesteps.size(), expected_t.size());
    for (size_t i = 0; i < expected_t.size(); ++i)
      QCOMPARE(out.timesteps[i], expected_t[i].get<double>());

    std::map<std::string, double> worst;
    auto check = [&](const at::Tensor& actual, const std::string& key, double atol, double rtol,
                     const std::string& group) {
      const auto c = test::compare(actual, run.tensors.get(key), atol, rtol);
      worst[group] = std::max(worst[group], c.max_abs_diff);
      QVERIFY2(c.ok, (run.name + " " + key + ": " + c.message).c_str());
    };
    check(out.prompt_embeds, "prompt_embeds", 1e-4, 1e-4, "embeds");
    if (run.meta["do_classifier_free_guidance"].get<bool>()) {
      check(out.negative_prompt_embeds, "negative_prompt_embeds", 1e-4, 1e-4, "embeds");
    } else {
      QVERIFY(!out.negative_prompt_embeds.defined());
    }
    check(out.latents_init, "latents_init", 1e-4, 1e-4, "latents");

    // RNG: replay the generator(s) in diffusers' order and compare every draw exactly.
    const auto& draws = run.meta["rng_draws_in_order"];
    Generators replay = request.seeds.empty() ? Generators::from_seed(request.seed)
                                              : Generators::from_seeds(request.seeds);
    int sched = 0;
    for (const auto& d : draws) {
      const auto shape = d["shape"].get<std::vector<int64_t>>();
      const at::Tensor draw = replay.randn(shape);
      char key[48];
      if (d["drawn_in"] == "pipeline") {
        std::snprintf(key, sizeof key, "rng_init_noise");
      } else {
        std::snprintf(key, sizeof key, "rng_sched_noise.%03d", sched++);
      }
      PAPILLON_EXPECT_CLOSE(draw, run.tensors.get(key), 0.0, 0.0, run.name + " " + key);
    }

    const auto calls = run.meta["unet_calls"].get<size_t>();
    QCOMPARE(unet_calls.size(), calls);
    QCOMPARE(step_latents.size(), calls);
    for (size_t i = 0; i < calls; ++i) {
      std::string prefix = std::to_string(i);  // step000.
      prefix = "step" + std::string(prefix.size() < 3 ? 3 - prefix.size() : 0, '0') + prefix + ".";
      check(unet_calls[static_cast<int64_t>(i)].first, prefix + "unet_in", 1e-4, 1e-4, "steps");
      check(unet_calls[static_cast<int64_t>(i)].second, prefix + "unet_out", 1e-4, 1e-4, "steps");
      check(step_latents[static_cast<int>(i)], prefix + "latents", 1e-4, 1e-4, "steps");
    }
    check(out.latents, "latents_final", 1e-4, 1e-4, "latents");
    check(out.decoded, "decoded_raw", 1e-3, 0.0, "image");
    check(out.images.permute({0, 2, 3, 1}), "image", 1e-3, 0.0, "image");
    qInfo("%s: max |diff| embeds %.2e, latents %.2e, steps %.2e, decoded/image %.2e",
          run.name.c_str(), worst["embeds"], worst["latents"], worst["steps"], worst["image"]);
  }

  // An image made in half precision says so in its parameters (the numbers themselves are checked
  // against the fixtures by tests/device/device_fixtures.cpp, on the CPU here and on a GPU there).
  void half_precision_images_say_so() {
    const ComputeTarget bf16{c10::Device(c10::kCPU), at::kBFloat16};
    auto image_pipeline = load_pipeline(sd_dir(), bf16);
    QCOMPARE(image_pipeline->info().dtype, std::string("bf16"));
    QCOMPARE(image_pipeline->info().device, std::string("cpu"));
    GenerationRequest request;
    request.prompts = {"a cat"};
    request.steps = 2;
    const GenerationResult result = image_pipeline->generate(request, {});
    QCOMPARE(result.parameters.at(0).extra.value("dtype", std::string()), std::string("bf16"));
    QVERIFY(!result.parameters.at(0).extra.contains("device"));
    auto fp32_pipeline = load_pipeline(sd_dir(), ComputeTarget{});
    QVERIFY(!fp32_pipeline->generate(request, {}).parameters.at(0).extra.contains("dtype"));
  }

  // The common interface (what the CLI and the window use) gives the same images.
  void image_pipeline_interface_matches_a_run() {
    const Run run = load_run("sd_pndm_cfg_neg_10steps_seed0");
    auto pipeline = load_pipeline(sd_dir(), ComputeTarget{});
    const PipelineInfo& info = pipeline->info();
    QCOMPARE(info.pipeline_class, std::string("StableDiffusionPipeline"));
    QVERIFY(info.takes_prompt && info.takes_negative_prompt && info.takes_guidance);
    QVERIFY(!info.fixed_size);
    QCOMPARE(info.default_steps, int64_t{50});
    QCOMPARE(info.default_guidance, 7.5);
    QCOMPARE(info.default_scheduler, std::string("PNDMScheduler"));
    QCOMPARE(info.schedulers.size(), size_t{8});
    const Json unet_config = test::fixture_json("pipelines/sd_tiny/unet/config.json");
    QCOMPARE(info.default_width, unet_config["sample_size"].get<int64_t>() * 8);

    const StableDiffusionRequest r = request_of(run);
    GenerationRequest request;
    request.prompts = r.prompts;
    request.negative_prompts = r.negative_prompts;
    request.guidance_scale = r.guidance_scale;
    request.steps = r.num_inference_steps;
    request.width = r.width;
    request.height = r.height;
    request.seed = r.seed;
    request.plain_prompt = true;
    std::vector<at::Tensor> previews;
    RunControl control;
    control.on_step = [&](const StepEvent& e) { previews.push_back(pipeline->preview(e)); };
    const GenerationResult result = pipeline->generate(request, control);
    PAPILLON_EXPECT_CLOSE(result.images.permute({0, 2, 3, 1}), run.tensors.get("image"), 1e-3, 0.0,
                          "image through ImagePipeline");
    PAPILLON_EXPECT_CLOSE(result.prompt_embeds, run.tensors.get("prompt_embeds"), 1e-4, 1e-4,
                          "prompt_embeds through ImagePipeline");
    QCOMPARE(result.parameters.size(), size_t{2});
    QCOMPARE(result.parameters[1].prompt, r.prompts[1]);
    QCOMPARE(result.parameters[1].negative_prompt, r.negative_prompts[1]);
    QCOMPARE(result.parameters[0].guidance_scale.value_or(0), 7.5);
    QCOMPARE(result.parameters[0].steps, int64_t{10});
    // Previews: RGB at image size in [0, 1], one per UNet call.
    QCOMPARE(previews.size(), run.meta["unet_calls"].get<size_t>());
    QVERIFY(previews.back().sizes() == result.images.sizes());
    QVERIFY(previews.back().min().item<double>() >= 0.0);
    QVERIFY(previews.back().max().item<double>() <= 1.0);
  }

  // The preview is a linear map of the latents: cheap next to a denoising step.
  void preview_is_cheap_and_linear() {
    StableDiffusionPipeline pipeline = StableDiffusionPipeline::load(open_model_folder(sd_dir()));
    const at::Tensor small = torch::randn({2, 4, 8, 8}) * 0.1;
    // Within the unclamped range, preview(a + b) - 0.5 = (preview(a) - 0.5) + (preview(b) - 0.5).
    const at::Tensor a = latent_preview(small, 1), b = latent_preview(small * 2, 1);
    PAPILLON_EXPECT_CLOSE(b - 0.5, (a - 0.5) * 2, 1e-6, 0.0, "preview linearity");
    QVERIFY(latent_preview(small, 8).sizes() == (at::IntArrayRef{2, 3, 64, 64}));

    // Time one step of a real run against the preview of its latents (best of several).
    StableDiffusionRequest request;
    request.prompts = {"a photo"};
    request.num_inference_steps = 4;
    request.plain_prompt = true;
    using Clock = std::chrono::steady_clock;
    double best_step = 1e9, best_preview = 1e9;
    Clock::time_point last = Clock::now();
    RunControl control;
    control.on_step = [&](const StepEvent& e) {
      const auto now = Clock::now();
      if (e.step > 0)
        best_step = std::min(best_step, std::chrono::duration<double>(now - last).count());
      for (int k = 0; k < 3; ++k) {
        const auto t0 = Clock::now();
        latent_preview(e.pred_x0.defined() ? e.pred_x0 : e.sample, 8);
        best_preview =
            std::min(best_preview, std::chrono::duration<double>(Clock::now() - t0).count());
      }
      last = Clock::now();
    };
    pipeline(request, control);
    QVERIFY2(best_preview < 0.03 * best_step, (std::to_string(best_preview) + " s preview vs " +
                                               std::to_string(best_step) + " s step")
                                                  .c_str());
  }

  void width_must_be_a_multiple_of_8() {
    StableDiffusionPipeline pipeline = StableDiffusionPipeline::load(open_model_folder(sd_dir()));
    StableDiffusionRequest request;
    request.prompts = {"a photo"};
    request.num_inference_steps = 2;
    request.width = 60;
    request.height = 64;
    try {
      pipeline(request, {});
      QFAIL("width 60 was accepted");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("multiples of 8") != std::string::npos, e.what());
      QVERIFY2(std::string(e.what()).find("60x64") != std::string::npos, e.what());
    }
    request.width = 64;
    request.seeds = {1, 2, 3};  // three generators for one image
    QVERIFY_THROWS_EXCEPTION(Error, pipeline(request, {}));
    request.seeds.clear();
    request.negative_prompts = {"a", "b"};  // two negatives for one prompt
    QVERIFY_THROWS_EXCEPTION(Error, pipeline(request, {}));
  }

  void cancel_stops_within_a_step() {
    StableDiffusionPipeline pipeline = StableDiffusionPipeline::load(open_model_folder(sd_dir()));
    StableDiffusionRequest request;
    request.prompts = {"a photo"};
    request.num_inference_steps = 20;
    int unet_calls = 0;
    request.on_unet_call = [&](int64_t, const at::Tensor&, const at::Tensor&) { ++unet_calls; };
    RunControl control;
    int steps_seen = 0;
    control.on_step = [&](const StepEvent& e) {
      ++steps_seen;
      if (e.step == 2) control.cancel.cancel();
    };
    QVERIFY_THROWS_EXCEPTION(Cancelled, pipeline(request, control));
    QCOMPARE(steps_seen, 3);
    QCOMPARE(unet_calls, 3);
    // Usable again afterwards.
    request.num_inference_steps = 2;
    QCOMPARE(pipeline(request, {}).images.size(0), int64_t{1});
  }

  void malformed_folders_are_clear_errors() {
    {  // missing tokenizer file
      const std::string dir = copy_of_sd_tiny("sd_no_merges");
      fs::remove(fs::path(dir) / "tokenizer" / "merges.txt");
      const std::string error = load_error(dir);
      QVERIFY2(error.find("merges.txt") != std::string::npos, error.c_str());
    }
    {  // a UNet whose cross-attention does not fit the text encoder: shapes mismatch
      const std::string dir = copy_of_sd_tiny("sd_bad_cross");
      const fs::path path = fs::path(dir) / "unet" / "config.json";
      Json config = read_json_file(path.string());
      config["cross_attention_dim"] = 48;
      std::ofstream(path) << config.dump(2);
      const std::string error = load_error(dir);
      QVERIFY2(error.find("attn2.to_k.weight") != std::string::npos ||
                   error.find("cross_attention_dim") != std::string::npos,
               error.c_str());
    }
    {  // the weights of the text encoder have the wrong width for its config
      const std::string dir = copy_of_sd_tiny("sd_bad_text");
      const fs::path path = fs::path(dir) / "text_encoder" / "config.json";
      Json config = read_json_file(path.string());
      config["hidden_size"] = 64;
      std::ofstream(path) << config.dump(2);
      const std::string error = load_error(dir);
      QVERIFY2(error.find("shape") != std::string::npos, error.c_str());
    }
    {  // wrong component class in model_index.json
      const std::string dir = copy_of_sd_tiny("sd_bad_class");
      const fs::path path = fs::path(dir) / "model_index.json";
      Json index = read_json_file(path.string());
      index["unet"] = Json::array({"diffusers", "UNet2DModel"});
      std::ofstream(path) << index.dump(2);
      const std::string error = load_error(dir);
      QVERIFY2(error.find("UNet2DConditionModel") != std::string::npos, error.c_str());
    }
    {  // wrong pipeline _class_name
      const std::string dir = copy_of_sd_tiny("sd_bad_pipeline");
      const fs::path path = fs::path(dir) / "model_index.json";
      Json index = read_json_file(path.string());
      index["_class_name"] = "StableDiffusionXLPipeline";
      std::ofstream(path) << index.dump(2);
      const std::string error = load_error(dir);
      QVERIFY2(error.find("StableDiffusionXLPipeline") != std::string::npos, error.c_str());
      QVERIFY_THROWS_EXCEPTION(Error, load_pipeline(dir, ComputeTarget{}));
    }
  }
};

QTEST_APPLESS_MAIN(TestPipelineStableDiffusion)
#include "tst_pipeline_stable_diffusion.moc"
