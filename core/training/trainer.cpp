#include "core/training/trainer.h"

#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>

#include "core/io/safetensors.h"
#include "core/pipelines/image_grid.h"
#include "core/pipelines/pipeline_ddpm.h"
#include "core/schedulers/scheduler_factory.h"
#include "core/schedulers/scheduling_ddpm.h"
#include "core/training/checkpoint.h"
#include "core/training/dataset.h"
#include "core/training/optimization.h"
#include "core/util/error.h"

namespace papillon {
namespace fs = std::filesystem;

// ------------------------------------------------------------------------------------------ config

namespace {

// Keys that may differ between a run and its resumption (they do not change the numbers).
const char* const kFreeKeys[] = {
    "output_dir",       "checkpoint_every", "sample_every",  "sample_count",      "sample_seed",
    "sample_steps",     "sample_guidance",  "weights_dtype", "default_scheduler", "default_steps",
    "default_guidance", "default_eta",      "device",        "mixed_precision"};

}  // namespace

Json TrainerConfig::to_json() const {
  Json j;
  j["resolution"] = resolution;
  j["preset"] = preset;
  j["unet"] = unet ? unet->to_json() : Json(nullptr);
  j["class_conditional"] = class_conditional;
  j["label_dropout"] = label_dropout;
  j["prediction_type"] = prediction_type;
  j["ddpm_num_steps"] = ddpm_num_steps;
  j["ddpm_beta_schedule"] = ddpm_beta_schedule;
  j["learning_rate"] = learning_rate;
  j["adam_beta1"] = adam_beta1;
  j["adam_beta2"] = adam_beta2;
  j["adam_weight_decay"] = adam_weight_decay;
  j["adam_epsilon"] = adam_epsilon;
  j["lr_scheduler"] = lr_scheduler;
  j["lr_warmup_steps"] = lr_warmup_steps;
  j["max_grad_norm"] = max_grad_norm;
  j["use_ema"] = use_ema;
  j["ema_inv_gamma"] = ema_inv_gamma;
  j["ema_power"] = ema_power;
  j["ema_max_decay"] = ema_max_decay;
  j["batch_size"] = batch_size;
  j["max_steps"] = max_steps;
  j["epochs"] = epochs;
  j["seed"] = seed;
  j["random_flip"] = random_flip;
  j["output_dir"] = output_dir;
  j["checkpoint_every"] = checkpoint_every;
  j["sample_every"] = sample_every;
  j["sample_count"] = sample_count;
  j["sample_seed"] = sample_seed;
  j["sample_steps"] = sample_steps;
  j["sample_guidance"] = sample_guidance;
  j["weights_dtype"] = weights_dtype;
  j["default_scheduler"] = default_scheduler;
  j["default_steps"] = default_steps;
  j["default_guidance"] = default_guidance;
  j["default_eta"] = default_eta;
  j["device"] = device;
  j["mixed_precision"] = mixed_precision;
  return j;
}

TrainerConfig TrainerConfig::from_json(const Json& json, const std::string& source) {
  const ConfigReader r(json, source);
  TrainerConfig c;
  c.resolution = r.get_int("resolution", c.resolution);
  c.preset = r.get_string("preset", c.preset);
  if (r.has("unet")) c.unet = UNet2DModelConfig::from_json(json.at("unet"), source + ": unet");
  c.class_conditional = r.get_bool("class_conditional", c.class_conditional);
  c.label_dropout = r.get_double("label_dropout", c.label_dropout);
  c.prediction_type = r.get_string("prediction_type", c.prediction_type);
  c.ddpm_num_steps = r.get_int("ddpm_num_steps", c.ddpm_num_steps);
  c.ddpm_beta_schedule = r.get_string("ddpm_beta_schedule", c.ddpm_beta_schedule);
  c.learning_rate = r.get_double("learning_rate", c.learning_rate);
  c.adam_beta1 = r.get_double("adam_beta1", c.adam_beta1);
  c.adam_beta2 = r.get_double("adam_beta2", c.adam_beta2);
  c.adam_weight_decay = r.get_double("adam_weight_decay", c.adam_weight_decay);
  c.adam_epsilon = r.get_double("adam_epsilon", c.adam_epsilon);
  c.lr_scheduler = r.get_string("lr_scheduler", c.lr_scheduler);
  c.lr_warmup_steps = r.get_int("lr_warmup_steps", c.lr_warmup_steps);
  c.max_grad_norm = r.get_double("max_grad_norm", c.max_grad_norm);
  c.use_ema = r.get_bool("use_ema", c.use_ema);
  c.ema_inv_gamma = r.get_double("ema_inv_gamma", c.ema_inv_gamma);
  c.ema_power = r.get_double("ema_power", c.ema_power);
  c.ema_max_decay = r.get_double("ema_max_decay", c.ema_max_decay);
  c.batch_size = r.get_int("batch_size", c.batch_size);
  c.max_steps = r.get_int("max_steps", c.max_steps);
  c.epochs = r.get_int("epochs", c.epochs);
  if (r.has("seed")) c.seed = json.at("seed").get<uint64_t>();
  c.random_flip = r.get_bool("random_flip", c.random_flip);
  c.output_dir = r.get_string("output_dir", c.output_dir);
  c.checkpoint_every = r.get_int("checkpoint_every", c.checkpoint_every);
  c.sample_every = r.get_int("sample_every", c.sample_every);
  c.sample_count = r.get_int("sample_count", c.sample_count);
  if (r.has("sample_seed")) c.sample_seed = json.at("sample_seed").get<uint64_t>();
  c.sample_steps = r.get_int("sample_steps", c.sample_steps);
  c.sample_guidance = r.get_double("sample_guidance", c.sample_guidance);
  c.weights_dtype = r.get_string("weights_dtype", c.weights_dtype);
  c.default_scheduler = r.get_string("default_scheduler", c.default_scheduler);
  c.default_steps = r.get_int("default_steps", c.default_steps);
  c.default_guidance = r.get_double("default_guidance", c.default_guidance);
  c.default_eta = r.get_double("default_eta", c.default_eta);
  c.device = r.get_string("device", c.device);
  c.mixed_precision = r.get_string("mixed_precision", c.mixed_precision);
  return c;
}

UNet2DModelConfig unet_preset(const std::string& preset, int64_t resolution, int64_t channels,
                              int64_t num_class_embeds) {
  UNet2DModelConfig c;
  c.sample_size = {resolution};
  c.in_channels = channels;
  c.out_channels = channels;
  if (preset == "small") {
    // Three levels (R, R/2, R/4), attention only at the lowest one: ~2M parameters.
    c.block_out_channels = {32, 64, 128};
    c.down_block_types = {"DownBlock2D", "DownBlock2D", "AttnDownBlock2D"};
    c.up_block_types = {"AttnUpBlock2D", "UpBlock2D", "UpBlock2D"};
    c.layers_per_block = 1;
    c.norm_num_groups = 16;
    c.attention_head_dim = 32;
  } else if (preset == "tiny") {
    // The same shape at a quarter of the width (~0.5M parameters): the bundled Fashion-MNIST model,
    // trainable in an hour on a shared laptop-class CPU.
    c.block_out_channels = {16, 32, 64};
    c.down_block_types = {"DownBlock2D", "DownBlock2D", "AttnDownBlock2D"};
    c.up_block_types = {"AttnUpBlock2D", "UpBlock2D", "UpBlock2D"};
    c.layers_per_block = 1;
    c.norm_num_groups = 8;
    c.attention_head_dim = 16;
  } else if (preset == "butterflies") {
    // train_unconditional.py's UNet.
    c.block_out_channels = {128, 128, 256, 256, 512, 512};
    c.down_block_types = {"DownBlock2D", "DownBlock2D",     "DownBlock2D",
                          "DownBlock2D", "AttnDownBlock2D", "DownBlock2D"};
    c.up_block_types = {"UpBlock2D", "AttnUpBlock2D", "UpBlock2D",
                        "UpBlock2D", "UpBlock2D",     "UpBlock2D"};
    c.layers_per_block = 2;
  } else {
    throw Error("unknown preset '" + preset + "' (tiny, small, butterflies)");
  }
  const int64_t factor = int64_t(1) << (c.block_out_channels.size() - 1);
  if (resolution % factor != 0) {
    throw Error("preset " + preset + " halves the image " +
                std::to_string(c.block_out_channels.size() - 1) +
                " times: the resolution must be a multiple of " + std::to_string(factor) +
                ", got " + std::to_string(resolution));
  }
  if (num_class_embeds > 0) c.num_class_embeds = num_class_embeds;
  c.validate("preset " + preset);
  return c;
}

std::string checkpoint_dir(const std::string& output_dir) {
  return (fs::path(output_dir) / "checkpoint").string();
}

// ----------------------------------------------------------------------------------------- trainer

namespace {

uint64_t mix_seed(uint64_t seed, uint64_t stream, uint64_t index) {
  // splitmix64 over (seed, stream, index): independent, reproducible generator seeds.
  uint64_t z = seed ^ (stream * 0x9E3779B97F4A7C15ULL) ^ (index * 0xBF58476D1CE4E5B9ULL);
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

constexpr uint64_t kStepStream = 1, kEpochStream = 2, kInitStream = 3;

std::mutex& global_rng_mutex() {
  static std::mutex m;
  return m;
}

TensorList module_tensors(torch::nn::Module& m) {
  TensorList out;
  for (const auto& p : m.named_parameters())
    out.emplace_back(p.key(), p.value());
  for (const auto& b : m.named_buffers())
    out.emplace_back(b.key(), b.value());
  return out;
}

}  // namespace

// Mixed precision on CUDA: autocast around the forward pass, as accelerate does. The API moved in
// LibTorch 2.4 (per-device setters); older releases have the GPU-only ones.
class AutocastScope {
 public:
  explicit AutocastScope(std::optional<at::ScalarType> dtype) : active_(dtype.has_value()) {
    if (!active_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    was_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
    previous_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_dtype(at::kCUDA, *dtype);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
    was_enabled_ = at::autocast::is_enabled();
    previous_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(*dtype);
    at::autocast::set_enabled(true);
#endif
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!active_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCUDA, was_enabled_);
    at::autocast::set_autocast_dtype(at::kCUDA, previous_);
#else
    at::autocast::set_enabled(was_enabled_);
    at::autocast::set_autocast_gpu_dtype(previous_);
#endif
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_;
  bool was_enabled_ = false;
  at::ScalarType previous_ = at::kHalf;
};

// torch.cuda.amp.GradScaler's dynamic loss scale for fp16: scale the loss, unscale the gradients,
// skip the step when they are not finite (and halve the scale), double it after 2000 good steps.
struct LossScaler {
  double scale = 65536.0;
  int64_t good_steps = 0;
  static constexpr int64_t kGrowthInterval = 2000;

  // Unscales the gradients in place; false when they hold inf/NaN (the step must be skipped).
  bool unscale(const std::vector<at::Tensor>& params) {
    torch::NoGradGuard no_grad;
    bool finite = true;
    for (const auto& p : params) {
      if (!p.grad().defined()) continue;
      p.mutable_grad().mul_(1.0 / scale);
      finite = finite && torch::isfinite(p.grad()).all().item<bool>();
    }
    return finite;
  }
  void update(bool finite) {
    if (!finite) {
      scale *= 0.5;
      good_steps = 0;
    } else if (++good_steps == kGrowthInterval) {
      scale *= 2.0;
      good_steps = 0;
    }
  }
};

struct Trainer::Impl {
  TrainerConfig config;
  torch::Device device{torch::kCPU};
  std::optional<at::ScalarType> autocast_dtype;  // CUDA mixed precision
  std::optional<LossScaler> scaler;              // fp16 only
  std::shared_ptr<const Dataset> dataset;
  UNet2DModelConfig unet_config;
  UNet2DModel model{nullptr};
  std::vector<std::string> param_names;
  std::vector<at::Tensor> params;
  std::unique_ptr<AdamW> optimizer;
  std::unique_ptr<EMAModel> ema;
  std::unique_ptr<DDPMScheduler> noise_scheduler;
  at::Tensor alphas_cumprod;
  int64_t num_classes = 0;
  int64_t total_steps = 0;
  int64_t steps_per_epoch = 0;
  int64_t step = 0;
  std::vector<double> losses, lrs;
  int64_t cached_epoch = -1;
  at::Tensor epoch_order;

  Json scheduler_json() const {
    Json j = noise_scheduler->config();
    j["_diffusers_version"] = "0.27.2";
    return j;
  }

  void batch_indices(int64_t s, std::vector<int64_t>* out) {
    const int64_t epoch = s / steps_per_epoch;
    const int64_t k = s % steps_per_epoch;
    if (epoch != cached_epoch) {
      at::Generator g =
          at::detail::createCPUGenerator(mix_seed(config.seed, kEpochStream, uint64_t(epoch)));
      epoch_order = at::randperm(dataset->size(), g, torch::kLong);
      cached_epoch = epoch;
    }
    const int64_t begin = k * config.batch_size;
    const int64_t end = std::min(dataset->size(), begin + config.batch_size);
    out->clear();
    const int64_t* order = epoch_order.data_ptr<int64_t>();
    for (int64_t i = begin; i < end; ++i)
      out->push_back(order[i]);
  }

  UNet2DModel copy_with(const std::vector<at::Tensor>& weights) const {
    UNet2DModel copy(unet_config);
    torch::NoGradGuard no_grad;
    auto named = copy->named_parameters();
    for (size_t i = 0; i < param_names.size(); ++i)
      named[param_names[i]].copy_(weights[i]);
    auto src_buffers = model->named_buffers();
    for (auto& b : copy->named_buffers())
      b.value().copy_(src_buffers[b.key()]);
    copy->eval();
    return copy;
  }
};

Trainer::Trainer(TrainerConfig config, std::shared_ptr<const Dataset> dataset, bool resume)
    : impl_(std::make_unique<Impl>()) {
  auto& d = *impl_;
  d.config = std::move(config);
  d.dataset = std::move(dataset);
  const TrainerConfig& c = d.config;
  if (!d.dataset || d.dataset->size() == 0) throw Error("the training data set is empty");
  if (c.output_dir.empty()) throw Error("no output folder given");
  if (c.batch_size < 1) throw Error("batch size must be at least 1");
  if (c.resolution != d.dataset->resolution()) {
    throw Error("the data set has " + std::to_string(d.dataset->resolution()) +
                " px images, the trainer expects " + std::to_string(c.resolution));
  }
  if (c.prediction_type != "epsilon" && c.prediction_type != "v_prediction" &&
      c.prediction_type != "sample") {
    throw Error("prediction type must be epsilon, v_prediction or sample, got '" +
                c.prediction_type + "'");
  }
  if (c.weights_dtype != "fp32" && c.weights_dtype != "fp16") {
    throw Error("weights dtype must be fp32 or fp16, got '" + c.weights_dtype + "'");
  }
  if (c.device == "cuda") {
    if (!torch::cuda::is_available()) {
      throw Error(
          "device cuda: this LibTorch has no CUDA, or no GPU is visible (use --device cpu)");
    }
    d.device = torch::Device(torch::kCUDA);
  } else if (c.device != "cpu") {
    throw Error("device must be cpu or cuda, got '" + c.device + "'");
  }
  if (c.mixed_precision == "fp16" || c.mixed_precision == "bf16") {
    if (!d.device.is_cuda()) {
      throw Error("mixed precision " + c.mixed_precision +
                  " needs the cuda device (on the CPU, train in fp32)");
    }
    d.autocast_dtype = c.mixed_precision == "fp16" ? at::kHalf : at::kBFloat16;
    if (c.mixed_precision == "fp16") d.scaler.emplace();
  } else if (c.mixed_precision != "no") {
    throw Error("mixed precision must be no, fp16 or bf16, got '" + c.mixed_precision + "'");
  }
  if (c.class_conditional) {
    d.num_classes = static_cast<int64_t>(d.dataset->class_names().size());
    if (d.num_classes == 0) throw Error(d.dataset->description() + " has no class labels");
  }
  d.unet_config = c.unet ? *c.unet
                         : unet_preset(c.preset, c.resolution, d.dataset->channels(),
                                       c.class_conditional ? d.num_classes + 1 : 0);
  if (c.class_conditional && d.unet_config.num_class_embeds.value_or(0) != d.num_classes + 1) {
    throw Error("a class-conditional UNet needs num_class_embeds = classes + 1 = " +
                std::to_string(d.num_classes + 1));
  }
  d.steps_per_epoch = (d.dataset->size() + c.batch_size - 1) / c.batch_size;
  d.total_steps = c.max_steps > 0 ? c.max_steps : c.epochs * d.steps_per_epoch;
  if (d.total_steps < 1) throw Error("nothing to train: give steps or epochs");

  {  // Parameter initialisation draws from the global generator: seed it, one trainer at a time.
    std::lock_guard<std::mutex> lock(global_rng_mutex());
    torch::manual_seed(mix_seed(c.seed, kInitStream, 0));
    d.model = UNet2DModel(d.unet_config);
  }
  d.model->to(d.device);
  d.model->train();
  for (const auto& p : d.model->named_parameters()) {
    d.param_names.push_back(p.key());
    d.params.push_back(p.value());
  }
  AdamWOptions adam;
  adam.lr = c.learning_rate;
  adam.beta1 = c.adam_beta1;
  adam.beta2 = c.adam_beta2;
  adam.weight_decay = c.adam_weight_decay;
  adam.eps = c.adam_epsilon;
  d.optimizer = std::make_unique<AdamW>(d.params, adam);
  EMAOptions ema;
  ema.decay = c.ema_max_decay;
  ema.inv_gamma = c.ema_inv_gamma;
  ema.power = c.ema_power;
  if (c.use_ema) d.ema = std::make_unique<EMAModel>(d.params, ema);

  DDPMSchedulerConfig sc;
  sc.beta.num_train_timesteps = c.ddpm_num_steps;
  sc.beta.beta_schedule = c.ddpm_beta_schedule;
  sc.prediction_type = c.prediction_type;
  d.noise_scheduler = std::make_unique<DDPMScheduler>(sc);
  d.alphas_cumprod = d.noise_scheduler->alphas_cumprod().to(torch::kFloat);

  const std::string ckpt = find_complete_folder(checkpoint_dir(c.output_dir));
  if (!resume || ckpt.empty()) return;
  // Resume: the numbers-changing settings must match the checkpoint's.
  const std::string state_json = ckpt + "/training_state.json";
  const Json state = read_json_file(state_json);
  Json saved = state.at("config");
  Json now = c.to_json();
  for (const char* key : kFreeKeys) {
    saved.erase(key);
    now.erase(key);
  }
  for (auto it = now.begin(); it != now.end(); ++it) {
    if (!saved.contains(it.key()) || saved.at(it.key()) != it.value()) {
      throw Error(state_json + ": cannot resume: " + it.key() + " was " +
                  (saved.contains(it.key()) ? saved.at(it.key()).dump() : "unset") + ", now " +
                  it.value().dump());
    }
  }
  if (state.at("dataset_size").get<int64_t>() != d.dataset->size()) {
    throw Error(state_json + ": cannot resume: the data set had " +
                state.at("dataset_size").dump() + " images, now " +
                std::to_string(d.dataset->size()));
  }
  const std::string tensors_path = ckpt + "/training_state.safetensors";
  const SafetensorsFile file = SafetensorsFile::open(tensors_path);
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> shadow;
  TensorList adam_state;
  for (size_t i = 0; i < d.params.size(); ++i) {
    file.read_into("model." + d.param_names[i], d.params[i]);
    if (d.ema) shadow.push_back(file.get("ema." + d.param_names[i]));
  }
  for (const auto& e : file.entries()) {
    if (e.name.rfind("adam.", 0) == 0) adam_state.emplace_back(e.name.substr(5), file.get(e.name));
  }
  d.optimizer->load_state(adam_state, state.at("adam_steps").get<int64_t>(), tensors_path);
  if (d.ema) d.ema->load(shadow, state.at("ema_step").get<int64_t>(), tensors_path);
  d.step = state.at("step").get<int64_t>();
  d.losses = state.at("losses").get<std::vector<double>>();
  d.lrs = state.at("lrs").get<std::vector<double>>();
  if (static_cast<int64_t>(d.losses.size()) != d.step) {
    throw Error(state_json + ": the loss history does not match the step count");
  }
}

Trainer::~Trainer() = default;

int64_t Trainer::total_steps() const {
  return impl_->total_steps;
}
int64_t Trainer::steps_done() const {
  return impl_->step;
}
const std::vector<double>& Trainer::losses() const {
  return impl_->losses;
}
const UNet2DModelConfig& Trainer::unet_config() const {
  return impl_->unet_config;
}
int64_t Trainer::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : impl_->params)
    n += p.numel();
  return n;
}

UNet2DModel Trainer::model() const {
  return impl_->copy_with(impl_->params);
}
UNet2DModel Trainer::ema_model() const {
  return impl_->copy_with(impl_->ema ? impl_->ema->shadow() : impl_->params);
}

TrainResult Trainer::train(const TrainerCallbacks& callbacks) {
  auto& d = *impl_;
  const TrainerConfig& c = d.config;
  TrainResult result;
  result.total_steps = d.total_steps;
  std::vector<int64_t> indices;
  int64_t last_checkpoint = d.step;
  d.model->train();
  while (d.step < d.total_steps) {
    if (callbacks.cancel.cancelled()) {
      result.cancelled = true;
      break;
    }
    // All randomness of a step comes from a generator seeded by (seed, step): a resumed run draws
    // exactly what an uninterrupted one does.
    at::Generator gen =
        at::detail::createCPUGenerator(mix_seed(c.seed, kStepStream, uint64_t(d.step)));
    d.batch_indices(d.step, &indices);
    at::Tensor images, labels;
    d.dataset->get_batch(indices, &images, &labels);
    const int64_t bsz = images.size(0);
    const auto cpu = torch::TensorOptions().dtype(torch::kFloat);
    if (c.random_flip) {
      const at::Tensor flip = at::rand({bsz}, gen, cpu) < 0.5;
      images = torch::where(flip.view({bsz, 1, 1, 1}), images.flip({3}), images);
    }
    at::Tensor class_labels;
    if (d.num_classes > 0) {
      const at::Tensor drop = at::rand({bsz}, gen, cpu) < c.label_dropout;
      class_labels = torch::where(drop, torch::full_like(labels, d.num_classes), labels);
    }
    const at::Tensor noise = at::randn(images.sizes(), gen, cpu);
    const at::Tensor timesteps = at::randint(0, c.ddpm_num_steps, {bsz}, gen, torch::kLong);
    const at::Tensor noisy = d.noise_scheduler->add_noise(images, noise, timesteps);

    // The draws above are on the CPU (device-independent runs); the model works on its device.
    const torch::Device dev = d.device;
    at::Tensor output;
    {
      AutocastScope autocast(d.autocast_dtype);
      output = d.model->forward(noisy.to(dev), timesteps.to(dev),
                                class_labels.defined() ? class_labels.to(dev) : class_labels);
    }
    output = output.to(torch::kFloat);
    at::Tensor loss;
    if (c.prediction_type == "epsilon") {
      loss = torch::mse_loss(output, noise.to(dev));
    } else if (c.prediction_type == "v_prediction") {
      const at::Tensor a = d.alphas_cumprod.index_select(0, timesteps).view({bsz, 1, 1, 1});
      const at::Tensor velocity = a.sqrt() * noise - (1 - a).sqrt() * images;
      loss = torch::mse_loss(output, velocity.to(dev));
    } else {  // "sample": train_unconditional.py's SNR-weighted x0 loss
      const at::Tensor a = d.alphas_cumprod.index_select(0, timesteps).view({bsz, 1, 1, 1});
      loss =
          ((a / (1 - a)).to(dev) * torch::mse_loss(output, images.to(dev), torch::Reduction::None))
              .mean();
    }
    d.optimizer->zero_grad();
    if (d.scaler) {
      (loss * d.scaler->scale).backward();
    } else {
      loss.backward();
    }
    // fp16: unscale before clipping; a step with inf/NaN gradients is skipped (GradScaler).
    const bool finite = d.scaler ? d.scaler->unscale(d.params) : true;
    if (d.scaler) d.scaler->update(finite);
    TrainStep ts;
    ts.grad_norm = finite && c.max_grad_norm > 0 ? clip_grad_norm(d.params, c.max_grad_norm) : 0.0;
    // LambdaLR: optimiser step k (0-based) runs with base_lr * lambda(k).
    ts.lr =
        c.learning_rate * lr_multiplier(c.lr_scheduler, d.step, c.lr_warmup_steps, d.total_steps);
    if (finite) d.optimizer->step(ts.lr);
    d.optimizer->zero_grad();
    if (d.ema) d.ema->step(d.params);
    ++d.step;
    ts.step = d.step;
    ts.total_steps = d.total_steps;
    ts.loss = loss.item<double>();
    d.losses.push_back(ts.loss);
    d.lrs.push_back(ts.lr);
    if (callbacks.on_step) callbacks.on_step(ts);
    if (c.checkpoint_every > 0 && d.step % c.checkpoint_every == 0 && d.step < d.total_steps) {
      const std::string dir = save_checkpoint();
      last_checkpoint = d.step;
      if (callbacks.on_checkpoint) callbacks.on_checkpoint(d.step, dir);
    }
    if (c.sample_every > 0 && d.step % c.sample_every == 0 && callbacks.on_sample) {
      callbacks.on_sample(d.step, sample_grid());
      d.model->train();
    }
  }
  if (d.step != last_checkpoint || d.step == d.total_steps) {
    const std::string dir = save_checkpoint();
    if (callbacks.on_checkpoint) callbacks.on_checkpoint(d.step, dir);
  }
  result.checkpoint_dir = checkpoint_dir(c.output_dir);
  result.steps_done = d.step;
  result.losses = d.losses;
  return result;
}

at::Tensor Trainer::sample_grid() {
  auto& d = *impl_;
  const TrainerConfig& c = d.config;
  DDPMPipeline pipe = DDPMPipeline::from_components(
      ema_model(), make_scheduler("DDIMScheduler", d.scheduler_json()), ComputeTarget{});
  UnconditionalRequest r;
  r.batch_size = c.sample_count;
  r.seed = c.sample_seed;
  r.num_inference_steps = c.sample_steps;
  if (d.num_classes > 0) {
    for (int64_t i = 0; i < c.sample_count; ++i)
      r.class_labels.push_back(i % d.num_classes);
    r.guidance_scale = c.sample_guidance;
    r.null_class = d.num_classes;
  }
  const UnconditionalOutput out = pipe(r, RunControl{});
  GridOptions grid;
  grid.columns = d.num_classes > 0 ? d.num_classes : 8;
  return make_grid(out.images, grid);
}

std::string Trainer::save_checkpoint() {
  auto& d = *impl_;
  const TrainerConfig& c = d.config;
  const std::string dir = checkpoint_dir(c.output_dir);
  // The CSV loss curve beside the checkpoint, for plots.
  std::string csv = "step,loss,lr\n";
  for (size_t i = 0; i < d.losses.size(); ++i) {
    std::ostringstream line;
    line.precision(9);
    line << (i + 1) << "," << d.losses[i] << "," << d.lrs[i] << "\n";
    csv += line.str();
  }
  write_folder_atomically(dir, [&](const std::string& tmp) {
    fs::create_directories(tmp + "/unet");
    fs::create_directories(tmp + "/scheduler");
    Json index;
    index["_class_name"] = "DDPMPipeline";
    index["_diffusers_version"] = "0.27.2";
    index["scheduler"] = {"diffusers", "DDPMScheduler"};
    index["unet"] = {"diffusers", "UNet2DModel"};
    write_text_file_atomically(tmp + "/model_index.json", index.dump(2) + "\n");
    write_text_file_atomically(tmp + "/scheduler/scheduler_config.json",
                               d.scheduler_json().dump(2) + "\n");
    write_text_file_atomically(tmp + "/unet/config.json", d.unet_config.to_json().dump(2) + "\n");
    UNet2DModel ema = ema_model();
    TensorList weights = module_tensors(*ema);
    if (c.weights_dtype == "fp16") {
      for (auto& w : weights)
        if (w.second.is_floating_point()) w.second = w.second.to(torch::kHalf);
    }
    save_safetensors(tmp + "/unet/diffusion_pytorch_model.safetensors", weights,
                     {{"format", "pt"}});
    Json info;
    info["trained_with"] = "papillon train";
    info["steps"] = d.step;
    info["default_scheduler"] = c.default_scheduler;
    info["default_steps"] = c.default_steps;
    if (c.default_eta != 0.0) info["default_eta"] = c.default_eta;
    if (d.num_classes > 0) {
      info["class_names"] = d.dataset->class_names();
      info["null_class"] = d.num_classes;
      info["default_guidance"] = c.default_guidance;
    }
    write_text_file_atomically(tmp + "/papillon.json", info.dump(2) + "\n");
    // Training state, to resume.
    TensorList state;
    for (size_t i = 0; i < d.params.size(); ++i) {
      state.emplace_back("model." + d.param_names[i], d.params[i].detach().to(torch::kCPU));
      if (d.ema) state.emplace_back("ema." + d.param_names[i], d.ema->shadow()[i].to(torch::kCPU));
    }
    for (auto& [name, t] : d.optimizer->state())
      state.emplace_back("adam." + name, t.to(torch::kCPU));
    save_safetensors(tmp + "/training_state.safetensors", state);
    Json s;
    s["step"] = d.step;
    s["total_steps"] = d.total_steps;
    s["adam_steps"] = d.optimizer->steps();
    s["ema_step"] = d.ema ? d.ema->optimization_step() : 0;
    s["config"] = c.to_json();
    s["dataset"] = d.dataset->description();
    s["dataset_size"] = d.dataset->size();
    s["losses"] = d.losses;
    s["lrs"] = d.lrs;
    write_text_file_atomically(tmp + "/training_state.json", s.dump() + "\n");
    write_text_file_atomically(tmp + "/loss.csv", csv);
  });
  write_text_file_atomically((fs::path(c.output_dir) / "loss.csv").string(), csv);
  return dir;
}

}  // namespace papillon
