#pragma once
// Pieces of transformers' tokenization_utils_base.py shared by the tokenizers. Qt-free and
// LibTorch-free.
#include <string>

namespace papillon {

// PreTrainedTokenizerBase.clean_up_tokenization: " ." -> ".", " ?" -> "?", " !" -> "!",
// " ," -> ",", " ' " -> "'", " n't" -> "n't", " 'm" -> "'m", " 's" -> "'s", " 've" -> "'ve",
// " 're" -> "'re", applied in that order.
std::string clean_up_tokenization(std::string text);

// Whether `path` exists and can be opened for reading.
bool tokenizer_file_exists(const std::string& path);
// The whole file; throws papillon::Error naming `path` when it is missing, unreadable or fails
// while being read.
std::string read_tokenizer_file(const std::string& path);

}  // namespace papillon
