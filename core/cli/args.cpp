#include "core/cli/args.h"

#include <cerrno>
#include <cstdlib>

#include "core/util/error.h"

namespace papillon::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& known,
           const std::set<std::string>& flags) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
      std::string key = a.substr(2);
      std::optional<std::string> value;
      const auto eq = key.find('=');
      if (eq != std::string::npos) {
        value = key.substr(eq + 1);
        key = key.substr(0, eq);
      }
      if (known.count(key) == 0 && flags.count(key) == 0) throw Error("unknown option --" + key);
      if (flags.count(key) != 0) {
        if (value) throw Error("--" + key + " takes no value");
        values_[key].push_back("true");
        continue;
      }
      if (!value) {
        if (i + 1 >= argv.size()) throw Error("--" + key + " needs a value");
        value = argv[++i];
      }
      values_[key].push_back(*value);
    } else {
      positional_.push_back(a);
    }
  }
}

std::optional<std::string> Args::get(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Args::all(const std::string& key) const {
  auto it = values_.find(key);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::string Args::get_or(const std::string& key, const std::string& fallback) const {
  return get(key).value_or(fallback);
}

int64_t Args::get_int(const std::string& key, int64_t fallback, int64_t min, int64_t max) const {
  const auto v = get(key);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || errno != 0)
    throw Error("--" + key + ": '" + *v + "' is not an integer");
  if (x < min || x > max) {
    throw Error("--" + key + " must be between " + std::to_string(min) + " and " +
                std::to_string(max) + ", got " + *v);
  }
  return x;
}

double Args::get_double(const std::string& key, double fallback) const {
  const auto v = get(key);
  if (!v) return fallback;
  char* end = nullptr;
  const double x = std::strtod(v->c_str(), &end);
  if (v->empty() || *end != '\0') throw Error("--" + key + ": '" + *v + "' is not a number");
  return x;
}

uint64_t parse_u64(const std::string& what, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long x = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || text[0] == '-' || *end != '\0' || errno != 0) {
    throw Error(what + ": '" + text + "' is not a non-negative integer");
  }
  return x;
}

uint64_t Args::get_u64(const std::string& key, uint64_t fallback) const {
  const auto v = get(key);
  return v ? parse_u64("--" + key, *v) : fallback;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == separator) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

std::optional<int64_t> Args::get_optional_int(const std::string& key, int64_t min,
                                              int64_t max) const {
  if (!has(key)) return std::nullopt;
  return get_int(key, 0, min, max);
}

std::optional<double> Args::get_optional_double(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_double(key, 0.0);
}

}  // namespace papillon::cli
