#pragma once
// The byte-level BPE model behind CLIP (and GPT-2): bytes <-> printable unicode characters, merge
// ranks and the BPE merge loop, plus CLIP's pre-tokenisation pattern.
#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace papillon {

// transformers' bytes_to_unicode(): printable Latin-1 bytes map to themselves, the other 68 bytes
// to U+0100.. in order. Strings are UTF-8.
class ByteUnicodeMap {
 public:
  ByteUnicodeMap();
  // Maps every byte of `bytes` to its character.
  std::string encode(const std::string& bytes) const;
  // Inverse; returns false (leaving `out` partial) when `text` holds a character outside the map.
  bool decode(const std::u32string& text, std::string& out) const;

 private:
  std::array<std::string, 256> byte_to_utf8_;
  std::array<int16_t, 512> char_to_byte_;  // every mapped character is below U+0200
};

// CLIP's regex `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|
// [^\s\p{L}\p{N}]+` (IGNORECASE, `regex` module semantics), hand-written over code points: returns
// the matches of re.findall in order.
std::vector<std::u32string> clip_pre_tokenize(const std::u32string& text);

class BpeMerges {
 public:
  // Adds the merge `first second` with the given rank (a later duplicate overrides an earlier one,
  // as dict(zip(merges, range(n))) does).
  void add(const std::string& first, const std::string& second, int32_t rank);
  size_t size() const { return ranks_.size(); }
  void reserve(size_t n) { ranks_.reserve(n); }
  // CLIPTokenizer.bpe(token): `token` is byte-encoded; "</w>" is appended to its last symbol and
  // the lowest-ranked adjacent pair is merged until none has a rank. Results are cached.
  std::vector<std::string> apply(const std::string& token) const;

 private:
  std::vector<std::string> merge(const std::string& token) const;
  int32_t rank(const std::string& first, const std::string& second, std::string& key) const;

  std::unordered_map<std::string, int32_t> ranks_;  // key: first + ' ' + second
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<std::string>> cache_;
};

}  // namespace papillon
