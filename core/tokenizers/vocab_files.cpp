#include "core/tokenizers/vocab_files.h"

#include <fstream>
#include <sstream>

#include "core/tokenizers/tokenization_utils.h"
#include "core/tokenizers/unicode_utils.h"
#include "core/util/error.h"

namespace papillon {
namespace {

// Bytes of the UTF-8 character whose lead byte is `lead` (the text is validated first).
size_t char_length(char lead) {
  const auto b = static_cast<unsigned char>(lead);
  return b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
}

class VocabParser {
 public:
  VocabParser(const std::string& path, const std::string& text) : path_(path), text_(text) {}

  void parse(const std::function<void(std::string&&, int64_t)>& add) {
    skip_space();
    expect('{');
    skip_space();
    if (peek() == '}') {
      ++pos_;
    } else {
      while (true) {
        skip_space();
        std::string key = parse_string();
        skip_space();
        expect(':');
        skip_space();
        const int64_t id = parse_integer(key);
        add(std::move(key), id);
        skip_space();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect('}');
        break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) fail("unexpected data after the closing '}'");
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(path_ + ": invalid vocabulary JSON at byte " + std::to_string(pos_) + ": " + what);
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\t')) {
      ++pos_;
    }
  }
  unsigned hex4() {
    if (pos_ + 4 > text_.size()) fail("truncated \\u escape");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        value |= static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        value |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        fail("bad \\u escape");
      }
    }
    return value;
  }
  std::string parse_string() {
    expect('"');
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) fail("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) fail("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          char32_t cp = hex4();
          // A surrogate pair; a lone surrogate cannot be stored in UTF-8 (U+FFFD).
          if (cp >= 0xD800 && cp <= 0xDBFF && text_.compare(pos_, 2, "\\u") == 0) {
            const size_t save = pos_;
            pos_ += 2;
            const char32_t low = hex4();
            if (low >= 0xDC00 && low <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else {
              pos_ = save;
            }
          }
          unicode::append_utf8(out, cp);
          break;
        }
        default:
          fail(std::string("bad escape \\") + e);
      }
    }
  }
  int64_t parse_integer(const std::string& key) {
    const size_t start = pos_;
    if (peek() == '-') ++pos_;
    const size_t digits = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9')
      ++pos_;
    const char next = peek();
    if (pos_ == digits || next == '.' || next == 'e' || next == 'E' || pos_ - digits > 18) {
      pos_ = start;
      fail("the id of token \"" + key + "\" is not an integer");
    }
    return std::stoll(text_.substr(start, pos_ - start));
  }

  const std::string& path_;
  const std::string& text_;
  size_t pos_ = 0;
};

}  // namespace

void read_vocab_json(const std::string& path,
                     const std::function<void(std::string&&, int64_t)>& add) {
  const std::string text = read_tokenizer_file(path);
  unicode::check_utf8(text, path);
  VocabParser(path, text).parse(add);
}

void read_merges_txt(
    const std::string& path, size_t max_lines,
    const std::function<void(const std::string&, const std::string&, int32_t)>& add) {
  const std::string text = read_tokenizer_file(path);
  unicode::check_utf8(text, path);
  // Python's str.strip() of the whole file.
  size_t begin = 0, end = text.size();
  while (begin < end) {
    const size_t n = unicode::python_space_at(text, begin);
    if (n == 0) break;
    begin += n;
  }
  while (end > begin) {
    size_t start = end - 1;  // back to the first byte of the last character
    while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80)
      --start;
    if (unicode::python_space_at(text, start) == 0) break;
    end = start;
  }
  if (begin == end) throw Error(path + ": the file is empty (expected '#version' and merge lines)");
  std::string fields[3];
  size_t line_no = 0;
  for (size_t pos = begin; pos <= end && line_no < max_lines; ++line_no) {
    size_t line_end = text.find('\n', pos);
    if (line_end == std::string::npos || line_end > end) line_end = end;
    if (line_no > 0) {
      int count = 0;
      for (size_t i = pos; i < line_end;) {
        const size_t space = unicode::python_space_at(text, i);
        if (space > 0) {
          i += space;
          continue;
        }
        const size_t start = i;
        while (i < line_end && unicode::python_space_at(text, i) == 0)
          i += char_length(text[i]);
        if (count < 3) fields[count].assign(text, start, i - start);
        ++count;
      }
      if (count != 2) {
        throw Error(path + ": line " + std::to_string(line_no + 1) +
                    " is not a merge of two symbols: \"" + text.substr(pos, line_end - pos) + "\"");
      }
      add(fields[0], fields[1], static_cast<int32_t>(line_no - 1));
    }
    pos = line_end + 1;
  }
}

}  // namespace papillon
