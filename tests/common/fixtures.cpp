#include "tests/common/fixtures.h"

#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "core/util/error.h"
#include "papillon/build_config.h"

namespace papillon::test {

std::string fixtures_dir() {
  if (const char* env = std::getenv("PAPILLON_FIXTURES"); env != nullptr && *env != '\0')
    return env;
  return PAPILLON_DEFAULT_FIXTURES_DIR;
}

std::string fixture_path(const std::string& relative) {
  return fixtures_dir() + "/" + relative;
}

Json fixture_json(const std::string& relative) {
  return read_json_file(fixture_path(relative));
}

std::string bundled_model_dir() {
  return PAPILLON_SOURCE_DIR "/resources/models/fashion-mnist";
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string temp_dir(const std::string& tag) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("papillon-test-" + tag + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

Closeness compare(const at::Tensor& actual, const at::Tensor& expected, double atol, double rtol) {
  Closeness c;
  std::ostringstream msg;
  if (!actual.defined() || !expected.defined()) {
    c.message = "undefined tensor";
    return c;
  }
  if (actual.sizes() != expected.sizes()) {
    msg << "shape " << actual.sizes() << " != expected " << expected.sizes();
    c.message = msg.str();
    return c;
  }
  const auto a = actual.detach().to(torch::kCPU, torch::kDouble);
  const auto e = expected.detach().to(torch::kCPU, torch::kDouble);
  const auto diff = (a - e).abs();
  c.max_abs_diff = a.numel() ? diff.max().item<double>() : 0.0;
  c.max_abs_expected = e.numel() ? e.abs().max().item<double>() : 0.0;
  const auto excess = diff - (atol + rtol * e.abs());
  const bool finite = a.isfinite().all().item<bool>();
  c.ok = finite && (a.numel() == 0 || excess.max().item<double>() <= 0.0);
  msg << "max|diff| " << c.max_abs_diff << " (max|expected| " << c.max_abs_expected << ", atol "
      << atol << ", rtol " << rtol << ")";
  if (!finite) msg << " — actual has NaN/inf";
  if (!c.ok && a.numel()) {
    const int64_t worst = excess.flatten().argmax().item<int64_t>();
    msg << "; worst at flat index " << worst << ": " << a.flatten()[worst].item<double>() << " vs "
        << e.flatten()[worst].item<double>();
  }
  c.message = msg.str();
  return c;
}

}  // namespace papillon::test
