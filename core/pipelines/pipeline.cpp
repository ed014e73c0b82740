#include "core/pipelines/pipeline.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "core/pipelines/class_prompt.h"
#include "core/pipelines/generation_defaults.h"
#include "core/pipelines/image_grid.h"
#include "core/pipelines/model_folder.h"
#include "core/pipelines/pipeline_ddpm.h"
#include "core/pipelines/pipeline_pixart_alpha.h"
#include "core/pipelines/pipeline_stable_diffusion.h"
#include "core/schedulers/scheduler.h"
#include "core/schedulers/scheduler_factory.h"
#include "core/util/device.h"
#include "core/util/error.h"

namespace papillon {
namespace {

// DDPMPipeline / DDIMPipeline folders behind the common interface.
class UnconditionalImagePipeline : public ImagePipeline {
 public:
  UnconditionalImagePipeline(const ModelFolder& folder, const ComputeTarget& target,
                             const std::string& variant)
      : scheduler_config_(read_scheduler_config(folder)) {
    PipelineLoadOptions options;
    options.target = target;
    options.variant = variant;
    pipeline_ = std::make_unique<DDPMPipeline>(DDPMPipeline::load(folder, options));
    current_scheduler_ = pipeline_->scheduler().class_name();
    const auto [h, w] = pipeline_->sample_size();
    info_.pipeline_class = folder.pipeline_class;
    info_.family = "DDPM";
    info_.model_name = folder.name;
    info_.model_dir = folder.dir;
    info_.fixed_size = true;
    info_.schedulers = {"DDPMScheduler", "DDIMScheduler"};
    info_.parameters = pipeline_->parameter_count();
    info_.device = target.device.str();
    info_.dtype = dtype_name(target.dtype);
    // diffusers' DDPMPipeline (1000 steps) / DDIMPipeline (50 steps, its scheduler made DDIM).
    PipelineDefaults& defaults = info_.pipeline_defaults;
    defaults.scheduler = current_scheduler_;
    defaults.scheduler_source =
        scheduler_config_.value("_class_name", std::string()) == current_scheduler_
            ? DefaultSource::kSchedulerConfig
            : DefaultSource::kPipeline;
    defaults.steps = 50;
    defaults.steps_for_scheduler = {{"DDPMScheduler", 1000}};
    defaults.width = w;
    defaults.height = h;
    read_papillon_json(folder);
    fill_default_summary(info_);
  }

  const PipelineInfo& info() const override { return info_; }

  GenerationResult generate(const GenerationRequest& request, const RunControl& control) override {
    for (const auto& p : request.prompts) {
      if (!p.empty() && info_.class_names.empty()) {
        throw Error(info_.model_name + " is an unconditional model: it takes no prompt");
      }
    }
    const int64_t batch_size =
        request.seeds.empty() ? request.batch_size : static_cast<int64_t>(request.seeds.size());
    std::vector<int64_t> class_labels = request.class_labels;
    if (!info_.class_names.empty() && class_labels.empty()) {
      class_labels = labels_from_prompts(request.prompts, batch_size);
    }
    const ResolvedParameters resolved = resolve_parameters(request, info_);
    const int64_t width = info_.pipeline_defaults.width, height = info_.pipeline_defaults.height;
    if (resolved.width.value != width || resolved.height.value != height) {
      throw Error(info_.model_name + " makes " + std::to_string(width) + "x" +
                  std::to_string(height) + " images only");
    }
    use_scheduler(resolved.scheduler.value, request.scheduler_overrides);
    UnconditionalRequest r;
    r.batch_size = batch_size;
    r.num_inference_steps = resolved.steps.value;
    r.seed = request.seed;
    r.seeds = request.seeds;
    if (resolved.eta) r.eta = resolved.eta->value;
    r.class_labels = class_labels;
    if (null_class_ >= 0) {
      r.null_class = null_class_;
      r.guidance_scale = resolved.guidance_scale->value;
    }
    UnconditionalOutput out = (*pipeline_)(r, control);

    GenerationResult result;
    result.images = out.images;
    result.final_sample = out.final_sample;
    result.timesteps = out.timesteps;
    const int64_t batch = out.images.size(0);
    for (int64_t i = 0; i < batch; ++i) {
      GenerationParameters p;
      p.steps = static_cast<int64_t>(out.timesteps.size());
      p.scheduler = pipeline_->scheduler().class_name();
      p.width = out.images.size(3);
      p.height = out.images.size(2);
      p.model = info_.model_name;
      p.batch_index = i;
      p.batch_size = batch;
      p.per_image_seed = !r.seeds.empty();
      p.seed = r.seeds.empty() ? r.seed : r.seeds[static_cast<size_t>(i)];
      if (resolved.eta) p.eta = resolved.eta->value;
      if (!request.scheduler_overrides.empty()) {
        p.extra["scheduler_overrides"] = request.scheduler_overrides;
      }
      // The prompt as typed; the class it picked in a field of its own.
      if (!request.prompts.empty()) {
        p.prompt = request.prompts.size() == 1 ? request.prompts[0]
                                               : request.prompts[static_cast<size_t>(i)];
      }
      if (!r.class_labels.empty()) {
        const int64_t label = r.class_labels[static_cast<size_t>(i)];
        p.extra["class_label"] = label;
        if (label >= 0 && label < static_cast<int64_t>(info_.class_names.size())) {
          p.class_name = info_.class_names[static_cast<size_t>(label)];
        }
      }
      if (null_class_ >= 0) p.guidance_scale = r.guidance_scale;
      note_compute_target(info_, p);
      result.parameters.push_back(std::move(p));
    }
    return result;
  }

  at::Tensor preview(const StepEvent& event) const override {
    const at::Tensor& x = event.pred_x0.defined() ? event.pred_x0 : event.sample;
    return to_image_range(x.detach().to(torch::kCPU, torch::kFloat));
  }

 private:
  // papillon.json beside model_index.json (written by papillon train): class names, the null
  // class of classifier-free guidance and the model's defaults (scheduler, steps, guidance, eta).
  void read_papillon_json(const ModelFolder& folder) {
    const std::string path = folder.dir + "/papillon.json";
    if (!std::filesystem::exists(path)) return;
    const Json json = read_json_file(path);
    const ConfigReader r(json, path);
    info_.class_names = r.get_string_list("class_names", {});
    null_class_ = r.get_int("null_class", -1);
    if (!info_.class_names.empty()) {
      const int64_t embeds = pipeline_->num_class_embeds();
      if (embeds < static_cast<int64_t>(info_.class_names.size())) {
        r.fail("class_names", "lists " + std::to_string(info_.class_names.size()) +
                                  " classes but the UNet has " + std::to_string(embeds) +
                                  " class embeddings");
      }
      if (null_class_ >= embeds) {
        r.fail("null_class",
               "is " + std::to_string(null_class_) + ", outside 0.." + std::to_string(embeds - 1));
      }
      info_.takes_prompt = true;
      info_.takes_guidance = null_class_ >= 0;
      // Papillon's own guidance default for class-conditional models with a null class.
      if (null_class_ >= 0) info_.pipeline_defaults.guidance_scale = 3.0;
    }
    info_.model_defaults = read_model_defaults(json, path);
  }

  // One prompt for every image or one per image; no prompt: the classes in turn.
  std::vector<int64_t> labels_from_prompts(const std::vector<std::string>& prompts,
                                           int64_t batch) const {
    std::vector<int64_t> labels;
    const bool any = std::any_of(prompts.begin(), prompts.end(),
                                 [](const std::string& p) { return !p.empty(); });
    if (!any) {
      for (int64_t i = 0; i < batch; ++i)
        labels.push_back(i % static_cast<int64_t>(info_.class_names.size()));
      return labels;
    }
    if (prompts.size() != 1 && static_cast<int64_t>(prompts.size()) != batch) {
      throw Error("got " + std::to_string(prompts.size()) + " prompts for " +
                  std::to_string(batch) + " images");
    }
    for (int64_t i = 0; i < batch; ++i) {
      const std::string& p = prompts.size() == 1 ? prompts[0] : prompts[static_cast<size_t>(i)];
      labels.push_back(parse_class_prompt(p, info_.class_names));
    }
    return labels;
  }

  void use_scheduler(const std::string& name, const Json& overrides) {
    const std::string cls = scheduler_class_for(name);
    if (cls == current_scheduler_ && overrides == current_overrides_) return;
    pipeline_->set_scheduler(make_scheduler(cls, scheduler_config_, overrides));
    current_scheduler_ = cls;
    current_overrides_ = overrides;
  }

  PipelineInfo info_;
  std::unique_ptr<DDPMPipeline> pipeline_;
  Json scheduler_config_;
  std::string current_scheduler_;
  Json current_overrides_ = Json::object();
  int64_t null_class_ = -1;
};

}  // namespace

void note_compute_target(const PipelineInfo& info, GenerationParameters& parameters) {
  if (info.dtype != "fp32") parameters.extra["dtype"] = info.dtype;
  if (info.device != "cpu") parameters.extra["device"] = info.device;
}

std::unique_ptr<ImagePipeline> load_pipeline(const std::string& dir, const ComputeTarget& target,
                                             const std::string& variant) {
  const ModelFolder folder = open_model_folder(dir);
  if (folder.pipeline_class == "DDPMPipeline" || folder.pipeline_class == "DDIMPipeline") {
    return std::make_unique<UnconditionalImagePipeline>(folder, target, variant);
  }
  if (folder.pipeline_class == "StableDiffusionPipeline") {
    return make_stable_diffusion_image_pipeline(folder, target, variant);
  }
  if (folder.pipeline_class == "PixArtAlphaPipeline") {
    return make_pixart_alpha_image_pipeline(folder, target, variant);
  }
  throw Error(folder.dir + ": " + folder.pipeline_class +
              " folders are not supported yet (DDPMPipeline, DDIMPipeline, "
              "StableDiffusionPipeline and PixArtAlphaPipeline are)");
}

}  // namespace papillon
