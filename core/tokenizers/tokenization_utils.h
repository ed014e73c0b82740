#pragma once
// Pieces of transformers' tokenization_utils_base.py shared by the tokenizers. Qt-free and
// LibTorch-free.
#include <string>

namespace papillon {

// PreTrainedTokenizerBase.clean_up_tokenization: " ." -> ".", " ?" -> "?", " !" -> "!",
// " ," -> ",", " ' " -> "'", " n't" -> "n't", " 'm" -> "'m", " 's" -> "'s", " 've" -> "'ve",
// " 're" -> "'re", applied in that order.
std::string clean_up_tokenization(std::string text);

}  // namespace papillon
