// Fuzzes the CLIP tokenizer. The first byte picks what the rest is:
//   0: a prompt for the real CLIP tokenizer (the fixtures' SD tokenizer folder): bpe_tokens,
//   encode,
//      the padded/truncated call and decode, with their invariants;
//   1: vocab.json, 2: merges.txt, 3: tokenizer_config.json of a small tokenizer folder, which is
//      then loaded with CLIPTokenizer::from_folder and used once.
#include <filesystem>
#include <optional>

#include "core/tokenizers/clip_tokenizer.h"
#include "fuzz/fuzz_common.h"

using papillon::CLIPTokenizer;
using papillon::fuzz::fail;

namespace {

const CLIPTokenizer& real_tokenizer() {
  static const CLIPTokenizer tokenizer =
      CLIPTokenizer::from_folder(papillon::fuzz::fixtures_dir() + "/pipelines/sd_tiny/tokenizer");
  return tokenizer;
}

constexpr char kVocab[] =
    R"({"<|startoftext|>": 0, "<|endoftext|>": 1, "!": 2, "a": 3, "c": 4, "t": 5, "a</w>": 6,)"
    R"( "t</w>": 7, "ca": 8, "cat</w>": 9, "!</w>": 10})";
constexpr char kMerges[] = "#version: 0.2\nc a\nca t</w>\n";
constexpr char kConfig[] =
    R"({"model_max_length": 8, "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",)"
    R"( "unk_token": "<|endoftext|>", "pad_token": "!"})";

void check_prompt(const CLIPTokenizer& tok, const std::string& text) {
  tok.bpe_tokens(text);
  const std::vector<int64_t> ids = tok.encode(text);
  const papillon::TokenizerOutput out = tok(text);
  const int64_t max_length = tok.model_max_length();
  if (static_cast<int64_t>(out.input_ids.size()) != max_length ||
      out.attention_mask.size() != out.input_ids.size())
    fail("clip_tokenizer", "padded output is not model_max_length long");
  for (int64_t id : out.input_ids)
    if (id < 0) fail("clip_tokenizer", "negative id");
  tok.decode(out.input_ids, true);
  tok.decode(ids, false);
}

void write(const std::string& name, const std::string& text) {
  papillon::fuzz::write_scratch_file(name, reinterpret_cast<const uint8_t*>(text.data()),
                                     text.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int mode = data[0] % 4;
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (mode == 0) {
    papillon::fuzz::run_expecting_clean_errors("clip_tokenizer",
                                               [&] { check_prompt(real_tokenizer(), rest); });
    return 0;
  }
  const std::string dir = papillon::fuzz::scratch_dir() + "/tokenizer";
  std::filesystem::create_directories(dir);
  write("tokenizer/vocab.json", mode == 1 ? rest : kVocab);
  write("tokenizer/merges.txt", mode == 2 ? rest : kMerges);
  write("tokenizer/tokenizer_config.json", mode == 3 ? rest : kConfig);
  papillon::fuzz::run_expecting_clean_errors("clip_tokenizer_files", [&] {
    const CLIPTokenizer tok = CLIPTokenizer::from_folder(dir);
    tok.encode("a cat! at ca");
    if (tok.model_max_length() <= 1024) check_prompt(tok, "a cat! at ca");
  });
  return 0;
}
