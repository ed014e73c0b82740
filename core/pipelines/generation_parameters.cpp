#include "core/pipelines/generation_parameters.h"

#include <cstdio>
#include <sstream>
#include <vector>

#include "core/tokenizers/unicode_utils.h"

namespace papillon {
namespace {

struct SamplerName {
  const char* scheduler;
  const char* a1111;
};

constexpr SamplerName kSamplers[] = {
    {"DDPMScheduler", "DDPM"},
    {"DDIMScheduler", "DDIM"},
    {"PNDMScheduler", "PLMS"},
    {"EulerDiscreteScheduler", "Euler"},
    {"EulerAncestralDiscreteScheduler", "Euler a"},
    {"LMSDiscreteScheduler", "LMS"},
    {"HeunDiscreteScheduler", "Heun"},
    {"DPMSolverMultistepScheduler", "DPM++ 2M"},
};

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// AUTOMATIC1111's quote(): values with a comma, colon or newline become a JSON string.
std::string quote_a1111(const std::string& value) {
  if (value.find_first_of(",:\n") == std::string::npos) return value;
  return Json(value).dump();
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Splits "k: v, k: "quoted, value", ..." at top-level commas.
std::vector<std::pair<std::string, std::string>> split_settings(const std::string& line) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string current;
  bool quoted = false;
  auto flush = [&]() {
    const auto colon = current.find(':');
    if (colon != std::string::npos) {
      std::string value = trim(current.substr(colon + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        // A1111 unquotes with json.loads; a value that is not valid JSON keeps its inside.
        const Json parsed = Json::parse(value, nullptr, /*allow_exceptions=*/false);
        value = parsed.is_string() ? parsed.get<std::string>() : value.substr(1, value.size() - 2);
      }
      out.emplace_back(trim(current.substr(0, colon)), value);
    }
    current.clear();
  };
  bool escaped = false;
  for (char c : line) {
    if (quoted && escaped) {
      escaped = false;
    } else if (quoted && c == '\\') {
      escaped = true;
    } else if (c == '"') {
      quoted = !quoted;
    }
    if (c == ',' && !quoted) {
      flush();
    } else {
      current.push_back(c);
    }
  }
  flush();
  return out;
}

}  // namespace

std::string a1111_sampler_name(const std::string& scheduler_class, bool karras) {
  for (const auto& s : kSamplers) {
    if (scheduler_class == s.scheduler) {
      std::string name = s.a1111;
      if (karras) name += " Karras";
      return name;
    }
  }
  return scheduler_class;
}

std::string GenerationParameters::to_a1111() const {
  std::ostringstream out;
  if (!prompt.empty()) out << prompt << "\n";
  if (!negative_prompt.empty()) out << "Negative prompt: " << negative_prompt << "\n";
  out << "Steps: " << steps;
  // `extra` may come from a file: a non-boolean use_karras_sigmas means "not set", not an
  // exception.
  const auto karras_it = extra.is_object() ? extra.find("use_karras_sigmas") : extra.end();
  const bool karras = karras_it != extra.end() && karras_it->is_boolean() && karras_it->get<bool>();
  out << ", Sampler: " << a1111_sampler_name(scheduler, karras);
  if (guidance_scale) out << ", CFG scale: " << format_number(*guidance_scale);
  out << ", Seed: " << seed;
  out << ", Size: " << width << "x" << height;
  if (!model.empty()) out << ", Model: " << model;
  // Written whenever the scheduler took one, 0 too: a model's default may be another value.
  if (eta) out << ", Eta: " << format_number(*eta);
  if (!class_name.empty()) out << ", Class: " << quote_a1111(class_name);
  if (batch_size > 1) out << ", Batch size: " << batch_size << ", Batch pos: " << batch_index;
  return out.str();
}

Json GenerationParameters::to_json() const {
  Json j = Json::object();
  j["prompt"] = prompt;
  j["negative_prompt"] = negative_prompt;
  j["steps"] = steps;
  j["scheduler"] = scheduler;
  j["guidance_scale"] = guidance_scale ? Json(*guidance_scale) : Json(nullptr);
  j["seed"] = seed;
  j["per_image_seed"] = per_image_seed;
  j["width"] = width;
  j["height"] = height;
  j["model"] = model;
  j["eta"] = eta ? Json(*eta) : Json(nullptr);
  if (!class_name.empty()) j["class_name"] = class_name;
  j["batch_index"] = batch_index;
  j["batch_size"] = batch_size;
  j["extra"] = extra;
  j["generator"] = "papillon";
  return j;
}

GenerationParameters GenerationParameters::from_json(const Json& json) {
  ConfigReader r(json, "parameters JSON");
  GenerationParameters p;
  p.prompt = r.get_string("prompt", "");
  p.negative_prompt = r.get_string("negative_prompt", "");
  p.steps = r.get_int("steps", 0);
  p.scheduler = r.get_string("scheduler", "");
  p.guidance_scale = r.get_optional_double("guidance_scale");
  p.seed = static_cast<uint64_t>(r.get_int("seed", 0));
  p.per_image_seed = r.get_bool("per_image_seed", false);
  p.width = r.get_int("width", 0);
  p.height = r.get_int("height", 0);
  p.model = r.get_string("model", "");
  p.eta = r.get_optional_double("eta");
  p.class_name = r.get_string("class_name", "");
  p.batch_index = r.get_int("batch_index", 0);
  p.batch_size = r.get_int("batch_size", 1);
  if (json.contains("extra") && json["extra"].is_object()) p.extra = json["extra"];
  return p;
}

GenerationParameters GenerationParameters::from_a1111(const std::string& text) {
  // Every string ends up in JSON (the "papillon" chunk, the gallery): refuse what JSON cannot hold.
  unicode::check_utf8(text, "image parameters");
  GenerationParameters p;
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  while (!lines.empty() && trim(lines.back()).empty())
    lines.pop_back();
  std::string settings;
  if (!lines.empty() && lines.back().find("Steps:") != std::string::npos) {
    settings = lines.back();
    lines.pop_back();
  }
  bool in_negative = false;
  std::string prompt, negative;
  for (const auto& line : lines) {
    if (line.rfind("Negative prompt:", 0) == 0) {
      in_negative = true;
      negative = trim(line.substr(16));
    } else if (in_negative) {
      negative += "\n" + line;
    } else {
      prompt += (prompt.empty() ? "" : "\n") + line;
    }
  }
  p.prompt = trim(prompt);
  p.negative_prompt = trim(negative);
  for (const auto& [key, value] : split_settings(settings)) {
    try {
      if (key == "Steps") {
        p.steps = std::stoll(value);
      } else if (key == "Sampler") {
        std::string name = value;
        const bool karras = name.size() > 7 && name.substr(name.size() - 7) == " Karras";
        if (karras) {
          name = name.substr(0, name.size() - 7);
          p.extra["use_karras_sigmas"] = true;
        }
        p.scheduler = name;
        for (const auto& s : kSamplers) {
          if (name == s.a1111) p.scheduler = s.scheduler;
        }
      } else if (key == "CFG scale") {
        p.guidance_scale = std::stod(value);
      } else if (key == "Seed") {
        p.seed = std::stoull(value);
      } else if (key == "Size") {
        const auto x = value.find('x');
        if (x != std::string::npos) {
          p.width = std::stoll(value.substr(0, x));
          p.height = std::stoll(value.substr(x + 1));
        }
      } else if (key == "Model") {
        p.model = value;
      } else if (key == "Eta" || key == "Eta DDIM") {
        p.eta = std::stod(value);
      } else if (key == "Class") {
        p.class_name = value;
      } else {
        p.extra[key] = value;
      }
    } catch (const std::exception&) {
      p.extra[key] = value;  // an unparsable number is kept as text rather than dropped
    }
  }
  return p;
}

}  // namespace papillon
