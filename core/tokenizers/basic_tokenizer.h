#pragma once
// Port of transformers' BasicTokenizer (models/bert/tokenization_bert.py, copied into CLIP): the
// text clean-up CLIPTokenizer runs when ftfy is not installed.
#include <string>
#include <vector>

namespace papillon {

struct BasicTokenizerOptions {
  bool do_lower_case = true;
  bool tokenize_chinese_chars = true;
  // Python None / False / True. None (the default) strips accents whenever do_lower_case is set.
  enum class StripAccents { kUnset, kNo, kYes } strip_accents = StripAccents::kUnset;
  bool do_split_on_punc = true;
  std::vector<std::u32string> never_split;
};

// BasicTokenizer.tokenize(text): drops NUL / U+FFFD / control characters, turns whitespace into
// spaces, puts spaces around CJK ideographs, applies NFC, splits on whitespace, lower-cases (and
// optionally strips accents / splits punctuation) each token. Returns the tokens.
std::vector<std::u32string> basic_tokenize(const std::u32string& text,
                                           const BasicTokenizerOptions& options);

// transformers' _is_chinese_char: the CJK Unified Ideographs blocks (not Hangul, Hiragana,
// Katakana).
bool is_cjk_ideograph(char32_t cp);

}  // namespace papillon
