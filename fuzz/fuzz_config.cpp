// Fuzzes config parsing: read_json_file, then every config struct a model folder's JSON files feed
// (UNet, conditional UNet, VAE, CLIP text encoder, each scheduler, the model_index.json of a
// folder). Wrong types and values must be papillon::Errors naming the key, never other exceptions.
#include <filesystem>
#include <set>

#include "core/io/config.h"
#include "core/models/autoencoder_kl.h"
#include "core/models/clip_text_model.h"
#include "core/models/unet_2d.h"
#include "core/models/unet_2d_condition.h"
#include "core/pipelines/model_folder.h"
#include "core/schedulers/scheduler_factory.h"
#include "fuzz/fuzz_common.h"

namespace {

// A pipeline folder whose component sub-folders exist, so model_index.json is checked in full.
const std::string& model_dir() {
  static const std::string dir = [] {
    const std::string d = papillon::fuzz::scratch_dir() + "/model";
    for (const char* c : {"unet", "vae", "text_encoder", "tokenizer", "scheduler", "safety_checker",
                          "feature_extractor", "image_encoder"})
      std::filesystem::create_directories(d + "/" + c);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace papillon;
  const std::string dir = model_dir();
  const std::string path = fuzz::write_scratch_file("model/model_index.json", data, size);
  Json json;
  if (!fuzz::run_expecting_clean_errors("read_json_file", [&] { json = read_json_file(path); }))
    return 0;
  fuzz::run_expecting_clean_errors("UNet2DModelConfig",
                                   [&] { UNet2DModelConfig::from_json(json, "unet/config.json"); });
  fuzz::run_expecting_clean_errors("UNet2DConditionModelConfig", [&] {
    UNet2DConditionModelConfig::from_json(json, "unet/config.json");
  });
  fuzz::run_expecting_clean_errors(
      "AutoencoderKLConfig", [&] { AutoencoderKLConfig::from_json(json, "vae/config.json"); });
  fuzz::run_expecting_clean_errors(
      "CLIPTextConfig", [&] { CLIPTextConfig::from_json(json, "text_encoder/config.json"); });
  std::set<std::string> classes;
  for (const std::string& name : scheduler_names())
    classes.insert(scheduler_class_for(name));
  for (const std::string& name : classes)
    fuzz::run_expecting_clean_errors("make_scheduler", [&] {
      const auto scheduler = make_scheduler(name, json);
      scheduler->set_timesteps(4);
    });
  fuzz::run_expecting_clean_errors("open_model_folder", [&] { open_model_folder(dir); });
  return 0;
}
