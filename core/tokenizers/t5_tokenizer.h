#pragma once
// T5 sentencepiece tokenizer, a port of transformers 4.38 `T5Tokenizer` (the slow Python class)
// with legacy=True (its default, and what every T5 v1.1 / PixArt tokenizer folder gets): the text
// is split on the added tokens first (</s>, <pad>, <unk>, the <extra_id_N> sentinels, which eat the
// spaces around them), every other chunk is encoded separately by sentencepiece, and </s> is
// appended unless the ids already end with it. Sentinel ids count down from the top of the
// vocabulary: <extra_id_N> = piece_size - 1 + extra_ids - N. sentencepiece itself runs in a
// separately loaded module (sentencepiece_loader.h). Qt-free and LibTorch-free.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tokenizers/clip_tokenizer.h"  // TokenizerOutput

namespace papillon {

namespace spm {
class Processor;
}

// transformers' AddedToken, as a T5 tokenizer config spells it.
struct T5AddedToken {
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool special = true;
};

// What tokenizer_config.json and special_tokens_map.json say, read as T5Tokenizer.from_pretrained
// does: special_tokens_map.json overrides the config's token values; additional_special_tokens of
// both are merged; missing keys take T5Tokenizer.__init__'s defaults; unknown keys are ignored.
struct T5TokenizerConfig {
  T5AddedToken eos_token{"</s>"};
  T5AddedToken unk_token{"<unk>"};
  T5AddedToken pad_token{"<pad>"};
  int64_t extra_ids = 100;
  // As listed; nullopt when neither file lists any (T5Tokenizer then makes <extra_id_0..N-1>).
  std::optional<std::vector<T5AddedToken>> additional_special_tokens;
  // tokenizer_config.json's "added_tokens_decoder" (written by transformers >= 4.34), by id.
  std::map<int64_t, T5AddedToken> added_tokens_decoder;
  bool legacy = true;  // "legacy": null or absent means true (transformers warns)
  bool clean_up_tokenization_spaces = true;
  std::optional<int64_t> model_max_length;

  // Parses the two files' contents (an empty string = the file is absent). Errors name the file
  // (`config_source` / `map_source`) and the key: invalid JSON, a wrong type, a negative
  // extra_ids, extra_ids that disagree with the listed <extra_id_N> tokens, legacy=false (not
  // supported yet).
  static T5TokenizerConfig parse(const std::string& tokenizer_config_json,
                                 const std::string& special_tokens_map_json,
                                 const std::string& config_source = "tokenizer_config.json",
                                 const std::string& map_source = "special_tokens_map.json");
};

class T5Tokenizer {
 public:
  // Loads a transformers T5 tokenizer folder: spiece.model (required), tokenizer_config.json and
  // special_tokens_map.json (optional). Throws papillon::Error naming the missing or malformed
  // file, or the sentencepiece module when it cannot be loaded.
  static T5Tokenizer from_folder(const std::string& tokenizer_dir);

  // tokenizer.tokenize(text): sentencepiece pieces ("▁photo"); added tokens as their content.
  // Throws Error for text that is not valid UTF-8.
  std::vector<std::string> tokenize(const std::string& text) const;
  // tokenizer(text, add_special_tokens=False).input_ids.
  std::vector<int64_t> encode(const std::string& text) const;
  // tokenizer(text, padding="max_length" if pad, max_length=max_length, truncation=truncate,
  // add_special_tokens=True): the ids with </s> appended unless already last, truncated to
  // max_length keeping room for </s> (right side), padded with <pad> (attention_mask 0).
  // max_length 0 with pad=false and truncate=false: the ids as they are.
  TokenizerOutput operator()(const std::string& text, int64_t max_length, bool pad = true,
                             bool truncate = true) const;
  // tokenizer.decode(ids, skip_special_tokens) with clean_up_tokenization_spaces from the config.
  // Throws Error for an id outside the vocabulary.
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = false) const;

  // PixArtAlphaPipeline._text_preprocessing with clean_caption=False: Python's
  // prompt.lower().strip() (full Unicode lower-casing, Final_Sigma). Throws Error for invalid
  // UTF-8.
  static std::string pipeline_text(const std::string& prompt);

  // sentencepiece pieces + extra_ids (transformers' vocab_size; the encoder's vocab_size).
  int64_t vocab_size() const;
  // len(tokenizer): vocab_size plus added tokens with ids beyond it.
  int64_t size() const;
  int64_t piece_size() const;
  int64_t eos_id() const;
  int64_t pad_id() const;
  int64_t unk_id() const;
  // INT64_MAX when the config gives no model_max_length.
  int64_t model_max_length() const;
  std::optional<int64_t> token_to_id(const std::string& token) const;
  std::vector<int64_t> all_special_ids() const;

 private:
  struct Impl;
  explicit T5Tokenizer(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace papillon
