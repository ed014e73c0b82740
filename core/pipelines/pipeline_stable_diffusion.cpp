#include "core/pipelines/pipeline_stable_diffusion.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>

#include "core/models/attention.h"
#include "core/models/autoencoder_kl.h"
#include "core/models/clip_text_model.h"
#include "core/models/unet_2d_condition.h"
#include "core/pipelines/denoising_loop.h"
#include "core/pipelines/memory_estimate.h"
#include "core/pipelines/prompt_weighting.h"
#include "core/schedulers/scheduler.h"
#include "core/schedulers/scheduler_factory.h"
#include "core/tokenizers/clip_tokenizer.h"
#include "core/util/device.h"
#include "core/util/error.h"
#include "core/util/random.h"

namespace papillon {

struct StableDiffusionPipeline::Impl {
  std::string dir;
  std::optional<CLIPTokenizer> tokenizer;
  CLIPTextModel text_encoder{nullptr};
  bool use_attention_mask = false;
  UNet2DConditionModel unet{nullptr};
  AutoencoderKL vae{nullptr};
  std::unique_ptr<Scheduler> scheduler;
  Json scheduler_config;
  std::string default_scheduler;
  ComputeTarget target;                        // the UNet's device and dtype
  c10::ScalarType side_dtype = torch::kFloat;  // the text encoder's and the VAE's dtype
};

StableDiffusionPipeline::StableDiffusionPipeline() : impl_(std::make_unique<Impl>()) {}
StableDiffusionPipeline::~StableDiffusionPipeline() = default;
StableDiffusionPipeline::StableDiffusionPipeline(StableDiffusionPipeline&&) noexcept = default;
StableDiffusionPipeline& StableDiffusionPipeline::operator=(StableDiffusionPipeline&&) noexcept =
    default;

namespace {

const ComponentInfo& component_of_class(const ModelFolder& folder, const std::string& name,
                                        const std::vector<std::string>& classes) {
  const ComponentInfo& c = folder.component(name);
  for (const auto& cls : classes) {
    if (c.class_name == cls) return c;
  }
  std::string expected;
  for (const auto& cls : classes)
    expected += (expected.empty() ? "" : " or ") + cls;
  throw Error(folder.dir + "/model_index.json: " + name + " is a " + c.class_name +
              ", a StableDiffusionPipeline needs " + expected);
}

// transformers' CLIPTextModel.final_layer_norm, for clip_skip.
at::Tensor final_layer_norm(CLIPTextModel& model, const at::Tensor& x) {
  auto modules = model->named_modules();
  return modules["text_model.final_layer_norm"]->as<torch::nn::LayerNorm>()->forward(x);
}

}  // namespace

StableDiffusionPipeline StableDiffusionPipeline::load(const ModelFolder& folder,
                                                      const StableDiffusionLoadOptions& options) {
  if (folder.pipeline_class != "StableDiffusionPipeline") {
    throw Error(folder.dir + "/model_index.json: _class_name is " + folder.pipeline_class +
                ", not StableDiffusionPipeline");
  }
  prepare_device(options.target);
  const auto& tokenizer_info =
      component_of_class(folder, "tokenizer", {"CLIPTokenizer", "CLIPTokenizerFast"});
  const auto& text_info = component_of_class(folder, "text_encoder", {"CLIPTextModel"});
  const auto& unet_info = component_of_class(folder, "unet", {"UNet2DConditionModel"});
  const auto& vae_info = component_of_class(folder, "vae", {"AutoencoderKL"});

  StableDiffusionPipeline p;
  Impl& m = *p.impl_;
  m.dir = folder.dir;
  m.target = options.target;
  m.tokenizer = CLIPTokenizer::from_folder(tokenizer_info.dir);
  const std::string text_config_path = text_info.dir + "/config.json";
  if (std::filesystem::exists(text_config_path)) {
    m.use_attention_mask = ConfigReader(read_json_file(text_config_path), text_config_path)
                               .get_bool("use_attention_mask", false);
  }
  // In fp16 / bf16 only the UNet, where the time goes, runs reduced. The text encoder runs once
  // per prompt and the VAE once per image: in fp32 they cost ~0.1 s and ~2 s more on a CPU, and
  // the VAE in bf16 turned large latents into visibly wrong pixels (tiny fixture: 0.9 of 1.5).
  m.side_dtype = side_dtype(options.target.dtype);
  m.text_encoder = load_clip_text_model(text_info.dir, m.side_dtype, options.target.device);
  m.unet = load_unet_2d_condition_model(unet_info.dir, options.variant, options.target.dtype,
                                        options.target.device);
  m.vae = load_autoencoder_kl(vae_info.dir, options.variant, m.side_dtype, options.target.device);

  // The components must fit together.
  const auto& uc = m.unet->config();
  const int64_t hidden = m.text_encoder->config().hidden_size;
  for (int64_t dim : uc.cross_attention_dim) {
    if (dim != hidden) {
      throw Error(unet_info.dir + "/config.json: cross_attention_dim is " + std::to_string(dim) +
                  " but the text encoder (" + text_config_path + ") has hidden_size " +
                  std::to_string(hidden));
    }
  }
  if (m.vae->config().latent_channels != uc.in_channels ||
      m.vae->config().latent_channels != uc.out_channels) {
    throw Error(vae_info.dir + "/config.json: latent_channels is " +
                std::to_string(m.vae->config().latent_channels) + " but " + unet_info.dir +
                "/config.json has in_channels " + std::to_string(uc.in_channels) +
                " and out_channels " + std::to_string(uc.out_channels));
  }
  if (m.text_encoder->config().vocab_size < m.tokenizer->vocab_size()) {
    throw Error(text_config_path + ": vocab_size " +
                std::to_string(m.text_encoder->config().vocab_size) + " is smaller than the " +
                std::to_string(m.tokenizer->vocab_size()) + " tokens of " + tokenizer_info.dir +
                "/vocab.json");
  }

  m.scheduler_config = read_scheduler_config(folder);
  m.default_scheduler =
      ConfigReader(m.scheduler_config, folder.component("scheduler").dir + "/scheduler_config.json")
          .get_string("_class_name", folder.component("scheduler").class_name);
  m.scheduler = make_scheduler(m.default_scheduler, m.scheduler_config);
  return p;
}

void StableDiffusionPipeline::set_scheduler(const std::string& name, const Json& overrides) {
  impl_->scheduler = make_scheduler(name, impl_->scheduler_config, overrides);
}
Scheduler& StableDiffusionPipeline::scheduler() {
  return *impl_->scheduler;
}
const CLIPTokenizer& StableDiffusionPipeline::tokenizer() const {
  return *impl_->tokenizer;
}
const Json& StableDiffusionPipeline::scheduler_config() const {
  return impl_->scheduler_config;
}
std::string StableDiffusionPipeline::default_scheduler() const {
  return impl_->default_scheduler;
}
int64_t StableDiffusionPipeline::vae_scale_factor() const {
  return impl_->vae->config().vae_scale_factor();
}
int64_t StableDiffusionPipeline::default_height() const {
  const auto& s = impl_->unet->config().sample_size;
  if (s.empty()) throw Error("unet/config.json: sample_size is not set; give width and height");
  return s[0] * vae_scale_factor();
}
int64_t StableDiffusionPipeline::default_width() const {
  const auto& s = impl_->unet->config().sample_size;
  if (s.empty()) throw Error("unet/config.json: sample_size is not set; give width and height");
  return s.back() * vae_scale_factor();
}
int64_t StableDiffusionPipeline::parameter_count() const {
  int64_t n = 0;
  for (const auto& t : impl_->unet->parameters())
    n += t.numel();
  for (const auto& t : impl_->vae->parameters())
    n += t.numel();
  for (const auto& t : impl_->text_encoder->parameters())
    n += t.numel();
  return n;
}

std::pair<at::Tensor, at::Tensor> StableDiffusionPipeline::encode_prompt(
    const StableDiffusionRequest& request, bool guidance) {
  Impl& m = *impl_;
  const CLIPTokenizer& tok = *m.tokenizer;
  const auto batch = static_cast<int64_t>(request.prompts.size());
  if (batch == 0) throw Error("no prompt given");
  const int64_t nipp = request.num_images_per_prompt;

  // Every prompt as chunks of token ids and weights. Plain prompts are tokenised as diffusers does
  // (one call, padding to max_length, truncation); the others as AUTOMATIC1111.
  const auto sequence = [&](const std::string& text) {
    if (request.plain_prompt) {
      const TokenizerOutput ids = tok(text, true, true);
      PromptChunk chunk;
      chunk.tokens = ids.input_ids;
      chunk.attention_mask = ids.attention_mask;
      chunk.multipliers.assign(ids.input_ids.size(), 1.0);
      return std::vector<PromptChunk>{chunk};
    }
    return tokenize_weighted_prompt(tok, text);
  };
  std::vector<std::vector<PromptChunk>> cond;
  for (const auto& p : request.prompts)
    cond.push_back(sequence(p));
  std::vector<std::vector<PromptChunk>> uncond;
  if (guidance) {
    const auto& neg = request.negative_prompts;
    if (!neg.empty() && neg.size() != 1 && static_cast<int64_t>(neg.size()) != batch) {
      throw Error("got " + std::to_string(neg.size()) + " negative prompts for " +
                  std::to_string(batch) + " prompts (give one, or one per prompt)");
    }
    for (int64_t i = 0; i < batch; ++i) {
      const std::string text =
          neg.empty() ? std::string() : neg[neg.size() == 1 ? 0 : static_cast<size_t>(i)];
      uncond.push_back(sequence(text));
    }
  }
  // Every prompt gets as many chunks as the longest (A1111 pads with empty-prompt chunks).
  size_t chunks = 1;
  for (const auto& c : cond)
    chunks = std::max(chunks, c.size());
  for (const auto& c : uncond)
    chunks = std::max(chunks, c.size());
  const PromptChunk empty = empty_prompt_chunk(tok);
  for (auto* group : {&cond, &uncond}) {
    for (auto& c : *group)
      while (c.size() < chunks)
        c.push_back(empty);
  }

  const auto device = m.target.device;
  // One text encoder call per chunk position for the whole group, as diffusers batches prompts.
  const auto encode = [&](const std::vector<std::vector<PromptChunk>>& group,
                          std::optional<int64_t> clip_skip) {
    std::vector<at::Tensor> per_chunk;
    for (size_t c = 0; c < chunks; ++c) {
      std::vector<at::Tensor> ids, masks;
      for (const auto& prompt : group) {
        ids.push_back(torch::tensor(prompt[c].tokens, torch::kLong));
        masks.push_back(torch::tensor(prompt[c].attention_mask, torch::kLong));
      }
      const at::Tensor input_ids = torch::stack(ids).to(device);
      const at::Tensor mask = m.use_attention_mask ? torch::stack(masks).to(device) : at::Tensor();
      at::Tensor z;
      if (!clip_skip) {
        z = m.text_encoder->forward(input_ids, mask).last_hidden_state;
      } else {
        auto out = m.text_encoder->forward(input_ids, mask, true);
        const auto layers = static_cast<int64_t>(out.hidden_states.size());
        if (*clip_skip < 0 || *clip_skip + 1 > layers) {
          throw Error("clip_skip " + std::to_string(*clip_skip) + " is outside 0.." +
                      std::to_string(layers - 1) + " (the text encoder has " +
                      std::to_string(layers - 1) + " layers)");
        }
        z = final_layer_norm(m.text_encoder, out.hidden_states[layers - 1 - *clip_skip]);
      }
      std::vector<at::Tensor> rows;
      for (size_t i = 0; i < group.size(); ++i) {
        rows.push_back(
            apply_prompt_weights(z.narrow(0, static_cast<int64_t>(i), 1), group[i][c].multipliers));
      }
      per_chunk.push_back(torch::cat(rows));
    }
    at::Tensor embeds = chunks == 1 ? per_chunk[0] : torch::cat(per_chunk, 1);
    embeds = embeds.to(m.target.dtype);
    // repeat then view, as diffusers: [p0, p0, p1, p1] for two images per prompt.
    const int64_t seq = embeds.size(1);
    return embeds.repeat({1, nipp, 1}).view({batch * nipp, seq, -1});
  };
  // diffusers 0.27 applies clip_skip to the prompt only, not to the negative prompt.
  at::Tensor prompt_embeds = encode(cond, request.clip_skip);
  at::Tensor negative = guidance ? encode(uncond, std::nullopt) : at::Tensor();
  return {prompt_embeds, negative};
}

namespace {

// diffusers' get_guidance_scale_embedding (LCM-distilled UNets with time_cond_proj_dim).
at::Tensor guidance_scale_embedding(double guidance_scale, int64_t batch, int64_t dim) {
  const at::Tensor w = torch::full({batch}, guidance_scale - 1, torch::kFloat) * 1000.0;
  const int64_t half = dim / 2;
  const at::Tensor log_base = torch::log(torch::tensor(10000.0f)) / (half - 1);
  const at::Tensor freqs = torch::exp(torch::arange(half, torch::kFloat) * -log_base);
  const at::Tensor args = w.unsqueeze(1) * freqs.unsqueeze(0);
  at::Tensor emb = torch::cat({torch::sin(args), torch::cos(args)}, 1);
  if (dim % 2 == 1) emb = torch::constant_pad_nd(emb, {0, 1});
  return emb;
}

}  // namespace

StableDiffusionOutput StableDiffusionPipeline::operator()(const StableDiffusionRequest& request,
                                                          const RunControl& control) {
  c10::InferenceMode inference;
  const AttentionScratchScope attention_scratch;  // one score buffer for the whole run
  Impl& m = *impl_;
  auto& unet = m.unet;
  auto& scheduler = *m.scheduler;
  const auto& target = m.target;
  const auto options = torch::TensorOptions().dtype(target.dtype).device(target.device);
  // Latents, noise and the scheduler's arithmetic stay fp32 when the models run in fp16 / bf16:
  // only the model calls are reduced. The noise is then the same draw as an fp32 run's, and 25
  // DPM-Solver steps in bf16 would otherwise drift by a quarter of the image range.
  const auto latent_options = options.dtype(m.side_dtype);

  // check_inputs
  const int64_t height = request.height > 0 ? request.height : default_height();
  const int64_t width = request.width > 0 ? request.width : default_width();
  if (height % 8 != 0 || width % 8 != 0) {
    throw Error("width and height must be multiples of 8, got " + std::to_string(width) + "x" +
                std::to_string(height));
  }
  if (request.num_images_per_prompt < 1) throw Error("num_images_per_prompt must be at least 1");
  if (request.num_inference_steps < 1) throw Error("num_inference_steps must be at least 1");
  const auto batch = static_cast<int64_t>(request.prompts.size());
  if (batch == 0) throw Error("no prompt given");
  const int64_t images = batch * request.num_images_per_prompt;
  if (!request.seeds.empty() && static_cast<int64_t>(request.seeds.size()) != images) {
    throw Error("got " + std::to_string(request.seeds.size()) +
                " seeds (one generator per image) " + "for " + std::to_string(images) + " images");
  }

  const bool lcm = unet->config().time_cond_proj_dim.has_value();
  const bool guidance = request.guidance_scale > 1.0 && !lcm;
  // Refuse what cannot fit before allocating anything (a typo like 51200x512 would otherwise
  // end in an out-of-memory kill, hours of swapping or a std::bad_alloc deep inside LibTorch).
  check_memory_fits(estimate_stable_diffusion_bytes(
                        unet->config(), m.vae->config(), width, height, images, guidance,
                        static_cast<int64_t>(c10::elementSize(target.dtype))),
                    available_memory_bytes(),
                    std::to_string(images) + " image(s) of " + std::to_string(width) + "x" +
                        std::to_string(height),
                    "choose a smaller size or fewer images");
  if (control.cancel.cancelled()) throw Cancelled();
  StableDiffusionOutput out;
  auto [prompt_embeds, negative_embeds] = encode_prompt(request, guidance);
  out.prompt_embeds = prompt_embeds.to(torch::kCPU, torch::kFloat);
  if (guidance) out.negative_prompt_embeds = negative_embeds.to(torch::kCPU, torch::kFloat);
  const at::Tensor encoder_hidden_states =
      guidance ? torch::cat({negative_embeds, prompt_embeds}) : prompt_embeds;

  scheduler.set_timesteps(request.num_inference_steps);

  // prepare_latents
  const int64_t factor = vae_scale_factor();
  const std::vector<int64_t> shape = {images, unet->config().in_channels, height / factor,
                                      width / factor};
  Generators generators = request.seeds.empty() ? Generators::from_seed(request.seed)
                                                : Generators::from_seeds(request.seeds);
  at::Tensor latents;
  if (request.latents.defined()) {
    if (request.latents.sizes() != at::IntArrayRef(shape)) {
      throw Error("the given latents have shape " + c10::str(request.latents.sizes()) +
                  ", expected " + c10::str(at::IntArrayRef(shape)));
    }
    latents = request.latents.to(latent_options);
  } else {
    latents = generators.randn(shape, latent_options);
  }
  latents = latents * scheduler.init_noise_sigma();
  out.latents_init = latents.to(torch::kCPU, torch::kFloat);

  at::Tensor timestep_cond;
  if (lcm) {
    timestep_cond =
        guidance_scale_embedding(request.guidance_scale, images, *unet->config().time_cond_proj_dim)
            .to(options);
  }

  DenoisingLoopOptions loop;
  loop.guidance = guidance;
  loop.guidance_scale = request.guidance_scale;
  loop.guidance_rescale = request.guidance_rescale;
  loop.eta = request.eta;
  loop.generators = &generators;
  const DenoiserCall call_unet = [&](const at::Tensor& model_input, const at::Tensor& t) {
    return unet->forward(model_input.to(target.dtype), t.to(target.device), encoder_hidden_states,
                         {}, timestep_cond);
  };
  std::function<void(const DenoisingStepRecord&)> record;
  if (request.on_unet_call) {
    record = [&](const DenoisingStepRecord& r) {
      request.on_unet_call(r.index, r.model_input, r.model_output);
    };
  }
  DenoisingLoopResult denoised =
      run_denoising_loop(scheduler, latents, call_unet, loop, control, record);
  latents = denoised.latents;
  out.timesteps = std::move(denoised.timesteps);

  out.latents = latents.to(torch::kCPU, torch::kFloat);
  if (!torch::isfinite(out.latents).all().item<bool>()) {
    throw Error(
        "the UNet produced NaN or infinite latents (a numerical overflow, e.g. in fp16); "
        "try --dtype fp32, another scheduler or a lower guidance scale");
  }
  const at::Tensor decoded =
      m.vae->decode((latents / m.vae->config().scaling_factor).to(m.side_dtype));
  out.decoded = decoded.to(torch::kCPU, torch::kFloat);
  if (!torch::isfinite(out.decoded).all().item<bool>()) {
    // The latents were finite: the VAE decoder overflowed (SD's VAE is known to in fp16; diffusers
    // upcasts it when its config says force_upcast).
    throw Error(
        std::string("the VAE decoder produced NaN or infinite values (a numerical overflow") +
        (m.side_dtype == torch::kFloat ? "" : " in " + dtype_name(m.side_dtype)) +
        "); upcast the VAE: run it in fp32 (--dtype fp32) or use a VAE fixed for fp16");
  }
  out.images = (out.decoded / 2 + 0.5).clamp(0, 1);
  return out;
}

at::Tensor StableDiffusionPipeline::decode_latents(const at::Tensor& latents) const {
  Impl& m = *impl_;  // the modules' forward is not const
  const at::Tensor decoded =
      m.vae->decode((latents / m.vae->config().scaling_factor).to(m.target.device, m.side_dtype));
  return (decoded.to(torch::kCPU, torch::kFloat) / 2 + 0.5).clamp(0, 1);
}

at::Tensor latent_preview(const at::Tensor& latents_in, int64_t scale) {
  const at::Tensor latents = latents_in.detach().to(torch::kCPU, torch::kFloat);
  if (latents.dim() != 4) throw Error("latent_preview: expected [B, C, h, w] latents");
  at::Tensor rgb;
  if (latents.size(1) == 4) {
    // Linear fit of SD 1.x VAE-decoded colours to the 4 latent channels (rows: latent channel,
    // columns: R, G, B), as published in the community's latent-preview tools (keturn's analysis,
    // used by ComfyUI's and stable-diffusion.cpp's previews). Output is in [-1, 1].
    static const float kFactors[4][3] = {{0.3512f, 0.2297f, 0.3227f},
                                         {0.3250f, 0.4974f, 0.2350f},
                                         {-0.2829f, 0.1762f, 0.2721f},
                                         {-0.2120f, -0.2616f, -0.7177f}};
    const at::Tensor factors = torch::from_blob(const_cast<float*>(&kFactors[0][0]), {4, 3});
    rgb = torch::einsum("bchw,cr->brhw", {latents, factors});
  } else {
    rgb = latents.narrow(1, 0, std::min<int64_t>(3, latents.size(1)));
  }
  rgb = ((rgb + 1) / 2).clamp(0, 1);
  if (scale > 1) {
    rgb = torch::upsample_bilinear2d(rgb, {rgb.size(2) * scale, rgb.size(3) * scale}, false);
  }
  return rgb.clamp(0, 1);
}

// ------------------------------------------------------------------ the common ImagePipeline

namespace {

class StableDiffusionImagePipeline : public ImagePipeline {
 public:
  StableDiffusionImagePipeline(const ModelFolder& folder, const ComputeTarget& target,
                               const std::string& variant)
      : pipeline_(StableDiffusionPipeline::load(folder, {target, variant})) {
    current_scheduler_ = pipeline_.default_scheduler();
    info_.pipeline_class = folder.pipeline_class;
    info_.family = "Stable Diffusion";
    info_.model_name = folder.name;
    info_.model_dir = folder.dir;
    info_.device = target.device.str();
    info_.dtype = dtype_name(target.dtype);
    info_.takes_prompt = true;
    info_.takes_negative_prompt = true;
    info_.takes_guidance = true;
    info_.fixed_size = false;
    info_.size_multiple = 8;
    info_.schedulers = {"PNDMScheduler",
                        "DDIMScheduler",
                        "EulerDiscreteScheduler",
                        "EulerAncestralDiscreteScheduler",
                        "DPMSolverMultistepScheduler",
                        "LMSDiscreteScheduler",
                        "HeunDiscreteScheduler",
                        "DDPMScheduler"};
    // diffusers' StableDiffusionPipeline.__call__: 50 steps, guidance 7.5, eta 0, the UNet's
    // sample size times the VAE's factor; the folder's scheduler.
    PipelineDefaults& defaults = info_.pipeline_defaults;
    defaults.scheduler = scheduler_class_for(pipeline_.default_scheduler());
    defaults.steps = 50;
    defaults.guidance_scale = 7.5;
    defaults.width = pipeline_.default_width();
    defaults.height = pipeline_.default_height();
    info_.model_defaults = read_folder_model_defaults(folder.dir);
    fill_default_summary(info_);
    info_.parameters = pipeline_.parameter_count();
  }

  const PipelineInfo& info() const override { return info_; }

  GenerationResult generate(const GenerationRequest& request, const RunControl& control) override {
    StableDiffusionRequest r;
    r.prompts = request.prompts.empty() ? std::vector<std::string>{""} : request.prompts;
    r.negative_prompts = request.negative_prompts;
    const auto prompts = static_cast<int64_t>(r.prompts.size());
    const int64_t images = request.seeds.empty() ? std::max(request.batch_size, prompts)
                                                 : static_cast<int64_t>(request.seeds.size());
    if (images % prompts != 0) {
      throw Error("got " + std::to_string(prompts) + " prompts for " + std::to_string(images) +
                  " images: the number of images must be a multiple of the number of prompts");
    }
    r.num_images_per_prompt = images / prompts;
    const ResolvedParameters resolved = resolve_parameters(request, info_);
    r.guidance_scale = resolved.guidance_scale->value;
    r.guidance_rescale = request.guidance_rescale;
    r.num_inference_steps = resolved.steps.value;
    r.width = resolved.width.value;
    r.height = resolved.height.value;
    if (resolved.eta) r.eta = resolved.eta->value;
    r.seed = request.seed;
    r.seeds = request.seeds;
    r.latents = request.init_latents;
    if (request.clip_skip > 0) r.clip_skip = request.clip_skip;
    r.plain_prompt = request.plain_prompt;
    if (!request.class_labels.empty()) {
      throw Error(info_.model_name + " is a text-to-image model: it takes prompts, not classes");
    }
    use_scheduler(resolved.scheduler.value, request.scheduler_overrides);

    StableDiffusionOutput out = pipeline_(r, control);
    GenerationResult result;
    result.images = out.images;
    result.final_sample = out.latents;
    result.prompt_embeds = out.prompt_embeds;
    result.timesteps = out.timesteps;
    const Json config = pipeline_.scheduler().config();
    const bool karras = config.is_object() && config.value("use_karras_sigmas", false);
    for (int64_t i = 0; i < images; ++i) {
      const auto prompt_index = static_cast<size_t>(i / r.num_images_per_prompt);
      GenerationParameters p;
      p.prompt = r.prompts[prompt_index];
      if (!r.negative_prompts.empty()) {
        p.negative_prompt = r.negative_prompts[r.negative_prompts.size() == 1 ? 0 : prompt_index];
      }
      p.steps = r.num_inference_steps;
      p.scheduler = pipeline_.scheduler().class_name();
      p.guidance_scale = r.guidance_scale;
      p.width = out.images.size(3);
      p.height = out.images.size(2);
      p.model = info_.model_name;
      p.batch_index = i;
      p.batch_size = images;
      p.per_image_seed = !r.seeds.empty();
      p.seed = r.seeds.empty() ? r.seed : r.seeds[static_cast<size_t>(i)];
      if (resolved.eta) p.eta = resolved.eta->value;
      if (karras) p.extra["use_karras_sigmas"] = true;
      if (!request.scheduler_overrides.empty()) {
        p.extra["scheduler_overrides"] = request.scheduler_overrides;
      }
      if (r.clip_skip) p.extra["clip_skip"] = *r.clip_skip;
      if (r.plain_prompt) p.extra["plain_prompt"] = true;
      if (r.latents.defined()) p.extra["init_latents"] = true;
      if (r.guidance_rescale > 0) p.extra["guidance_rescale"] = r.guidance_rescale;
      note_compute_target(info_, p);
      result.parameters.push_back(std::move(p));
    }
    return result;
  }

  at::Tensor preview(const StepEvent& event) const override {
    const at::Tensor& x = event.pred_x0.defined() ? event.pred_x0 : event.sample;
    return latent_preview(x, scale_factor_);
  }

  at::Tensor full_preview(const StepEvent& event) const override {
    const at::Tensor& x = event.pred_x0.defined() ? event.pred_x0 : event.sample;
    return pipeline_.decode_latents(x);
  }

  PromptTokenCounter prompt_token_counter() const override {
    // A copy of the tokenizer (shared, immutable): the counter may outlive a model switch.
    return [tokenizer = pipeline_.tokenizer()](const std::string& prompt) {
      const std::vector<PromptChunk> chunks = tokenize_weighted_prompt(tokenizer, prompt);
      PromptTokenCount count;
      for (const PromptChunk& c : chunks) {
        int64_t real = 0;
        for (int64_t m : c.attention_mask)
          real += m;
        count.tokens += std::max<int64_t>(real - 2, 0);  // without bos and eos
      }
      count.limit = 75 * std::max<int64_t>(static_cast<int64_t>(chunks.size()), 1);
      return count;
    };
  }

 private:
  void use_scheduler(const std::string& name, const Json& overrides) {
    const std::string cls = scheduler_class_for(name);
    if (cls == current_scheduler_ && overrides == current_overrides_) return;
    pipeline_.set_scheduler(cls, overrides);
    current_scheduler_ = cls;
    current_overrides_ = overrides;
  }

  StableDiffusionPipeline pipeline_;
  int64_t scale_factor_ = pipeline_.vae_scale_factor();
  PipelineInfo info_;
  std::string current_scheduler_;
  Json current_overrides_ = Json::object();
};

}  // namespace

std::unique_ptr<ImagePipeline> make_stable_diffusion_image_pipeline(const ModelFolder& folder,
                                                                    const ComputeTarget& target,
                                                                    const std::string& variant) {
  return std::make_unique<StableDiffusionImagePipeline>(folder, target, variant);
}

}  // namespace papillon
