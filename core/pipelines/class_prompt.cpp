#include "core/pipelines/class_prompt.h"

#include <cctype>
#include <sstream>

#include "core/util/error.h"

namespace papillon {
namespace {

std::string singular(const std::string& w) {
  if (w.size() > 4 && w.compare(w.size() - 4, 4, "sses") == 0) return w.substr(0, w.size() - 2);
  if (w.size() > 3 && w.compare(w.size() - 3, 3, "ies") == 0)
    return w.substr(0, w.size() - 3) + "y";
  if (w.size() > 3 && w.compare(w.size() - 3, 3, "oes") == 0) return w.substr(0, w.size() - 2);
  if (w.size() > 2 && w.back() == 's' && w[w.size() - 2] != 's' && w[w.size() - 2] != 'u') {
    return w.substr(0, w.size() - 1);
  }
  return w;
}

std::vector<std::string> aliases(const std::string& name) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(name);
  out.push_back(normalize_class_text(name));
  while (std::getline(in, part, '/')) {
    const std::string n = normalize_class_text(part);
    if (!n.empty()) out.push_back(n);
  }
  return out;
}

std::string without_spaces(std::string s) {
  std::string out;
  for (char c : s)
    if (c != ' ') out += c;
  return out;
}

}  // namespace

std::string normalize_class_text(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char ch : text + " ") {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (std::isalnum(c)) {
      word += static_cast<char>(std::tolower(c));
    } else if (!word.empty()) {
      words.push_back(word);
      word.clear();
    }
  }
  size_t first = 0;
  while (first < words.size() && (words[first] == "a" || words[first] == "an" ||
                                  words[first] == "the" || words[first] == "some")) {
    ++first;
  }
  std::string out;
  for (size_t i = first; i < words.size(); ++i) {
    if (!out.empty()) out += ' ';
    out += singular(words[i]);
  }
  return out;
}

int64_t parse_class_prompt(const std::string& prompt, const std::vector<std::string>& class_names) {
  const std::string wanted = without_spaces(normalize_class_text(prompt));
  if (!wanted.empty()) {
    for (size_t i = 0; i < class_names.size(); ++i) {
      for (const auto& alias : aliases(class_names[i])) {
        if (without_spaces(alias) == wanted) return static_cast<int64_t>(i);
      }
    }
  }
  std::string list;
  for (const auto& n : class_names)
    list += (list.empty() ? "" : ", ") + n;
  throw Error("unknown class '" + prompt + "': this model makes one of: " + list);
}

}  // namespace papillon
