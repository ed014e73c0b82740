#include "tests/common/pipeline_runs.h"

#include <algorithm>
#include <filesystem>

#include "core/pipelines/model_folder.h"
#include "tests/common/fixtures.h"

namespace papillon::test {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> strings_of(const Json& j) {
  if (j.is_string()) return {j.get<std::string>()};
  return j.get<std::vector<std::string>>();
}

// "generator=torch.Generator('cpu').manual_seed(S)" -> S
uint64_t seed_of_call(const std::string& text) {
  return std::stoull(text.substr(text.find("manual_seed(") + 12));
}

}  // namespace

Run load_run(const std::string& name) {
  return {name, fixture_json("pipeline_runs/" + name + "/meta.json"),
          SafetensorsFile::open(fixture_path("pipeline_runs/" + name + "/run.safetensors"))};
}

std::vector<std::string> run_names(const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(fixture_path("pipeline_runs"))) {
    const std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) == 0) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string sd_tiny_dir() {
  return fixture_path("pipelines/sd_tiny");
}

Json from_config_overrides(const std::string& call) {
  const auto pos = call.find("**{");
  if (pos == std::string::npos) return Json::object();
  const auto end = call.find('}', pos);
  std::string text = call.substr(pos + 2, end - pos - 1);
  for (auto& c : text)
    if (c == '\'') c = '"';
  for (const auto& [py, js] : {std::pair<std::string, std::string>{"True", "true"},
                               {"False", "false"},
                               {"None", "null"}}) {
    for (size_t p = text.find(py); p != std::string::npos; p = text.find(py, p))
      text.replace(p, py.size(), js);
  }
  return Json::parse(text);
}

StableDiffusionRequest sd_request_of(const Run& run) {
  const Json& kw = run.meta["call_kwargs"];
  StableDiffusionRequest r;
  r.prompts = strings_of(kw["prompt"]);
  if (kw.contains("negative_prompt")) r.negative_prompts = strings_of(kw["negative_prompt"]);
  r.guidance_scale = kw.value("guidance_scale", 7.5);
  r.num_inference_steps = kw.value("num_inference_steps", 50);
  r.num_images_per_prompt = kw.value("num_images_per_prompt", 1);
  r.height = kw.value("height", 0);
  r.width = kw.value("width", 0);
  r.eta = kw.value("eta", 0.0);
  r.plain_prompt = true;  // diffusers takes the text literally
  const Json& g = run.meta["generator"];
  if (g.is_null()) {
    r.latents = run.tensors.get("latents_given");
  } else {
    const std::string text = g.get<std::string>();
    const auto list = text.find("for s in [");
    if (list != std::string::npos) {
      const auto end = text.find(']', list);
      const std::string items = text.substr(list + 10, end - list - 10);
      for (size_t p = 0; p < items.size();) {
        size_t q = items.find(',', p);
        if (q == std::string::npos) q = items.size();
        r.seeds.push_back(std::stoull(items.substr(p, q - p)));
        p = q + 1;
      }
    } else {
      r.seed = seed_of_call(text);
    }
  }
  return r;
}

void set_run_scheduler(StableDiffusionPipeline& pipeline, const Run& run) {
  pipeline.set_scheduler(run.meta["scheduler_class"].get<std::string>(),
                         from_config_overrides(run.meta["call"].get<std::string>()));
}

DDPMPipeline load_ddpm_pipeline(const Run& run, const ComputeTarget& target) {
  PipelineLoadOptions options;
  options.target = target;
  options.scheduler = run.meta["scheduler_class"].get<std::string>();
  // The run's scheduler config as diffusers resolved it (e.g. DDIM with clip_sample=False).
  const Json& resolved = run.meta["scheduler_config_resolved"];
  for (auto it = resolved.begin(); it != resolved.end(); ++it) {
    if (!it.key().empty() && it.key()[0] != '_') options.scheduler_overrides[it.key()] = it.value();
  }
  const auto folder = open_model_folder(fixture_path(run.meta["pipeline_dir"].get<std::string>()));
  return DDPMPipeline::load(folder, options);
}

UnconditionalRequest ddpm_request_of(const Run& run) {
  const Json& kw = run.meta["call_kwargs"];
  UnconditionalRequest request;
  request.batch_size = kw["batch_size"].get<int64_t>();
  request.num_inference_steps = kw["num_inference_steps"].get<int64_t>();
  if (kw.contains("eta")) request.eta = kw["eta"].get<double>();
  request.seed = seed_of_call(run.meta["call"].get<std::string>());
  return request;
}

}  // namespace papillon::test
