// Fuzzes A1111 prompt weighting: parse_prompt_attention and tokenize_weighted_prompt with the real
// CLIP tokenizer (the fixtures' SD tokenizer folder). Accepted prompts give finite, positive
// weights and chunks of exactly model_max_length tokens.
#include <cmath>

#include "core/pipelines/prompt_weighting.h"
#include "core/tokenizers/clip_tokenizer.h"
#include "fuzz/fuzz_common.h"

using papillon::fuzz::fail;

namespace {

const papillon::CLIPTokenizer& tokenizer() {
  static const papillon::CLIPTokenizer tok = papillon::CLIPTokenizer::from_folder(
      papillon::fuzz::fixtures_dir() + "/pipelines/sd_tiny/tokenizer");
  return tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace papillon;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto& tok = tokenizer();
  fuzz::run_expecting_clean_errors("parse_prompt_attention", [&] {
    for (const PromptSegment& s : parse_prompt_attention(text))
      if (s.weight != kBreakWeight && !std::isfinite(s.weight))
        fail("parse_prompt_attention", "non-finite weight accepted");
    has_prompt_weighting_syntax(text);
  });
  for (bool parse : {true, false}) {
    fuzz::run_expecting_clean_errors("tokenize_weighted_prompt", [&] {
      WeightedPromptOptions options;
      options.parse_weights = parse;
      for (const PromptChunk& c : tokenize_weighted_prompt(tok, text, options)) {
        if (static_cast<int64_t>(c.tokens.size()) != tok.model_max_length() ||
            c.multipliers.size() != c.tokens.size() || c.attention_mask.size() != c.tokens.size())
          fail("tokenize_weighted_prompt", "chunk is not model_max_length long");
        for (double m : c.multipliers)
          if (!std::isfinite(m)) fail("tokenize_weighted_prompt", "non-finite multiplier");
      }
    });
  }
  return 0;
}
