// PixArtAlphaPipeline against diffusers 0.27.2 runs (fixtures/t5_pixart/pipeline_runs): T5 prompt
// embeddings and masks, initial latents, the RNG draws, every transformer call (input, timestep,
// raw 8-channel output), the guided and learned-sigma-split noise, every step's latents, the final
// latents, decode and image. Tolerances from the fixtures README: per-step tensors and latents
// rtol 1e-4 + atol 1e-4 (DPM-Solver++ latents reach |x| ~ 600: relative), T5 embeddings atol
// 1e-4, decoded / image atol 1e-3, ids, masks, timesteps and RNG draws exact. Also resolution
// binning (the bins of diffusers' tables, the nearest-ratio rule, the resize back), the common
// ImagePipeline interface, the T5 encoder freed and reloaded, and bad folders.
#include <torch/torch.h>

#include <QtTest>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/io/safetensors.h"
#include "core/pipelines/model_folder.h"
#include "core/pipelines/pipeline.h"
#include "core/pipelines/pipeline_pixart_alpha.h"
#include "core/schedulers/scheduler.h"
#include "core/util/error.h"
#include "core/util/random.h"
#include "tests/common/fixtures.h"
#include "tests/common/pipeline_runs.h"

using namespace papillon;
namespace fs = std::filesystem;

namespace {

struct PixArtRun {
  std::string name;
  Json meta;
  SafetensorsFile tensors;
};

const char* const kRuns = "t5_pixart/pipeline_runs";

std::vector<std::string> run_names() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(test::fixture_path(kRuns)))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

PixArtRun load_run(const std::string& name) {
  const std::string dir = std::string(kRuns) + "/" + name;
  return {name, test::fixture_json(dir + "/meta.json"),
          SafetensorsFile::open(test::fixture_path(dir + "/run.safetensors"))};
}

std::string pixart_dir() {
  return test::fixture_path("t5_pixart/pipelines/pixart_tiny");
}

// The request a run made: diffusers' call_kwargs.
PixArtAlphaRequest request_of(const PixArtRun& run) {
  const Json& kw = run.meta["call_kwargs"];
  PixArtAlphaRequest r;
  r.prompts = {kw["prompt"].get<std::string>()};
  if (kw.contains("negative_prompt")) r.negative_prompts = {kw["negative_prompt"]};
  r.guidance_scale = kw["guidance_scale"].get<double>();
  r.num_inference_steps = kw["num_inference_steps"].get<int64_t>();
  if (kw.contains("height")) r.height = kw["height"].get<int64_t>();
  if (kw.contains("width")) r.width = kw["width"].get<int64_t>();
  r.use_resolution_binning = kw["use_resolution_binning"].get<bool>();
  r.max_sequence_length = kw["max_sequence_length"].get<int64_t>();
  const std::string call = run.meta["call"].get<std::string>();
  r.seed = std::stoull(call.substr(call.find("manual_seed(") + 12));
  return r;
}

std::string step_key(size_t i, const std::string& what) {
  char key[64];
  std::snprintf(key, sizeof key, "step%03zu.%s", i, what.c_str());
  return key;
}

// A writable copy of pixart_tiny (weights symlinked), to change a config or break a file.
std::string copy_of_pixart_tiny(const std::string& tag) {
  const fs::path dst = test::temp_dir(tag);
  for (const auto& e : fs::recursive_directory_iterator(pixart_dir())) {
    const fs::path rel = fs::relative(e.path(), pixart_dir());
    if (e.is_directory()) {
      fs::create_directories(dst / rel);
    } else if (e.path().extension() == ".json") {
      fs::copy_file(e.path(), dst / rel, fs::copy_options::overwrite_existing);
    } else {
      fs::create_symlink(e.path(), dst / rel);
    }
  }
  return dst.string();
}

void edit_json(const std::string& path, const std::function<void(Json&)>& edit) {
  Json j = read_json_file(path);
  edit(j);
  std::ofstream(path) << j.dump(1);
}

std::string load_error(const std::string& dir) {
  try {
    PixArtAlphaPipeline::load(open_model_folder(dir));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

class TestPipelinePixArtAlpha : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  void runs_match_diffusers_data() {
    QTest::addColumn<QString>("name");
    const auto names = run_names();
    QVERIFY(names.size() >= 3);
    for (const auto& n : names)
      QTest::newRow(n.c_str()) << QString::fromStdString(n);
  }
  void runs_match_diffusers() {
    QFETCH(QString, name);
    const PixArtRun run = load_run(name.toStdString());
    PixArtAlphaPipeline pipeline = PixArtAlphaPipeline::load(open_model_folder(pixart_dir()));
    const std::string cls = run.meta["scheduler_class"].get<std::string>();
    pipeline.set_scheduler(cls, test::from_config_overrides(run.meta["call"].get<std::string>()));
    const Json config = pipeline.scheduler().config();
    const Json& resolved = run.meta["scheduler_config_resolved"];
    for (auto it = resolved.begin(); it != resolved.end(); ++it) {
      if (it.key()[0] == '_' || !config.contains(it.key())) continue;
      QVERIFY2(config[it.key()] == it.value(),
               (it.key() + ": " + config[it.key()].dump() + " vs " + it.value().dump()).c_str());
    }

    PixArtAlphaRequest request = request_of(run);
    std::vector<DenoisingStepRecord> records;
    request.on_step_record = [&](const DenoisingStepRecord& r) {
      DenoisingStepRecord copy = r;
      copy.model_input = r.model_input.clone();
      copy.model_output = r.model_output.clone();
      copy.noise_pred = r.noise_pred.clone();
      copy.latents = r.latents.clone();
      records.push_back(copy);
    };
    std::map<int, at::Tensor> step_latents;
    RunControl control;
    control.on_step = [&](const StepEvent& e) { step_latents[e.step] = e.sample.clone(); };
    const PixArtAlphaOutput out = pipeline(request, control);

    const auto& expected_t = run.meta["timesteps"];
    QCOMPARE(out.timesteps.size(), expected_t.size());
    for (size_t i = 0; i < expected_t.size(); ++i)
      QCOMPARE(out.timesteps[i], expected_t[i].get<double>());
    QCOMPARE(out.generated_height, run.meta["generated_hw"][0].get<int64_t>());
    QCOMPARE(out.generated_width, run.meta["generated_hw"][1].get<int64_t>());

    std::map<std::string, double> worst;
    auto check = [&](const at::Tensor& actual, const std::string& key, double atol, double rtol,
                     const std::string& group) {
      const auto c = test::compare(actual, run.tensors.get(key), atol, rtol);
      worst[group] = std::max(worst[group], c.max_abs_diff);
      QVERIFY2(c.ok, (run.name + " " + key + ": " + c.message).c_str());
    };
    check(out.prompt_embeds, "prompt_embeds", 1e-4, 0.0, "embeds");
    check(out.prompt_attention_mask.to(torch::kFloat), "prompt_attention_mask", 0.0, 0.0, "embeds");
    const bool guidance = run.meta["do_classifier_free_guidance"].get<bool>();
    if (guidance) {
      check(out.negative_prompt_embeds, "negative_prompt_embeds", 1e-4, 0.0, "embeds");
      check(out.negative_prompt_attention_mask.to(torch::kFloat), "negative_prompt_attention_mask",
            0.0, 0.0, "embeds");
    } else {
      QVERIFY(!out.negative_prompt_embeds.defined());
      QVERIFY(!run.tensors.contains("negative_prompt_embeds"));
    }
    check(out.latents_init, "latents_init", 1e-4, 1e-4, "latents");

    // RNG: replay the generator in diffusers' order and compare every draw exactly.
    Generators replay = Generators::from_seed(request.seed);
    int sched = 0;
    for (const auto& d : run.meta["rng_draws_in_order"]) {
      const at::Tensor draw = replay.randn(d["shape"].get<std::vector<int64_t>>());
      char key[48];
      if (d["by"] == "pipeline") {
        std::snprintf(key, sizeof key, "rng_init_noise");
      } else {
        std::snprintf(key, sizeof key, "rng_sched_noise.%d", sched++);
      }
      PAPILLON_EXPECT_CLOSE(draw, run.tensors.get(key), 0.0, 0.0, run.name + " " + key);
    }

    const auto calls = run.meta["transformer_calls"].get<size_t>();
    QCOMPARE(records.size(), calls);
    QCOMPARE(step_latents.size(), calls);
    for (size_t i = 0; i < calls; ++i) {
      const DenoisingStepRecord& r = records[i];
      QCOMPARE(r.timestep, run.tensors.get(step_key(i, "timestep")).flatten()[0].item<double>());
      check(r.model_input, step_key(i, "transformer_in"), 1e-4, 1e-4, "steps");
      check(r.model_output, step_key(i, "transformer_out"), 1e-4, 1e-4, "steps");
      check(r.noise_pred, step_key(i, "noise_pred"), 1e-4, 1e-4, "steps");
      check(step_latents[static_cast<int>(i)], step_key(i, "latents"), 1e-4, 1e-4, "steps");
    }
    check(out.latents, "latents_final", 1e-4, 1e-4, "latents");
    check(out.decoded, "decoded_raw", 1e-3, 0.0, "image");
    check(out.images.permute({0, 2, 3, 1}), "image", 1e-3, 0.0, "image");
    qInfo("%s: max |diff| embeds %.2e, latents %.2e, steps %.2e, decoded/image %.2e",
          run.name.c_str(), worst["embeds"], worst["latents"], worst["steps"], worst["image"]);
  }

  // The common interface (what the CLI and the window use) gives the same image as the run.
  void image_pipeline_interface_matches_a_run() {
    const PixArtRun run = load_run("pixart_dpmpp2m_neg_64x96_6steps_seed2");
    auto pipeline = load_pipeline(pixart_dir(), ComputeTarget{});
    const PipelineInfo& info = pipeline->info();
    QCOMPARE(info.pipeline_class, std::string("PixArtAlphaPipeline"));
    QVERIFY(info.takes_prompt && info.takes_negative_prompt && info.takes_guidance);
    QVERIFY(!info.fixed_size);
    // diffusers' __call__ defaults and the folder's scheduler.
    QCOMPARE(info.default_steps, int64_t{20});
    QCOMPARE(info.default_guidance, 4.5);
    QCOMPARE(info.default_scheduler, std::string("DPMSolverMultistepScheduler"));
    const Json transformer_config =
        test::fixture_json("t5_pixart/pipelines/pixart_tiny/transformer/config.json");
    QCOMPARE(info.default_width, transformer_config["sample_size"].get<int64_t>() * 8);
    QCOMPARE(info.size_multiple, 8 * transformer_config["patch_size"].get<int64_t>());

    const PixArtAlphaRequest r = request_of(run);
    GenerationRequest request;
    request.prompts = r.prompts;
    request.negative_prompts = r.negative_prompts;
    request.guidance_scale = r.guidance_scale;
    request.steps = r.num_inference_steps;
    request.width = r.width;
    request.height = r.height;
    request.seed = r.seed;
    const GenerationResult result = pipeline->generate(request, {});
    PAPILLON_EXPECT_CLOSE(result.images.permute({0, 2, 3, 1}), run.tensors.get("image"), 1e-3, 0.0,
                          "image");
    QCOMPARE(result.parameters.size(), size_t{1});
    const GenerationParameters& p = result.parameters[0];
    QCOMPARE(p.prompt, r.prompts[0]);
    QCOMPARE(p.negative_prompt, r.negative_prompts[0]);
    QCOMPARE(p.width, r.width);
    QCOMPARE(p.height, r.height);
    QCOMPARE(p.seed, r.seed);
    QCOMPARE(p.scheduler, std::string("DPMSolverMultistepScheduler"));
    QVERIFY(!p.extra.contains("generated_size"));

    // Previews of a step: the latent projection at the image's size, and the exact decode.
    StepEvent event;
    event.sample = result.final_sample;
    const at::Tensor preview = pipeline->preview(event);
    QCOMPARE(preview.size(2), r.height);
    QCOMPARE(preview.size(3), r.width);
    PAPILLON_EXPECT_CLOSE(pipeline->full_preview(event).permute({0, 2, 3, 1}),
                          run.tensors.get("image"), 1e-3, 0.0, "full preview");
  }

  // Several images per prompt, with seeds: each image equals the single-image run of its seed.
  void images_per_prompt_equal_single_runs() {
    PixArtAlphaPipeline pipeline = PixArtAlphaPipeline::load(open_model_folder(pixart_dir()));
    PixArtAlphaRequest r;
    r.prompts = {"a red fox in the snow"};
    r.negative_prompts = {"blurry"};
    r.num_images_per_prompt = 2;
    r.num_inference_steps = 3;
    r.seeds = {11, 12};
    const PixArtAlphaOutput both = pipeline(r);
    QCOMPARE(both.images.size(0), int64_t{2});
    for (int64_t i = 0; i < 2; ++i) {
      PixArtAlphaRequest one = r;
      one.num_images_per_prompt = 1;
      one.seeds = {r.seeds[static_cast<size_t>(i)]};
      const PixArtAlphaOutput single = pipeline(one);
      PAPILLON_EXPECT_CLOSE(both.images[i], single.images[0], 1e-4, 0.0,
                            "image " + std::to_string(i));
    }
  }

  // diffusers' tables: 512 and 256 are the 1024 table halved and quartered; every key is a ratio
  // near its bin's height / width; other sample sizes have none.
  void aspect_ratio_bins_are_diffusers_tables() {
    const auto b1024 = pixart_aspect_ratio_bins(128);
    const auto b512 = pixart_aspect_ratio_bins(64);
    const auto b256 = pixart_aspect_ratio_bins(32);
    QCOMPARE(b1024.size(), size_t{33});
    QCOMPARE(b512.size(), b1024.size());
    QCOMPARE(b256.size(), b1024.size());
    for (size_t i = 0; i < b1024.size(); ++i) {
      QCOMPARE(b512[i].height * 2, b1024[i].height);
      QCOMPARE(b256[i].width * 4, b1024[i].width);
      QCOMPARE(b512[i].ratio, b1024[i].ratio);
      const double hw = static_cast<double>(b1024[i].height) / static_cast<double>(b1024[i].width);
      QVERIFY2(std::abs(hw - b1024[i].ratio) < 0.03, std::to_string(b1024[i].ratio).c_str());
      QCOMPARE(b1024[i].height % 64, int64_t{0});
      if (i > 0) QVERIFY(b1024[i].ratio > b1024[i - 1].ratio);
    }
    QVERIFY(pixart_aspect_ratio_bins(8).empty());
    QVERIFY(pixart_aspect_ratio_bins(256).empty());
  }

  // classify_height_width_bin: the bin of the nearest ratio key, the first one on a tie.
  void bins_are_chosen_by_the_nearest_ratio() {
    const auto bins = pixart_aspect_ratio_bins(128);
    for (int64_t h = 64; h <= 2048; h += 88) {
      for (int64_t w = 64; w <= 2048; w += 104) {
        const auto [bh, bw] = classify_height_width_bin(h, w, bins);
        const double ar = static_cast<double>(h) / static_cast<double>(w);
        size_t chosen = bins.size();
        for (size_t i = 0; i < bins.size(); ++i)
          if (bins[i].height == bh && bins[i].width == bw) chosen = i;
        QVERIFY(chosen < bins.size());
        for (size_t i = 0; i < bins.size(); ++i) {
          const double d = std::abs(bins[i].ratio - ar), best = std::abs(bins[chosen].ratio - ar);
          QVERIFY(i < chosen ? d > best : d >= best);
        }
      }
    }
  }

  // resize_and_crop_tensor: scale by the larger ratio (bilinear, align_corners false), then a
  // centre crop; the same as LibTorch's resize of the whole image cut in the middle.
  void resize_and_crop_scales_then_crops_the_centre() {
    const at::Tensor images = torch::linspace(0, 40, 2 * 3 * 24 * 40).reshape({2, 3, 24, 40}).sin();
    QVERIFY(resize_and_crop(images, 24, 40).equal(images));
    const at::Tensor out = resize_and_crop(images, 30, 30);
    QCOMPARE(out.sizes(), at::IntArrayRef({2, 3, 30, 30}));
    // ratio max(30/24, 30/40) = 1.25 -> 30 x 50, cropped 10 columns from the left.
    const at::Tensor full = at::upsample_bilinear2d(images, {30, 50}, false);
    QVERIFY(out.equal(full.narrow(3, 10, 30)));
    const at::Tensor down = resize_and_crop(images, 12, 16);
    QCOMPARE(down.sizes(), at::IntArrayRef({2, 3, 12, 16}));
  }

  // With binning (a sample size that has bins), the transformer runs at the bin's size and the
  // image comes back at the asked size; without, at the asked size.
  void resolution_binning_generates_at_the_bin() {
    const std::string dir = copy_of_pixart_tiny("pixart_bins");
    edit_json(dir + "/transformer/config.json", [](Json& j) { j["sample_size"] = 32; });
    auto pipeline = load_pipeline(dir, ComputeTarget{});
    GenerationRequest request;
    request.prompts = {"a lighthouse"};
    request.steps = 1;
    request.guidance_scale = 1.0;
    request.width = 96;
    request.height = 64;
    const GenerationResult binned = pipeline->generate(request, {});
    QCOMPARE(binned.images.size(2), int64_t{64});
    QCOMPARE(binned.images.size(3), int64_t{96});
    const auto [bh, bw] = classify_height_width_bin(64, 96, pixart_aspect_ratio_bins(32));
    QCOMPARE(binned.final_sample.size(2), bh / 8);
    QCOMPARE(binned.final_sample.size(3), bw / 8);
    const Json& generated = binned.parameters.at(0).extra.at("generated_size");
    QCOMPARE(generated[0].get<int64_t>(), bw);
    QCOMPARE(generated[1].get<int64_t>(), bh);

    request.resolution_binning = false;
    const GenerationResult plain = pipeline->generate(request, {});
    QCOMPARE(plain.final_sample.size(2), int64_t{8});
    QCOMPARE(plain.final_sample.size(3), int64_t{12});
    QCOMPARE(plain.parameters.at(0).extra.value("resolution_binning", true), false);

    // Binning asked of a sample size without bins is an error that says why.
    auto tiny = PixArtAlphaPipeline::load(open_model_folder(pixart_dir()));
    PixArtAlphaRequest r;
    r.prompts = {"x"};
    r.use_resolution_binning = true;
    try {
      tiny(r);
      QFAIL("binning without bins was accepted");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("sample_size of 32, 64 or 128") != std::string::npos,
               e.what());
    }
  }

  // The T5 encoder freed after encoding is reloaded for the next prompt and gives the same
  // numbers; the same prompt again reuses the encoded prompt.
  void text_encoder_freed_and_reloaded() {
    PixArtAlphaLoadOptions options;
    options.text_encoder = TextEncoderResidency::kFree;
    PixArtAlphaPipeline freeing =
        PixArtAlphaPipeline::load(open_model_folder(pixart_dir()), options);
    QVERIFY(!freeing.text_encoder_loaded());
    options.text_encoder = TextEncoderResidency::kKeep;
    PixArtAlphaPipeline keeping =
        PixArtAlphaPipeline::load(open_model_folder(pixart_dir()), options);
    QVERIFY(keeping.text_encoder_loaded());
    for (const char* prompt : {"a cat", "a dog", "a dog"}) {
      PixArtAlphaRequest r;
      r.prompts = {prompt};
      r.num_inference_steps = 2;
      r.seed = 5;
      const PixArtAlphaOutput a = freeing(r);
      QVERIFY(!freeing.text_encoder_loaded());
      const PixArtAlphaOutput b = keeping(r);
      QVERIFY(keeping.text_encoder_loaded());
      QVERIFY(a.prompt_embeds.equal(b.prompt_embeds));
      QVERIFY(a.images.equal(b.images));
    }
  }

  void bad_inputs_are_clear_errors() {
    auto pipeline = PixArtAlphaPipeline::load(open_model_folder(pixart_dir()));
    auto error_of = [&](const std::function<void(PixArtAlphaRequest&)>& edit) -> std::string {
      PixArtAlphaRequest r;
      r.prompts = {"a cat"};
      r.num_inference_steps = 1;
      edit(r);
      try {
        pipeline(r);
      } catch (const Error& e) {
        return e.what();
      }
      return "";
    };
    QVERIFY(error_of([](auto& r) { r.width = 60; }).find("multiples of 8") != std::string::npos);
    QVERIFY(error_of([](auto& r) { r.width = 72; }).find("multiples of 16") != std::string::npos);
    QVERIFY(error_of([](auto& r) { r.prompts.clear(); }).find("no prompt") != std::string::npos);
    QVERIFY(error_of([](auto& r) { r.seeds = {1, 2}; }).find("seeds") != std::string::npos);
    QVERIFY(error_of([](auto& r) {
              r.negative_prompts = {"a", "b"};
            }).find("negative prompts") != std::string::npos);
    QVERIFY(error_of([](auto& r) { r.width = r.height = 16384; }).find("memory") !=
            std::string::npos);
    QVERIFY(error_of([](auto& r) {
              r.latents = torch::zeros({1, 4, 3, 3});
            }).find("shape") != std::string::npos);
    QVERIFY(error_of([](auto& r) { r.max_sequence_length = 0; }).find("max_sequence_length") !=
            std::string::npos);
    // A cancel before the first step stops the run.
    PixArtAlphaRequest r;
    r.prompts = {"a cat"};
    RunControl control;
    control.cancel.cancel();
    QVERIFY_THROWS_EXCEPTION(Cancelled, pipeline(r, control));
  }

  void bad_folders_are_clear_errors() {
    {
      const std::string dir = copy_of_pixart_tiny("pixart_caption");
      edit_json(dir + "/transformer/config.json", [](Json& j) { j["caption_channels"] = 48; });
      // The strict loader finds the weights that do not fit the config first, and names them.
      const std::string e = load_error(dir);
      QVERIFY2(e.find("caption_projection.linear_1.weight") != std::string::npos &&
                   e.find("transformer/diffusion_pytorch_model.safetensors") != std::string::npos,
               e.c_str());
    }
    {
      const std::string dir = copy_of_pixart_tiny("pixart_class");
      edit_json(dir + "/model_index.json", [](Json& j) {
        j["text_encoder"] = Json::array({"transformers", "CLIPTextModel"});
      });
      const std::string e = load_error(dir);
      QVERIFY2(e.find("text_encoder is a CLIPTextModel") != std::string::npos, e.c_str());
    }
    {
      const std::string dir = copy_of_pixart_tiny("pixart_nospiece");
      fs::remove(dir + "/tokenizer/spiece.model");
      const std::string e = load_error(dir);
      QVERIFY2(e.find("spiece.model") != std::string::npos, e.c_str());
    }
  }
};

QTEST_GUILESS_MAIN(TestPipelinePixArtAlpha)
#include "tst_pipeline_pixart_alpha.moc"
