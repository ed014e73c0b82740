// The one rule for defaults (core/pipelines/generation_defaults.h) as a table: every parameter x
// given / not given x the model's default scheduler / another scheduler, then the rule through the
// bundled model's real folder and its generated images.
#include <torch/torch.h>

#include <QtTest>

#include "core/pipelines/generation_defaults.h"
#include "core/pipelines/pipeline.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using namespace papillon;

namespace {

// A class-conditional DDIM model as `papillon train` writes it: papillon.json names DDIM, 25
// steps, eta 1, guidance 3. The folder's scheduler is DDPM (DDPMPipeline: 1000 DDPM steps).
PipelineInfo trained_model_info() {
  PipelineInfo info;
  info.schedulers = {"DDPMScheduler", "DDIMScheduler"};
  info.pipeline_defaults.scheduler = "DDPMScheduler";
  info.pipeline_defaults.steps = 50;
  info.pipeline_defaults.steps_for_scheduler = {{"DDPMScheduler", 1000}};
  info.pipeline_defaults.guidance_scale = 3.0;
  info.pipeline_defaults.width = 28;
  info.pipeline_defaults.height = 28;
  info.model_defaults = read_model_defaults(
      Json::parse(R"({"default_scheduler": "ddim", "default_steps": 25, "default_eta": 1.0,
                      "default_guidance": 4.5})"),
      "papillon.json");
  fill_default_summary(info);
  return info;
}

// A Stable Diffusion folder with no papillon.json: diffusers' own defaults only.
PipelineInfo plain_sd_info() {
  PipelineInfo info;
  info.pipeline_defaults.scheduler = "PNDMScheduler";
  info.pipeline_defaults.steps = 50;
  info.pipeline_defaults.guidance_scale = 7.5;
  info.pipeline_defaults.width = 64;
  info.pipeline_defaults.height = 64;
  fill_default_summary(info);
  return info;
}

std::string error_of(const GenerationRequest& r, const PipelineInfo& info) {
  try {
    resolve_parameters(r, info);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string model_defaults_error(const char* json) {
  try {
    read_model_defaults(Json::parse(json), "papillon.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

class TestGenerationDefaults : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void scheduler_given_model_then_folder() {
    const PipelineInfo model = trained_model_info();
    GenerationRequest r;
    auto p = resolve_parameters(r, model);
    QCOMPARE(p.scheduler.value, std::string("DDIMScheduler"));
    QVERIFY(p.scheduler.source == DefaultSource::kModel);
    r.scheduler = "ddpm";  // short names resolve to the class
    p = resolve_parameters(r, model);
    QCOMPARE(p.scheduler.value, std::string("DDPMScheduler"));
    QVERIFY(p.scheduler.source == DefaultSource::kRequest);
    const PipelineInfo sd = plain_sd_info();
    p = resolve_parameters(GenerationRequest{}, sd);
    QCOMPARE(p.scheduler.value, std::string("PNDMScheduler"));
    QVERIFY(p.scheduler.source == DefaultSource::kSchedulerConfig);
    r.scheduler = "no-such-sampler";
    QVERIFY(error_of(r, model).find("no-such-sampler") != std::string::npos);
  }

  // The model's steps apply to whichever scheduler runs; without one, diffusers' pipeline default
  // for that scheduler (DDPMPipeline: 1000 DDPM steps, 50 for the others).
  void steps_for_every_scheduler() {
    const PipelineInfo model = trained_model_info();
    for (const char* scheduler : {"DDIMScheduler", "DDPMScheduler"}) {
      GenerationRequest r;
      r.scheduler = scheduler;
      auto p = resolve_parameters(r, model);
      QCOMPARE(p.steps.value, int64_t(25));
      QVERIFY(p.steps.source == DefaultSource::kModel);
      r.steps = 7;
      p = resolve_parameters(r, model);
      QCOMPARE(p.steps.value, int64_t(7));
      QVERIFY(p.steps.source == DefaultSource::kRequest);
    }
    PipelineInfo no_model = trained_model_info();
    no_model.model_defaults = {};
    GenerationRequest r;
    QCOMPARE(resolve_parameters(r, no_model).steps.value, int64_t(1000));  // folder's DDPM
    r.scheduler = "ddim";
    const auto p = resolve_parameters(r, no_model);
    QCOMPARE(p.steps.value, int64_t(50));
    QVERIFY(p.steps.source == DefaultSource::kPipeline);
    r.steps = 0;
    QVERIFY(error_of(r, no_model).find("steps must be between 1") != std::string::npos);
  }

  // eta exists only for a scheduler that takes it (DDIM), named or by default; 0 is a value.
  void eta_for_the_schedulers_that_take_it() {
    const PipelineInfo model = trained_model_info();
    GenerationRequest r;
    auto p = resolve_parameters(r, model);  // the model's DDIM
    QVERIFY(p.eta.has_value());
    QCOMPARE(p.eta->value, 1.0);
    QVERIFY(p.eta->source == DefaultSource::kModel);
    r.scheduler = "DDIMScheduler";  // named explicitly, as the window does: still the model's
    p = resolve_parameters(r, model);
    QCOMPARE(p.eta->value, 1.0);
    QVERIFY(p.eta->source == DefaultSource::kModel);
    r.eta = 0.0;  // given: used as is, 0 included
    p = resolve_parameters(r, model);
    QCOMPARE(p.eta->value, 0.0);
    QVERIFY(p.eta->source == DefaultSource::kRequest);
    for (const char* other : {"ddpm", "euler-a", "euler", "dpm++2m"}) {
      r.scheduler = other;
      QVERIFY2(!resolve_parameters(r, model).eta.has_value(), other);
    }
    // Without a model default: diffusers' eta=0.0.
    PipelineInfo sd = plain_sd_info();
    GenerationRequest ddim;
    ddim.scheduler = "ddim";
    p = resolve_parameters(ddim, sd);
    QCOMPARE(p.eta->value, 0.0);
    QVERIFY(p.eta->source == DefaultSource::kPipeline);
    QVERIFY(!resolve_parameters(GenerationRequest{}, sd).eta.has_value());  // PNDM
    ddim.eta = std::numeric_limits<double>::quiet_NaN();
    QVERIFY(error_of(ddim, sd).find("eta") != std::string::npos);
  }

  void guidance_model_then_pipeline_and_none_for_unguided_models() {
    const PipelineInfo model = trained_model_info();
    GenerationRequest r;
    r.scheduler = "ddpm";  // any scheduler: the model's guidance
    auto p = resolve_parameters(r, model);
    QCOMPARE(p.guidance_scale->value, 4.5);
    QVERIFY(p.guidance_scale->source == DefaultSource::kModel);
    r.guidance_scale = 1.0;
    QCOMPARE(resolve_parameters(r, model).guidance_scale->value, 1.0);
    const PipelineInfo sd = plain_sd_info();
    p = resolve_parameters(GenerationRequest{}, sd);
    QCOMPARE(p.guidance_scale->value, 7.5);
    QVERIFY(p.guidance_scale->source == DefaultSource::kPipeline);
    PipelineInfo unguided = trained_model_info();
    unguided.pipeline_defaults.guidance_scale.reset();
    QVERIFY(!resolve_parameters(r, unguided).guidance_scale.has_value());
    r.guidance_scale = -1.0;
    QVERIFY(error_of(r, model).find("guidance") != std::string::npos);
  }

  void size_given_model_then_sample_size() {
    PipelineInfo sd = plain_sd_info();
    GenerationRequest r;
    auto p = resolve_parameters(r, sd);
    QCOMPARE(p.width.value, int64_t(64));
    QVERIFY(p.width.source == DefaultSource::kPipeline);
    sd.model_defaults.width = 96;
    p = resolve_parameters(r, sd);
    QCOMPARE(p.width.value, int64_t(96));
    QCOMPARE(p.height.value, int64_t(64));
    QVERIFY(p.width.source == DefaultSource::kModel);
    r.width = 40;
    QCOMPARE(resolve_parameters(r, sd).width.value, int64_t(40));
  }

  void the_summary_is_what_an_empty_request_resolves_to() {
    const PipelineInfo model = trained_model_info();
    QCOMPARE(model.default_scheduler, std::string("DDIMScheduler"));
    QCOMPARE(model.default_steps, int64_t(25));
    QCOMPARE(model.default_guidance, 4.5);
    QCOMPARE(model.default_eta.value_or(-1), 1.0);
    QVERIFY(!plain_sd_info().default_eta.has_value());
  }

  void papillon_json_values_are_checked() {
    QVERIFY(model_defaults_error(R"({"default_eta": "one"})").find("default_eta") !=
            std::string::npos);
    QVERIFY(model_defaults_error(R"({"default_eta": -0.5})").find("default_eta") !=
            std::string::npos);
    QVERIFY(model_defaults_error(R"({"default_steps": 0})").find("default_steps") !=
            std::string::npos);
    QVERIFY(model_defaults_error(R"({"default_scheduler": "warp"})").find("default_scheduler") !=
            std::string::npos);
    QVERIFY(model_defaults_error(R"({"default_width": 100000})").find("default_width") !=
            std::string::npos);
    QVERIFY(model_defaults_error(R"({"class_names": ["a"], "steps": 2800})").empty());
  }

  // The bundled model through load_pipeline: its papillon.json's defaults, the images of a request
  // with nothing given equal those with the defaults given, and eta 0 is another image.
  void the_bundled_model_runs_its_defaults() {
    at::set_num_threads(1);
    auto pipeline = load_pipeline(test::bundled_model_dir(), ComputeTarget{});
    const PipelineInfo& info = pipeline->info();
    const Json papillon = read_json_file(test::bundled_model_dir() + "/papillon.json");
    QCOMPARE(info.default_scheduler, std::string("DDIMScheduler"));
    QCOMPARE(info.default_steps, papillon["default_steps"].get<int64_t>());
    QCOMPARE(info.default_eta.value_or(-1), papillon["default_eta"].get<double>());

    GenerationRequest none;
    none.prompts = {"a sneaker"};
    none.seeds = {11, 12};
    none.steps = 4;  // short; the eta and scheduler defaults are what is tested
    const GenerationResult defaults = pipeline->generate(none, RunControl{});
    QCOMPARE(defaults.parameters[0].eta.value_or(-1), papillon["default_eta"].get<double>());
    QCOMPARE(defaults.parameters[0].scheduler, std::string("DDIMScheduler"));
    QCOMPARE(defaults.parameters[0].prompt, std::string("a sneaker"));
    QCOMPARE(defaults.parameters[0].class_name, std::string("Sneaker"));

    GenerationRequest named = none;
    named.scheduler = "DDIMScheduler";
    named.eta = papillon["default_eta"].get<double>();
    named.guidance_scale = papillon["default_guidance"].get<double>();
    QVERIFY(torch::equal(defaults.images, pipeline->generate(named, RunControl{}).images));

    named.eta = 0.0;
    const GenerationResult eta0 = pipeline->generate(named, RunControl{});
    QCOMPARE(eta0.parameters[0].eta.value_or(-1), 0.0);
    QVERIFY(!torch::equal(defaults.images, eta0.images));
  }
};

QTEST_APPLESS_MAIN(TestGenerationDefaults)
#include "tst_generation_defaults.moc"
