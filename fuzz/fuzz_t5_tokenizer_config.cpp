// Fuzzes the T5 tokenizer's config reader (T5TokenizerConfig::parse): the first byte picks which
// file the rest is — 0: tokenizer_config.json (with the fixture's special_tokens_map.json),
// 1: special_tokens_map.json (with the fixture's tokenizer_config.json), 2: both halves of the
// rest, split at the first NUL. Wrong types and values must be papillon::Errors naming the key.
// (sentencepiece itself runs in a module loaded with RTLD_DEEPBIND, which the sanitizers of the
// fuzz build cannot load: the tokenizer's fixture cases are covered by tst_t5_tokenizer.)
#include <fstream>
#include <sstream>

#include "core/tokenizers/t5_tokenizer.h"
#include "fuzz/fuzz_common.h"

using papillon::fuzz::fail;

namespace {

std::string fixture_file(const char* name) {
  std::ifstream in(
      papillon::fuzz::fixtures_dir() + "/t5_pixart/pipelines/pixart_tiny/tokenizer/" + name,
      std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

const std::string& fixture_config() {
  static const std::string text = fixture_file("tokenizer_config.json");
  return text;
}
const std::string& fixture_map() {
  static const std::string text = fixture_file("special_tokens_map.json");
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int mode = data[0] % 3;
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string config = fixture_config(), map = fixture_map();
  if (mode == 0) config = rest;
  if (mode == 1) map = rest;
  if (mode == 2) {
    const size_t nul = rest.find('\0');
    config = rest.substr(0, nul);
    map = nul == std::string::npos ? std::string() : rest.substr(nul + 1);
  }
  papillon::fuzz::run_expecting_clean_errors("t5_tokenizer_config", [&] {
    const papillon::T5TokenizerConfig c = papillon::T5TokenizerConfig::parse(config, map);
    if (c.extra_ids < 0) fail("t5_tokenizer_config", "negative extra_ids accepted");
    if (c.eos_token.content.empty() || c.pad_token.content.empty() || c.unk_token.content.empty())
      fail("t5_tokenizer_config", "an empty special token accepted");
    if (!c.legacy) fail("t5_tokenizer_config", "legacy=false accepted");
  });
  return 0;
}
