#include "core/tokenizers/byte_level_bpe.h"

#include <limits>

#include "core/tokenizers/unicode_utils.h"

namespace papillon {
namespace {

constexpr int32_t kNoRank = std::numeric_limits<int32_t>::max();
constexpr size_t kMaxCacheEntries = 1 << 16;

// Case-insensitive (simple case folding) match of an ASCII literal at text[pos].
size_t match_literal(const std::u32string& text, size_t pos, const char* literal) {
  size_t i = 0;
  for (; literal[i] != '\0'; ++i) {
    if (pos + i >= text.size()) return 0;
    const char32_t c = text[pos + i];
    const auto l = static_cast<char32_t>(static_cast<unsigned char>(literal[i]));
    if (c != l && unicode::simple_fold(c) != unicode::simple_fold(l)) return 0;
  }
  return i;
}

// A character of the class [^\s\p{L}\p{N}] under IGNORECASE.
bool is_other_symbol(char32_t cp) {
  return !unicode::is_regex_space(cp) && !unicode::case_variant_is_letter_or_number(cp);
}

}  // namespace

ByteUnicodeMap::ByteUnicodeMap() {
  char_to_byte_.fill(-1);
  int next_extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    const char32_t cp =
        printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + next_extra++);
    byte_to_utf8_[b].clear();
    unicode::append_utf8(byte_to_utf8_[b], cp);
    char_to_byte_[cp] = static_cast<int16_t>(b);
  }
}

std::string ByteUnicodeMap::encode(const std::string& bytes) const {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes)
    out += byte_to_utf8_[static_cast<unsigned char>(c)];
  return out;
}

bool ByteUnicodeMap::decode(const std::u32string& text, std::string& out) const {
  out.reserve(out.size() + text.size());
  for (char32_t cp : text) {
    if (cp >= char_to_byte_.size() || char_to_byte_[cp] < 0) return false;
    out.push_back(static_cast<char>(char_to_byte_[cp]));
  }
  return true;
}

std::vector<std::u32string> clip_pre_tokenize(const std::u32string& text) {
  static const char* const kAlternatives[] = {
      "<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
  std::vector<std::u32string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t length = 0;
    for (const char* literal : kAlternatives) {
      length = match_literal(text, pos, literal);
      if (length > 0) break;
    }
    const char32_t c = text[pos];
    if (length == 0 && unicode::is_letter(c)) {
      length = 1;
      while (pos + length < text.size() && unicode::is_letter(text[pos + length]))
        ++length;
    } else if (length == 0 && unicode::is_number(c)) {
      length = 1;
    } else if (length == 0 && is_other_symbol(c)) {
      length = 1;
      while (pos + length < text.size() && is_other_symbol(text[pos + length]))
        ++length;
    }
    if (length == 0) {
      ++pos;  // whitespace (or a character no alternative accepts) is skipped by findall
      continue;
    }
    out.push_back(text.substr(pos, length));
    pos += length;
  }
  return out;
}

void BpeMerges::add(const std::string& first, const std::string& second, int32_t rank) {
  std::string key;
  key.reserve(first.size() + second.size() + 1);
  key.append(first).push_back(' ');
  key.append(second);
  ranks_.insert_or_assign(std::move(key), rank);
}

int32_t BpeMerges::rank(const std::string& first, const std::string& second,
                        std::string& key) const {
  key.assign(first).push_back(' ');
  key.append(second);
  const auto it = ranks_.find(key);
  return it == ranks_.end() ? kNoRank : it->second;
}

std::vector<std::string> BpeMerges::apply(const std::string& token) const {
  // CLIPTokenizer seeds its cache with the two CLIP markers, so they never get "</w>".
  if (token == "<|startoftext|>" || token == "<|endoftext|>") return {token};
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    const auto it = cache_.find(token);
    if (it != cache_.end()) return it->second;
  }
  std::vector<std::string> word = merge(token);
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();
  cache_.emplace(token, word);
  return word;
}

std::vector<std::string> BpeMerges::merge(const std::string& token) const {
  // One symbol per character (1 or 2 UTF-8 bytes each for the byte-level alphabet).
  std::vector<std::string> word;
  for (size_t i = 0; i < token.size();) {
    size_t n = 1;
    while (i + n < token.size() && (static_cast<unsigned char>(token[i + n]) & 0xC0) == 0x80)
      ++n;
    word.push_back(token.substr(i, n));
    i += n;
  }
  if (word.empty()) return {};
  word.back() += "</w>";
  std::string key;
  while (word.size() > 1) {
    int32_t best = kNoRank;
    size_t best_index = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      const int32_t r = rank(word[i], word[i + 1], key);
      if (r < best) {
        best = r;
        best_index = i;
      }
    }
    if (best == kNoRank) break;
    // Merge every non-overlapping occurrence of the pair, left to right.
    const std::string first = word[best_index];
    const std::string second = word[best_index + 1];
    std::vector<std::string> merged;
    merged.reserve(word.size());
    for (size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
        merged.push_back(first + second);
        i += 2;
      } else {
        merged.push_back(std::move(word[i]));
        i += 1;
      }
    }
    word = std::move(merged);
  }
  return word;
}

}  // namespace papillon
