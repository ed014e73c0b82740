// Faults a long generation must survive with a readable error instead of a crash or a silently
// broken image: NaN/inf in the output (an overflow, as fp16 VAEs produce) detected where it
// happens, with the fix to try; a size whose memory estimate exceeds what is available refused
// before anything is allocated.
#include <torch/torch.h>

#include <QtTest/QtTest>

#include <filesystem>

#include "core/io/safetensors.h"
#include "core/models/autoencoder_kl.h"
#include "core/models/unet_2d_condition.h"
#include "core/pipelines/memory_estimate.h"
#include "core/pipelines/pipeline.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using namespace papillon;
namespace fs = std::filesystem;

namespace {

// A writable copy of the tiny Stable Diffusion folder whose `file` has `tensor` filled with
// `value` (3e38: every output of that layer overflows float32 to +-inf, then inf - inf = NaN).
std::string poisoned_copy(const std::string& tag, const std::string& file,
                          const std::string& tensor, float value) {
  const fs::path dir = fs::path(test::temp_dir(tag)) / "sd_tiny";
  fs::copy(test::fixture_path("pipelines/sd_tiny"), dir, fs::copy_options::recursive);
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    fs::permissions(entry.path(), fs::perms::owner_write, fs::perm_options::add);
  const std::string path = (dir / file).string();
  TensorList tensors = load_safetensors(path);
  bool found = false;
  for (auto& [name, t] : tensors) {
    t = t.clone();  // not a view of the mapping we are about to replace
    if (name == tensor) {
      t.fill_(value);
      found = true;
    }
  }
  if (!found) throw Error(path + ": no tensor " + tensor);
  save_safetensors(path, tensors);
  return dir.string();
}

GenerationRequest small_request() {
  GenerationRequest r;
  r.prompts = {"a photo of a cat"};
  r.steps = 2;
  r.seed = 3;
  return r;
}

std::string error_of(ImagePipeline& pipeline, const GenerationRequest& request) {
  try {
    pipeline.generate(request, RunControl{});
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

}  // namespace

class TestGenerationFaults : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  void the_unpoisoned_copy_generates_finite_images() {
    // The control: the same copy-and-rewrite path with a harmless value gives a normal image.
    const auto dir = poisoned_copy("control", "vae/diffusion_pytorch_model.safetensors",
                                   "decoder.conv_out.bias", 0.0f);
    const auto pipeline = load_pipeline(dir, ComputeTarget{});
    const GenerationResult result = pipeline->generate(small_request(), RunControl{});
    QVERIFY(torch::isfinite(result.images).all().item<bool>());
  }

  void vae_overflow_is_reported_with_the_upcast_suggestion() {
    const auto dir = poisoned_copy("vae_overflow", "vae/diffusion_pytorch_model.safetensors",
                                   "decoder.conv_out.weight", 3e38f);
    const auto pipeline = load_pipeline(dir, ComputeTarget{});
    const std::string message = error_of(*pipeline, small_request());
    QVERIFY2(message.find("VAE decoder produced NaN or infinite") != std::string::npos,
             message.c_str());
    QVERIFY2(message.find("upcast the VAE") != std::string::npos, message.c_str());
  }

  void unet_overflow_is_reported_as_such() {
    const auto dir = poisoned_copy("unet_overflow", "unet/diffusion_pytorch_model.safetensors",
                                   "conv_out.weight", 3e38f);
    const auto pipeline = load_pipeline(dir, ComputeTarget{});
    const std::string message = error_of(*pipeline, small_request());
    QVERIFY2(message.find("UNet produced NaN or infinite") != std::string::npos, message.c_str());
  }

  void unconditional_unet_overflow_is_reported() {
    const fs::path dir = fs::path(test::temp_dir("ddpm_overflow")) / "ddpm_tiny";
    fs::copy(test::fixture_path("pipelines/ddpm_tiny"), dir, fs::copy_options::recursive);
    for (const auto& entry : fs::recursive_directory_iterator(dir))
      fs::permissions(entry.path(), fs::perms::owner_write, fs::perm_options::add);
    const std::string path = (dir / "unet/diffusion_pytorch_model.safetensors").string();
    TensorList tensors = load_safetensors(path);
    for (auto& [name, t] : tensors) {
      t = t.clone();
      if (name == "conv_out.weight") t.fill_(3e38f);
    }
    save_safetensors(path, tensors);
    const auto pipeline = load_pipeline(dir.string(), ComputeTarget{});
    GenerationRequest r;
    r.steps = 2;
    const std::string message = error_of(*pipeline, r);
    QVERIFY2(message.find("UNet produced NaN or infinite") != std::string::npos, message.c_str());
  }

  void an_impossible_size_is_refused_before_allocating() {
    const auto pipeline = load_pipeline(test::fixture_path("pipelines/sd_tiny"), ComputeTarget{});
    GenerationRequest r = small_request();
    r.width = 65536;  // latents alone would be 256 MB; the attention scores petabytes
    r.height = 65536;
    const auto start = std::chrono::steady_clock::now();
    const std::string message = error_of(*pipeline, r);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    QVERIFY2(message.find("1 image(s) of 65536x65536 needs about") != std::string::npos,
             message.c_str());
    QVERIFY2(message.find("available; choose a smaller size") != std::string::npos,
             message.c_str());
    // Refused up front: no text encoder run, no latents drawn (a few ms; 10 s is for slow CI).
    QVERIFY2(seconds < 10, qPrintable(QString::number(seconds)));
  }

  void the_estimate_grows_with_size_and_batch() {
    const Json unet_json = test::fixture_json("configs/stable-diffusion-v1-5/unet/config.json");
    const Json vae_json = test::fixture_json("configs/stable-diffusion-v1-5/vae/config.json");
    const auto unet = UNet2DConditionModelConfig::from_json(unet_json, "unet/config.json");
    const auto vae = AutoencoderKLConfig::from_json(vae_json, "vae/config.json");
    const uint64_t base = estimate_stable_diffusion_bytes(unet, vae, 512, 512, 1, true, 4);
    // SD 1.5 at 512x512 with guidance in fp32 and classic attention peaks at a few GB of
    // activations (diffusers' memory docs: ~3-4 GB without attention slicing).
    QVERIFY2(base > 1'000'000'000ull && base < 16'000'000'000ull, format_bytes(base).c_str());
    QVERIFY(estimate_stable_diffusion_bytes(unet, vae, 768, 768, 1, true, 4) > base);
    QVERIFY(estimate_stable_diffusion_bytes(unet, vae, 512, 512, 4, true, 4) > base);
    QVERIFY(estimate_stable_diffusion_bytes(unet, vae, 512, 512, 1, false, 4) < base);
    QVERIFY(estimate_stable_diffusion_bytes(unet, vae, 512, 512, 1, true, 2) < base);
    // Absurd sizes saturate instead of wrapping around to a small number.
    QCOMPARE(estimate_stable_diffusion_bytes(unet, vae, 1 << 30, 1 << 30, 1 << 20, true, 4),
             std::numeric_limits<uint64_t>::max());
  }

  void check_memory_fits_names_both_figures() {
    check_memory_fits(1000, 2000, "x", "y");  // fits: no error
    check_memory_fits(1000, 0, "x", "y");     // available unknown: nothing refused
    try {
      check_memory_fits(3'000'000'000ull, 2'000'000'000ull, "4 image(s) of 512x512",
                        "choose a smaller size");
      QFAIL("no error");
    } catch (const Error& e) {
      QCOMPARE(std::string(e.what()),
               std::string("4 image(s) of 512x512 needs about 3.00 GB of memory (estimate) but "
                           "only 2.00 GB are available; choose a smaller size"));
    }
    QVERIFY(available_memory_bytes() > 0);  // /proc/meminfo is there on Linux
  }
};

QTEST_GUILESS_MAIN(TestGenerationFaults)
#include "tst_generation_faults.moc"
