#pragma once
// Prompts for class-conditional models: "ankle boot", "an Ankle Boot", "sneakers", "T-shirt" pick
// a class by name (case-insensitive; leading articles, punctuation and plurals tolerated; a name
// with "/" has each part as an alias).
#include <cstdint>
#include <string>
#include <vector>

namespace papillon {

// The class index for a prompt. Throws Error("unknown class 'x': this model makes one of: ...").
int64_t parse_class_prompt(const std::string& prompt, const std::vector<std::string>& class_names);

// The lower-case, article-free, singular form used for matching ("The Sneakers!" -> "sneaker").
std::string normalize_class_text(const std::string& text);

}  // namespace papillon
