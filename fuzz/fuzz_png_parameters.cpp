// Fuzzes reading generation parameters back from images. The first byte picks what the rest is:
//   0: a PNG file -> read_png_text -> GenerationParameters from its "parameters" (A1111 text) and
//      "papillon" (JSON) chunks, as the gallery does;  1: A1111 text;  2: our JSON.
// Parsed parameters must serialise again without throwing.
#include "core/pipelines/generation_parameters.h"
#include "core/runtime/png_io.h"
#include "fuzz/fuzz_common.h"

namespace {

void parse_a1111(const std::string& text) {
  papillon::fuzz::run_expecting_clean_errors("from_a1111", [&] {
    const auto p = papillon::GenerationParameters::from_a1111(text);
    p.to_a1111();
    p.to_json().dump();
  });
}

void parse_json(const std::string& text) {
  const papillon::Json json = papillon::Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return;
  papillon::fuzz::run_expecting_clean_errors("from_json", [&] {
    const auto p = papillon::GenerationParameters::from_json(json);
    p.to_a1111();
    p.to_json().dump();
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int mode = data[0] % 3;
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (mode == 1) {
    parse_a1111(rest);
  } else if (mode == 2) {
    parse_json(rest);
  } else {
    const std::string path = papillon::fuzz::write_scratch_file("input.png", data + 1, size - 1);
    std::map<std::string, std::string> text;
    papillon::fuzz::run_expecting_clean_errors("read_png_text",
                                               [&] { text = papillon::read_png_text(path); });
    if (auto it = text.find("parameters"); it != text.end()) parse_a1111(it->second);
    if (auto it = text.find("papillon"); it != text.end()) parse_json(it->second);
  }
  return 0;
}
