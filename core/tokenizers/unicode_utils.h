#pragma once
// Unicode helpers for the tokenizers, written to reproduce what Python 3 (`str` methods,
// `unicodedata`) and the `regex` module do. Text is handled as UTF-32 code point strings; ICU
// supplies the character properties, NFC and the full lower-case mapping. Qt-free and
// LibTorch-free.
#include <cstdint>
#include <string>

namespace papillon::unicode {

// How invalid UTF-8 is treated when decoding (Python's `errors=` argument of bytes.decode).
enum class Utf8Errors { kStrict, kReplace, kIgnore };

// Decodes UTF-8 like Python's bytes.decode("utf-8", errors): with kReplace every maximal invalid
// subsequence becomes one U+FFFD; kStrict throws papillon::Error naming `what` and the byte offset.
std::u32string utf8_to_u32(const std::string& bytes, Utf8Errors errors = Utf8Errors::kReplace,
                           const std::string& what = "text");
// Throws papillon::Error naming `what` and the byte offset unless `bytes` is valid UTF-8.
void check_utf8(const std::string& bytes, const std::string& what);
// Byte length of the is_python_space() character starting at bytes[pos] (valid UTF-8), else 0.
size_t python_space_at(const std::string& bytes, size_t pos);
// Encodes code points as UTF-8 (surrogates and values above U+10FFFF are written as U+FFFD).
std::string u32_to_utf8(const std::u32string& text);
void append_utf8(std::string& out, char32_t cp);

// Python's str.isspace(): bidirectional class WS, B or S, or general category Zs.
bool is_python_space(char32_t cp);
// The `regex` module's \s for str patterns: the Unicode White_Space property.
bool is_regex_space(char32_t cp);
// General category starts with "C" (Cc, Cf, Cn, Co, Cs).
bool is_other_category(char32_t cp);
// General category Zs.
bool is_space_separator(char32_t cp);
// General category L* / N*.
bool is_letter(char32_t cp);
bool is_number(char32_t cp);
// True when cp or one of its simple case mappings (lower, upper, title, fold) is a letter / number:
// how the `regex` module evaluates a negated class such as [^\p{L}\p{N}] under IGNORECASE.
bool case_variant_is_letter_or_number(char32_t cp);
// Simple (single code point) default case folding, as used by IGNORECASE literal matching.
char32_t simple_fold(char32_t cp);

// Python's str.strip() / lstrip() / rstrip() with no argument (is_python_space characters).
std::u32string strip(const std::u32string& text);
std::u32string lstrip(const std::u32string& text);
std::u32string rstrip(const std::u32string& text);

// Unicode Normalization Form C (unicodedata.normalize("NFC", text)).
std::u32string nfc(const std::u32string& text);
// Normalization Form D (unicodedata.normalize("NFD", text)).
std::u32string nfd(const std::u32string& text);
// Full Unicode lower-case mapping without locale tailoring, with the Final_Sigma rule
// (Python's str.lower(); "İ" -> "i̇", "ΣΑΣ" -> "σας").
std::u32string to_lower(const std::u32string& text);

}  // namespace papillon::unicode
