#include "core/tokenizers/basic_tokenizer.h"

#include <unicode/uchar.h>

#include <algorithm>

#include "core/tokenizers/unicode_utils.h"

namespace papillon {
namespace {

// transformers' _is_whitespace: space, \t, \n, \r or category Zs.
bool is_hf_whitespace(char32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || unicode::is_space_separator(cp);
}

// transformers' _is_control: any category C* except \t, \n, \r (which count as whitespace).
bool is_hf_control(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  return unicode::is_other_category(cp);
}

// transformers' _is_punctuation: all non-alphanumeric ASCII plus Unicode category P*.
bool is_hf_punctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
      (cp >= 123 && cp <= 126)) {
    return true;
  }
  return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_P_MASK) != 0;
}

// Python's str.split() with no argument.
std::vector<std::u32string> whitespace_split(const std::u32string& text) {
  std::vector<std::u32string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && unicode::is_python_space(text[i]))
      ++i;
    const size_t begin = i;
    while (i < text.size() && !unicode::is_python_space(text[i]))
      ++i;
    if (i > begin) out.push_back(text.substr(begin, i - begin));
  }
  return out;
}

// NFD, then drop category Mn.
std::u32string strip_accents(const std::u32string& text) {
  std::u32string out;
  for (char32_t cp : unicode::nfd(text)) {
    if (u_charType(static_cast<UChar32>(cp)) != U_NON_SPACING_MARK) out.push_back(cp);
  }
  return out;
}

std::vector<std::u32string> split_on_punctuation(const std::u32string& text) {
  std::vector<std::u32string> out;
  bool start_new_word = true;
  for (char32_t cp : text) {
    if (is_hf_punctuation(cp)) {
      out.emplace_back(1, cp);
      start_new_word = true;
    } else {
      if (start_new_word) out.emplace_back();
      start_new_word = false;
      out.back().push_back(cp);
    }
  }
  return out;
}

}  // namespace

bool is_cjk_ideograph(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

std::vector<std::u32string> basic_tokenize(const std::u32string& text,
                                           const BasicTokenizerOptions& options) {
  // _clean_text, then _tokenize_chinese_chars.
  std::u32string cleaned;
  cleaned.reserve(text.size());
  for (char32_t cp : text) {
    if (cp == 0 || cp == 0xFFFD || is_hf_control(cp)) continue;
    if (is_hf_whitespace(cp)) {
      cleaned.push_back(' ');
    } else if (options.tokenize_chinese_chars && is_cjk_ideograph(cp)) {
      cleaned.push_back(' ');
      cleaned.push_back(cp);
      cleaned.push_back(' ');
    } else {
      cleaned.push_back(cp);
    }
  }
  // NFC so that one character written with different code points is one token.
  const std::u32string normalized = unicode::nfc(cleaned);
  const auto& never_split = options.never_split;
  const bool strip = options.strip_accents == BasicTokenizerOptions::StripAccents::kYes ||
                     (options.do_lower_case &&
                      options.strip_accents == BasicTokenizerOptions::StripAccents::kUnset);
  std::vector<std::u32string> split_tokens;
  for (std::u32string token : whitespace_split(normalized)) {
    const bool protected_token =
        std::find(never_split.begin(), never_split.end(), token) != never_split.end();
    if (!protected_token) {
      if (options.do_lower_case) token = unicode::to_lower(token);
      if (strip) token = strip_accents(token);
    }
    if (!options.do_split_on_punc || protected_token) {
      split_tokens.push_back(std::move(token));
    } else {
      for (auto& piece : split_on_punctuation(token))
        split_tokens.push_back(std::move(piece));
    }
  }
  // whitespace_tokenize(" ".join(split_tokens)): drops empty pieces (a token lower-cased or
  // accent-stripped to nothing).
  std::u32string joined;
  for (size_t i = 0; i < split_tokens.size(); ++i) {
    if (i > 0) joined.push_back(' ');
    joined += split_tokens[i];
  }
  return whitespace_split(joined);
}

}  // namespace papillon
