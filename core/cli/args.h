#pragma once
// A small command-line parser: "--key value", "--key=value", repeated keys, flags, positionals.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace papillon::cli {

class Args {
 public:
  // `flags` take no value; every other "--key" takes one. Keys not in `known` are an error.
  Args(const std::vector<std::string>& argv, const std::set<std::string>& known,
       const std::set<std::string>& flags);

  bool has(const std::string& key) const { return values_.count(key) != 0; }
  std::optional<std::string> get(const std::string& key) const;  // the last occurrence
  std::vector<std::string> all(const std::string& key) const;
  std::string get_or(const std::string& key, const std::string& fallback) const;
  int64_t get_int(const std::string& key, int64_t fallback, int64_t min, int64_t max) const;
  double get_double(const std::string& key, double fallback) const;
  uint64_t get_u64(const std::string& key, uint64_t fallback) const;
  // Not given: nullopt (so the model's default applies); given: checked as get_int/get_double.
  std::optional<int64_t> get_optional_int(const std::string& key, int64_t min, int64_t max) const;
  std::optional<double> get_optional_double(const std::string& key) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

std::vector<std::string> split(const std::string& text, char separator);
uint64_t parse_u64(const std::string& what, const std::string& text);

}  // namespace papillon::cli
