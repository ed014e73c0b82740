#pragma once
// Fast readers for the BPE model files of a transformers tokenizer folder (vocab.json is ~1 MB with
// 49k entries for CLIP; a generic JSON DOM would dominate the load time).
#include <cstdint>
#include <functional>
#include <string>

namespace papillon {

// Reads a JSON object {"token": integer id, ...} (vocab.json); calls add(token, id) in file order.
// Throws papillon::Error naming `path` and the byte offset of a syntax error or non-integer id.
void read_vocab_json(const std::string& path,
                     const std::function<void(std::string&&, int64_t)>& add);

// Reads merges.txt like CLIPTokenizer: the file stripped, split on "\n", line 0 (the "#version"
// header) skipped, lines 1 .. max_lines-1 each split on whitespace into two symbols. Calls
// add(first, second, rank) with rank = line index - 1. Throws papillon::Error naming `path` and the
// line for invalid UTF-8, an empty file or a line that is not exactly two symbols.
void read_merges_txt(
    const std::string& path, size_t max_lines,
    const std::function<void(const std::string&, const std::string&, int32_t)>& add);

}  // namespace papillon
