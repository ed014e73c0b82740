#pragma once
// JSON config files with diffusers semantics: missing keys take the class's __init__ defaults,
// unknown keys are ignored, null means "not set", and a value of the wrong type is an error naming
// the key.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace papillon {

using Json = nlohmann::json;

// Reads and parses a JSON file; errors name the file (and the parse position).
Json read_json_file(const std::string& path);

// Parses a command-line style value ("true", "0.5", "12", "leading", "[1,2]") into JSON: JSON
// syntax first, a bare string otherwise. Used for --scheduler-opt key=value overrides.
Json parse_json_value(const std::string& text);

// Typed access to one config object. `source` names it in errors, e.g. "unet/config.json".
class ConfigReader {
 public:
  // Throws Error when `json` is not an object.
  ConfigReader(Json json, std::string source);

  const std::string& source() const { return source_; }
  const Json& json() const { return json_; }
  // True when the key is present and not null.
  bool has(const std::string& key) const;

  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_double(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  std::optional<int64_t> get_optional_int(const std::string& key) const;
  std::optional<double> get_optional_double(const std::string& key) const;
  std::optional<std::string> get_optional_string(const std::string& key) const;
  std::vector<int64_t> get_int_list(const std::string& key,
                                    const std::vector<int64_t>& fallback) const;
  std::vector<double> get_double_list(const std::string& key,
                                      const std::vector<double>& fallback) const;
  std::vector<std::string> get_string_list(const std::string& key,
                                           const std::vector<std::string>& fallback) const;
  // An int that may also be given as a list with one entry per block (diffusers' "int or tuple").
  std::vector<int64_t> get_int_or_list(const std::string& key, int64_t fallback,
                                       size_t count) const;

  // Throws Error("<source>: <key> <message>").
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;

 private:
  Json json_;  // a copy: configs are small, and a reader built from a temporary stays valid
  std::string source_;
};

}  // namespace papillon
