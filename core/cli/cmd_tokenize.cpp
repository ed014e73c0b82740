// papillon-cli tokenize: the token ids a pipeline feeds its text encoder — CLIP for Stable
// Diffusion folders, T5 (sentencepiece) for PixArt-α folders.
#include <cstdio>
#include <filesystem>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/io/config.h"
#include "core/tokenizers/clip_tokenizer.h"
#include "core/tokenizers/t5_tokenizer.h"
#include "core/util/error.h"

namespace papillon::cli {

const char* const kTokenizeUsage =
    "usage: papillon-cli tokenize --model DIR [options] TEXT...\n\n"
    "  --model DIR       a pipeline folder (uses DIR/tokenizer) or a tokenizer folder\n"
    "  --no-padding      ids without padding / truncation (bos + text + eos for CLIP, text + eos\n"
    "                    for T5)\n"
    "  --max-length N    T5 only: pad / truncate to N tokens (default 120, PixArt-α's\n"
    "                    max_sequence_length)\n"
    "Prints one JSON object per TEXT: {\"input_ids\": [...], \"attention_mask\": [...]}, padded\n"
    "and truncated exactly as the pipeline's encode_prompt does: CLIP (a folder with vocab.json)\n"
    "to model_max_length, T5 (a folder with spiece.model) to --max-length. For a\n"
    "PixArtAlphaPipeline folder the text is first lower-cased and stripped as the pipeline does\n"
    "(clean_caption=False); a bare tokenizer folder gets the text as given.\n";

namespace {

namespace fs = std::filesystem;

bool is_pixart_folder(const fs::path& dir) {
  const fs::path index = dir / "model_index.json";
  if (!fs::is_regular_file(index)) return false;
  const Json json = read_json_file(index.string());
  return json.is_object() && json.value("_class_name", Json()) == "PixArtAlphaPipeline";
}

}  // namespace

int cmd_tokenize(const std::vector<std::string>& argv) {
  const Args args(argv, {"model", "max-length"}, {"no-padding"});
  const auto model = args.get("model");
  if (!model) throw Error("--model DIR is required");
  if (args.positional().empty()) throw Error("give the text to tokenize");
  fs::path dir = *model;
  bool pixart = false;
  if (fs::is_directory(dir / "tokenizer")) {
    pixart = is_pixart_folder(dir);
    dir /= "tokenizer";
  }
  const bool pad = !args.has("no-padding");
  const bool t5 = fs::exists(dir / "spiece.model");
  if (!t5 && !fs::exists(dir / "vocab.json"))
    throw Error(dir.string() +
                ": not a tokenizer folder (neither vocab.json, CLIP, nor spiece.model, T5)");
  if (!t5) {
    if (args.has("max-length"))
      throw Error("--max-length is for T5 tokenizers; CLIP pads to its model_max_length");
    const CLIPTokenizer tokenizer = CLIPTokenizer::from_folder(dir.string());
    for (const auto& text : args.positional()) {
      const TokenizerOutput out = tokenizer(text, pad, pad);
      const Json j = {{"input_ids", out.input_ids}, {"attention_mask", out.attention_mask}};
      std::printf("%s\n", j.dump().c_str());
    }
    return 0;
  }
  const int64_t max_length = args.get_int("max-length", 120, 1, 1 << 20);
  const T5Tokenizer tokenizer = T5Tokenizer::from_folder(dir.string());
  for (const auto& text : args.positional()) {
    const std::string input = pixart ? T5Tokenizer::pipeline_text(text) : text;
    const TokenizerOutput out = tokenizer(input, max_length, pad, pad);
    const Json j = {{"input_ids", out.input_ids}, {"attention_mask", out.attention_mask}};
    std::printf("%s\n", j.dump().c_str());
  }
  return 0;
}

}  // namespace papillon::cli
