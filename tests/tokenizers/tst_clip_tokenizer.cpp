// CLIPTokenizer against transformers 4.38's slow CLIPTokenizer without ftfy (the fixtures' primary
// column): every case of tokenizer/cases_public.json must match exactly (ids, mask, untruncated
// ids, BPE strings, decode). Tokens are integers and strings, so there is no tolerance: equality.
#include <ATen/Parallel.h>
#include <QtTest/QtTest>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "core/tokenizers/clip_tokenizer.h"
#include "core/tokenizers/unicode_utils.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using namespace papillon;
using namespace papillon::test;
namespace fs = std::filesystem;

namespace {

const char* const kTokenizerDir = "pipelines/sd_tiny/tokenizer";

std::string join_ids(const std::vector<int64_t>& ids) {
  std::string out;
  for (int64_t id : ids)
    out += (out.empty() ? "" : " ") + std::to_string(id);
  return out;
}

// A copy of the fixture tokenizer folder in a fresh temporary directory.
std::string copy_tokenizer(const std::string& tag) {
  const std::string dir = temp_dir(tag);
  for (const auto& entry : fs::directory_iterator(fixture_path(kTokenizerDir))) {
    fs::copy_file(entry.path(), fs::path(dir) / entry.path().filename());
  }
  return dir;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

void write_json(const std::string& path, const Json& json) {
  write_file(path, json.dump(2));
}

// The error message of from_folder(dir), or "" when it loads.
std::string load_error(const std::string& dir) {
  try {
    CLIPTokenizer::from_folder(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

class TestClipTokenizer : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    at::set_num_threads(1);
    const auto start = std::chrono::steady_clock::now();
    tokenizer_ =
        std::make_unique<CLIPTokenizer>(CLIPTokenizer::from_folder(fixture_path(kTokenizerDir)));
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    qDebug("CLIPTokenizer::from_folder(%s): %.1f ms", kTokenizerDir, ms);
    cases_ = fixture_json("tokenizer/cases_public.json");
  }

  void config_values() {
    QCOMPARE(tokenizer_->model_max_length(), cases_["model_max_length"].get<int64_t>());
    QCOMPARE(tokenizer_->pad_id(), cases_["pad_token_id"].get<int64_t>());
    const Json vocab = read_json_file(fixture_path(kTokenizerDir) + "/vocab.json");
    QCOMPARE(tokenizer_->vocab_size(), static_cast<int64_t>(vocab.size()));
    QCOMPARE(tokenizer_->bos_id(), vocab["<|startoftext|>"].get<int64_t>());
    QCOMPARE(tokenizer_->eos_id(), vocab["<|endoftext|>"].get<int64_t>());
    QCOMPARE(tokenizer_->token_to_id("photo</w>"), std::optional<int64_t>(vocab["photo</w>"]));
    QVERIFY(!tokenizer_->token_to_id("no-such-token").has_value());
  }

  void fixture_cases_data() {
    QTest::addColumn<int>("index");
    const Json& cases = cases_["cases"];
    QCOMPARE(cases.size(), cases_["n_cases"].get<size_t>());
    for (size_t i = 0; i < cases.size(); ++i) {
      QTest::newRow(("case " + std::to_string(i)).c_str()) << static_cast<int>(i);
    }
  }

  void fixture_cases() {
    QFETCH(int, index);
    const Json& c = cases_["cases"][static_cast<size_t>(index)];
    const auto prompt = c["prompt"].get<std::string>();
    const auto expected_ids = c["input_ids"].get<std::vector<int64_t>>();
    const auto expected_untruncated = c["ids_untruncated"].get<std::vector<int64_t>>();

    QCOMPARE(tokenizer_->bpe_tokens(prompt), c["bpe_tokens"].get<std::vector<std::string>>());
    const TokenizerOutput out = (*tokenizer_)(prompt);
    QVERIFY2(
        out.input_ids == expected_ids,
        ("input_ids " + join_ids(out.input_ids) + "\nexpected " + join_ids(expected_ids)).c_str());
    QCOMPARE(out.attention_mask, c["attention_mask"].get<std::vector<int64_t>>());
    const TokenizerOutput untruncated = (*tokenizer_)(prompt, false, false);
    QCOMPARE(untruncated.input_ids, expected_untruncated);
    QCOMPARE(untruncated.attention_mask, std::vector<int64_t>(expected_untruncated.size(), 1));
    // encode() is the untruncated sequence without bos/eos.
    QCOMPARE(tokenizer_->encode(prompt), std::vector<int64_t>(expected_untruncated.begin() + 1,
                                                              expected_untruncated.end() - 1));
    QCOMPARE(tokenizer_->decode(expected_ids, true), c["decoded"].get<std::string>());
  }

  void empty_prompt() {
    QVERIFY(tokenizer_->bpe_tokens("").empty());
    QVERIFY(tokenizer_->encode("   \t\n").empty());
    const TokenizerOutput out = (*tokenizer_)("");
    QCOMPARE(static_cast<int64_t>(out.input_ids.size()), tokenizer_->model_max_length());
    QCOMPARE(out.input_ids[0], tokenizer_->bos_id());
    QCOMPARE(out.input_ids[1], tokenizer_->eos_id());
    for (size_t i = 2; i < out.input_ids.size(); ++i) {
      QCOMPARE(out.input_ids[i], tokenizer_->pad_id());
      QCOMPARE(out.attention_mask[i], int64_t{0});
    }
    QCOMPARE(out.attention_mask[0] + out.attention_mask[1], int64_t{2});
    QCOMPARE(tokenizer_->decode(out.input_ids, true), std::string());
  }

  // Without skip_special_tokens the markers stay: bos has no "</w>", so it touches the first word.
  void decode_keeps_special_tokens() {
    const std::string prompt = "a photo of an astronaut";
    const auto ids = (*tokenizer_)(prompt, false, false).input_ids;
    QCOMPARE(tokenizer_->decode(ids, false), "<|startoftext|>" + prompt + " <|endoftext|>");
    QVERIFY_EXCEPTION_THROWN(tokenizer_->decode({tokenizer_->vocab_size() + 100}), Error);
  }

  // SD-2 folders use pad_token "!": padding uses the id of "!" and a literal "!" in the prompt is
  // split out as that special token instead of becoming the BPE token "!</w>".
  void sd2_pad_token() {
    const Json vocab = read_json_file(fixture_path(kTokenizerDir) + "/vocab.json");
    const int64_t bang = vocab["!"].get<int64_t>();
    const int64_t bang_word = vocab["!</w>"].get<int64_t>();

    // Legacy layout (no added_tokens_decoder): special_tokens_map.json decides.
    const std::string legacy = copy_tokenizer("clip-sd2-legacy");
    Json config = read_json_file(legacy + "/tokenizer_config.json");
    config["pad_token"] = "!";
    write_json(legacy + "/tokenizer_config.json", config);
    Json map = read_json_file(legacy + "/special_tokens_map.json");
    map["pad_token"] = "!";
    write_json(legacy + "/special_tokens_map.json", map);

    // transformers >= 4.34 layout: added_tokens_decoder lists every added token by id.
    const std::string modern = copy_tokenizer("clip-sd2-modern");
    config["added_tokens_decoder"] = Json::object();
    for (const char* content : {"!", "<|startoftext|>", "<|endoftext|>"}) {
      config["added_tokens_decoder"][std::to_string(vocab[content].get<int64_t>())] = {
          {"content", content}, {"lstrip", false},      {"normalized", false},
          {"rstrip", false},    {"single_word", false}, {"special", true}};
    }
    config["bos_token"] = "<|startoftext|>";
    config["eos_token"] = "<|endoftext|>";
    config["unk_token"] = "<|endoftext|>";
    write_json(modern + "/tokenizer_config.json", config);
    fs::remove(modern + "/special_tokens_map.json");

    const std::string prompt = "hello world! so good !!";
    const auto reference = tokenizer_->encode(prompt);
    QVERIFY(std::count(reference.begin(), reference.end(), bang_word) == 1);
    for (const std::string& dir : {legacy, modern}) {
      const auto sd2 = CLIPTokenizer::from_folder(dir);
      QCOMPARE(sd2.pad_id(), bang);
      QCOMPARE(sd2.token_to_id("!"), std::optional<int64_t>(bang));
      const auto ids = sd2.encode(prompt);
      // Every "!" became the special id: 3 of them, and no "!</w>" BPE token any more.
      QCOMPARE(std::count(ids.begin(), ids.end(), bang), std::ptrdiff_t{3});
      QCOMPARE(std::count(ids.begin(), ids.end(), bang_word), std::ptrdiff_t{0});
      // The words around are tokenized as before: the reference without its "!" tokens.
      std::vector<int64_t> words;
      for (int64_t id : ids) {
        if (id != bang) words.push_back(id);
      }
      std::vector<int64_t> reference_words;
      for (int64_t id : reference) {
        if (id != bang_word && id != bang && id != vocab["!!</w>"].get<int64_t>()) {
          reference_words.push_back(id);
        }
      }
      QCOMPARE(words, reference_words);
      const TokenizerOutput out = sd2(prompt);
      const size_t real = ids.size() + 2;
      QCOMPARE(static_cast<int64_t>(out.input_ids.size()), sd2.model_max_length());
      for (size_t i = real; i < out.input_ids.size(); ++i)
        QCOMPARE(out.input_ids[i], bang);
      QCOMPARE(std::accumulate(out.attention_mask.begin(), out.attention_mask.end(), int64_t{0}),
               static_cast<int64_t>(real));
      // "!" is special, so skip_special_tokens drops it.
      QCOMPARE(sd2.decode(out.input_ids, true), std::string("hello world so good"));
    }
  }

  // AddedToken.single_word: a special token glued to a word is tokenized as plain text.
  void single_word_added_token() {
    const std::string dir = copy_tokenizer("clip-single-word");
    Json config = read_json_file(dir + "/tokenizer_config.json");
    config["pad_token"] = {{"content", "!"},  {"single_word", true}, {"lstrip", false},
                           {"rstrip", false}, {"normalized", false}, {"__type", "AddedToken"}};
    write_json(dir + "/tokenizer_config.json", config);
    Json map = read_json_file(dir + "/special_tokens_map.json");
    map.erase("pad_token");
    write_json(dir + "/special_tokens_map.json", map);
    const auto tok = CLIPTokenizer::from_folder(dir);
    QCOMPARE(tok.encode("wow!"), tokenizer_->encode("wow!"));
    const auto spaced = tok.encode("wow !");
    QCOMPARE(spaced.back(), tok.pad_id());
    QCOMPARE(spaced.front(), tokenizer_->encode("wow").front());
  }

  void errors_name_the_file() {
    const std::string no_vocab = copy_tokenizer("clip-no-vocab");
    fs::remove(no_vocab + "/vocab.json");
    QVERIFY2(load_error(no_vocab).find("vocab.json") != std::string::npos,
             load_error(no_vocab).c_str());

    const std::string bad_vocab = copy_tokenizer("clip-bad-vocab");
    write_file(bad_vocab + "/vocab.json", "{\"a\": 1, \"b\": 2.5}");
    QVERIFY2(load_error(bad_vocab).find("vocab.json") != std::string::npos &&
                 load_error(bad_vocab).find("\"b\"") != std::string::npos,
             load_error(bad_vocab).c_str());

    const std::string no_merges = copy_tokenizer("clip-no-merges");
    fs::remove(no_merges + "/merges.txt");
    QVERIFY2(load_error(no_merges).find("merges.txt") != std::string::npos,
             load_error(no_merges).c_str());

    const std::string bad_merges = copy_tokenizer("clip-bad-merges");
    write_file(bad_merges + "/merges.txt", "#version: 0.2\ni n\nt h e\n");
    const std::string message = load_error(bad_merges);
    QVERIFY2(message.find("merges.txt") != std::string::npos &&
                 message.find("line 3") != std::string::npos,
             message.c_str());

    const std::string bad_config = copy_tokenizer("clip-bad-config");
    write_file(bad_config + "/tokenizer_config.json", "{\"model_max_length\": ");
    QVERIFY2(load_error(bad_config).find("tokenizer_config.json") != std::string::npos,
             load_error(bad_config).c_str());
  }

  // The Python semantics the port relies on (str.lower, NFC, str.isspace, bytes.decode).
  void unicode_helpers() {
    using unicode::utf8_to_u32;
    QCOMPARE(unicode::to_lower(utf8_to_u32("İ")), utf8_to_u32("i\xCC\x87"));
    QCOMPARE(unicode::to_lower(utf8_to_u32("ΟΔΟΣ ΣΑ")), utf8_to_u32("οδος σα"));
    QCOMPARE(unicode::nfc(utf8_to_u32("e\xCC\x81")), utf8_to_u32("é"));
    for (char32_t cp : {U'\x1c', U'\x85', U'\u00a0', U'\u2028', U'\u3000'}) {
      QVERIFY(unicode::is_python_space(cp));
    }
    QVERIFY(!unicode::is_python_space(U'\u200b'));
    QVERIFY(!unicode::is_regex_space(U'\x1c'));
    QCOMPARE(utf8_to_u32("a\xE2\x82z\xFF"), std::u32string(U"a\uFFFDz\uFFFD"));
    QVERIFY_EXCEPTION_THROWN(utf8_to_u32("\xC3", unicode::Utf8Errors::kStrict), Error);
  }

 private:
  std::unique_ptr<CLIPTokenizer> tokenizer_;
  Json cases_;
};

QTEST_APPLESS_MAIN(TestClipTokenizer)
#include "tst_clip_tokenizer.moc"
