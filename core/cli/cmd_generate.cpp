// papillon-cli generate: a grid (and optionally single images, a timeline and a tensor dump) from a
// diffusers model folder.
#include <torch/torch.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <random>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/cli/progress.h"
#include "core/io/safetensors.h"
#include "core/pipelines/generation_parameters.h"
#include "core/pipelines/image_grid.h"
#include "core/pipelines/pipeline.h"
#include "core/runtime/png_io.h"
#include "core/schedulers/scheduler_factory.h"
#include "core/util/device.h"
#include "core/util/environment.h"
#include "core/util/error.h"

namespace papillon::cli {

const char* const kGenerateUsage =
    "usage: papillon-cli generate --model DIR --out grid.png [options]\n\n"
    "  --model DIR              diffusers pipeline folder (model_index.json, unet/, scheduler/ "
    "...)\n"
    "  --out FILE.png           the grid of all images (PNG with the parameters embedded)\n"
    "  --scheduler NAME         ddpm | ddim | ... (default: the model's, else the folder's "
    "scheduler)\n"
    "  --scheduler-opt KEY=VAL  override a scheduler config key (repeatable), e.g. "
    "clip_sample=false\n"
    "  --steps N                denoising steps (default: the model's, else DDPM 1000, others "
    "50)\n"
    "  --seed S                 one generator for the whole batch (default: random)\n"
    "  --seeds S1,S2,...        one generator per image (so each image can be reproduced alone)\n"
    "  --batch B                images (default 1, or the number of --seeds)\n"
    "  --eta E                  DDIM eta (default: the model's, else 0; 0 is a value too)\n"
    "  --class LABEL            class label(s) for class-conditional models (repeat or a,b,c)\n"
    "  --prompt TEXT            text-to-image prompt; repeat for one prompt per image (weights as\n"
    "                           A1111: (word:1.3) (word) [word] \\( \\) BREAK, long prompts in "
    "chunks)\n"
    "  --negative TEXT          negative prompt (one, or repeated: one per --prompt)\n"
    "  --guidance G             classifier-free guidance scale (default: the model's, else "
    "7.5; <= 1: none)\n"
    "  --width W --height H     image size, multiples of 8 (default: the model's)\n"
    "  --init-latents FILE      starting latents (safetensors key 'latents') instead of a draw\n"
    "  --plain-prompt           take prompts literally (no weighting syntax, 77-token "
    "truncation)\n"
    "  --clip-skip N            use the text encoder's output N layers before the last\n"
    "  --no-resolution-binning  PixArt-α: run at the asked size, not the nearest aspect-ratio "
    "bin\n"
    "  --cols N --padding P --scale K   grid layout: images per row (default min(B, 8)),\n"
    "                           padding in pixels (default 2), integer upscale (default: auto)\n"
    "  --save-images DIR        also save each image as its own PNG\n"
    "  --preview-every K        keep the predicted x0 every K steps (with --timeline / --dump)\n"
    "  --timeline FILE.png      images x steps: each row one image's predicted x0 over the steps\n"
    "  --dump FILE.safetensors  write images (NCHW, [0,1]), final_sample / latents, "
    "prompt_embeds\n"
    "                           and the previews (pred_x0.stepN, latents.stepN)\n"
    "  --device auto|cpu|cuda   where to run (default cpu; auto: CUDA where available)\n"
    "  --precision full|half    full: fp32, the same numbers as diffusers (default); half: fp16\n"
    "                           on a GPU, bf16 on the CPU (faster on CPUs with AVX512_BF16)\n"
    "  --dtype fp32|fp16|bf16   the compute dtype itself (instead of --precision)\n"
    "  --threads N              default: 1 for small models, else all cores\n"
    "  --quiet                  no progress bar\n";

namespace {

CancelToken& interrupt_token() {
  static CancelToken token;
  return token;
}

extern "C" void on_sigint(int) {
  interrupt_token().cancel();
}

Json parse_overrides(const std::vector<std::string>& opts) {
  Json overrides = Json::object();
  for (const auto& o : opts) {
    const auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw Error("--scheduler-opt expects key=value, got '" + o + "'");
    }
    overrides[o.substr(0, eq)] = parse_json_value(o.substr(eq + 1));
  }
  return overrides;
}

std::string format_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// One line on stderr: what runs and where each value came from ("25 steps (model's default)").
void print_resolved(const ResolvedParameters& p, const GenerationRequest& request) {
  auto from = [](DefaultSource source) -> std::string {
    switch (source) {
      case DefaultSource::kRequest:
        return "";
      case DefaultSource::kModel:
        return " (model's default)";
      case DefaultSource::kSchedulerConfig:
        return " (the folder's scheduler)";
      case DefaultSource::kPipeline:
        break;
    }
    return " (default)";
  };
  std::string line = p.scheduler.value + from(p.scheduler.source) + ", " +
                     std::to_string(p.steps.value) + " steps" + from(p.steps.source);
  if (p.eta) line += ", eta " + format_double(p.eta->value) + from(p.eta->source);
  if (p.guidance_scale) {
    line += ", guidance " + format_double(p.guidance_scale->value) + from(p.guidance_scale->source);
  }
  std::fprintf(stderr, "%s\n", line.c_str());
  if (request.eta && !p.eta) {
    std::fprintf(stderr, "note: --eta is ignored: %s takes no eta\n", p.scheduler.value.c_str());
  }
}

int64_t auto_scale(int64_t size) {
  int64_t k = 1;
  while (size * k < 128 && k < 16)
    ++k;
  return k;
}

}  // namespace

int cmd_generate(const std::vector<std::string>& argv) {
  const Args args(
      argv, {"model",    "out",         "scheduler",     "scheduler-opt", "steps",    "seed",
             "seeds",    "batch",       "eta",           "class",         "cols",     "padding",
             "scale",    "save-images", "preview-every", "timeline",      "dump",     "device",
             "dtype",    "precision",   "threads",       "variant",       "prompt",   "negative",
             "guidance", "width",       "height",        "init-latents",  "clip-skip"},
      {"quiet", "plain-prompt", "no-resolution-binning"});
  if (!args.positional().empty()) throw Error("unexpected argument '" + args.positional()[0] + "'");
  const auto model_dir = args.get("model");
  if (!model_dir) throw Error("--model DIR is required");
  const auto out_path = args.get("out");
  if (!out_path) throw Error("--out FILE.png is required");
  if (args.has("seed") && args.has("seeds")) throw Error("give either --seed or --seeds, not both");
  if (args.has("timeline") && !args.has("preview-every")) {
    throw Error("--timeline needs --preview-every K");
  }

  GenerationRequest request;
  request.scheduler = args.get("scheduler");
  request.scheduler_overrides = parse_overrides(args.all("scheduler-opt"));
  if (request.scheduler) scheduler_class_for(*request.scheduler);  // fail before loading
  if (args.has("seeds")) {
    for (const auto& s : split(*args.get("seeds"), ',')) {
      request.seeds.push_back(parse_u64("--seeds", s));
    }
    request.batch_size = static_cast<int64_t>(request.seeds.size());
    if (args.has("batch") && args.get_int("batch", 1, 1, 4096) != request.batch_size) {
      throw Error("--batch disagrees with the number of --seeds");
    }
  } else {
    request.batch_size = args.get_int("batch", 1, 1, 4096);
    request.seed =
        args.has("seed") ? args.get_u64("seed", 0) : std::random_device{}() & 0xffffffffu;
  }
  request.steps = args.get_optional_int("steps", 1, 100000);
  request.eta = args.get_optional_double("eta");
  for (const auto& c : args.all("class")) {
    for (const auto& part : split(c, ',')) {
      request.class_labels.push_back(static_cast<int64_t>(parse_u64("--class", part)));
    }
  }
  if (request.class_labels.size() == 1 && request.batch_size > 1) {
    request.class_labels.assign(static_cast<size_t>(request.batch_size), request.class_labels[0]);
  }
  request.prompts = args.all("prompt");
  request.negative_prompts = args.all("negative");
  request.guidance_scale = args.get_optional_double("guidance");
  if (request.guidance_scale && *request.guidance_scale < 0) {
    throw Error("--guidance must not be negative");
  }
  request.width = args.get_optional_int("width", 8, 16384);
  request.height = args.get_optional_int("height", 8, 16384);
  request.plain_prompt = args.has("plain-prompt");
  request.clip_skip = args.get_int("clip-skip", 0, 0, 64);
  if (args.has("no-resolution-binning")) request.resolution_binning = false;
  if (const auto path = args.get("init-latents")) {
    const auto file = SafetensorsFile::open(*path);
    if (!file.contains("latents")) throw Error(*path + ": has no tensor named 'latents'");
    request.init_latents = file.get("latents").to(torch::kFloat);
  }
  const int64_t preview_every = args.get_int("preview-every", 0, 0, 1000000);
  const bool quiet = args.has("quiet");

  const std::string device = args.get_or("device", "cpu");
  if (args.has("precision") && args.has("dtype")) {
    throw Error("give --precision or --dtype, not both");
  }
  const ComputeTarget target =
      args.has("precision")
          ? resolve_compute_target(device, args.get_or("precision", "full"))
          : make_compute_target(resolve_device(device).str(), args.get_or("dtype", "fp32"));
  auto pipeline = load_pipeline(*model_dir, target, args.get_or("variant", ""));
  const PipelineInfo& info = pipeline->info();
  set_thread_count(args.has("threads") ? static_cast<int>(args.get_int("threads", 0, 0, 1024))
                                       : auto_thread_count(info.parameters));
  if (!quiet) print_resolved(resolve_parameters(request, info), request);

  // Run, collecting previews.
  std::vector<at::Tensor> frames;         // image range [0, 1], for the timeline
  std::vector<at::Tensor> raw_frames;     // model space, for the dump
  std::vector<at::Tensor> frame_latents;  // the samples/latents of the preview steps
  std::vector<int> frame_steps;
  std::unique_ptr<ProgressBar> progress;
  RunControl control;
  control.cancel = interrupt_token();
  control.on_step = [&](const StepEvent& e) {
    if (preview_every > 0 && (e.step % preview_every == 0 || e.step == e.num_steps - 1)) {
      raw_frames.push_back(e.pred_x0.defined() ? e.pred_x0.to(torch::kCPU, torch::kFloat)
                                               : at::Tensor());
      frame_latents.push_back(e.sample.to(torch::kCPU, torch::kFloat));
      frames.push_back(pipeline->preview(e));
      frame_steps.push_back(e.step);
    }
    if (quiet) return;
    if (!progress) progress = std::make_unique<ProgressBar>(info.model_name, e.num_steps);
    progress->update(e.step + 1);
  };
  auto previous = std::signal(SIGINT, on_sigint);
  GenerationResult output;
  try {
    output = pipeline->generate(request, control);
  } catch (...) {
    std::signal(SIGINT, previous);
    throw;
  }
  std::signal(SIGINT, previous);
  if (progress) progress->finish();

  const int64_t batch = output.images.size(0);
  const int64_t height = output.images.size(2);
  const int64_t width = output.images.size(3);
  auto chunks_for = [](const GenerationParameters& p, const Json& more) {
    Json j = p.to_json();
    for (auto it = more.begin(); it != more.end(); ++it)
      j[it.key()] = it.value();
    return std::map<std::string, std::string>{{"parameters", p.to_a1111()}, {"papillon", j.dump()}};
  };
  Json seeds_json = Json::array();
  for (const auto& p : output.parameters)
    seeds_json.push_back(p.seed);

  GridOptions grid;
  grid.columns = args.get_int("cols", std::min<int64_t>(batch, 8), 1, 4096);
  grid.padding = args.get_int("padding", 2, 0, 1024);
  const int64_t scale = args.get_int("scale", auto_scale(std::max(width, height)), 1, 64);
  const GenerationParameters& first = output.parameters.front();
  save_png(*out_path,
           scale_nearest(tensor_to_qimage(make_grid(output.images, grid)), static_cast<int>(scale)),
           chunks_for(first, {{"grid",
                               {{"images", batch},
                                {"columns", grid.columns},
                                {"padding", grid.padding},
                                {"scale", scale}}},
                              {"seeds", seeds_json}}));
  std::printf(
      "wrote %s (%lld images, %lldx%lld, %s %s)\n", out_path->c_str(),
      static_cast<long long>(batch), static_cast<long long>(width), static_cast<long long>(height),
      request.seeds.empty() ? "seed" : "seeds",
      request.seeds.empty() ? std::to_string(request.seed).c_str() : seeds_json.dump().c_str());

  if (const auto dir = args.get("save-images")) {
    std::filesystem::create_directories(*dir);
    for (int64_t i = 0; i < batch; ++i) {
      const GenerationParameters& p = output.parameters[static_cast<size_t>(i)];
      const std::string path = (std::filesystem::path(*dir) /
                                (std::to_string(i) + "-seed" + std::to_string(p.seed) + ".png"))
                                   .string();
      save_png(path, tensor_to_qimage(output.images[i]), chunks_for(p, Json::object()));
    }
    std::printf("wrote %lld images to %s\n", static_cast<long long>(batch), dir->c_str());
  }
  if (const auto path = args.get("timeline")) {
    if (frames.empty()) throw Error("no previews were collected for --timeline");
    save_png(*path,
             scale_nearest(tensor_to_qimage(make_timeline(frames, grid)), static_cast<int>(scale)),
             chunks_for(first, {{"timeline_steps", frame_steps}, {"seeds", seeds_json}}));
    std::printf("wrote %s (%zu frames per image)\n", path->c_str(), frames.size());
  }
  if (const auto path = args.get("dump")) {
    TensorList tensors;
    tensors.emplace_back("images", output.images.contiguous());
    tensors.emplace_back("final_sample", output.final_sample.contiguous());
    if (output.prompt_embeds.defined()) {
      tensors.emplace_back("latents", output.final_sample.contiguous());
      tensors.emplace_back("prompt_embeds", output.prompt_embeds.contiguous());
    }
    tensors.emplace_back("timesteps", torch::tensor(output.timesteps, torch::kDouble));
    for (size_t f = 0; f < raw_frames.size(); ++f) {
      char key[48];
      if (raw_frames[f].defined()) {
        std::snprintf(key, sizeof key, "pred_x0.step%04d", frame_steps[f]);
        tensors.emplace_back(key, raw_frames[f].contiguous());
      }
      if (output.prompt_embeds.defined()) {
        std::snprintf(key, sizeof key, "latents.step%04d", frame_steps[f]);
        tensors.emplace_back(key, frame_latents[f].contiguous());
      }
    }
    save_safetensors(*path, tensors, {{"parameters", first.to_a1111()}});
    std::printf("wrote %s\n", path->c_str());
  }
  return 0;
}

}  // namespace papillon::cli
