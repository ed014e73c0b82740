#include "core/tokenizers/tokenization_utils.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "core/util/error.h"

namespace papillon {

std::string clean_up_tokenization(std::string text) {
  static const std::pair<const char*, const char*> kReplacements[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kReplacements) {
    const std::string f(from), t(to);
    std::string out;
    size_t pos = 0;
    for (size_t hit; (hit = text.find(f, pos)) != std::string::npos; pos = hit + f.size()) {
      out.append(text, pos, hit - pos).append(t);
    }
    out.append(text, pos, std::string::npos);
    text = std::move(out);
  }
  return text;
}

bool tokenizer_file_exists(const std::string& path) {
  return std::ifstream(path).good();
}

std::string read_tokenizer_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the file (missing or unreadable)");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(path + ": read error");
  return buffer.str();
}

}  // namespace papillon
