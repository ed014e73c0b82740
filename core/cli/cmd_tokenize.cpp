// papillon-cli tokenize: the CLIP token ids a Stable Diffusion pipeline feeds its text encoder.
#include <cstdio>
#include <filesystem>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/io/config.h"
#include "core/tokenizers/clip_tokenizer.h"
#include "core/util/error.h"

namespace papillon::cli {

const char* const kTokenizeUsage =
    "usage: papillon-cli tokenize --model DIR [options] TEXT...\n\n"
    "  --model DIR      a pipeline folder (uses DIR/tokenizer) or a tokenizer folder\n"
    "  --no-padding     ids without padding / truncation (bos + text + eos)\n"
    "Prints one JSON object per TEXT: {\"input_ids\": [...], \"attention_mask\": [...]}, padded\n"
    "to model_max_length and truncated exactly as StableDiffusionPipeline.encode_prompt does.\n";

int cmd_tokenize(const std::vector<std::string>& argv) {
  const Args args(argv, {"model"}, {"no-padding"});
  const auto model = args.get("model");
  if (!model) throw Error("--model DIR is required");
  if (args.positional().empty()) throw Error("give the text to tokenize");
  std::string dir = *model;
  if (std::filesystem::is_directory(std::filesystem::path(dir) / "tokenizer")) {
    dir = (std::filesystem::path(dir) / "tokenizer").string();
  }
  const CLIPTokenizer tokenizer = CLIPTokenizer::from_folder(dir);
  const bool pad = !args.has("no-padding");
  for (const auto& text : args.positional()) {
    const TokenizerOutput out = tokenizer(text, pad, pad);
    const Json j = {{"input_ids", out.input_ids}, {"attention_mask", out.attention_mask}};
    std::printf("%s\n", j.dump().c_str());
  }
  return 0;
}

}  // namespace papillon::cli
