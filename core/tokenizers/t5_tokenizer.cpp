#include "core/tokenizers/t5_tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/tokenizers/sentencepiece_loader.h"
#include "core/tokenizers/tokenization_utils.h"
#include "core/tokenizers/unicode_utils.h"
#include "core/util/error.h"

namespace papillon {
namespace {

using nlohmann::json;

constexpr int64_t kVeryLargeInteger = std::numeric_limits<int64_t>::max();
constexpr char kExtraIdPrefix[] = "<extra_id_";
// T5 sentinels in practice number 100; a bound keeps a hostile config from allocating millions.
constexpr int64_t kMaxExtraIds = 100000;

json parse_object(const std::string& text, const std::string& source) {
  json value;
  try {
    value = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(source + ": invalid JSON: " + e.what());
  }
  if (!value.is_object()) throw Error(source + ": expected a JSON object");
  return value;
}

bool get_bool(const json& object, const char* key, bool fallback, const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw Error(where + ": \"" + key + "\" must be true or false");
  return it->get<bool>();
}

// A token value: a string, or an AddedToken dict ({"content": ..., "lstrip": ...}).
T5AddedToken parse_token(const json& value, const std::string& where) {
  T5AddedToken token;
  if (value.is_string()) {
    token.content = value.get<std::string>();
  } else if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    token.content = value["content"].get<std::string>();
    token.single_word = get_bool(value, "single_word", false, where);
    token.lstrip = get_bool(value, "lstrip", false, where);
    token.rstrip = get_bool(value, "rstrip", false, where);
    token.special = get_bool(value, "special", true, where);
  } else {
    throw Error(where + " must be a string or an object with a string \"content\"");
  }
  unicode::check_utf8(token.content, where);
  if (token.content.empty()) throw Error(where + " is an empty token");
  return token;
}

std::vector<T5AddedToken> parse_token_list(const json& value, const std::string& where) {
  if (!value.is_array()) throw Error(where + " must be a list of tokens");
  std::vector<T5AddedToken> out;
  for (size_t i = 0; i < value.size(); ++i)
    out.push_back(parse_token(value[i], where + "[" + std::to_string(i) + "]"));
  return out;
}

bool is_extra_id_token(const std::string& content) {
  return content.find(kExtraIdPrefix) != std::string::npos;
}

// re.match(r"<extra_id_(\d+)>", token): the sentinel number, when `token` starts like one.
std::optional<int64_t> sentinel_number(const std::string& token) {
  const size_t prefix = sizeof(kExtraIdPrefix) - 1;
  if (token.compare(0, prefix, kExtraIdPrefix) != 0) return std::nullopt;
  size_t end = prefix;
  int64_t n = 0;
  while (end < token.size() && token[end] >= '0' && token[end] <= '9') {
    if (n > kMaxExtraIds) return std::nullopt;
    n = n * 10 + (token[end] - '0');
    ++end;
  }
  if (end == prefix || end >= token.size() || token[end] != '>') return std::nullopt;
  return n;
}

}  // namespace

// ------------------------------------------------------------------------------------ the config

T5TokenizerConfig T5TokenizerConfig::parse(const std::string& tokenizer_config_json,
                                           const std::string& special_tokens_map_json,
                                           const std::string& config_source,
                                           const std::string& map_source) {
  T5TokenizerConfig c;
  const json config = tokenizer_config_json.empty()
                          ? json::object()
                          : parse_object(tokenizer_config_json, config_source);
  const json map = special_tokens_map_json.empty()
                       ? json::object()
                       : parse_object(special_tokens_map_json, map_source);

  // The token attributes: special_tokens_map.json wins over tokenizer_config.json.
  const auto token_value = [&](const char* key) -> std::pair<const json*, std::string> {
    if (const auto it = map.find(key); it != map.end() && !it->is_null())
      return {&*it, map_source + ": \"" + key + "\""};
    if (const auto it = config.find(key); it != config.end() && !it->is_null())
      return {&*it, config_source + ": \"" + key + "\""};
    return {nullptr, ""};
  };
  for (auto [key, target] : {std::pair<const char*, T5AddedToken*>{"eos_token", &c.eos_token},
                             {"unk_token", &c.unk_token},
                             {"pad_token", &c.pad_token}}) {
    const auto [value, where] = token_value(key);
    if (value != nullptr) *target = parse_token(*value, where);
  }

  if (const auto it = config.find("extra_ids"); it != config.end() && !it->is_null()) {
    if (!it->is_number_integer())
      throw Error(config_source + ": \"extra_ids\" must be an integer, not " + it->dump());
    c.extra_ids = it->get<int64_t>();
    if (c.extra_ids < 0 || c.extra_ids > kMaxExtraIds)
      throw Error(config_source + ": \"extra_ids\" must be between 0 and " +
                  std::to_string(kMaxExtraIds) + ", not " + std::to_string(c.extra_ids));
  }

  // additional_special_tokens: the config's list, then the map's tokens not in it yet.
  if (const auto it = config.find("additional_special_tokens");
      it != config.end() && !it->is_null())
    c.additional_special_tokens =
        parse_token_list(*it, config_source + ": \"additional_special_tokens\"");
  if (const auto it = map.find("additional_special_tokens"); it != map.end() && !it->is_null()) {
    std::vector<T5AddedToken> merged =
        c.additional_special_tokens.value_or(std::vector<T5AddedToken>{});
    for (const T5AddedToken& token :
         parse_token_list(*it, map_source + ": \"additional_special_tokens\"")) {
      const bool present = std::any_of(merged.begin(), merged.end(), [&](const T5AddedToken& t) {
        return t.content == token.content;
      });
      if (!present) merged.push_back(token);
    }
    c.additional_special_tokens = std::move(merged);
  }
  if (c.additional_special_tokens) {
    const auto extra =
        std::count_if(c.additional_special_tokens->begin(), c.additional_special_tokens->end(),
                      [](const T5AddedToken& t) { return is_extra_id_token(t.content); });
    if (extra > 0 && c.extra_ids > 0 && extra != c.extra_ids)
      throw Error(config_source + ": extra_ids (" + std::to_string(c.extra_ids) + ") and the " +
                  std::to_string(extra) +
                  " <extra_id_N> tokens of additional_special_tokens disagree (T5Tokenizer needs "
                  "them equal)");
  }

  if (const auto it = config.find("added_tokens_decoder"); it != config.end() && !it->is_null()) {
    if (!it->is_object())
      throw Error(config_source + ": \"added_tokens_decoder\" must be an object {id: token}");
    for (auto entry = it->begin(); entry != it->end(); ++entry) {
      const std::string& key = entry.key();
      const std::string where = config_source + ": added_tokens_decoder[\"" + key + "\"]";
      int64_t id = 0;
      bool digits = !key.empty() && key.size() <= 12;
      for (char ch : key) {
        if (ch < '0' || ch > '9') digits = false;
      }
      if (!digits) throw Error(where + ": the key must be a token id");
      id = std::stoll(key);
      c.added_tokens_decoder[id] = parse_token(entry.value(), where);
    }
  }

  if (const auto it = config.find("legacy"); it != config.end() && !it->is_null()) {
    if (!it->is_boolean()) throw Error(config_source + ": \"legacy\" must be true or false");
    c.legacy = it->get<bool>();
    if (!c.legacy)
      throw Error(config_source +
                  ": \"legacy\": false T5 tokenizers are not supported yet (only the legacy "
                  "behaviour, transformers' default)");
  }
  c.clean_up_tokenization_spaces =
      get_bool(config, "clean_up_tokenization_spaces", true, config_source);
  if (const auto it = config.find("model_max_length"); it != config.end() && !it->is_null()) {
    // Saved configs often hold 1e30 (VERY_LARGE_INTEGER as a float): no limit.
    if (it->is_number_integer() && it->get<int64_t>() > 0) {
      c.model_max_length = it->get<int64_t>();
    } else if (!it->is_number()) {
      throw Error(config_source + ": \"model_max_length\" must be a number");
    }
  }
  return c;
}

// --------------------------------------------------------------------------------- the tokenizer

struct T5Tokenizer::Impl {
  std::string dir;
  std::shared_ptr<const spm::Processor> sp;
  T5TokenizerConfig config;
  int64_t piece_size = 0;
  int64_t vocab_size = 0;
  std::map<int64_t, T5AddedToken> added_decoder;  // added tokens by id
  std::unordered_map<std::string, int64_t> added_encoder;
  std::vector<std::string> all_special_tokens;  // deduplicated, transformers' order
  std::unordered_set<std::string> all_special_set;
  std::set<int64_t> all_special_ids;
  std::unordered_set<std::string> legacy_added_tokens;  // see _decode
  size_t longest_added = 0;
  int64_t eos_id = 0, pad_id = 0, unk_id = 0;

  // _convert_token_to_id (after the added-token lookup of convert_tokens_to_ids).
  int64_t token_to_id(const std::string& token) const {
    if (const auto it = added_encoder.find(token); it != added_encoder.end()) return it->second;
    if (const auto n = sentinel_number(token)) return vocab_size - *n - 1;
    return sp->piece_to_id(token);
  }
  // Whether `token` is a key of get_vocab() (the pieces, the sentinels, the added tokens).
  std::optional<int64_t> vocab_id(const std::string& token) const {
    if (const auto it = added_encoder.find(token); it != added_encoder.end()) return it->second;
    if (const auto n = sentinel_number(token);
        n && *n < config.extra_ids && "<extra_id_" + std::to_string(*n) + ">" == token)
      return vocab_size - *n - 1;
    const int id = sp->piece_to_id(token);
    if (id >= 0 && sp->id_to_piece(id) == token) return id;
    return std::nullopt;
  }
  // _convert_id_to_token.
  std::string id_to_token(int64_t id) const {
    if (const auto it = added_decoder.find(id); it != added_decoder.end())
      return it->second.content;
    if (id >= 0 && id < piece_size) return sp->id_to_piece(static_cast<int>(id));
    if (id >= piece_size && id < vocab_size)
      return "<extra_id_" + std::to_string(vocab_size - 1 - id) + ">";
    throw Error("T5Tokenizer: token id " + std::to_string(id) + " is outside the vocabulary (" +
                std::to_string(vocab_size) + " ids)");
  }

  std::vector<std::string> sp_encode(const std::string& text) const {
    std::vector<std::string> pieces;
    std::string error;
    if (!sp->encode_pieces(text, &pieces, &error))
      throw Error(dir + "/spiece.model: sentencepiece could not encode the text: " + error);
    return pieces;
  }
  std::string sp_decode(const std::vector<std::string>& pieces) const {
    std::string text, error;
    if (!sp->decode_pieces(pieces, &text, &error))
      throw Error(dir + "/spiece.model: sentencepiece could not decode the pieces: " + error);
    return text;
  }

  // Trie.split: the text cut around every added token, leftmost first, longest at one position.
  std::vector<std::string> split_on_added_tokens(const std::string& text) const {
    std::vector<std::string> out;
    size_t start = 0, pos = 0;
    while (pos < text.size()) {
      size_t match = 0;
      if (text[pos] != '\0') {
        const size_t longest = std::min(longest_added, text.size() - pos);
        for (size_t len = longest; len > 0; --len) {
          if (added_encoder.count(text.substr(pos, len))) {
            match = len;
            break;
          }
        }
      }
      if (match == 0) {
        ++pos;
        continue;
      }
      if (pos > start) out.push_back(text.substr(start, pos - start));
      out.push_back(text.substr(pos, match));
      pos += match;
      start = pos;
    }
    if (start < text.size()) out.push_back(text.substr(start));
    return out;
  }

  // PreTrainedTokenizer.tokenize (legacy T5: _tokenize is sp_model.encode).
  std::vector<std::string> tokenize(const std::string& text) const {
    unicode::check_utf8(text, "T5Tokenizer: the text");
    std::vector<std::string> tokens = split_on_added_tokens(text);
    const auto py = [](const std::string& s) { return unicode::utf8_to_u32(s); };
    const auto utf8 = [](const std::u32string& s) { return unicode::u32_to_utf8(s); };
    for (size_t i = 0; i < tokens.size(); ++i) {
      const auto it = added_encoder.find(tokens[i]);
      if (it == added_encoder.end()) continue;
      const T5AddedToken& tok = added_decoder.at(it->second);
      // The neighbours as they were before this token stripped them (Python's left / right).
      const std::string left = i > 0 ? tokens[i - 1] : std::string();
      const std::string right = i + 1 < tokens.size() ? tokens[i + 1] : std::string();
      if (tok.rstrip && !right.empty()) tokens[i + 1] = utf8(unicode::lstrip(py(right)));
      if (tok.lstrip && !left.empty()) tokens[i - 1] = utf8(unicode::rstrip(py(left)));
      if (tok.single_word && !left.empty() && left.back() != ' ') {
        tokens[i - 1] += tokens[i];
        tokens[i].clear();
      } else if (tok.single_word && !right.empty() && right.front() != ' ') {
        tokens[i] += tokens[i + 1];
        tokens[i + 1].clear();
      }
    }
    std::vector<std::string> out;
    for (const std::string& chunk : tokens) {
      if (chunk.empty()) continue;
      if (added_encoder.count(chunk)) {
        out.push_back(chunk);
      } else {
        for (std::string& piece : sp_encode(chunk))
          out.push_back(std::move(piece));
      }
    }
    return out;
  }

  // T5Tokenizer.convert_tokens_to_string.
  std::string tokens_to_string(std::vector<std::string> tokens) const {
    const std::string underline = "\xE2\x96\x81";  // "▁"
    if (!tokens.empty() && tokens[0].compare(0, underline.size(), underline) == 0)
      tokens[0] = tokens[0].substr(underline.size());
    std::vector<std::string> current;
    std::string out;
    bool prev_is_special = false;
    for (const std::string& token : tokens) {
      if (all_special_set.count(token)) {
        if (!prev_is_special) out += " ";
        out += sp_decode(current) + token;
        prev_is_special = true;
        current.clear();
      } else {
        current.push_back(token);
        prev_is_special = false;
      }
    }
    out += sp_decode(current);
    return utf8_strip(out);
  }

  static std::string utf8_strip(const std::string& s) {
    return unicode::u32_to_utf8(unicode::strip(unicode::utf8_to_u32(s)));
  }
};

T5Tokenizer::T5Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

T5Tokenizer T5Tokenizer::from_folder(const std::string& dir) {
  auto impl = std::make_shared<Impl>();
  impl->dir = dir;
  const std::string config_path = dir + "/tokenizer_config.json";
  const std::string map_path = dir + "/special_tokens_map.json";
  impl->config = T5TokenizerConfig::parse(
      tokenizer_file_exists(config_path) ? read_tokenizer_file(config_path) : std::string(),
      tokenizer_file_exists(map_path) ? read_tokenizer_file(map_path) : std::string(), config_path,
      map_path);
  const T5TokenizerConfig& c = impl->config;
  impl->sp = load_sentencepiece_model(dir + "/spiece.model");
  impl->piece_size = impl->sp->piece_size();
  if (impl->piece_size <= 0) throw Error(dir + "/spiece.model: the model has no pieces");
  impl->vocab_size = impl->piece_size + c.extra_ids;

  // T5Tokenizer.__init__: the sentinels (lstrip and rstrip), counted from the top of the vocab.
  std::vector<T5AddedToken> additional;
  size_t sentinels = 0;
  if (c.additional_special_tokens) {
    additional = *c.additional_special_tokens;
    sentinels = std::count_if(additional.begin(), additional.end(),
                              [](const T5AddedToken& t) { return is_extra_id_token(t.content); });
    if (sentinels == 0) {
      for (int64_t i = 0; i < c.extra_ids; ++i)
        additional.push_back({"<extra_id_" + std::to_string(i) + ">"});
    }
  } else {
    sentinels = static_cast<size_t>(c.extra_ids);
    for (int64_t i = 0; i < c.extra_ids; ++i)
      additional.push_back({"<extra_id_" + std::to_string(i) + ">"});
  }
  for (size_t i = 0; i < sentinels; ++i) {
    T5AddedToken token{"<extra_id_" + std::to_string(i) + ">"};
    token.lstrip = token.rstrip = true;
    impl->added_decoder[impl->piece_size - 1 + c.extra_ids - static_cast<int64_t>(i)] = token;
  }
  // PreTrainedTokenizer.__init__: the config's added_tokens_decoder overrides by id ...
  for (const auto& [id, token] : c.added_tokens_decoder)
    impl->added_decoder[id] = token;
  for (const auto& [id, token] : impl->added_decoder)
    impl->added_encoder[token.content] = id;
  // ... then every special token not added yet gets its vocabulary id, or the next free one.
  std::vector<T5AddedToken> specials = {c.eos_token, c.unk_token, c.pad_token};
  specials.insert(specials.end(), additional.begin(), additional.end());
  int64_t next_id = impl->vocab_size;
  for (const auto& [id, token] : impl->added_decoder) {
    if (id >= impl->vocab_size) next_id = std::max(next_id, id + 1);
  }
  for (const T5AddedToken& token : specials) {
    if (impl->added_encoder.count(token.content)) continue;
    const std::optional<int64_t> known = impl->vocab_id(token.content);
    const int64_t id = known ? *known : next_id++;
    impl->added_decoder[id] = token;
    impl->added_encoder[token.content] = id;
  }
  for (const T5AddedToken& token : specials) {
    if (impl->all_special_set.insert(token.content).second)
      impl->all_special_tokens.push_back(token.content);
  }
  for (const std::string& token : impl->all_special_tokens)
    impl->all_special_ids.insert(impl->token_to_id(token));
  for (const auto& [content, id] : impl->added_encoder) {
    if (!impl->all_special_set.count(content)) impl->legacy_added_tokens.insert(content);
  }
  for (const T5AddedToken& token : additional) {
    if (impl->token_to_id(token.content) >= impl->vocab_size)
      impl->legacy_added_tokens.insert(token.content);
  }
  for (const auto& [content, id] : impl->added_encoder)
    impl->longest_added = std::max(impl->longest_added, content.size());
  impl->eos_id = impl->token_to_id(c.eos_token.content);
  impl->pad_id = impl->token_to_id(c.pad_token.content);
  impl->unk_id = impl->token_to_id(c.unk_token.content);
  return T5Tokenizer(std::move(impl));
}

std::vector<std::string> T5Tokenizer::tokenize(const std::string& text) const {
  return impl_->tokenize(text);
}

std::vector<int64_t> T5Tokenizer::encode(const std::string& text) const {
  std::vector<int64_t> ids;
  for (const std::string& token : impl_->tokenize(text))
    ids.push_back(impl_->token_to_id(token));
  return ids;
}

TokenizerOutput T5Tokenizer::operator()(const std::string& text, int64_t max_length, bool pad,
                                        bool truncate) const {
  if ((pad || truncate) && max_length <= 0)
    throw Error("T5Tokenizer: padding / truncation need a positive max_length");
  std::vector<int64_t> ids = encode(text);
  // prepare_for_model: room for the one special token build_inputs_with_special_tokens adds.
  const int64_t total = static_cast<int64_t>(ids.size()) + 1;
  if (truncate && total > max_length) {
    const int64_t remove = total - max_length;
    ids.resize(remove >= static_cast<int64_t>(ids.size()) ? 0 : ids.size() - remove);
  }
  // _add_eos_if_not_present.
  if (ids.empty() || ids.back() != impl_->eos_id) ids.push_back(impl_->eos_id);
  TokenizerOutput out;
  out.attention_mask.assign(ids.size(), 1);
  out.input_ids = std::move(ids);
  if (pad && static_cast<int64_t>(out.input_ids.size()) < max_length) {
    out.input_ids.resize(max_length, impl_->pad_id);
    out.attention_mask.resize(max_length, 0);
  }
  return out;
}

std::string T5Tokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  const Impl& impl = *impl_;
  // PreTrainedTokenizer._decode (spaces_between_special_tokens=True).
  std::vector<std::string> sub_texts, current;
  for (int64_t id : ids) {
    if (skip_special_tokens && impl.all_special_ids.count(id)) continue;
    std::string token = impl.id_to_token(id);
    if (impl.legacy_added_tokens.count(token)) {
      if (!current.empty()) {
        std::string s = impl.tokens_to_string(current);
        if (!s.empty()) sub_texts.push_back(std::move(s));
        current.clear();
      }
      sub_texts.push_back(std::move(token));
    } else {
      current.push_back(std::move(token));
    }
  }
  if (!current.empty()) sub_texts.push_back(impl.tokens_to_string(current));
  std::string text;
  for (size_t i = 0; i < sub_texts.size(); ++i)
    text += (i ? " " : "") + sub_texts[i];
  return impl.config.clean_up_tokenization_spaces ? clean_up_tokenization(std::move(text)) : text;
}

std::string T5Tokenizer::pipeline_text(const std::string& prompt) {
  const std::u32string text =
      unicode::utf8_to_u32(prompt, unicode::Utf8Errors::kStrict, "the prompt");
  return unicode::u32_to_utf8(unicode::strip(unicode::to_lower(text)));
}

int64_t T5Tokenizer::vocab_size() const {
  return impl_->vocab_size;
}
int64_t T5Tokenizer::size() const {
  int64_t n = impl_->vocab_size;
  for (const auto& [id, token] : impl_->added_decoder) {
    if (id >= impl_->vocab_size) ++n;
  }
  return n;
}
int64_t T5Tokenizer::piece_size() const {
  return impl_->piece_size;
}
int64_t T5Tokenizer::eos_id() const {
  return impl_->eos_id;
}
int64_t T5Tokenizer::pad_id() const {
  return impl_->pad_id;
}
int64_t T5Tokenizer::unk_id() const {
  return impl_->unk_id;
}
int64_t T5Tokenizer::model_max_length() const {
  return impl_->config.model_max_length.value_or(kVeryLargeInteger);
}
std::optional<int64_t> T5Tokenizer::token_to_id(const std::string& token) const {
  return impl_->vocab_id(token);
}
std::vector<int64_t> T5Tokenizer::all_special_ids() const {
  return {impl_->all_special_ids.begin(), impl_->all_special_ids.end()};
}

}  // namespace papillon
