#include "core/pipelines/pipeline_pixart_alpha.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/models/attention.h"
#include "core/models/autoencoder_kl.h"
#include "core/models/pixart_transformer_2d.h"
#include "core/models/t5_encoder_model.h"
#include "core/pipelines/generation_defaults.h"
#include "core/pipelines/memory_estimate.h"
#include "core/pipelines/pipeline_stable_diffusion.h"  // latent_preview
#include "core/schedulers/scheduler.h"
#include "core/schedulers/scheduler_factory.h"
#include "core/tokenizers/t5_tokenizer.h"
#include "core/util/error.h"
#include "core/util/random.h"

namespace papillon {

// ------------------------------------------------------------------ resolution binning

std::vector<AspectRatioBin> pixart_aspect_ratio_bins(int64_t sample_size) {
  // ASPECT_RATIO_1024_BIN; the 512 and 256 tables are it halved and quartered, key for key.
  static const AspectRatioBin k1024[] = {
      {0.25, 512, 2048}, {0.28, 512, 1856}, {0.32, 576, 1792}, {0.33, 576, 1728}, {0.35, 576, 1664},
      {0.4, 640, 1600},  {0.42, 640, 1536}, {0.48, 704, 1472}, {0.5, 704, 1408},  {0.52, 704, 1344},
      {0.57, 768, 1344}, {0.6, 768, 1280},  {0.68, 832, 1216}, {0.72, 832, 1152}, {0.78, 896, 1152},
      {0.82, 896, 1088}, {0.88, 960, 1088}, {0.94, 960, 1024}, {1.0, 1024, 1024}, {1.07, 1024, 960},
      {1.13, 1088, 960}, {1.21, 1088, 896}, {1.29, 1152, 896}, {1.38, 1152, 832}, {1.46, 1216, 832},
      {1.67, 1280, 768}, {1.75, 1344, 768}, {2.0, 1408, 704},  {2.09, 1472, 704}, {2.4, 1536, 640},
      {2.5, 1600, 640},  {3.0, 1728, 576},  {4.0, 2048, 512}};
  int64_t divisor = 0;
  if (sample_size == 128) divisor = 1;
  if (sample_size == 64) divisor = 2;
  if (sample_size == 32) divisor = 4;
  std::vector<AspectRatioBin> bins;
  if (divisor == 0) return bins;
  for (const AspectRatioBin& b : k1024)
    bins.push_back({b.ratio, b.height / divisor, b.width / divisor});
  return bins;
}

std::pair<int64_t, int64_t> classify_height_width_bin(int64_t height, int64_t width,
                                                      const std::vector<AspectRatioBin>& bins) {
  if (bins.empty()) throw Error("classify_height_width_bin: no bins");
  const double ar = static_cast<double>(height) / static_cast<double>(width);
  const AspectRatioBin* best = &bins.front();
  for (const AspectRatioBin& b : bins) {
    if (std::abs(b.ratio - ar) < std::abs(best->ratio - ar)) best = &b;
  }
  return {best->height, best->width};
}

at::Tensor resize_and_crop(const at::Tensor& images, int64_t height, int64_t width) {
  const int64_t h = images.size(2), w = images.size(3);
  if (h == height && w == width) return images;
  const double ratio = std::max(static_cast<double>(height) / static_cast<double>(h),
                                static_cast<double>(width) / static_cast<double>(w));
  // Python's int(): truncation towards zero.
  const auto resized_w = static_cast<int64_t>(static_cast<double>(w) * ratio);
  const auto resized_h = static_cast<int64_t>(static_cast<double>(h) * ratio);
  const at::Tensor resized = at::upsample_bilinear2d(images, {resized_h, resized_w}, false);
  const int64_t x0 = (resized_w - width) / 2, y0 = (resized_h - height) / 2;
  return resized.narrow(2, y0, height).narrow(3, x0, width);
}

// ------------------------------------------------------------------ the pipeline

struct PixArtAlphaPipeline::Impl {
  std::string dir;
  std::optional<T5Tokenizer> tokenizer;
  std::string text_encoder_dir;
  T5EncoderModel text_encoder{nullptr};
  T5Config text_config;
  TextEncoderResidency residency = TextEncoderResidency::kAuto;
  PixArtTransformer2DModel transformer{nullptr};
  AutoencoderKL vae{nullptr};
  std::unique_ptr<Scheduler> scheduler;
  Json scheduler_config;
  std::string default_scheduler;
  ComputeTarget target;                        // the transformer's
  c10::ScalarType text_dtype = torch::kFloat;  // T5's
  c10::ScalarType side_dtype = torch::kFloat;  // the VAE's, the latents'
  int64_t text_encoder_parameters = 0;

  // The last encode_prompt result, so that new seeds for the same prompts reuse it (and a freed
  // encoder is not reloaded for them).
  struct Encoded {
    std::vector<std::string> prompts, negatives;
    bool guidance = false;
    int64_t max_length = 0;
    at::Tensor embeds, mask, negative_embeds, negative_mask;  // one row per prompt
  };
  std::optional<Encoded> last_encoded;

  T5EncoderModel& encoder() {
    if (text_encoder.is_empty()) {
      text_encoder = load_t5_encoder_model(text_encoder_dir, text_dtype, target.device);
    }
    return text_encoder;
  }
  void release_encoder_if_needed() {
    bool release = residency == TextEncoderResidency::kFree;
    if (residency == TextEncoderResidency::kAuto) {
      const uint64_t bytes = static_cast<uint64_t>(text_encoder_parameters) *
                             static_cast<uint64_t>(c10::elementSize(text_dtype));
      const uint64_t available = available_memory_bytes();
      release = available != 0 && available < 2 * bytes;
    }
    if (release) text_encoder = T5EncoderModel(nullptr);
  }
};

PixArtAlphaPipeline::PixArtAlphaPipeline() : impl_(std::make_unique<Impl>()) {}
PixArtAlphaPipeline::~PixArtAlphaPipeline() = default;
PixArtAlphaPipeline::PixArtAlphaPipeline(PixArtAlphaPipeline&&) noexcept = default;
PixArtAlphaPipeline& PixArtAlphaPipeline::operator=(PixArtAlphaPipeline&&) noexcept = default;

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
              ", a PixArtAlphaPipeline needs " + expected);
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& t : module.parameters())
    n += t.numel();
  return n;
}

}  // namespace

PixArtAlphaPipeline PixArtAlphaPipeline::load(const ModelFolder& folder,
                                              const PixArtAlphaLoadOptions& options) {
  if (folder.pipeline_class != "PixArtAlphaPipeline") {
    throw Error(folder.dir + "/model_index.json: _class_name is " + folder.pipeline_class +
                ", not PixArtAlphaPipeline");
  }
  prepare_device(options.target);
  const auto& tokenizer_info =
      component_of_class(folder, "tokenizer", {"T5Tokenizer", "T5TokenizerFast"});
  const auto& text_info = component_of_class(folder, "text_encoder", {"T5EncoderModel"});
  const auto& transformer_info =
      component_of_class(folder, "transformer", {"Transformer2DModel", "PixArtTransformer2DModel"});
  const auto& vae_info = component_of_class(folder, "vae", {"AutoencoderKL"});

  PixArtAlphaPipeline p;
  Impl& m = *p.impl_;
  m.dir = folder.dir;
  m.target = options.target;
  m.residency = options.text_encoder;
  m.tokenizer = T5Tokenizer::from_folder(tokenizer_info.dir);
  // T5 computes in the reduced dtype when one is asked for (its norms and softmax stay fp32); the
  // VAE, the latents and the scheduler in fp32, as for Stable Diffusion.
  m.text_dtype = options.target.dtype;
  m.side_dtype = side_dtype(options.target.dtype);
  m.text_encoder_dir = text_info.dir;
  m.text_encoder = load_t5_encoder_model(text_info.dir, m.text_dtype, options.target.device);
  m.text_config = m.text_encoder->config();
  m.text_encoder_parameters = count_parameters(*m.text_encoder);
  m.transformer = load_pixart_transformer_2d_model(transformer_info.dir, options.variant,
                                                   options.target.dtype, options.target.device);
  m.vae = load_autoencoder_kl(vae_info.dir, options.variant, m.side_dtype, options.target.device);

  const auto& tc = m.transformer->config();
  const std::string transformer_config = transformer_info.dir + "/config.json";
  if (tc.caption_channels.value_or(0) != m.text_config.d_model) {
    throw Error(transformer_config + ": caption_channels is " +
                std::to_string(tc.caption_channels.value_or(0)) + " but the text encoder (" +
                text_info.dir + "/config.json) has d_model " +
                std::to_string(m.text_config.d_model));
  }
  if (m.vae->config().latent_channels != tc.in_channels) {
    throw Error(vae_info.dir + "/config.json: latent_channels is " +
                std::to_string(m.vae->config().latent_channels) + " but " + transformer_config +
                " has in_channels " + std::to_string(tc.in_channels));
  }
  if (tc.output_channels() != tc.in_channels && tc.output_channels() != 2 * tc.in_channels) {
    throw Error(transformer_config + ": out_channels " + std::to_string(tc.output_channels()) +
                " is neither in_channels " + std::to_string(tc.in_channels) +
                " nor twice it (a learned sigma)");
  }
  if (m.text_config.vocab_size < m.tokenizer->size()) {
    throw Error(text_info.dir + "/config.json: vocab_size " +
                std::to_string(m.text_config.vocab_size) + " is smaller than the " +
                std::to_string(m.tokenizer->size()) + " tokens of " + tokenizer_info.dir);
  }

  m.scheduler_config = read_scheduler_config(folder);
  m.default_scheduler =
      ConfigReader(m.scheduler_config, folder.component("scheduler").dir + "/scheduler_config.json")
          .get_string("_class_name", folder.component("scheduler").class_name);
  m.scheduler = make_scheduler(m.default_scheduler, m.scheduler_config);
  m.release_encoder_if_needed();
  return p;
}

void PixArtAlphaPipeline::set_scheduler(const std::string& name, const Json& overrides) {
  impl_->scheduler = make_scheduler(name, impl_->scheduler_config, overrides);
}
Scheduler& PixArtAlphaPipeline::scheduler() {
  return *impl_->scheduler;
}
const T5Tokenizer& PixArtAlphaPipeline::tokenizer() const {
  return *impl_->tokenizer;
}
const Json& PixArtAlphaPipeline::scheduler_config() const {
  return impl_->scheduler_config;
}
std::string PixArtAlphaPipeline::default_scheduler() const {
  return impl_->default_scheduler;
}
bool PixArtAlphaPipeline::text_encoder_loaded() const {
  return !impl_->text_encoder.is_empty();
}
int64_t PixArtAlphaPipeline::vae_scale_factor() const {
  return impl_->vae->config().vae_scale_factor();
}
int64_t PixArtAlphaPipeline::sample_size() const {
  return impl_->transformer->config().sample_size;
}
int64_t PixArtAlphaPipeline::patch_multiple() const {
  return impl_->transformer->config().patch_size;
}
int64_t PixArtAlphaPipeline::default_width() const {
  return sample_size() * vae_scale_factor();
}
int64_t PixArtAlphaPipeline::default_height() const {
  return sample_size() * vae_scale_factor();
}
int64_t PixArtAlphaPipeline::parameter_count() const {
  return impl_->text_encoder_parameters + count_parameters(*impl_->transformer) +
         count_parameters(*impl_->vae);
}

at::Tensor PixArtAlphaPipeline::decode_latents(const at::Tensor& latents) const {
  Impl& m = *impl_;
  const at::Tensor decoded =
      m.vae->decode((latents / m.vae->config().scaling_factor).to(m.target.device, m.side_dtype));
  return (decoded.to(torch::kCPU, torch::kFloat) / 2 + 0.5).clamp(0, 1);
}

PixArtAlphaOutput PixArtAlphaPipeline::operator()(const PixArtAlphaRequest& request,
                                                  const RunControl& control) {
  c10::InferenceMode inference;
  const AttentionScratchScope attention_scratch;
  Impl& m = *impl_;
  auto& scheduler = *m.scheduler;
  const auto& target = m.target;
  const auto& tc = m.transformer->config();
  const auto latent_options = torch::TensorOptions().dtype(m.side_dtype).device(target.device);

  // check_inputs (and resolution binning first, as diffusers does).
  const int64_t asked_height = request.height > 0 ? request.height : default_height();
  const int64_t asked_width = request.width > 0 ? request.width : default_width();
  if (request.height < 0 || request.width < 0) throw Error("width and height must be positive");
  const std::vector<AspectRatioBin> bins = pixart_aspect_ratio_bins(tc.sample_size);
  if (request.use_resolution_binning.value_or(false) && bins.empty()) {
    throw Error(
        "resolution binning needs a transformer sample_size of 32, 64 or 128 (this one "
        "has " +
        std::to_string(tc.sample_size) + ")");
  }
  const bool binning = request.use_resolution_binning.value_or(!bins.empty());
  int64_t height = asked_height, width = asked_width;
  if (binning) std::tie(height, width) = classify_height_width_bin(height, width, bins);
  if (height % 8 != 0 || width % 8 != 0) {
    throw Error("width and height must be multiples of 8, got " + std::to_string(width) + "x" +
                std::to_string(height));
  }
  const int64_t factor = vae_scale_factor();
  if ((height / factor) % tc.patch_size != 0 || (width / factor) % tc.patch_size != 0) {
    throw Error("width and height must be multiples of " + std::to_string(factor * tc.patch_size) +
                " for this transformer (patch size " + std::to_string(tc.patch_size) + "), got " +
                std::to_string(width) + "x" + std::to_string(height));
  }
  if (request.num_images_per_prompt < 1) throw Error("num_images_per_prompt must be at least 1");
  if (request.num_inference_steps < 1) throw Error("num_inference_steps must be at least 1");
  if (request.max_sequence_length < 1 || request.max_sequence_length > 4096) {
    throw Error("max_sequence_length must be between 1 and 4096, got " +
                std::to_string(request.max_sequence_length));
  }
  const auto batch = static_cast<int64_t>(request.prompts.size());
  if (batch == 0) throw Error("no prompt given");
  const int64_t nipp = request.num_images_per_prompt;
  const int64_t images = batch * nipp;
  if (!request.seeds.empty() && static_cast<int64_t>(request.seeds.size()) != images) {
    throw Error("got " + std::to_string(request.seeds.size()) +
                " seeds (one generator per image) for " + std::to_string(images) + " images");
  }
  const auto& neg = request.negative_prompts;
  if (!neg.empty() && neg.size() != 1 && static_cast<int64_t>(neg.size()) != batch) {
    throw Error("got " + std::to_string(neg.size()) + " negative prompts for " +
                std::to_string(batch) + " prompts (give one, or one per prompt)");
  }
  const bool guidance = request.guidance_scale > 1.0;
  check_memory_fits(estimate_pixart_bytes(tc, m.vae->config(), width, height, images, guidance,
                                          static_cast<int64_t>(c10::elementSize(target.dtype)),
                                          request.max_sequence_length),
                    available_memory_bytes(),
                    std::to_string(images) + " image(s) of " + std::to_string(width) + "x" +
                        std::to_string(height),
                    "choose a smaller size or fewer images");
  if (control.cancel.cancelled()) throw Cancelled();

  // encode_prompt: every text lower()ed and stripped, 120 tokens with the mask, one T5 call for
  // the prompts and one for the negative prompts.
  std::vector<std::string> negatives;
  if (guidance) {
    for (int64_t i = 0; i < batch; ++i)
      negatives.push_back(neg.empty() ? std::string()
                                      : neg[neg.size() == 1 ? 0 : static_cast<size_t>(i)]);
  }
  const bool cached = m.last_encoded && m.last_encoded->prompts == request.prompts &&
                      m.last_encoded->negatives == negatives &&
                      m.last_encoded->guidance == guidance &&
                      m.last_encoded->max_length == request.max_sequence_length;
  if (!cached) {
    m.last_encoded.reset();
    const auto encode = [&](const std::vector<std::string>& texts) {
      std::vector<at::Tensor> ids, masks;
      for (const auto& text : texts) {
        const TokenizerOutput t = (*m.tokenizer)(T5Tokenizer::pipeline_text(text),
                                                 request.max_sequence_length, true, true);
        ids.push_back(torch::tensor(t.input_ids, torch::kLong));
        masks.push_back(torch::tensor(t.attention_mask, torch::kLong));
      }
      const at::Tensor mask = torch::stack(masks);
      const at::Tensor embeds =
          m.encoder()
              ->forward(torch::stack(ids).to(target.device), mask.to(target.device))
              .last_hidden_state;
      return std::make_pair(embeds, mask);
    };
    Impl::Encoded e;
    e.prompts = request.prompts;
    e.negatives = negatives;
    e.guidance = guidance;
    e.max_length = request.max_sequence_length;
    std::tie(e.embeds, e.mask) = encode(request.prompts);
    if (guidance) std::tie(e.negative_embeds, e.negative_mask) = encode(negatives);
    m.last_encoded = std::move(e);
    m.release_encoder_if_needed();
  }
  const Impl::Encoded& encoded = *m.last_encoded;
  // Images per prompt as diffusers: embeds repeat(1, n, 1).view -> [p0, p0, p1, p1]; masks
  // repeat(n, 1) -> [m0, m1, m0, m1] (the same for one prompt; for several prompts with several
  // images each, diffusers 0.27 pairs embeds and masks this way, and so do we).
  const auto per_image = [&](const at::Tensor& embeds) {
    const int64_t seq = embeds.size(1);
    return embeds.to(target.dtype).repeat({1, nipp, 1}).view({batch * nipp, seq, -1});
  };
  PixArtAlphaOutput out;
  const at::Tensor prompt_embeds = per_image(encoded.embeds);
  const at::Tensor prompt_mask = encoded.mask.repeat({nipp, 1});
  out.prompt_embeds = prompt_embeds.to(torch::kCPU, torch::kFloat);
  out.prompt_attention_mask = prompt_mask;
  at::Tensor encoder_hidden_states = prompt_embeds, encoder_mask = prompt_mask;
  if (guidance) {
    const at::Tensor negative_embeds = per_image(encoded.negative_embeds);
    const at::Tensor negative_mask = encoded.negative_mask.repeat({nipp, 1});
    out.negative_prompt_embeds = negative_embeds.to(torch::kCPU, torch::kFloat);
    out.negative_prompt_attention_mask = negative_mask;
    encoder_hidden_states = torch::cat({negative_embeds, prompt_embeds});
    encoder_mask = torch::cat({negative_mask, prompt_mask});
  }
  encoder_mask = encoder_mask.to(target.device);

  scheduler.set_timesteps(request.num_inference_steps);

  // prepare_latents
  const std::vector<int64_t> shape = {images, tc.in_channels, height / factor, width / factor};
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

  // Micro-conditions of the 1024-px model: the (binned) size and its aspect ratio per image.
  at::Tensor resolution, aspect_ratio;
  if (tc.use_additional_conditions()) {
    const auto cond_options = torch::TensorOptions().dtype(target.dtype).device(target.device);
    const int64_t rows = guidance ? 2 * images : images;
    resolution = torch::tensor({static_cast<float>(height), static_cast<float>(width)})
                     .repeat({rows, 1})
                     .to(cond_options);
    aspect_ratio =
        torch::full({rows, 1},
                    static_cast<float>(static_cast<double>(height) / static_cast<double>(width)),
                    torch::kFloat)
            .to(cond_options);
  }

  DenoisingLoopOptions loop;
  loop.guidance = guidance;
  loop.guidance_scale = request.guidance_scale;
  loop.learned_sigma = tc.output_channels() == 2 * tc.in_channels;
  loop.eta = request.eta;
  loop.generators = &generators;
  const DenoiserCall call = [&](const at::Tensor& model_input, const at::Tensor& t) {
    const at::Tensor timestep = t.reshape({1}).expand({model_input.size(0)}).to(target.device);
    return m.transformer->forward(model_input.to(target.dtype), encoder_hidden_states, timestep,
                                  encoder_mask, resolution, aspect_ratio);
  };
  DenoisingLoopResult denoised =
      run_denoising_loop(scheduler, latents, call, loop, control, request.on_step_record);
  latents = denoised.latents;
  out.timesteps = std::move(denoised.timesteps);

  out.latents = latents.to(torch::kCPU, torch::kFloat);
  if (!torch::isfinite(out.latents).all().item<bool>()) {
    throw Error(
        "the transformer produced NaN or infinite latents (a numerical overflow, e.g. in fp16); "
        "try --dtype fp32, another scheduler or a lower guidance scale");
  }
  const at::Tensor decoded =
      m.vae->decode((latents / m.vae->config().scaling_factor).to(m.side_dtype));
  out.decoded = decoded.to(torch::kCPU, torch::kFloat);
  if (!torch::isfinite(out.decoded).all().item<bool>()) {
    throw Error("the VAE decoder produced NaN or infinite values (a numerical overflow)");
  }
  const at::Tensor image =
      binning ? resize_and_crop(out.decoded, asked_height, asked_width) : out.decoded;
  out.images = (image / 2 + 0.5).clamp(0, 1);
  out.generated_height = height;
  out.generated_width = width;
  return out;
}

// ------------------------------------------------------------------ the common ImagePipeline

namespace {

class PixArtAlphaImagePipeline : public ImagePipeline {
 public:
  PixArtAlphaImagePipeline(const ModelFolder& folder, const ComputeTarget& target,
                           const std::string& variant)
      : pipeline_(PixArtAlphaPipeline::load(folder, {target, variant})) {
    current_scheduler_ = pipeline_.default_scheduler();
    info_.pipeline_class = folder.pipeline_class;
    info_.family = "PixArt-α";
    info_.model_name = folder.name;
    info_.model_dir = folder.dir;
    info_.device = target.device.str();
    info_.dtype = dtype_name(target.dtype);
    info_.takes_prompt = true;
    info_.takes_negative_prompt = true;
    info_.takes_guidance = true;
    info_.fixed_size = false;
    info_.size_multiple = 8 * pipeline_.patch_multiple();
    info_.schedulers = {
        "DPMSolverMultistepScheduler",     "DDIMScheduler", "EulerDiscreteScheduler",
        "EulerAncestralDiscreteScheduler", "PNDMScheduler", "LMSDiscreteScheduler",
        "HeunDiscreteScheduler",           "DDPMScheduler"};
    // diffusers' PixArtAlphaPipeline.__call__: 20 steps, guidance 4.5, eta 0, the transformer's
    // sample size times the VAE's factor; the folder's scheduler.
    PipelineDefaults& defaults = info_.pipeline_defaults;
    defaults.scheduler = scheduler_class_for(pipeline_.default_scheduler());
    defaults.steps = 20;
    defaults.guidance_scale = 4.5;
    defaults.width = pipeline_.default_width();
    defaults.height = pipeline_.default_height();
    info_.model_defaults = read_folder_model_defaults(folder.dir);
    fill_default_summary(info_);
    info_.parameters = pipeline_.parameter_count();
  }

  const PipelineInfo& info() const override { return info_; }

  GenerationResult generate(const GenerationRequest& request, const RunControl& control) override {
    if (!request.class_labels.empty()) {
      throw Error(info_.model_name + " is a text-to-image model: it takes prompts, not classes");
    }
    if (request.clip_skip > 0) {
      throw Error(info_.model_name + " reads prompts with T5: clip skip is for CLIP text encoders");
    }
    PixArtAlphaRequest r;
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
    r.num_inference_steps = resolved.steps.value;
    r.width = resolved.width.value;
    r.height = resolved.height.value;
    if (resolved.eta) r.eta = resolved.eta->value;
    r.seed = request.seed;
    r.seeds = request.seeds;
    r.latents = request.init_latents;
    r.use_resolution_binning = request.resolution_binning;
    use_scheduler(resolved.scheduler.value, request.scheduler_overrides);

    PixArtAlphaOutput out = pipeline_(r, control);
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
      if (out.generated_width != p.width || out.generated_height != p.height) {
        // Made at the aspect-ratio bin and resized: the size the transformer saw.
        p.extra["generated_size"] = Json::array({out.generated_width, out.generated_height});
      }
      if (request.resolution_binning && !*request.resolution_binning) {
        p.extra["resolution_binning"] = false;
      }
      if (r.latents.defined()) p.extra["init_latents"] = true;
      note_compute_target(info_, p);
      result.parameters.push_back(std::move(p));
    }
    return result;
  }

  at::Tensor preview(const StepEvent& event) const override {
    const at::Tensor& x = event.pred_x0.defined() ? event.pred_x0 : event.sample;
    return latent_preview(x, pipeline_.vae_scale_factor());
  }

  at::Tensor full_preview(const StepEvent& event) const override {
    const at::Tensor& x = event.pred_x0.defined() ? event.pred_x0 : event.sample;
    return pipeline_.decode_latents(x);
  }

  PromptTokenCounter prompt_token_counter() const override {
    // What encode_prompt feeds T5: the lower()ed, stripped text with </s>, untruncated (more than
    // 120 is cut off).
    return [tokenizer = pipeline_.tokenizer()](const std::string& prompt) {
      PromptTokenCount count;
      count.tokens = static_cast<int64_t>(
          tokenizer(T5Tokenizer::pipeline_text(prompt), 0, false, false).input_ids.size());
      count.limit = 120;
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

  PixArtAlphaPipeline pipeline_;
  PipelineInfo info_;
  std::string current_scheduler_;
  Json current_overrides_ = Json::object();
};

}  // namespace

std::unique_ptr<ImagePipeline> make_pixart_alpha_image_pipeline(const ModelFolder& folder,
                                                                const ComputeTarget& target,
                                                                const std::string& variant) {
  return std::make_unique<PixArtAlphaImagePipeline>(folder, target, variant);
}

}  // namespace papillon
