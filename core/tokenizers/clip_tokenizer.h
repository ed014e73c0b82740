#pragma once
// CLIP byte-level BPE tokenizer, a port of transformers 4.38 `CLIPTokenizer` (the slow Python
// class) on the code path used without `ftfy`: BasicTokenizer(strip_accents=False,
// do_split_on_punc=False) clean-up (control characters dropped, whitespace folded, CJK ideographs
// spaced, NFC, lower-case), the CLIP pre-tokenisation pattern, bytes->unicode mapping and BPE with
// merge ranks. Added / special tokens of the tokenizer config (bos, eos, unk, pad, ..., e.g. SD-2's
// pad_token "!") are split out of the text first and map to their own ids. Qt-free and
// LibTorch-free.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace papillon {

struct TokenizerOutput {
  std::vector<int64_t> input_ids;
  std::vector<int64_t> attention_mask;  // 1 for real tokens (bos..eos), 0 for padding
};

class CLIPTokenizer {
 public:
  // Loads a transformers tokenizer folder: vocab.json and merges.txt (required),
  // tokenizer_config.json, special_tokens_map.json and added_tokens.json (optional, read like
  // `from_pretrained`). Throws papillon::Error naming the missing or malformed file.
  static CLIPTokenizer from_folder(const std::string& tokenizer_dir);

  // tokenizer.tokenize(text): BPE strings ("photo</w>"); special tokens appear as their content.
  std::vector<std::string> bpe_tokens(const std::string& text) const;
  // tokenizer(text, add_special_tokens=False).input_ids: no bos/eos, no truncation.
  std::vector<int64_t> encode(const std::string& text) const;
  // tokenizer(text, padding="max_length" if pad_to_max, max_length=model_max_length,
  // truncation=truncate): bos + ids + eos, truncated to model_max_length (on `truncation_side`)
  // and padded with the pad token's id (on `padding_side`). Padding needs a model_max_length.
  TokenizerOutput operator()(const std::string& text, bool pad_to_max = true,
                             bool truncate = true) const;
  // tokenizer.decode(ids, skip_special_tokens) with clean_up_tokenization_spaces from the config.
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = false) const;

  // INT64_MAX when the config gives no model_max_length (transformers' VERY_LARGE_INTEGER).
  int64_t model_max_length() const;
  int64_t bos_id() const;  // throw papillon::Error when the config has no such token
  int64_t eos_id() const;
  int64_t pad_id() const;
  // Size of vocab.json (without added tokens), like transformers' `vocab_size`.
  int64_t vocab_size() const;
  // Added tokens first, then the vocabulary (transformers' convert_tokens_to_ids without unk).
  std::optional<int64_t> token_to_id(const std::string& token) const;
  // Ids of bos/eos/unk/pad/... and additional_special_tokens (transformers' all_special_ids).
  std::vector<int64_t> all_special_ids() const;

 private:
  struct Impl;
  explicit CLIPTokenizer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;  // shared, immutable apart from the thread-safe BPE cache
};

}  // namespace papillon
