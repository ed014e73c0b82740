#pragma once
// Loads sentencepiece models through the sentencepiece module (sentencepiece_module/), which core
// opens with dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND) on first use: sentencepiece's bundled
// protobuf must never share a symbol namespace with LibTorch's. Qt-free and LibTorch-free.
#include <memory>
#include <string>

#include "core/tokenizers/sentencepiece_module/sentencepiece_api.h"

namespace papillon {

// Where the module is looked for, in order:
//  1. $PAPILLON_SENTENCEPIECE_MODULE (a path to the .so), when set;
//  2. next to the running executable;
//  3. <executable dir>/../lib/papillon/ (an installed layout);
//  4. the path the build tree put it at (a generated header, for tests and build-tree runs).
// Returns the first that exists, else the list that was tried (for an error message).
std::string find_sentencepiece_module(std::string* tried = nullptr);

// Opens the module once per process (thread-safe; it stays loaded) and loads `model_path`.
// Throws papillon::Error naming the module when it is missing or unusable, and naming the model
// file when it is missing or not a sentencepiece model.
std::shared_ptr<const spm::Processor> load_sentencepiece_model(const std::string& model_path);

}  // namespace papillon
