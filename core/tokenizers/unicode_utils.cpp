#include "core/tokenizers/unicode_utils.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include <vector>

#include "core/util/error.h"

namespace papillon::unicode {
namespace {

bool is_continuation(unsigned char b) {
  return (b & 0xC0) == 0x80;
}

std::u16string to_utf16(const std::u32string& text) {
  std::u16string out;
  out.reserve(text.size());
  for (char32_t cp : text) {
    if (cp < 0x10000) {
      out.push_back(static_cast<char16_t>(cp));
    } else {
      out.push_back(static_cast<char16_t>(U16_LEAD(cp)));
      out.push_back(static_cast<char16_t>(U16_TRAIL(cp)));
    }
  }
  return out;
}

std::u32string from_utf16(const char16_t* text, int32_t length) {
  std::u32string out;
  out.reserve(static_cast<size_t>(length));
  for (int32_t i = 0; i < length;) {
    UChar32 cp = 0;
    U16_NEXT(text, i, length, cp);
    out.push_back(static_cast<char32_t>(cp));
  }
  return out;
}

// Runs an ICU UTF-16 -> UTF-16 transform that reports the needed capacity on overflow.
template <typename Fn>
std::u32string icu_transform(const std::u32string& text, const char* what, Fn&& fn) {
  if (text.empty()) return {};
  const std::u16string src = to_utf16(text);
  std::vector<char16_t> dst(src.size() + src.size() / 2 + 8);
  for (int attempt = 0; attempt < 2; ++attempt) {
    UErrorCode status = U_ZERO_ERROR;
    const int32_t length = fn(src, dst, &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
      dst.resize(static_cast<size_t>(length) + 1);
      continue;
    }
    if (U_FAILURE(status))
      throw Error(std::string("ICU ") + what + " failed: " + u_errorName(status));
    return from_utf16(dst.data(), length);
  }
  throw Error(std::string("ICU ") + what + " failed: output buffer too small");
}

}  // namespace

namespace {

// Decodes UTF-8 like CPython: calls emit(cp) per code point, and invalid(offset) once per maximal
// invalid subsequence.
template <typename Emit, typename Invalid>
void decode_utf8(const std::string& bytes, Emit&& emit, Invalid&& invalid) {
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    const auto b0 = static_cast<unsigned char>(bytes[i]);
    if (b0 < 0x80) {
      emit(static_cast<char32_t>(b0));
      ++i;
      continue;
    }
    size_t need = 0;
    char32_t cp = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      need = 1;
      cp = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      need = 2;
      cp = b0 & 0x0F;
      if (b0 == 0xE0) lo = 0xA0;
      if (b0 == 0xED) hi = 0x9F;  // no surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      need = 3;
      cp = b0 & 0x07;
      if (b0 == 0xF0) lo = 0x90;
      if (b0 == 0xF4) hi = 0x8F;
    } else {
      invalid(i);
      ++i;
      continue;
    }
    // Consume the longest valid prefix; a broken sequence is one error (its maximal subpart).
    size_t j = i + 1;
    bool ok = true;
    for (size_t k = 0; k < need; ++k, ++j) {
      if (j >= n) {
        ok = false;
        break;
      }
      const auto b = static_cast<unsigned char>(bytes[j]);
      const bool in_range = k == 0 ? (b >= lo && b <= hi) : is_continuation(b);
      if (!in_range) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    if (ok) {
      emit(cp);
    } else {
      invalid(i);
    }
    i = j;
  }
}

}  // namespace

std::u32string utf8_to_u32(const std::string& bytes, Utf8Errors errors, const std::string& what) {
  std::u32string out;
  out.reserve(bytes.size());
  decode_utf8(
      bytes, [&](char32_t cp) { out.push_back(cp); },
      [&](size_t at) {
        if (errors == Utf8Errors::kStrict) {
          throw Error(what + ": invalid UTF-8 at byte " + std::to_string(at));
        }
        if (errors == Utf8Errors::kReplace) out.push_back(0xFFFD);
      });
  return out;
}

void check_utf8(const std::string& bytes, const std::string& what) {
  decode_utf8(
      bytes, [](char32_t) {},
      [&](size_t at) { throw Error(what + ": invalid UTF-8 at byte " + std::to_string(at)); });
}

size_t python_space_at(const std::string& bytes, size_t pos) {
  const auto b0 = static_cast<unsigned char>(bytes[pos]);
  if (b0 < 0x80) return is_python_space(b0) ? 1 : 0;
  const size_t length = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : 2;
  if (pos + length > bytes.size()) return 0;
  char32_t cp = b0 & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < length; ++k)
    cp = (cp << 6) | (bytes[pos + k] & 0x3F);
  return is_python_space(cp) ? length : 0;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string u32_to_utf8(const std::u32string& text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text)
    append_utf8(out, cp);
  return out;
}

bool is_python_space(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
  const auto c = static_cast<UChar32>(cp);
  const UCharDirection dir = u_charDirection(c);
  return dir == U_WHITE_SPACE_NEUTRAL || dir == U_BLOCK_SEPARATOR || dir == U_SEGMENT_SEPARATOR ||
         u_charType(c) == U_SPACE_SEPARATOR;
}

bool is_regex_space(char32_t cp) {
  return u_isUWhiteSpace(static_cast<UChar32>(cp));
}

bool is_other_category(char32_t cp) {
  return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_C_MASK) != 0;
}

bool is_space_separator(char32_t cp) {
  return u_charType(static_cast<UChar32>(cp)) == U_SPACE_SEPARATOR;
}

bool is_letter(char32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_L_MASK) != 0;
}

bool is_number(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_N_MASK) != 0;
}

bool case_variant_is_letter_or_number(char32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  const UChar32 variants[] = {c, u_tolower(c), u_toupper(c), u_totitle(c),
                              u_foldCase(c, U_FOLD_CASE_DEFAULT)};
  for (UChar32 v : variants) {
    if (is_letter(static_cast<char32_t>(v)) || is_number(static_cast<char32_t>(v))) return true;
  }
  return false;
}

char32_t simple_fold(char32_t cp) {
  return static_cast<char32_t>(u_foldCase(static_cast<UChar32>(cp), U_FOLD_CASE_DEFAULT));
}

std::u32string lstrip(const std::u32string& text) {
  size_t begin = 0;
  while (begin < text.size() && is_python_space(text[begin]))
    ++begin;
  return text.substr(begin);
}

std::u32string rstrip(const std::u32string& text) {
  size_t end = text.size();
  while (end > 0 && is_python_space(text[end - 1]))
    --end;
  return text.substr(0, end);
}

std::u32string strip(const std::u32string& text) {
  return lstrip(rstrip(text));
}

namespace {

std::u32string normalize(const std::u32string& text, const UNormalizer2* (*instance)(UErrorCode*),
                         const char* what) {
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* normalizer = instance(&status);
  if (U_FAILURE(status)) throw Error(std::string("ICU ") + what + ": " + u_errorName(status));
  return icu_transform(
      text, what, [&](const std::u16string& src, std::vector<char16_t>& dst, UErrorCode* st) {
        return unorm2_normalize(normalizer, src.data(), static_cast<int32_t>(src.size()),
                                dst.data(), static_cast<int32_t>(dst.size()), st);
      });
}

}  // namespace

std::u32string nfc(const std::u32string& text) {
  return normalize(text, unorm2_getNFCInstance, "NFC normalisation");
}

std::u32string nfd(const std::u32string& text) {
  return normalize(text, unorm2_getNFDInstance, "NFD normalisation");
}

std::u32string to_lower(const std::u32string& text) {
  // The root locale ("") applies the unconditional SpecialCasing mappings and Final_Sigma only,
  // exactly like CPython; tr/az/lt tailorings are never used.
  return icu_transform(text, "lower-casing",
                       [](const std::u16string& src, std::vector<char16_t>& dst, UErrorCode* st) {
                         return u_strToLower(dst.data(), static_cast<int32_t>(dst.size()),
                                             src.data(), static_cast<int32_t>(src.size()), "", st);
                       });
}

}  // namespace papillon::unicode
