#include "fuzz/fuzz_common.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "papillon/build_config.h"

namespace papillon::fuzz {

namespace fs = std::filesystem;

const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    fs::path base = (tmp != nullptr && *tmp != '\0') ? fs::path(tmp) : fs::path("/tmp");
    fs::path path = base / ("papillon-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(path);
    return path.string();
  }();
  return dir;
}

std::string write_scratch_file(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (size > 0) out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) fail("write_scratch_file", "cannot write " + path);
  return path;
}

std::string fixtures_dir() {
  if (const char* env = std::getenv("PAPILLON_FIXTURES"); env != nullptr && *env != '\0')
    return env;
  return PAPILLON_DEFAULT_FIXTURES_DIR;
}

}  // namespace papillon::fuzz
