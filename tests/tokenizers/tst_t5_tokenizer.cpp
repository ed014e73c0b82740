// T5Tokenizer against transformers 4.38's slow T5Tokenizer (legacy=True) on the PixArt fixture
// folder: every case of t5_pixart/tokenizer/cases_public.json must match exactly — the padded and
// truncated ids and mask of PixArtAlphaPipeline.encode_prompt's call, the untruncated ids, the
// pieces, plain sentencepiece encoding, decode, and the ids of the pipeline's lower-cased text.
// Ids and strings: no tolerance, equality. The process also holds LibTorch (and its protobuf), so
// every case passing also shows the RTLD_DEEPBIND module keeps sentencepiece's protobuf apart.
#include <QtTest/QtTest>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/tokenizers/sentencepiece_loader.h"
#include "core/tokenizers/t5_tokenizer.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using namespace papillon;
using namespace papillon::test;
namespace fs = std::filesystem;

namespace {

const char* const kTokenizerDir = "t5_pixart/pipelines/pixart_tiny/tokenizer";
constexpr int64_t kMaxLength = 120;  // PixArtAlphaPipeline.encode_prompt's max_length

std::string join_ids(const std::vector<int64_t>& ids) {
  std::string out;
  for (int64_t id : ids)
    out += (out.empty() ? "" : " ") + std::to_string(id);
  return out;
}

std::string join_strings(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items)
    out += (out.empty() ? "" : " | ") + s;
  return out;
}

std::string copy_tokenizer(const std::string& tag) {
  const std::string dir = temp_dir(tag);
  for (const auto& entry : fs::directory_iterator(fixture_path(kTokenizerDir)))
    fs::copy_file(entry.path(), fs::path(dir) / entry.path().filename());
  return dir;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string load_error(const std::string& dir) {
  try {
    T5Tokenizer::from_folder(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string parse_error(const std::string& config, const std::string& map) {
  try {
    T5TokenizerConfig::parse(config, map);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const T5Tokenizer& fixture_tokenizer() {
  static const T5Tokenizer tokenizer = T5Tokenizer::from_folder(fixture_path(kTokenizerDir));
  return tokenizer;
}

}  // namespace

class TestT5Tokenizer : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void vocabulary_matches_meta() {
    const Json meta = fixture_json("t5_pixart/tokenizer/cases_public.json").at("meta");
    const T5Tokenizer& tok = fixture_tokenizer();
    QCOMPARE(tok.piece_size(), meta.at("sentencepiece_piece_size").get<int64_t>());
    QCOMPARE(tok.size(), meta.at("tokenizer_len").get<int64_t>());
    QCOMPARE(tok.vocab_size(), int64_t{3100});
    QCOMPARE(*tok.token_to_id("<extra_id_0>"), meta.at("extra_id_0_id").get<int64_t>());
    QCOMPARE(*tok.token_to_id("<extra_id_99>"), meta.at("extra_id_99_id").get<int64_t>());
    QVERIFY(!tok.token_to_id("<extra_id_100>"));
    QCOMPARE(tok.pad_id(), meta.at("special_ids").at("pad").get<int64_t>());
    QCOMPARE(tok.eos_id(), meta.at("special_ids").at("eos").get<int64_t>());
    QCOMPARE(tok.unk_id(), meta.at("special_ids").at("unk").get<int64_t>());
    QCOMPARE(tok.model_max_length(), int64_t{512});
    QCOMPARE(tok.all_special_ids().size(), size_t{103});
  }

  void matches_every_public_case() {
    const Json cases = fixture_json("t5_pixart/tokenizer/cases_public.json").at("cases");
    QVERIFY(cases.size() >= 60);
    const T5Tokenizer& tok = fixture_tokenizer();
    int truncated = 0, lowered = 0;
    for (const Json& c : cases) {
      const std::string prompt = c.at("prompt").get<std::string>();
      const std::string what = "prompt \"" + prompt + "\"";
      const TokenizerOutput out = tok(prompt, kMaxLength);
      QVERIFY2(out.input_ids == c.at("input_ids").get<std::vector<int64_t>>(),
               (what + ": input_ids " + join_ids(out.input_ids)).c_str());
      QVERIFY2(out.attention_mask == c.at("attention_mask").get<std::vector<int64_t>>(),
               (what + ": attention_mask " + join_ids(out.attention_mask)).c_str());
      const TokenizerOutput full = tok(prompt, 0, /*pad=*/false, /*truncate=*/false);
      const auto untruncated = c.at("input_ids_untruncated").get<std::vector<int64_t>>();
      QVERIFY2(full.input_ids == untruncated,
               (what + ": untruncated " + join_ids(full.input_ids)).c_str());
      truncated += untruncated.size() > static_cast<size_t>(kMaxLength);
      const auto tokens = tok.tokenize(prompt);
      QVERIFY2(tokens == c.at("tokens").get<std::vector<std::string>>(),
               (what + ": tokens " + join_strings(tokens)).c_str());
      const std::string decoded = tok.decode(out.input_ids, /*skip_special_tokens=*/true);
      QVERIFY2(decoded == c.at("decode").get<std::string>(),
               (what + ": decode \"" + decoded + "\"").c_str());

      const std::string text = T5Tokenizer::pipeline_text(prompt);
      QVERIFY2(text == c.at("pipeline_text").get<std::string>(),
               (what + ": pipeline_text \"" + text + "\"").c_str());
      lowered += text != prompt;
      const TokenizerOutput pipeline = tok(text, kMaxLength);
      QVERIFY2(pipeline.input_ids == c.at("input_ids_pipeline").get<std::vector<int64_t>>(),
               (what + ": input_ids_pipeline " + join_ids(pipeline.input_ids)).c_str());
      if (c.contains("attention_mask_pipeline")) {
        QVERIFY2(
            pipeline.attention_mask == c.at("attention_mask_pipeline").get<std::vector<int64_t>>(),
            (what + ": attention_mask_pipeline").c_str());
      }
    }
    QVERIFY(truncated >= 3);  // the meta counts 3 truncated cases
    QVERIFY(lowered > 10);
  }

  void plain_sentencepiece_encoding_matches() {
    // A prompt without added tokens: tokenize() is sp_model.encode(prompt) (sp_pieces / ids).
    const Json cases = fixture_json("t5_pixart/tokenizer/cases_public.json").at("cases");
    const T5Tokenizer& tok = fixture_tokenizer();
    int compared = 0;
    for (const Json& c : cases) {
      const std::string prompt = c.at("prompt").get<std::string>();
      if (prompt.find('<') != std::string::npos) continue;
      QCOMPARE(tok.tokenize(prompt), c.at("sp_pieces").get<std::vector<std::string>>());
      QCOMPARE(tok.encode(prompt), c.at("sp_encode_ids").get<std::vector<int64_t>>());
      ++compared;
    }
    QVERIFY(compared > 40);
  }

  void added_token_rules() {
    const T5Tokenizer& tok = fixture_tokenizer();
    // Sentinels eat the spaces around them; </s> does not. A typed </s> at the end gets no second.
    QCOMPARE(tok.tokenize("a   <extra_id_3>   cat"), (std::vector<std::string>{"\xE2\x96\x81"
                                                                               "a",
                                                                               "<extra_id_3>",
                                                                               "\xE2\x96\x81"
                                                                               "cat"}));
    const auto eos_last = tok("a cat</s>", 0, false, false).input_ids;
    QCOMPARE(eos_last.back(), int64_t{1});
    QVERIFY(eos_last[eos_last.size() - 2] != 1);
    QCOMPARE(tok("", kMaxLength).input_ids[0], int64_t{1});
    QCOMPARE(tok("", kMaxLength).attention_mask[1], int64_t{0});
    // decode without skipping keeps the special tokens.
    QCOMPARE(tok.decode({3099, 1}), std::string("<extra_id_0></s>"));
    // Truncation keeps room for </s>: the result is exactly max_length long and ends with it.
    std::string long_text;
    for (int i = 0; i < 50; ++i)
      long_text += "word ";
    const TokenizerOutput out = tok(long_text, 16);
    QCOMPARE(out.input_ids.size(), size_t{16});
    QCOMPARE(out.input_ids.back(), int64_t{1});
  }

  void pipeline_text_lowercases_all_of_unicode() {
    QCOMPARE(T5Tokenizer::pipeline_text("  ÀÉÎ ΣΑΣ İ Straße  "),
             std::string("àéî σας i\xCC\x87 straße"));
    QVERIFY_EXCEPTION_THROWN(T5Tokenizer::pipeline_text("bad \xff utf-8"), Error);
  }

  void bad_input_is_a_clear_error() {
    const T5Tokenizer& tok = fixture_tokenizer();
    QVERIFY_EXCEPTION_THROWN(tok.tokenize("bad \xc3 utf-8"), Error);
    QVERIFY_EXCEPTION_THROWN(tok.decode({3100}), Error);
    QVERIFY_EXCEPTION_THROWN(tok.decode({-1}), Error);
    QVERIFY_EXCEPTION_THROWN(tok("x", 0), Error);
  }

  void missing_or_corrupt_model_names_the_file() {
    const std::string missing = copy_tokenizer("t5-no-model");
    fs::remove(missing + "/spiece.model");
    std::string message = load_error(missing);
    QVERIFY2(message.find(missing + "/spiece.model") != std::string::npos &&
                 message.find("not found") != std::string::npos,
             message.c_str());

    const std::string corrupt = copy_tokenizer("t5-corrupt-model");
    write_file(corrupt + "/spiece.model", "this is not a sentencepiece model");
    message = load_error(corrupt);
    QVERIFY2(message.find(corrupt + "/spiece.model") != std::string::npos &&
                 message.find("not a valid sentencepiece model") != std::string::npos,
             message.c_str());

    const std::string bad_json = copy_tokenizer("t5-bad-config");
    write_file(bad_json + "/tokenizer_config.json", "{\"extra_ids\": ");
    message = load_error(bad_json);
    QVERIFY2(message.find("tokenizer_config.json") != std::string::npos, message.c_str());
  }

  void config_rules() {
    // Defaults: T5Tokenizer.__init__.
    const T5TokenizerConfig d = T5TokenizerConfig::parse("", "");
    QCOMPARE(d.extra_ids, int64_t{100});
    QVERIFY(d.legacy);
    QVERIFY(!d.additional_special_tokens);
    QCOMPARE(d.eos_token.content, std::string("</s>"));
    // special_tokens_map.json wins over tokenizer_config.json; lists are merged.
    const T5TokenizerConfig m = T5TokenizerConfig::parse(
        R"({"eos_token": "<e>", "extra_ids": 0, "additional_special_tokens": ["<a>"]})",
        R"({"eos_token": {"content": "<E>", "lstrip": true}, "additional_special_tokens": ["<a>", "<b>"]})");
    QCOMPARE(m.eos_token.content, std::string("<E>"));
    QVERIFY(m.eos_token.lstrip);
    QCOMPARE(m.additional_special_tokens->size(), size_t{2});
    // Errors name the file and the key.
    std::string e = parse_error(R"({"extra_ids": "many"})", "");
    QVERIFY2(e.find("tokenizer_config.json") != std::string::npos &&
                 e.find("extra_ids") != std::string::npos,
             e.c_str());
    e = parse_error(R"({"extra_ids": 3, "additional_special_tokens": ["<extra_id_0>"]})", "");
    QVERIFY2(e.find("disagree") != std::string::npos, e.c_str());
    e = parse_error(R"({"legacy": false})", "");
    QVERIFY2(e.find("legacy") != std::string::npos, e.c_str());
    e = parse_error("", R"({"pad_token": 7})");
    QVERIFY2(e.find("special_tokens_map.json") != std::string::npos &&
                 e.find("pad_token") != std::string::npos,
             e.c_str());
    e = parse_error(R"({"added_tokens_decoder": {"x": "<a>"}})", "");
    QVERIFY2(e.find("added_tokens_decoder") != std::string::npos, e.c_str());
    QVERIFY(!parse_error("[1, 2]", "").empty());
  }

  void module_lookup_and_override() {
    const std::string found = find_sentencepiece_module();
    QVERIFY2(!found.empty() && fs::exists(found), found.c_str());
    // A wrong override is used as given (no silent fallback) and reported with its path.
    qputenv("PAPILLON_SENTENCEPIECE_MODULE", "/nonexistent/libpapillon_sentencepiece.so");
    std::string tried;
    QVERIFY(find_sentencepiece_module(&tried).empty());
    QVERIFY2(tried.find("/nonexistent/") != std::string::npos, tried.c_str());
    qunsetenv("PAPILLON_SENTENCEPIECE_MODULE");
    QCOMPARE(find_sentencepiece_module(), found);
  }
};

QTEST_APPLESS_MAIN(TestT5Tokenizer)
#include "tst_t5_tokenizer.moc"
