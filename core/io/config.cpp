#include "core/io/config.h"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>

#include "core/util/error.h"

namespace papillon {

namespace {

// Python's json module writes float('inf') / float('nan') as bare Infinity / -Infinity / NaN
// (diffusers saves DPM-Solver's lambda_min_clipped = -inf that way), which strict JSON parsers
// reject. Outside strings, those tokens become the strings "Infinity", "-Infinity", "NaN" that
// config readers accept.
std::string quote_non_finite_literals(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < text.size()) {
        out.push_back(text[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out.push_back(c);
      continue;
    }
    bool replaced = false;
    for (const char* token : {"-Infinity", "Infinity", "NaN"}) {
      const size_t n = std::char_traits<char>::length(token);
      if (text.compare(i, n, token) == 0) {
        out += '"';
        out += token;
        out += '"';
        i += n - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out.push_back(c);
  }
  return out;
}

}  // namespace

Json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  try {
    return Json::parse(quote_non_finite_literals(buffer.str()));
  } catch (const Json::exception& e) {
    // parse_error, and out_of_range for a number beyond double ("1e999").
    throw Error(path + ": not valid JSON (" + e.what() + ")");
  }
}

Json parse_json_value(const std::string& text) {
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    // Python spellings people type on a command line.
    if (text == "True") return true;
    if (text == "False") return false;
    if (text == "None" || text == "none" || text == "null") return nullptr;
    return text;
  }
  return value;
}

ConfigReader::ConfigReader(Json json, std::string source)
    : json_(std::move(json)), source_(std::move(source)) {
  if (!json_.is_object()) throw Error(source_ + ": expected a JSON object");
}

bool ConfigReader::has(const std::string& key) const {
  auto it = json_.find(key);
  return it != json_.end() && !it->is_null();
}

void ConfigReader::fail(const std::string& key, const std::string& message) const {
  throw Error(source_ + ": " + key + " " + message);
}

namespace {

std::string type_name(const Json& v) {
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    return "an out-of-range integer";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "a list";
  if (v.is_object()) return "an object";
  return "null";
}

bool as_int(const Json& v, int64_t* out) {
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return false;
  if (v.is_number_integer()) {
    *out = v.get<int64_t>();
    return true;
  }
  if (v.is_number_float()) {  // 1.0 written by a float-happy serializer
    const double d = v.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15) {
      *out = static_cast<int64_t>(d);
      return true;
    }
  }
  return false;
}

}  // namespace

int64_t ConfigReader::get_int(const std::string& key, int64_t fallback) const {
  if (!has(key)) return fallback;
  int64_t out = 0;
  if (!as_int(json_.at(key), &out))
    fail(key, "must be an integer, got " + type_name(json_.at(key)));
  return out;
}

double ConfigReader::get_double(const std::string& key, double fallback) const {
  if (!has(key)) return fallback;
  const Json& v = json_.at(key);
  if (!v.is_number() || v.is_boolean()) fail(key, "must be a number, got " + type_name(v));
  return v.get<double>();
}

bool ConfigReader::get_bool(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const Json& v = json_.at(key);
  if (!v.is_boolean()) fail(key, "must be true or false, got " + type_name(v));
  return v.get<bool>();
}

std::string ConfigReader::get_string(const std::string& key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const Json& v = json_.at(key);
  if (!v.is_string()) fail(key, "must be a string, got " + type_name(v));
  return v.get<std::string>();
}

std::optional<int64_t> ConfigReader::get_optional_int(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_int(key, 0);
}

std::optional<double> ConfigReader::get_optional_double(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_double(key, 0.0);
}

std::optional<std::string> ConfigReader::get_optional_string(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_string(key, "");
}

std::vector<int64_t> ConfigReader::get_int_list(const std::string& key,
                                                const std::vector<int64_t>& fallback) const {
  if (!has(key)) return fallback;
  const Json& v = json_.at(key);
  if (!v.is_array()) fail(key, "must be a list of integers, got " + type_name(v));
  std::vector<int64_t> out;
  for (const Json& e : v) {
    int64_t x = 0;
    if (!as_int(e, &x)) fail(key, "must be a list of integers, has " + type_name(e));
    out.push_back(x);
  }
  return out;
}

std::vector<double> ConfigReader::get_double_list(const std::string& key,
                                                  const std::vector<double>& fallback) const {
  if (!has(key)) return fallback;
  const Json& v = json_.at(key);
  if (!v.is_array()) fail(key, "must be a list of numbers, got " + type_name(v));
  std::vector<double> out;
  for (const Json& e : v) {
    if (!e.is_number() || e.is_boolean())
      fail(key, "must be a list of numbers, has " + type_name(e));
    out.push_back(e.get<double>());
  }
  return out;
}

std::vector<std::string> ConfigReader::get_string_list(
    const std::string& key, const std::vector<std::string>& fallback) const {
  if (!has(key)) return fallback;
  const Json& v = json_.at(key);
  if (!v.is_array()) fail(key, "must be a list of strings, got " + type_name(v));
  std::vector<std::string> out;
  for (const Json& e : v) {
    if (!e.is_string()) fail(key, "must be a list of strings, has " + type_name(e));
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::vector<int64_t> ConfigReader::get_int_or_list(const std::string& key, int64_t fallback,
                                                   size_t count) const {
  if (has(key) && json_.at(key).is_array()) {
    auto list = get_int_list(key, {});
    if (list.size() != count) {
      fail(key,
           "must have " + std::to_string(count) + " entries, has " + std::to_string(list.size()));
    }
    return list;
  }
  return std::vector<int64_t>(count, get_int(key, fallback));
}

}  // namespace papillon
