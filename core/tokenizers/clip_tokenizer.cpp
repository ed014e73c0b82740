#include "core/tokenizers/clip_tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/tokenizers/basic_tokenizer.h"
#include "core/tokenizers/byte_level_bpe.h"
#include "core/tokenizers/tokenization_utils.h"
#include "core/tokenizers/unicode_utils.h"
#include "core/tokenizers/vocab_files.h"
#include "core/util/error.h"

namespace papillon {
namespace {

using nlohmann::json;

// transformers' AddedToken.
struct AddedToken {
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

// The order of transformers' SPECIAL_TOKENS_ATTRIBUTES (without additional_special_tokens).
const char* const kSpecialAttributes[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                          "pad_token", "cls_token", "mask_token"};
constexpr int kBos = 0, kEos = 1, kUnk = 2, kPad = 4;
constexpr int64_t kVeryLargeInteger = std::numeric_limits<int64_t>::max();
// CLIPTokenizer reads merges.txt lines [1, 49152 - 256 - 2 + 1): at most 48,894 merges.
constexpr size_t kMaxMergeLines = 49152 - 256 - 2 + 1;

json read_json(const std::string& path) {
  const std::string text = read_tokenizer_file(path);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw Error(path + ": invalid JSON: " + e.what());
  }
}

bool get_bool(const json& object, const char* key, bool fallback, const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw Error(where + ": \"" + key + "\" must be true or false");
  return it->get<bool>();
}

// A token value of a config: a string, an AddedToken dict ({"content": ..., "lstrip": ...}), or
// null.
std::optional<AddedToken> parse_token(const json& value, const std::string& where) {
  if (value.is_null()) return std::nullopt;
  AddedToken token;
  if (value.is_string()) {
    token.content = value.get<std::string>();
    return token;
  }
  if (!value.is_object() || !value.contains("content") || !value["content"].is_string()) {
    throw Error(where + " must be a string or an object with a string \"content\"");
  }
  token.content = value["content"].get<std::string>();
  token.single_word = get_bool(value, "single_word", false, where);
  token.lstrip = get_bool(value, "lstrip", false, where);
  token.rstrip = get_bool(value, "rstrip", false, where);
  token.normalized = get_bool(value, "normalized", true, where);
  token.special = get_bool(value, "special", false, where);
  return token;
}

std::string get_side(const json& config, const char* key, const std::string& where) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return "right";
  if (!it->is_string() || (*it != "right" && *it != "left")) {
    throw Error(where + ": \"" + key + "\" must be \"right\" or \"left\"");
  }
  return it->get<std::string>();
}

// Python's bytes.decode(errors=...) handlers we support.
unicode::Utf8Errors parse_errors(const json& config, const std::string& where) {
  const auto it = config.find("errors");
  if (it == config.end() || it->is_null()) return unicode::Utf8Errors::kReplace;
  if (it->is_string()) {
    if (*it == "replace") return unicode::Utf8Errors::kReplace;
    if (*it == "ignore") return unicode::Utf8Errors::kIgnore;
    if (*it == "strict") return unicode::Utf8Errors::kStrict;
  }
  throw Error(where + ": \"errors\" must be \"replace\", \"ignore\" or \"strict\", got " +
              it->dump());
}

}  // namespace

struct CLIPTokenizer::Impl {
  std::string dir;
  std::unordered_map<std::string, int64_t> encoder;  // vocab.json
  std::unordered_map<int64_t, std::string> decoder;
  ByteUnicodeMap byte_map;
  BpeMerges merges;
  std::map<int64_t, AddedToken> added_decoder;  // added and special tokens by id
  std::unordered_map<std::string, int64_t> added_encoder;
  std::unordered_map<char32_t, std::vector<std::u32string>> added_by_first_char;
  std::optional<AddedToken> specials[7];  // kSpecialAttributes order
  std::vector<AddedToken> additional_special;
  std::vector<std::string> all_special_tokens;  // deduplicated contents
  int64_t model_max_length = kVeryLargeInteger;
  bool pad_left = false;
  bool truncate_left = false;
  bool clean_up_spaces = true;
  bool split_special_tokens = false;
  unicode::Utf8Errors errors = unicode::Utf8Errors::kReplace;

  void load_vocab(const std::string& path);
  void load_merges(const std::string& path);
  void load_config();

  std::vector<std::string> tokenize(const std::string& text) const;
  std::vector<std::string> tokenize_text(const std::u32string& text) const;
  int64_t token_id(const std::string& token) const;
  int64_t special_id(int attribute) const;
};

void CLIPTokenizer::Impl::load_vocab(const std::string& path) {
  encoder.reserve(65536);
  decoder.reserve(65536);
  read_vocab_json(path, [&](std::string&& token, int64_t id) {
    decoder[id] = token;
    encoder[std::move(token)] = id;
  });
  if (encoder.empty()) throw Error(path + ": the vocabulary is empty");
}

void CLIPTokenizer::Impl::load_merges(const std::string& path) {
  merges.reserve(kMaxMergeLines);
  read_merges_txt(path, kMaxMergeLines,
                  [&](const std::string& first, const std::string& second, int32_t rank) {
                    merges.add(first, second, rank);
                  });
}

void CLIPTokenizer::Impl::load_config() {
  const std::string config_path = dir + "/tokenizer_config.json";
  json config = json::object();
  if (tokenizer_file_exists(config_path)) {
    config = read_json(config_path);
    if (!config.is_object()) throw Error(config_path + ": expected a JSON object");
  }
  // Token values as from_pretrained passes them to __init__ (null = no such token).
  std::optional<json> values[7];
  for (int a = 0; a < 7; ++a) {
    if (config.contains(kSpecialAttributes[a])) values[a] = config[kSpecialAttributes[a]];
  }
  json additional = config.value("additional_special_tokens", json::array());
  std::map<int64_t, AddedToken> decoder_from_config;
  std::unordered_map<std::string, AddedToken> added_map;
  if (config.contains("added_tokens_decoder")) {
    const json& entries = config["added_tokens_decoder"];
    if (!entries.is_object())
      throw Error(config_path + ": \"added_tokens_decoder\" must be an object");
    for (const auto& [key, value] : entries.items()) {
      const std::string where = config_path + ": added_tokens_decoder[\"" + key + "\"]";
      int64_t id = 0;
      try {
        size_t used = 0;
        id = std::stoll(key, &used);
        if (used != key.size()) throw std::invalid_argument(key);
      } catch (const std::exception&) {
        throw Error(where + ": the key is not an integer id");
      }
      auto token = parse_token(value, where);
      if (!token) throw Error(where + " is null");
      decoder_from_config[id] = *token;
      added_map[token->content] = *token;
    }
  } else {
    // Legacy folders (SD-1.x/2.x): special_tokens_map.json overrides the config's token values.
    const std::string map_path = dir + "/special_tokens_map.json";
    if (tokenizer_file_exists(map_path)) {
      const json map = read_json(map_path);
      if (!map.is_object()) throw Error(map_path + ": expected a JSON object");
      for (const auto& [key, value] : map.items()) {
        if (key == "additional_special_tokens") {
          if (!value.is_array())
            throw Error(map_path + ": additional_special_tokens must be a list");
          for (const auto& token : value) {
            if (std::find(additional.begin(), additional.end(), token) == additional.end()) {
              additional.push_back(token);
            }
          }
          continue;
        }
        for (int a = 0; a < 7; ++a) {
          if (key != kSpecialAttributes[a]) continue;
          values[a] = value;
          if (value.is_object()) (*values[a])["special"] = true;
        }
      }
    }
    const std::string added_path = dir + "/added_tokens.json";
    if (tokenizer_file_exists(added_path)) {
      const json added = read_json(added_path);
      if (!added.is_object()) throw Error(added_path + ": expected a JSON object {token: id}");
      std::unordered_set<std::string> special_contents;
      for (int a = 0; a < 7; ++a) {
        if (values[a] && !values[a]->is_null()) {
          if (auto t = parse_token(*values[a], config_path)) special_contents.insert(t->content);
        }
      }
      for (const auto& [content, id] : added.items()) {
        if (!id.is_number_integer())
          throw Error(added_path + ": id of \"" + content + "\" is not an integer");
        AddedToken token;
        token.content = content;
        token.special = special_contents.count(content) > 0;
        token.normalized = !token.special;
        decoder_from_config[id.get<int64_t>()] = token;
        added_map[content] = token;
      }
    }
  }
  // CLIPTokenizer.__init__ defaults; a token given as a plain string keeps the default flags.
  const char* const kDefaults[7] = {"<|startoftext|>", "<|endoftext|>", "<|endoftext|>", nullptr,
                                    "<|endoftext|>",   nullptr,         nullptr};
  for (int a = 0; a < 7; ++a) {
    const std::string where = config_path + ": " + kSpecialAttributes[a];
    if (values[a]) {
      specials[a] = parse_token(*values[a], where);
    } else if (kDefaults[a] != nullptr) {
      specials[a] = AddedToken{kDefaults[a]};
    }
    if (specials[a]) {
      // The value resolves to the added token of that content when the folder lists one.
      const auto it = added_map.find(specials[a]->content);
      if (it != added_map.end()) specials[a] = it->second;
    }
  }
  if (!additional.is_array())
    throw Error(config_path + ": additional_special_tokens must be a list");
  for (const auto& value : additional) {
    if (auto token = parse_token(value, config_path + ": additional_special_tokens")) {
      const auto it = added_map.find(token->content);
      additional_special.push_back(it != added_map.end() ? it->second : *token);
    }
  }

  // PreTrainedTokenizer.__init__: the config's added tokens, then every special token not yet
  // added, at its vocab id or at a new id after the vocabulary.
  added_decoder = decoder_from_config;
  for (const auto& [id, token] : added_decoder)
    added_encoder[token.content] = id;
  std::vector<AddedToken> extended;
  std::unordered_set<std::string> seen;
  for (const auto& token : specials) {
    if (token && seen.insert(token->content).second) extended.push_back(*token);
  }
  for (const auto& token : additional_special) {
    if (seen.insert(token.content).second) extended.push_back(token);
  }
  int64_t next_id = static_cast<int64_t>(encoder.size());
  for (const auto& [content, id] : added_encoder) {
    if (!encoder.count(content)) ++next_id;
  }
  for (AddedToken token : extended) {
    all_special_tokens.push_back(token.content);
    if (token.content.empty() || added_encoder.count(token.content)) continue;
    token.special = true;
    const auto in_vocab = encoder.find(token.content);
    const int64_t id = in_vocab != encoder.end() ? in_vocab->second : next_id++;
    added_decoder[id] = token;
    added_encoder[token.content] = id;
  }
  for (const auto& [id, token] : added_decoder) {
    if (token.content.empty()) continue;
    const std::u32string content = unicode::utf8_to_u32(token.content);
    auto& bucket = added_by_first_char[content[0]];
    if (std::find(bucket.begin(), bucket.end(), content) == bucket.end()) bucket.push_back(content);
  }

  if (config.contains("model_max_length") && !config["model_max_length"].is_null()) {
    const json& value = config["model_max_length"];
    if (!value.is_number() || value.get<double>() < 0) {
      throw Error(config_path + ": model_max_length must be a non-negative number, got " +
                  value.dump());
    }
    model_max_length = value.get<double>() >= 9.0e18 ? kVeryLargeInteger : value.get<int64_t>();
  }
  pad_left = get_side(config, "padding_side", config_path) == "left";
  truncate_left = get_side(config, "truncation_side", config_path) == "left";
  clean_up_spaces = get_bool(config, "clean_up_tokenization_spaces", true, config_path);
  split_special_tokens = get_bool(config, "split_special_tokens", false, config_path);
  errors = parse_errors(config, config_path);
}

std::vector<std::string> CLIPTokenizer::Impl::tokenize_text(const std::u32string& text) const {
  // CLIPTokenizer._tokenize without ftfy: " ".join(BasicTokenizer(strip_accents=False,
  // do_split_on_punc=False).tokenize(text)), the CLIP pattern, bytes->unicode, BPE.
  BasicTokenizerOptions options;
  options.strip_accents = BasicTokenizerOptions::StripAccents::kNo;
  options.do_split_on_punc = false;
  std::u32string joined;
  for (const auto& word : basic_tokenize(text, options)) {
    if (!joined.empty()) joined.push_back(' ');
    joined += word;
  }
  std::vector<std::string> out;
  for (const auto& piece : clip_pre_tokenize(joined)) {
    for (auto& symbol : merges.apply(byte_map.encode(unicode::u32_to_utf8(piece)))) {
      out.push_back(std::move(symbol));
    }
  }
  return out;
}

std::vector<std::string> CLIPTokenizer::Impl::tokenize(const std::string& text) const {
  const std::u32string input = unicode::utf8_to_u32(text);
  // Trie.split: cut out added tokens, earliest start first, longest match at that start.
  std::vector<std::u32string> pieces;
  size_t start = 0;
  for (size_t pos = 0; pos < input.size() && !split_special_tokens;) {
    const auto bucket = added_by_first_char.find(input[pos]);
    size_t best = 0;
    if (bucket != added_by_first_char.end()) {
      for (const auto& content : bucket->second) {
        if (content.size() > best && input.compare(pos, content.size(), content) == 0) {
          best = content.size();
        }
      }
    }
    if (best == 0) {
      ++pos;
      continue;
    }
    if (pos > start) pieces.push_back(input.substr(start, pos - start));
    pieces.push_back(input.substr(pos, best));
    pos += best;
    start = pos;
  }
  if (start < input.size()) pieces.push_back(input.substr(start));

  // PreTrainedTokenizer.tokenize: rstrip/lstrip eat the whitespace beside an added token,
  // single_word glues a token that touches a neighbouring word back into that word.
  auto is_added = [&](const std::u32string& piece) {
    return !split_special_tokens && added_encoder.count(unicode::u32_to_utf8(piece)) > 0;
  };
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (!is_added(pieces[i])) continue;
    const AddedToken& token = added_decoder.at(added_encoder.at(unicode::u32_to_utf8(pieces[i])));
    // As in transformers, the single_word tests look at the neighbours before any stripping.
    const std::u32string left = i > 0 ? pieces[i - 1] : std::u32string();
    const std::u32string right = i + 1 < pieces.size() ? pieces[i + 1] : std::u32string();
    if (token.rstrip && !right.empty()) pieces[i + 1] = unicode::lstrip(right);
    if (token.lstrip && !left.empty()) pieces[i - 1] = unicode::rstrip(left);
    if (token.single_word && !left.empty() && left.back() != U' ') {
      pieces[i - 1] += pieces[i];
      pieces[i].clear();
    } else if (token.single_word && !right.empty() && right.front() != U' ') {
      pieces[i] += right;
      pieces[i + 1].clear();
    }
  }
  std::vector<std::string> tokens;
  for (const auto& piece : pieces) {
    if (piece.empty()) continue;
    if (is_added(piece)) {
      tokens.push_back(unicode::u32_to_utf8(piece));
    } else {
      for (auto& t : tokenize_text(piece))
        tokens.push_back(std::move(t));
    }
  }
  return tokens;
}

int64_t CLIPTokenizer::Impl::token_id(const std::string& token) const {
  const auto added = added_encoder.find(token);
  if (added != added_encoder.end()) return added->second;
  const auto it = encoder.find(token);
  if (it != encoder.end()) return it->second;
  // _convert_token_to_id: the unk token's id in vocab.json.
  const auto unk = specials[kUnk] ? encoder.find(specials[kUnk]->content) : encoder.end();
  if (unk == encoder.end()) {
    throw Error(dir + ": token \"" + token +
                "\" is not in vocab.json and there is no unk_token in it");
  }
  return unk->second;
}

int64_t CLIPTokenizer::Impl::special_id(int attribute) const {
  if (!specials[attribute]) {
    throw Error(dir + "/tokenizer_config.json: the tokenizer has no " +
                kSpecialAttributes[attribute]);
  }
  return token_id(specials[attribute]->content);
}

CLIPTokenizer::CLIPTokenizer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

CLIPTokenizer CLIPTokenizer::from_folder(const std::string& tokenizer_dir) {
  auto impl = std::make_shared<Impl>();
  impl->dir = tokenizer_dir;
  impl->load_vocab(tokenizer_dir + "/vocab.json");
  impl->load_merges(tokenizer_dir + "/merges.txt");
  impl->load_config();
  return CLIPTokenizer(std::move(impl));
}

std::vector<std::string> CLIPTokenizer::bpe_tokens(const std::string& text) const {
  return impl_->tokenize(text);
}

std::vector<int64_t> CLIPTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> ids;
  for (const auto& token : impl_->tokenize(text))
    ids.push_back(impl_->token_id(token));
  return ids;
}

TokenizerOutput CLIPTokenizer::operator()(const std::string& text, bool pad_to_max,
                                          bool truncate) const {
  const Impl& impl = *impl_;
  std::vector<int64_t> ids = encode(text);
  const int64_t max_length = impl.model_max_length;
  if (pad_to_max && max_length == kVeryLargeInteger) {
    throw Error(impl.dir + "/tokenizer_config.json: no model_max_length to pad or truncate to");
  }
  // prepare_for_model: truncation (longest_first) leaves room for bos and eos.
  const int64_t total = static_cast<int64_t>(ids.size()) + 2;
  if (truncate && total > max_length) {
    const int64_t remove = total - max_length;
    // transformers keeps the ids unchanged when it would have to remove all of them.
    if (static_cast<int64_t>(ids.size()) > remove) {
      if (impl.truncate_left) {
        ids.erase(ids.begin(), ids.begin() + remove);
      } else {
        ids.resize(ids.size() - static_cast<size_t>(remove));
      }
    }
  }
  TokenizerOutput out;
  out.input_ids.reserve(ids.size() + 2);
  out.input_ids.push_back(bos_id());
  out.input_ids.insert(out.input_ids.end(), ids.begin(), ids.end());
  out.input_ids.push_back(eos_id());
  out.attention_mask.assign(out.input_ids.size(), 1);
  const auto length = static_cast<int64_t>(out.input_ids.size());
  if (pad_to_max && length < max_length) {
    const auto missing = static_cast<size_t>(max_length - length);
    const int64_t pad = pad_id();
    if (impl.pad_left) {
      out.input_ids.insert(out.input_ids.begin(), missing, pad);
      out.attention_mask.insert(out.attention_mask.begin(), missing, 0);
    } else {
      out.input_ids.insert(out.input_ids.end(), missing, pad);
      out.attention_mask.insert(out.attention_mask.end(), missing, 0);
    }
  }
  return out;
}

std::string CLIPTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  const Impl& impl = *impl_;
  const std::vector<int64_t> special_ids = all_special_ids();
  // Added tokens that are not special are decoded on their own and joined with spaces.
  std::unordered_set<std::string> legacy_added;
  for (const auto& [content, id] : impl.added_encoder) {
    const bool special = std::find(impl.all_special_tokens.begin(), impl.all_special_tokens.end(),
                                   content) != impl.all_special_tokens.end();
    if (!special) legacy_added.insert(content);
  }
  for (const auto& token : impl.additional_special) {
    if (impl.token_id(token.content) >= vocab_size()) legacy_added.insert(token.content);
  }
  // convert_tokens_to_string: bytes of the byte-level characters, decoded, "</w>" -> " ", strip.
  auto tokens_to_string = [&](const std::string& joined) {
    std::string bytes;
    if (!impl.byte_map.decode(unicode::utf8_to_u32(joined), bytes)) {
      throw Error(impl.dir + ": cannot decode \"" + joined + "\": not a byte-level BPE token");
    }
    const std::string text =
        unicode::u32_to_utf8(unicode::utf8_to_u32(bytes, impl.errors, "decoded token ids"));
    std::string out;
    size_t pos = 0;
    for (size_t hit; (hit = text.find("</w>", pos)) != std::string::npos; pos = hit + 4) {
      out.append(text, pos, hit - pos).push_back(' ');
    }
    out.append(text, pos, std::string::npos);
    return unicode::u32_to_utf8(unicode::strip(unicode::utf8_to_u32(out)));
  };
  std::vector<std::string> sub_texts;
  std::string current;
  bool has_current = false;
  for (const int64_t id : ids) {
    if (skip_special_tokens &&
        std::find(special_ids.begin(), special_ids.end(), id) != special_ids.end()) {
      continue;
    }
    std::string token;
    if (const auto added = impl.added_decoder.find(id); added != impl.added_decoder.end()) {
      token = added->second.content;
    } else if (const auto it = impl.decoder.find(id); it != impl.decoder.end()) {
      token = it->second;
    } else {
      throw Error("cannot decode token id " + std::to_string(id) + ": not in " + impl.dir +
                  "/vocab.json or the added tokens");
    }
    if (legacy_added.count(token)) {
      if (has_current) {
        std::string text = tokens_to_string(current);
        if (!text.empty()) sub_texts.push_back(std::move(text));
        current.clear();
        has_current = false;
      }
      sub_texts.push_back(token);
    } else {
      current += token;
      has_current = true;
    }
  }
  if (has_current) sub_texts.push_back(tokens_to_string(current));
  std::string text;
  for (size_t i = 0; i < sub_texts.size(); ++i) {
    if (i > 0) text.push_back(' ');
    text += sub_texts[i];
  }
  return impl.clean_up_spaces ? clean_up_tokenization(std::move(text)) : text;
}

int64_t CLIPTokenizer::model_max_length() const {
  return impl_->model_max_length;
}
int64_t CLIPTokenizer::bos_id() const {
  return impl_->special_id(kBos);
}
int64_t CLIPTokenizer::eos_id() const {
  return impl_->special_id(kEos);
}
int64_t CLIPTokenizer::pad_id() const {
  return impl_->special_id(kPad);
}
int64_t CLIPTokenizer::vocab_size() const {
  return static_cast<int64_t>(impl_->encoder.size());
}

std::optional<int64_t> CLIPTokenizer::token_to_id(const std::string& token) const {
  const auto added = impl_->added_encoder.find(token);
  if (added != impl_->added_encoder.end()) return added->second;
  const auto it = impl_->encoder.find(token);
  if (it != impl_->encoder.end()) return it->second;
  return std::nullopt;
}

std::vector<int64_t> CLIPTokenizer::all_special_ids() const {
  std::vector<int64_t> ids;
  for (const auto& content : impl_->all_special_tokens)
    ids.push_back(impl_->token_id(content));
  return ids;
}

}  // namespace papillon
