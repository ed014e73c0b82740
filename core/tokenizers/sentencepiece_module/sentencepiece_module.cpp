// libpapillon_sentencepiece.so: the only code that links sentencepiece (see sentencepiece_api.h).
// Built with hidden visibility; only the two extern "C" entry points are exported.
#include <sentencepiece_processor.h>

#include <cstring>
#include <exception>
#include <memory>
#include <new>

#include "core/tokenizers/sentencepiece_module/sentencepiece_api.h"

namespace {

class SentencePieceProcessorImpl final : public papillon::spm::Processor {
 public:
  bool load(const char* path, std::string* error) {
    const sentencepiece::util::Status status = sp_.Load(path);
    if (!status.ok()) {
      *error = status.ToString();
      return false;
    }
    return true;
  }

  bool encode_pieces(const std::string& text, std::vector<std::string>* pieces,
                     std::string* error) const override {
    try {
      const sentencepiece::util::Status status = sp_.Encode(text, pieces);
      if (!status.ok()) *error = status.ToString();
      return status.ok();
    } catch (const std::exception& e) {
      *error = e.what();
      return false;
    }
  }

  bool decode_pieces(const std::vector<std::string>& pieces, std::string* text,
                     std::string* error) const override {
    try {
      const sentencepiece::util::Status status = sp_.Decode(pieces, text);
      if (!status.ok()) *error = status.ToString();
      return status.ok();
    } catch (const std::exception& e) {
      *error = e.what();
      return false;
    }
  }

  int piece_size() const override { return sp_.GetPieceSize(); }
  int piece_to_id(const std::string& piece) const override { return sp_.PieceToId(piece); }
  std::string id_to_piece(int id) const override {
    if (id < 0 || id >= sp_.GetPieceSize()) return std::string();
    return sp_.IdToPiece(id);
  }
  int unk_id() const override { return sp_.unk_id(); }
  int eos_id() const override { return sp_.eos_id(); }
  int pad_id() const override { return sp_.pad_id(); }

 private:
  sentencepiece::SentencePieceProcessor sp_;
};

void write_error(const std::string& message, char* error, unsigned long error_size) {
  if (error == nullptr || error_size == 0) return;
  const size_t n = std::min<size_t>(message.size(), error_size - 1);
  std::memcpy(error, message.data(), n);
  error[n] = '\0';
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int papillon_spm_api_version() {
  return papillon::spm::kApiVersion;
}

extern "C" __attribute__((visibility("default"))) papillon::spm::Processor* papillon_spm_create(
    const char* model_path, char* error, unsigned long error_size) {
  try {
    auto processor = std::make_unique<SentencePieceProcessorImpl>();
    std::string message;
    if (!processor->load(model_path, &message)) {
      write_error(message, error, error_size);
      return nullptr;
    }
    return processor.release();
  } catch (const std::exception& e) {
    write_error(e.what(), error, error_size);
    return nullptr;
  }
}
