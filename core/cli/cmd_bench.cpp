// papillon-cli bench: speed of full-size models with random weights, with FLOP utilisation measured
// against the sgemm rate of the same run on the same threads.
#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>

#include <sys/resource.h>
#include <unistd.h>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/cli/progress.h"
#include "core/io/safetensors.h"
#include "core/models/attention.h"
#include "core/models/autoencoder_kl.h"
#include "core/models/clip_text_model.h"
#include "core/models/conv.h"
#include "core/models/unet_2d.h"
#include "core/models/unet_2d_condition.h"
#include "core/pipelines/pipeline_ddpm.h"
#include "core/pipelines/pipeline_stable_diffusion.h"
#ifdef PAPILLON_WITH_QT_RUNTIME
#include "core/runtime/png_io.h"
#endif
#include "core/schedulers/scheduler.h"
#include "core/schedulers/scheduler_factory.h"
#include "core/util/device.h"
#include "core/util/environment.h"
#include "core/util/error.h"
#include "core/util/flop_counter.h"
#include "core/util/op_profiler.h"
#include "papillon/build_config.h"

namespace papillon::cli {

const char* const kBenchUsage =
    "usage: papillon-cli bench unet2d|sd|load [options]\n\n"
    "  unet2d                   UNet2DModel from the ddpm-butterflies-32px config, random weights\n"
    "  sd                       Stable Diffusion 1.5 (bench/configs/stable-diffusion-v1-5), "
    "random\n"
    "                           weights: text encoder, one UNet step at 512x512 with CFG (batch "
    "2),\n"
    "                           VAE decode of 64x64 latents; ms, GFLOP, utilisation, peak RSS\n"
    "  load                     loading Stable Diffusion 1.5's text encoder, UNet and VAE from\n"
    "                           safetensors files (written first, random weights, into --dir or\n"
    "                           a temporary folder, so the page cache is warm): s and GB/s\n"
    "  --dir DIR                (load) where the weights go; kept, and reused when present\n"
    "  --fp16                   (load) write fp16 files (loaded into fp32 models)\n"
    "  --config DIR             a diffusers pipeline folder of configs (default: "
    "bench/configs/...)\n"
    "  --batch B                batch size (default 8)\n"
    "  --iters N                timed forward passes after one warm-up (default 3)\n"
    "  --steps K                DDPM steps actually run; the 1000-step time is extrapolated "
    "(default 10)\n"
    "  --full                   run all 1000 DDPM steps instead of extrapolating\n"
    "  --threads N              intra-op threads (default: all cores)\n"
    "  --device cpu|cuda        where unet2d / sd run (default cpu); the GEMM baseline runs there\n"
    "  --dtype fp32|fp16|bf16   their compute dtype (default fp32; the baseline GEMM uses it too)\n"
    "  --no-prepack             (unet2d) without conv weight pre-packing (see core/models/conv.h)\n"
    "  --profile                one more call of the UNet, timed per ATen op (where the time "
    "goes)\n"
    "  --json                   print the figures as JSON\n";

namespace {

namespace fs = std::filesystem;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Where the model benchmarks run (--device, --dtype).
ComputeTarget g_target;

// Waits for the device's queued work (CUDA runs asynchronously); nothing to do on the CPU.
void sync() {
  if (g_target.device.is_cuda()) torch::cuda::synchronize();
}

at::TensorOptions target_options() {
  return at::TensorOptions().device(g_target.device).dtype(g_target.dtype);
}

// GEMM rate of this process on the target (the CPU's current threads; the GPU) in the target
// dtype (or `dtype`): best of a few 2048^3 products (8192^3 on a GPU, which 2048^3 does not fill).
double measure_sgemm_gflops(std::optional<c10::ScalarType> dtype = std::nullopt) {
  const int64_t n = g_target.device.is_cuda() ? 8192 : 2048;
  const auto options = target_options().dtype(dtype.value_or(g_target.dtype));
  const auto a = torch::randn({n, n}).to(options);
  const auto b = torch::randn({n, n}).to(options);
  auto c = torch::mm(a, b);  // warm-up
  sync();
  double best = 1e30;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = Clock::now();
    c = torch::mm(a, b);
    sync();
    best = std::min(best, seconds_since(t0));
  }
  return 2.0 * n * n * n / best / 1e9;
}

// Peak resident set size of this process so far, in bytes (getrusage: kilobytes on Linux).
double peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) * 1024.0;
}

struct Timing {
  double gflop = 0;
  double ms = 0;  // median of the timed runs (the counted run's time when iters is 0)
  double build_s = 0;
  double peak_rss_gib = 0;
};

// One counted run (FLOPs, also the warm-up), then `iters` timed runs.
Timing time_call(const std::function<void()>& call, int64_t iters) {
  Timing t;
  {
    FlopCounter counter;
    const auto t0 = Clock::now();
    call();
    sync();
    t.ms = seconds_since(t0) * 1e3;
    t.gflop = counter.total() / 1e9;
  }
  std::vector<double> times;
  for (int64_t i = 0; i < iters; ++i) {
    const auto t0 = Clock::now();
    call();
    sync();
    times.push_back(seconds_since(t0) * 1e3);
  }
  if (!times.empty()) {
    std::sort(times.begin(), times.end());
    t.ms = times[times.size() / 2];
  }
  t.peak_rss_gib = peak_rss_bytes() / (1024.0 * 1024.0 * 1024.0);
  return t;
}

// Runs `call` once under an OpProfiler and prints the ops that took the most time.
void print_profile(const char* what, const std::function<void()>& call) {
  const auto t0 = Clock::now();
  std::vector<OpProfiler::Entry> entries;
  {
    OpProfiler profiler;
    call();
    entries = profiler.entries();
  }
  const double total = seconds_since(t0);
  std::printf("  profile of one %s: %.1f ms\n", what, total * 1e3);
  for (size_t i = 0; i < std::min<size_t>(entries.size(), 12); ++i) {
    const auto& e = entries[i];
    std::printf("    %-28s %6lld calls %10.1f ms %5.1f%%\n", e.op.c_str(),
                static_cast<long long>(e.calls), e.seconds * 1e3, 100.0 * e.seconds / total);
  }
}

int bench_sd(const Args& args) {
  const std::string dir = args.get_or(
      "config", std::string(PAPILLON_SOURCE_DIR) + "/bench/configs/stable-diffusion-v1-5");
  const int64_t iters = args.get_int("iters", 1, 0, 1000);
  set_thread_count(static_cast<int>(args.get_int("threads", 0, 0, 1024)));
  g_target = make_compute_target(args.get_or("device", "cpu"), args.get_or("dtype", "fp32"));
  prepare_device(g_target);  // fp32 on CUDA without TF32, as the pipelines run it
  c10::InferenceMode inference;
  torch::manual_seed(0);
  const double sgemm = measure_sgemm_gflops();
  // As the pipeline runs them: in fp16 / bf16 only the UNet is reduced; the text encoder and the
  // VAE stay fp32 (core/pipelines/pipeline_stable_diffusion.cpp), measured against an fp32 GEMM.
  const bool reduced = is_reduced_precision(g_target.dtype);
  const c10::ScalarType side = side_dtype(g_target.dtype);
  const double side_gemm = reduced ? measure_sgemm_gflops(side) : sgemm;
  const auto side_options = target_options().dtype(side);

  // Each model is built (default random init), measured and freed in turn, so the peak RSS is
  // the largest model's plus its activations.
  const std::string text_path = dir + "/text_encoder/config.json";
  const auto text_config = CLIPTextConfig::from_json(read_json_file(text_path), text_path);
  const std::string unet_path = dir + "/unet/config.json";
  const auto unet_config =
      UNet2DConditionModelConfig::from_json(read_json_file(unet_path), unet_path);
  const std::string vae_path = dir + "/vae/config.json";
  const auto vae_config = AutoencoderKLConfig::from_json(read_json_file(vae_path), vae_path);

  Timing text, unet_step, vae_decode;
  int64_t text_params = 0, unet_params = 0, vae_params = 0;
  const auto count = [](const torch::nn::Module& m) {
    int64_t n = 0;
    for (const auto& p : m.parameters())
      n += p.numel();
    return n;
  };
  {
    const auto t0 = Clock::now();
    CLIPTextModel model(text_config);
    model->eval();
    model->to(g_target.device, side);
    const double build_s = seconds_since(t0);
    text_params = count(*model);
    // prompt + negative prompt, 77 tokens each
    const auto ids =
        torch::randint(0, text_config.vocab_size, {2, 77}, torch::kLong).to(g_target.device);
    text = time_call([&] { model->forward(ids); }, std::max<int64_t>(iters, 3));
    text.build_s = build_s;
  }
  const int64_t size = 512 / vae_config.vae_scale_factor();
  {
    const auto t0 = Clock::now();
    UNet2DConditionModel model(unet_config);
    model->eval();
    model->to(g_target.device, g_target.dtype);
    const double build_s = seconds_since(t0);
    unet_params = count(*model);
    const auto x = torch::randn({2, unet_config.in_channels, size, size}).to(target_options());
    const auto t = torch::full({}, 981, torch::kLong);
    const auto context = torch::randn({2, 77, text_config.hidden_size}).to(target_options());
    // As the pipeline does around its denoising loop: one attention score buffer for all steps.
    const AttentionScratchScope attention_scratch;
    unet_step = time_call([&] { model->forward(x, t, context); }, iters);
    unet_step.build_s = build_s;
    if (args.has("profile")) {
      print_profile("UNet step 512x512 CFG", [&] { model->forward(x, t, context); });
    }
  }
  {
    const auto t0 = Clock::now();
    AutoencoderKL model(vae_config);
    model->eval();
    model->to(g_target.device, side);
    const double build_s = seconds_since(t0);
    vae_params = count(*model);
    const auto z = torch::randn({1, vae_config.latent_channels, size, size}).to(side_options);
    vae_decode = time_call([&] { model->decode(z); }, iters);
    vae_decode.build_s = build_s;
  }
  // The window's per-step preview of one image: the latent->RGB projection and the QImage.
  const auto latents = torch::randn({1, unet_config.in_channels, size, size});
  const Timing preview = time_call(
      [&] {
        const at::Tensor rgb = latent_preview(latents, vae_config.vae_scale_factor());
#ifdef PAPILLON_WITH_QT_RUNTIME
        tensor_to_qimage(rgb[0]);
#endif
      },
      20);
  const double peak = peak_rss_bytes() / (1024.0 * 1024.0 * 1024.0);
  const auto util = [&](const Timing& t) { return t.gflop / (t.ms / 1e3) / sgemm; };
  const auto side_util = [&](const Timing& t) { return t.gflop / (t.ms / 1e3) / side_gemm; };
  // One 512x512 image with 50 CFG steps, end to end as the pipeline runs it (scheduler and
  // preview costs are negligible next to these).
  const double image_s = (text.ms + 50 * unet_step.ms + vae_decode.ms) / 1e3;

  if (args.has("json")) {
    const auto part = [&](const Timing& t, int64_t params, double utilisation,
                          c10::ScalarType dtype) {
      return Json{{"parameters", params},
                  {"dtype", dtype_name(dtype)},
                  {"build_s", t.build_s},
                  {"ms", t.ms},
                  {"gflop", t.gflop},
                  {"flop_utilisation", utilisation},
                  {"peak_rss_gib_after", t.peak_rss_gib}};
    };
    const Json j = {
        {"model", "stable-diffusion-v1-5 (random weights)"},
        {"config", dir},
        {"threads", thread_count()},
        {"device", g_target.device.str()},
        {"dtype", dtype_name(g_target.dtype)},
        {"blas_core", blas_core_description()},
        {"sgemm_gflops", sgemm},
        {"fp32_gemm_gflops", side_gemm},
        {"text_encoder", part(text, text_params, side_util(text), side)},
        {"unet_step_cfg_512", part(unet_step, unet_params, util(unet_step), g_target.dtype)},
        {"vae_decode_512", part(vae_decode, vae_params, side_util(vae_decode), side)},
        {"image_50_steps_s", image_s},
        {"it_per_s_50_steps", 50.0 / image_s},
        {"preview_ms", preview.ms},
        {"preview_share_of_step", preview.ms / unet_step.ms},
        {"peak_rss_gib", peak}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("bench sd — %s (random weights, %s, %s)\n", dir.c_str(),
              dtype_name(g_target.dtype).c_str(), g_target.device.str().c_str());
  std::printf("  threads %d (OpenBLAS's own: %d), OpenBLAS core %s\n", thread_count(),
              blas_thread_count(), blas_core_description().c_str());
  std::printf("  GEMM baseline (%s, this run): %.1f GFLOP/s\n", dtype_name(g_target.dtype).c_str(),
              sgemm);
  if (reduced) {
    std::printf(
        "  GEMM baseline (fp32, this run): %.1f GFLOP/s (the text encoder and the VAE run "
        "in fp32, as in the pipeline)\n",
        side_gemm);
  }
  const auto line = [&](const char* what, const Timing& t, int64_t params, double utilisation,
                        c10::ScalarType dtype) {
    std::printf(
        "  %-34s %7.1f M params, %s, built in %.1f s: %9.1f ms, %7.1f GFLOP -> %6.1f GFLOP/s = "
        "%3.0f%% of its GEMM (peak RSS so far %.2f GiB)\n",
        what, params / 1e6, dtype_name(dtype).c_str(), t.build_s, t.ms, t.gflop,
        t.gflop / (t.ms / 1e3), utilisation * 100, t.peak_rss_gib);
  };
  line("text encoder (2 x 77 tokens)", text, text_params, side_util(text), side);
  line("UNet step 512x512, CFG batch 2", unet_step, unet_params, util(unet_step), g_target.dtype);
  line("VAE decode 64x64 -> 512x512", vae_decode, vae_params, side_util(vae_decode), side);
  std::printf("  one image, 50 steps, end to end: %.1f s = %.2f it/s\n", image_s, 50.0 / image_s);
#ifdef PAPILLON_WITH_QT_RUNTIME
  const char* preview_what = "latent->RGB + QImage";
#else
  const char* preview_what = "latent->RGB, no QImage in this build";
#endif
  std::printf("  preview per step (%s): %.2f ms = %.3f%% of a UNet step\n", preview_what,
              preview.ms, 100.0 * preview.ms / unet_step.ms);
  std::printf("  peak RSS %.2f GiB\n", peak);
  return 0;
}

// Writes a component's random weights (the module's own state dict) and its config, unless the
// weights file is already there. Returns the file's size in bytes.
uint64_t write_component(torch::nn::Module& model, const std::string& config_src,
                         const std::string& dir, const std::string& file, bool fp16) {
  fs::create_directories(dir);
  const std::string path = dir + "/" + file;
  fs::copy_file(config_src, dir + "/config.json", fs::copy_options::overwrite_existing);
  if (!fs::exists(path)) {
    TensorList tensors;
    for (const auto& p : model.named_parameters())
      tensors.emplace_back(p.key(), fp16 ? p.value().to(at::kHalf) : p.value());
    for (const auto& b : model.named_buffers())
      tensors.emplace_back(b.key(), b.value());
    save_safetensors(path, tensors);
  }
  return fs::file_size(path);
}

int bench_load(const Args& args) {
  const std::string config = args.get_or(
      "config", std::string(PAPILLON_SOURCE_DIR) + "/bench/configs/stable-diffusion-v1-5");
  const int64_t iters = args.get_int("iters", 3, 1, 100);
  const bool fp16 = args.has("fp16");
  const bool keep = args.has("dir");
  const std::string dir = args.get_or(
      "dir",
      (fs::temp_directory_path() / ("papillon-bench-load-" + std::to_string(::getpid()))).string());
  set_thread_count(static_cast<int>(args.get_int("threads", 0, 0, 1024)));
  c10::InferenceMode inference;
  torch::manual_seed(0);
  std::printf("bench load — %s -> %s (%s files)\n", config.c_str(), dir.c_str(),
              fp16 ? "fp16" : "fp32");
  std::printf("  threads %d\n", at::get_num_threads());
  uint64_t bytes = 0;
  {
    const auto path = config + "/text_encoder/config.json";
    CLIPTextModel m(CLIPTextConfig::from_json(read_json_file(path), path));
    bytes += write_component(*m, path, dir + "/text_encoder", "model.safetensors", fp16);
  }
  {
    const auto path = config + "/unet/config.json";
    UNet2DConditionModel m(UNet2DConditionModelConfig::from_json(read_json_file(path), path));
    bytes += write_component(*m, path, dir + "/unet", "diffusion_pytorch_model.safetensors", fp16);
  }
  {
    const auto path = config + "/vae/config.json";
    AutoencoderKL m(AutoencoderKLConfig::from_json(read_json_file(path), path));
    bytes += write_component(*m, path, dir + "/vae", "diffusion_pytorch_model.safetensors", fp16);
  }
  std::printf("  weights on disk: %.2f GB\n", bytes / 1e9);
  double best = 1e30, best_text = 0, best_unet = 0, best_vae = 0;
  for (int64_t i = 0; i < iters; ++i) {
    auto t0 = Clock::now();
    auto text = load_clip_text_model(dir + "/text_encoder");
    const double text_s = seconds_since(t0);
    t0 = Clock::now();
    auto unet = load_unet_2d_condition_model(dir + "/unet");
    const double unet_s = seconds_since(t0);
    t0 = Clock::now();
    auto vae = load_autoencoder_kl(dir + "/vae");
    const double vae_s = seconds_since(t0);
    const double total = text_s + unet_s + vae_s;
    std::printf("  load %lld: text encoder %.2f s, UNet %.2f s, VAE %.2f s = %.2f s\n",
                static_cast<long long>(i + 1), text_s, unet_s, vae_s, total);
    if (total < best) {
      best = total;
      best_text = text_s;
      best_unet = unet_s;
      best_vae = vae_s;
    }
  }
  std::printf("  best: %.2f s (text encoder %.2f, UNet %.2f, VAE %.2f) = %.2f GB/s of weights\n",
              best, best_text, best_unet, best_vae, bytes / 1e9 / best);
  std::printf("  peak RSS %.2f GiB\n", peak_rss_bytes() / (1024.0 * 1024.0 * 1024.0));
  if (!keep) fs::remove_all(dir);
  return 0;
}

int bench_unet2d(const Args& args) {
  const std::string dir = args.get_or(
      "config", std::string(PAPILLON_SOURCE_DIR) + "/bench/configs/ddpm-butterflies-32px");
  const int64_t batch = args.get_int("batch", 8, 1, 1024);
  const int64_t iters = args.get_int("iters", 3, 1, 1000);
  const int64_t steps = args.has("full") ? 1000 : args.get_int("steps", 10, 1, 1000);
  set_thread_count(static_cast<int>(args.get_int("threads", 0, 0, 1024)));
  g_target = make_compute_target(args.get_or("device", "cpu"), args.get_or("dtype", "fp32"));
  prepare_device(g_target);  // fp32 on CUDA without TF32, as the pipelines run it
  c10::InferenceMode inference;
  torch::manual_seed(0);

  const std::string unet_config_path = dir + "/unet/config.json";
  const auto config =
      UNet2DModelConfig::from_json(read_json_file(unet_config_path), unet_config_path);
  UNet2DModel unet(config);
  unet->eval();
  unet->to(g_target.device, g_target.dtype);
  // As load_unet_2d_model does (unless --no-prepack, for comparison).
  set_conv_prepacking(*unet, !args.has("no-prepack"));
  int64_t parameters = 0;
  for (const auto& p : unet->parameters())
    parameters += p.numel();
  const int64_t size = config.sample_size.empty() ? 32 : config.sample_size[0];
  const auto x = torch::randn({batch, config.in_channels, size, size}).to(target_options());
  const auto t = torch::full({batch}, 500, torch::kLong).to(g_target.device);
  // Class-conditional UNets (the bundled model) take a label per image.
  const at::Tensor labels = config.num_class_embeds.value_or(0) > 0
                                ? torch::zeros({batch}, torch::kLong).to(g_target.device)
                                : at::Tensor();

  const double sgemm = measure_sgemm_gflops();
  const AttentionScratchScope attention_scratch;  // as the pipeline's denoising loop
  double flops = 0;
  {
    FlopCounter counter;
    unet->forward(x, t, labels);  // warm-up, counted
    sync();
    flops = counter.total();
  }
  std::vector<double> times;
  for (int64_t i = 0; i < iters; ++i) {
    const auto t0 = Clock::now();
    unet->forward(x, t, labels);
    sync();
    times.push_back(seconds_since(t0));
  }
  std::sort(times.begin(), times.end());
  const double forward_s = times[times.size() / 2];
  if (args.has("profile")) {
    print_profile("UNet2DModel forward", [&] { unet->forward(x, t, labels); });
  }
  // The window's per-step preview of the whole batch: clamped x0 to QImages.
  const Timing preview = time_call(
      [&] {
        const at::Tensor images = (x / 2 + 0.5).clamp(0, 1);
#ifdef PAPILLON_WITH_QT_RUNTIME
        for (int64_t i = 0; i < batch; ++i)
          tensor_to_qimage(images[i]);
#else
        images.cpu();
#endif
      },
      20);

  // The DDPM loop itself (UNet + scheduler step + noise draws), K steps of a 1000-step schedule.
  auto scheduler =
      make_scheduler("DDPMScheduler", read_json_file(dir + "/scheduler/scheduler_config.json"));
  DDPMPipeline pipeline = DDPMPipeline::from_components(unet, std::move(scheduler), g_target);
  UnconditionalRequest request;
  request.batch_size = batch;
  request.num_inference_steps = 1000;
  request.seed = 0;
  if (labels.defined()) request.class_labels.assign(static_cast<size_t>(batch), 0);
  RunControl control;
  int done = 0;
  control.on_step = [&](const StepEvent&) {
    if (++done >= steps) control.cancel.cancel();
  };
  const auto t0 = Clock::now();
  try {
    pipeline(request, control);
  } catch (const Cancelled&) {
  }
  const double loop_s = seconds_since(t0);
  const double ddpm_1000_s = loop_s / done * 1000.0;
  const double utilisation = flops / forward_s / (sgemm * 1e9);

  if (args.has("json")) {
    Json j = {{"model", "UNet2DModel"},
              {"config", unet_config_path},
              {"batch", batch},
              {"threads", thread_count()},
              {"device", g_target.device.str()},
              {"dtype", dtype_name(g_target.dtype)},
              {"blas_core", blas_core_description()},
              {"parameters", parameters},
              {"gflop_per_forward", flops / 1e9},
              {"forward_ms", forward_s * 1e3},
              {"sgemm_gflops", sgemm},
              {"flop_utilisation", utilisation},
              {"ddpm_steps_run", done},
              {"ddpm_1000_steps_s", ddpm_1000_s},
              {"ddpm_extrapolated", done < 1000},
              {"preview_ms", preview.ms},
              {"preview_share_of_step", preview.ms / (forward_s * 1e3)}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("bench unet2d — %s (%s, %s)\n", unet_config_path.c_str(),
              dtype_name(g_target.dtype).c_str(), g_target.device.str().c_str());
  std::printf("  threads %d (OpenBLAS's own: %d), OpenBLAS core %s\n", thread_count(),
              blas_thread_count(), blas_core_description().c_str());
  std::printf("  GEMM baseline (%s, this run): %.1f GFLOP/s\n", dtype_name(g_target.dtype).c_str(),
              sgemm);
  std::printf("  UNet2DModel %.1f M parameters, batch %lld at %lldx%lld\n", parameters / 1e6,
              static_cast<long long>(batch), static_cast<long long>(size),
              static_cast<long long>(size));
  std::printf("  forward: %.1f ms (median of %lld), %.1f GFLOP -> %.1f GFLOP/s = %.0f%% of sgemm\n",
              forward_s * 1e3, static_cast<long long>(iters), flops / 1e9, flops / forward_s / 1e9,
              utilisation * 100);
#ifdef PAPILLON_WITH_QT_RUNTIME
  const char* preview_what = "batch of clamped x0 -> QImage";
#else
  const char* preview_what = "batch of clamped x0, no QImage in this build";
#endif
  std::printf("  preview per step (%s): %.3f ms = %.2f%% of a forward\n", preview_what, preview.ms,
              100.0 * preview.ms / (forward_s * 1e3));
  std::printf("  DDPM 1000 steps: %s (%s from %d steps, %.2f s/step)\n",
              format_duration(ddpm_1000_s).c_str(), done < 1000 ? "extrapolated" : "measured", done,
              loop_s / done);
  return 0;
}

}  // namespace

int cmd_bench(const std::vector<std::string>& argv) {
  const Args args(argv,
                  {"config", "batch", "iters", "steps", "threads", "full", "json", "profile", "dir",
                   "fp16", "device", "dtype", "no-prepack"},
                  {"full", "json", "profile", "fp16", "no-prepack"});
  if (args.positional().size() != 1) {
    throw Error("bench needs a model: papillon-cli bench unet2d|sd|load");
  }
  const std::string what = args.positional()[0];
  if (what == "unet2d") return bench_unet2d(args);
  if (what == "sd") return bench_sd(args);
  if (what == "load") return bench_load(args);
  throw Error("unknown benchmark '" + what + "' (known: unet2d, sd, load)");
}

}  // namespace papillon::cli
