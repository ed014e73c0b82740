#pragma once
// The parameters of one generated image, written into its PNG as an AUTOMATIC1111-style
// "parameters" text chunk plus a JSON chunk with every parameter, and read back from either.
#include <cstdint>
#include <optional>
#include <string>

#include "core/io/config.h"

namespace papillon {

struct GenerationParameters {
  std::string prompt;  // as the user typed it
  std::string negative_prompt;
  int64_t steps = 0;
  std::string scheduler;  // diffusers class name, e.g. "DDIMScheduler"
  std::optional<double> guidance_scale;
  uint64_t seed = 0;
  int64_t width = 0;
  int64_t height = 0;
  std::string model;          // the model folder's name
  std::optional<double> eta;  // set when the scheduler took one (DDIM), 0 included
  // Class-conditional models: the class the image was made of ("Sneaker"); empty otherwise.
  std::string class_name;
  int64_t batch_index = 0;  // position of the image in its batch
  int64_t batch_size = 1;
  bool per_image_seed = false;  // true: `seed` is this image's own generator (--seeds)
  Json extra =
      Json::object();  // anything else worth keeping (scheduler overrides, class label ...)

  // "<prompt>\nNegative prompt: ...\nSteps: 50, Sampler: DDIM, CFG scale: 7.5, Seed: 1, Size:
  // 32x32, Model: name, Eta: 1, Class: Sneaker" (lines and fields without content are left out;
  // a value with a comma, colon or newline is quoted as AUTOMATIC1111 quotes it).
  std::string to_a1111() const;
  Json to_json() const;
  static GenerationParameters from_json(const Json& json);
  // Parses AUTOMATIC1111's text (as written by A1111 or by us). Unknown keys go to `extra`.
  static GenerationParameters from_a1111(const std::string& text);
};

// A1111's sampler name for a diffusers scheduler class ("EulerAncestralDiscreteScheduler" -> "Euler
// a").
std::string a1111_sampler_name(const std::string& scheduler_class, bool karras = false);

}  // namespace papillon
