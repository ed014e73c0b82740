#include "core/pipelines/prompt_weighting.h"

#include <torch/torch.h>

#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdlib>

#include "core/tokenizers/clip_tokenizer.h"
#include "core/util/error.h"

namespace papillon {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Python's \w for the bytes of UTF-8 text: ASCII letters, digits, '_' and any non-ASCII byte
// (letters of other scripts).
bool is_word_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x80 || std::isalnum(u) || c == '_';
}

// re.split(r"\s*\bBREAK\b\s*", text)
std::vector<std::string> split_break(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;  // start of the current part
  size_t search = 0;
  while (true) {
    const size_t pos = text.find("BREAK", search);
    if (pos == std::string::npos) break;
    const size_t end = pos + 5;
    const bool left_ok = pos == 0 || !is_word_byte(text[pos - 1]);
    const bool right_ok = end == text.size() || !is_word_byte(text[end]);
    if (!left_ok || !right_ok) {
      search = pos + 1;
      continue;
    }
    size_t match_start = pos;
    while (match_start > start && is_space(text[match_start - 1]))
      --match_start;
    size_t match_end = end;
    while (match_end < text.size() && is_space(text[match_end]))
      ++match_end;
    parts.push_back(text.substr(start, match_start - start));
    start = match_end;
    search = match_end;
  }
  parts.push_back(text.substr(start));
  return parts;
}

// One token of A1111's re_attention at `pos`: its length, and the weight group of ":w)".
struct AttentionToken {
  size_t length = 0;
  bool has_weight = false;
  std::string weight;
};

AttentionToken next_token(const std::string& s, size_t pos) {
  const char c = s[pos];
  AttentionToken t;
  if (c == '\\') {
    const char n = pos + 1 < s.size() ? s[pos + 1] : '\0';
    t.length = (n == '(' || n == ')' || n == '[' || n == ']' || n == '\\') ? 2 : 1;
    return t;
  }
  if (c == '(' || c == '[' || c == ')' || c == ']') {
    t.length = 1;
    return t;
  }
  if (c == ':') {
    // :\s*([+-]?[.\d]+)\s*\)
    size_t p = pos + 1;
    while (p < s.size() && is_space(s[p]))
      ++p;
    const size_t number_start = p;
    if (p < s.size() && (s[p] == '+' || s[p] == '-')) ++p;
    const size_t digits_start = p;
    while (p < s.size() && (s[p] == '.' || std::isdigit(static_cast<unsigned char>(s[p]))))
      ++p;
    const size_t number_end = p;
    while (p < s.size() && is_space(s[p]))
      ++p;
    if (number_end > digits_start && p < s.size() && s[p] == ')') {
      t.length = p + 1 - pos;
      t.has_weight = true;
      t.weight = s.substr(number_start, number_end - number_start);
      return t;
    }
    t.length = 1;
    return t;
  }
  size_t p = pos;
  while (p < s.size() && s[p] != '\\' && s[p] != '(' && s[p] != ')' && s[p] != '[' && s[p] != ']' &&
         s[p] != ':')
    ++p;
  t.length = p - pos;
  return t;
}

double parse_weight(const std::string& text, const std::string& prompt) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || text == "." || text == "+." ||
      text == "-.") {
    throw Error("prompt: '" + text + "' is not a weight in \"" + prompt + "\"");
  }
  return value;
}

}  // namespace

std::vector<PromptSegment> parse_prompt_attention(const std::string& text) {
  std::vector<PromptSegment> res;
  std::vector<size_t> round_brackets;
  std::vector<size_t> square_brackets;
  const double round_multiplier = 1.1;
  const double square_multiplier = 1 / 1.1;
  auto multiply_range = [&](size_t start, double multiplier) {
    for (size_t p = start; p < res.size(); ++p)
      res[p].weight *= multiplier;
  };

  size_t pos = 0;
  while (pos < text.size()) {
    const AttentionToken t = next_token(text, pos);
    const std::string token = text.substr(pos, t.length);
    pos += t.length;
    if (token[0] == '\\') {
      res.push_back({token.substr(1), 1.0});
    } else if (token == "(") {
      round_brackets.push_back(res.size());
    } else if (token == "[") {
      square_brackets.push_back(res.size());
    } else if (t.has_weight && !round_brackets.empty()) {
      const double w = parse_weight(t.weight, text);
      multiply_range(round_brackets.back(), w);
      round_brackets.pop_back();
    } else if (token == ")" && !round_brackets.empty()) {
      multiply_range(round_brackets.back(), round_multiplier);
      round_brackets.pop_back();
    } else if (token == "]" && !square_brackets.empty()) {
      multiply_range(square_brackets.back(), square_multiplier);
      square_brackets.pop_back();
    } else {
      const auto parts = split_break(token);
      for (size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) res.push_back({"BREAK", kBreakWeight});
        res.push_back({parts[i], 1.0});
      }
    }
  }
  for (size_t p : round_brackets)
    multiply_range(p, round_multiplier);
  for (size_t p : square_brackets)
    multiply_range(p, square_multiplier);
  if (res.empty()) res.push_back({"", 1.0});
  // "(x:999...9)" with 400 digits, or nested weights whose product overflows, would make the
  // weighted embedding rows infinite and the image NaN: refuse them instead.
  for (const auto& segment : res) {
    if (!std::isfinite(segment.weight)) {
      throw Error("prompt: the weight of \"" + segment.text.substr(0, 40) +
                  "\" is too large (not a finite number)");
    }
  }

  size_t i = 0;
  while (i + 1 < res.size()) {
    if (res[i].weight == res[i + 1].weight) {
      res[i].text += res[i + 1].text;
      res.erase(res.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    } else {
      ++i;
    }
  }
  return res;
}

bool has_prompt_weighting_syntax(const std::string& text) {
  const auto segments = parse_prompt_attention(text);
  return !(segments.size() == 1 && segments[0].weight == 1.0 && segments[0].text == text);
}

bool PromptChunk::weighted() const {
  for (double m : multipliers)
    if (m != 1.0) return true;
  return false;
}

namespace {

int64_t sequence_length(const CLIPTokenizer& tokenizer) {
  const int64_t n = tokenizer.model_max_length();
  if (n > 4096) return 77;  // no model_max_length in the config: CLIP's 77
  if (n < 3) throw Error("tokenizer: model_max_length " + std::to_string(n) + " is too small");
  return n;
}

}  // namespace

PromptChunk empty_prompt_chunk(const CLIPTokenizer& tokenizer) {
  const int64_t length = sequence_length(tokenizer);
  PromptChunk chunk;
  chunk.tokens.assign(static_cast<size_t>(length), tokenizer.pad_id());
  chunk.tokens[0] = tokenizer.bos_id();
  chunk.tokens[1] = tokenizer.eos_id();
  chunk.multipliers.assign(static_cast<size_t>(length), 1.0);
  chunk.attention_mask.assign(static_cast<size_t>(length), 0);
  chunk.attention_mask[0] = chunk.attention_mask[1] = 1;
  return chunk;
}

std::vector<PromptChunk> tokenize_weighted_prompt(const CLIPTokenizer& tokenizer,
                                                  const std::string& text,
                                                  const WeightedPromptOptions& options) {
  const int64_t length = sequence_length(tokenizer);
  const size_t chunk_length = static_cast<size_t>(length - 2);
  const std::vector<PromptSegment> parsed = options.parse_weights
                                                ? parse_prompt_attention(text)
                                                : std::vector<PromptSegment>{{text, 1.0}};
  const auto comma = tokenizer.token_to_id(",</w>");

  std::vector<PromptChunk> chunks;
  std::vector<int64_t> tokens;  // the current chunk, without bos/eos
  std::vector<double> multipliers;
  int64_t last_comma = -1;

  auto next_chunk = [&]() {
    PromptChunk chunk;
    chunk.tokens.push_back(tokenizer.bos_id());
    chunk.multipliers.push_back(1.0);
    chunk.tokens.insert(chunk.tokens.end(), tokens.begin(), tokens.end());
    chunk.multipliers.insert(chunk.multipliers.end(), multipliers.begin(), multipliers.end());
    chunk.tokens.push_back(tokenizer.eos_id());
    chunk.multipliers.push_back(1.0);
    chunk.attention_mask.assign(chunk.tokens.size(), 1);
    // A1111 pads with eos and, when the pad token differs (SD 2), replaces everything after the
    // first eos by the pad token: the same as padding with the pad token here.
    while (chunk.tokens.size() < static_cast<size_t>(length)) {
      chunk.tokens.push_back(tokenizer.pad_id());
      chunk.multipliers.push_back(1.0);
      chunk.attention_mask.push_back(0);
    }
    last_comma = -1;
    chunks.push_back(std::move(chunk));
    tokens.clear();
    multipliers.clear();
  };

  for (const PromptSegment& segment : parsed) {
    if (segment.text == "BREAK" && segment.weight == kBreakWeight) {
      next_chunk();
      continue;
    }
    const std::vector<int64_t> ids = tokenizer.encode(segment.text);
    for (const int64_t id : ids) {
      if (comma && id == *comma) {
        last_comma = static_cast<int64_t>(tokens.size());
      } else if (options.comma_padding_backtrack != 0 && tokens.size() == chunk_length &&
                 last_comma != -1 &&
                 static_cast<int64_t>(tokens.size()) - last_comma <=
                     options.comma_padding_backtrack) {
        // Move the words after the last comma into the next chunk.
        const auto at = static_cast<std::ptrdiff_t>(last_comma + 1);
        std::vector<int64_t> moved_tokens(tokens.begin() + at, tokens.end());
        std::vector<double> moved_multipliers(multipliers.begin() + at, multipliers.end());
        tokens.resize(static_cast<size_t>(at));
        multipliers.resize(static_cast<size_t>(at));
        next_chunk();
        tokens = std::move(moved_tokens);
        multipliers = std::move(moved_multipliers);
      }
      if (tokens.size() == chunk_length) next_chunk();
      tokens.push_back(id);
      multipliers.push_back(segment.weight);
    }
  }
  if (!tokens.empty() || chunks.empty()) next_chunk();
  return chunks;
}

at::Tensor apply_prompt_weights(const at::Tensor& z, const std::vector<double>& multipliers) {
  bool any = false;
  for (double m : multipliers)
    any = any || m != 1.0;
  if (!any) return z;
  if (z.dim() != 3 || z.size(1) != static_cast<int64_t>(multipliers.size())) {
    throw Error("prompt weights: " + std::to_string(multipliers.size()) +
                " multipliers for embeddings of " + std::to_string(z.size(1)) + " tokens");
  }
  // As A1111: multipliers in the embeddings' dtype, means in that dtype too.
  const at::Tensor m = torch::tensor(multipliers, torch::kDouble).to(z.options()).view({1, -1, 1});
  const at::Tensor original_mean = z.mean();
  at::Tensor weighted = z * m.expand(z.sizes());
  const at::Tensor new_mean = weighted.mean();
  return weighted * (original_mean / new_mean);
}

}  // namespace papillon
