#include "core/pipelines/pipeline_ddpm.h"

#include <torch/torch.h>

#include "core/models/attention.h"
#include "core/models/unet_2d.h"
#include "core/pipelines/denoising_loop.h"
#include "core/schedulers/scheduler_factory.h"
#include "core/util/device.h"
#include "core/util/error.h"
#include "core/util/random.h"

namespace papillon {

struct DDPMPipeline::Impl {
  UNet2DModel unet{nullptr};
  std::unique_ptr<Scheduler> scheduler;
  ComputeTarget target;
  std::string pipeline_class;
};

DDPMPipeline::DDPMPipeline() : impl_(std::make_unique<Impl>()) {}
DDPMPipeline::~DDPMPipeline() = default;
DDPMPipeline::DDPMPipeline(DDPMPipeline&&) noexcept = default;
DDPMPipeline& DDPMPipeline::operator=(DDPMPipeline&&) noexcept = default;

DDPMPipeline DDPMPipeline::load(const ModelFolder& folder, const PipelineLoadOptions& options) {
  if (folder.pipeline_class != "DDPMPipeline" && folder.pipeline_class != "DDIMPipeline") {
    throw Error(folder.dir + ": a " + folder.pipeline_class +
                " folder, not an unconditional DDPMPipeline/DDIMPipeline folder");
  }
  prepare_device(options.target);
  const auto& unet_info = folder.component("unet");
  if (unet_info.class_name != "UNet2DModel") {
    throw Error(folder.dir + ": unet is a " + unet_info.class_name + ", expected UNet2DModel");
  }
  DDPMPipeline p;
  p.impl_->target = options.target;
  p.impl_->pipeline_class = folder.pipeline_class;
  p.impl_->unet = load_unet_2d_model(unet_info.dir, options.variant, options.target.dtype,
                                     options.target.device);
  p.impl_->unet->eval();
  std::string scheduler = options.scheduler;
  const Json config = read_scheduler_config(folder);
  if (scheduler.empty()) {
    // diffusers' DDIMPipeline converts whatever scheduler the folder has to DDIM.
    scheduler = folder.pipeline_class == "DDIMPipeline"
                    ? std::string("DDIMScheduler")
                    : ConfigReader(config, "scheduler/scheduler_config.json")
                          .get_string("_class_name", folder.component("scheduler").class_name);
  }
  p.impl_->scheduler = make_scheduler(scheduler, config, options.scheduler_overrides);
  return p;
}

DDPMPipeline DDPMPipeline::from_components(UNet2DModel unet, std::unique_ptr<Scheduler> scheduler,
                                           const ComputeTarget& target,
                                           const std::string& pipeline_class) {
  DDPMPipeline p;
  p.impl_->unet = std::move(unet);
  p.impl_->unet->eval();
  p.impl_->scheduler = std::move(scheduler);
  p.impl_->target = target;
  p.impl_->pipeline_class = pipeline_class;
  return p;
}

Scheduler& DDPMPipeline::scheduler() {
  return *impl_->scheduler;
}

void DDPMPipeline::set_scheduler(std::unique_ptr<Scheduler> scheduler) {
  if (!scheduler) throw Error("no scheduler given");
  impl_->scheduler = std::move(scheduler);
}

int64_t DDPMPipeline::default_steps() const {
  return impl_->scheduler->class_name() == "DDPMScheduler" ? 1000 : 50;
}
std::pair<int64_t, int64_t> DDPMPipeline::sample_size() const {
  const auto& size = impl_->unet->config().sample_size;
  if (size.empty())
    throw Error("unet/config.json: sample_size is not set; the image size is unknown");
  return size.size() == 1 ? std::make_pair(size[0], size[0]) : std::make_pair(size[0], size[1]);
}
int64_t DDPMPipeline::in_channels() const {
  return impl_->unet->config().in_channels;
}
int64_t DDPMPipeline::num_class_embeds() const {
  return impl_->unet->config().num_class_embeds.value_or(0);
}
int64_t DDPMPipeline::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : impl_->unet->parameters())
    n += p.numel();
  return n;
}

const std::string& DDPMPipeline::pipeline_class() const {
  return impl_->pipeline_class;
}

UnconditionalOutput DDPMPipeline::operator()(const UnconditionalRequest& request,
                                             const RunControl& control) {
  c10::InferenceMode inference;
  const AttentionScratchScope attention_scratch;  // one score buffer for the whole run
  const int64_t batch = request.batch_size;
  if (batch < 1 || batch > 4096) throw Error("batch size must be between 1 and 4096");
  if (!request.seeds.empty() && static_cast<int64_t>(request.seeds.size()) != batch) {
    throw Error("got " + std::to_string(request.seeds.size()) + " seeds for a batch of " +
                std::to_string(batch));
  }
  const int64_t steps =
      request.num_inference_steps > 0 ? request.num_inference_steps : default_steps();
  auto& unet = impl_->unet;
  auto& scheduler = *impl_->scheduler;
  const auto& target = impl_->target;
  // The sample, the noise and the scheduler's arithmetic stay fp32 when the UNet runs in fp16 /
  // bf16 (1000 DDPM steps rounded to bf16 would drift); only the model calls are reduced.
  const auto options = torch::TensorOptions().dtype(side_dtype(target.dtype)).device(target.device);

  at::Tensor class_labels;
  if (num_class_embeds() > 0) {
    if (static_cast<int64_t>(request.class_labels.size()) != batch) {
      throw Error("this model is class-conditional: give one class label per image");
    }
    for (int64_t label : request.class_labels) {
      if (label < 0 || label >= num_class_embeds()) {
        throw Error("class label " + std::to_string(label) + " is outside 0.." +
                    std::to_string(num_class_embeds() - 1));
      }
    }
    class_labels = torch::tensor(request.class_labels, torch::kLong).to(target.device);
  } else if (!request.class_labels.empty()) {
    throw Error("this model is unconditional: it takes no class labels");
  }

  const bool guided =
      class_labels.defined() && request.null_class >= 0 && request.guidance_scale != 1.0;
  at::Tensor guided_labels;
  if (guided) {
    if (request.null_class >= num_class_embeds()) {
      throw Error("null class " + std::to_string(request.null_class) + " is outside 0.." +
                  std::to_string(num_class_embeds() - 1));
    }
    guided_labels = torch::cat({torch::full_like(class_labels, request.null_class), class_labels});
  }

  Generators generators = request.seeds.empty() ? Generators::from_seed(request.seed)
                                                : Generators::from_seeds(request.seeds);
  const auto [height, width] = sample_size();
  // 1. initial noise, drawn exactly as diffusers' randn_tensor.
  at::Tensor sample = generators.randn({batch, in_channels(), height, width}, options);
  scheduler.set_timesteps(steps);
  if (scheduler.init_noise_sigma() != 1.0) sample = sample * scheduler.init_noise_sigma();

  UnconditionalOutput out;
  DenoisingLoopOptions loop;
  loop.guidance = guided;  // one batched forward of [uncond; cond], as diffusers' guided pipelines
  loop.guidance_scale = request.guidance_scale;
  loop.eta = request.eta;
  loop.generators = &generators;
  const DenoiserCall call_unet = [&](const at::Tensor& model_input, const at::Tensor& t) {
    return unet->forward(model_input.to(target.dtype), t.to(target.device),
                         guided ? guided_labels : class_labels);
  };
  DenoisingLoopResult denoised = run_denoising_loop(scheduler, sample, call_unet, loop, control);
  sample = denoised.latents;
  out.timesteps = std::move(denoised.timesteps);
  out.final_sample = sample.to(torch::kCPU, torch::kFloat);
  if (!torch::isfinite(out.final_sample).all().item<bool>()) {
    throw Error(
        "the UNet produced NaN or infinite values (a numerical overflow, e.g. in fp16); "
        "try --dtype fp32 or another scheduler");
  }
  out.images = (out.final_sample / 2 + 0.5).clamp(0, 1);
  return out;
}

}  // namespace papillon
