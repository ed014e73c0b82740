#pragma once
// Prompt weighting as users know it from AUTOMATIC1111's stable-diffusion-webui
// (modules/prompt_parser.py parse_prompt_attention and sd_hijack_clip.py):
//   (word)      weight x1.1          (word:1.3)  weight x1.3
//   [word]      weight /1.1          \( \) \[ \] \\   literal characters
//   nesting multiplies; unbalanced brackets apply to the end of the prompt; BREAK starts a chunk.
// The text is tokenised piece by piece into 75-token chunks (a chunk that would split a phrase
// moves the words after its last comma, within 20 tokens, into the next chunk), each chunk framed
// by bos/eos and padded to the tokenizer's model_max_length. The text encoder's output rows are
// multiplied by their token's weight and the chunk is rescaled to its original mean.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace papillon {

class CLIPTokenizer;

struct PromptSegment {
  std::string text;
  double weight = 1.0;  // kBreakWeight marks a BREAK
  bool operator==(const PromptSegment& o) const { return text == o.text && weight == o.weight; }
};
constexpr double kBreakWeight = -1.0;

// A1111's parse_prompt_attention: segments with their weights, adjacent equal weights merged; an
// empty prompt gives one empty segment. Throws papillon::Error for a malformed number in "(x:w)".
std::vector<PromptSegment> parse_prompt_attention(const std::string& text);

// True when parsing changes anything (weights, escapes, BREAK): the text is not a plain prompt.
bool has_prompt_weighting_syntax(const std::string& text);

struct PromptChunk {
  std::vector<int64_t> tokens;          // bos + up to 75 ids + eos + padding = model_max_length
  std::vector<double> multipliers;      // one per token (1 for bos/eos/padding)
  std::vector<int64_t> attention_mask;  // 1 for bos..eos, 0 for padding
  bool weighted() const;                // any multiplier != 1
};

struct WeightedPromptOptions {
  bool parse_weights = true;             // false: the text is taken literally (weights all 1)
  int64_t comma_padding_backtrack = 20;  // A1111's default; 0 switches it off
};

// A1111's tokenize_line: the chunks of one prompt (at least one).
std::vector<PromptChunk> tokenize_weighted_prompt(const CLIPTokenizer& tokenizer,
                                                  const std::string& text,
                                                  const WeightedPromptOptions& options = {});
// bos + eos + padding with weights 1: what a prompt with fewer chunks is padded with.
PromptChunk empty_prompt_chunk(const CLIPTokenizer& tokenizer);

// z [1 or B, S, D] for one chunk: z * multipliers (per row), then scaled so its mean is unchanged
// (A1111's "original" emphasis). Returns z itself when every multiplier is 1.
at::Tensor apply_prompt_weights(const at::Tensor& z, const std::vector<double>& multipliers);

}  // namespace papillon
