#pragma once
// The interface between Papillon and its sentencepiece module (libpapillon_sentencepiece.so).
//
// Debian's libsentencepiece bundles and exports its own protobuf-lite (3.14), which clashes with
// the system protobuf LibTorch links (3.21): both in one symbol namespace crash before main()
// (docs/architecture.md, "sentencepiece"). So sentencepiece lives only in a MODULE that core loads
// with dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND) (core/tokenizers/sentencepiece_loader.h); no
// Papillon library links it. The module exports one extern "C" factory returning this abstract
// interface; nothing throws across the boundary (errors come back as text).
#include <string>
#include <vector>

namespace papillon::spm {

// Bumped whenever this interface changes, so an old module is refused with a clear message.
constexpr int kApiVersion = 1;

// One loaded sentencepiece model (SentencePieceProcessor). Immutable and thread-safe after loading.
class Processor {
 public:
  virtual ~Processor() = default;
  // sp_model.encode(text, out_type=str). Returns false and sets *error on failure.
  virtual bool encode_pieces(const std::string& text, std::vector<std::string>* pieces,
                             std::string* error) const = 0;
  // sp_model.decode(pieces) (DecodePieces). Returns false and sets *error on failure.
  virtual bool decode_pieces(const std::vector<std::string>& pieces, std::string* text,
                             std::string* error) const = 0;
  virtual int piece_size() const = 0;                           // get_piece_size()
  virtual int piece_to_id(const std::string& piece) const = 0;  // unk_id() when unknown
  // id_to_piece(id); "" outside 0 .. piece_size()-1.
  virtual std::string id_to_piece(int id) const = 0;
  virtual int unk_id() const = 0;  // -1 when the model has none
  virtual int eos_id() const = 0;
  virtual int pad_id() const = 0;
};

}  // namespace papillon::spm

extern "C" {
// The factory's signature. Returns the interface version (kApiVersion) of the module.
typedef int (*PapillonSpmApiVersionFn)();
// Loads a model file. On failure returns nullptr and writes a message (NUL-terminated, truncated
// to error_size) into error. The caller deletes the result.
typedef papillon::spm::Processor* (*PapillonSpmCreateFn)(const char* model_path, char* error,
                                                         unsigned long error_size);
}
