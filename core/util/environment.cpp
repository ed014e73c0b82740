#include "core/util/environment.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <strings.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace papillon {
namespace {

std::string cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) == 0) return line + " ";
  }
  return {};
}

bool has_flag(const std::string& flags, const char* flag) {
  return flags.find(std::string(" ") + flag + " ") != std::string::npos;
}

// OpenBLAS's own functions, when LibTorch's BLAS is OpenBLAS (looked up, not linked: the BLAS is
// whatever libblas.so.3 the system chose).
template <typename Fn>
Fn openblas_function(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

}  // namespace

// The kernel family OpenBLAS picked for this CPU ("Haswell", "Prescott", "SapphireRapids" ...), or
// empty when the BLAS is not OpenBLAS.
std::string detected_blas_core() {
  static const auto corename = openblas_function<char* (*)()>("openblas_get_corename");
  const char* name = corename != nullptr ? corename() : nullptr;
  return name != nullptr ? std::string(name) : std::string();
}

namespace {

bool iequals(const std::string& a, const char* b) {
  return strcasecmp(a.c_str(), b) == 0;
}

// OpenBLAS's AVX-512 kernel families (0.3.21 knows the first two, 0.3.29 also Sapphire Rapids).
bool is_avx512_core(const std::string& core) {
  return iequals(core, "SkylakeX") || iequals(core, "Cooperlake") ||
         iequals(core, "SapphireRapids");
}

bool is_avx2_core(const std::string& core) {
  return is_avx512_core(core) || iequals(core, "Haswell") || iequals(core, "Zen");
}

}  // namespace

void ensure_blas_environment(int argc, char** argv) {
  (void)argc;
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr || std::getenv("PAPILLON_REEXEC") != nullptr) {
    return;
  }
  const std::string flags = cpu_flags();
  // What OpenBLAS chose itself: keep it when it already uses the CPU's widest vectors (a newer
  // OpenBLAS that knows the CPU may pick a better family than the one forced here).
  const std::string detected = detected_blas_core();
  const char* core = nullptr;
  if (has_flag(flags, "avx512f") && has_flag(flags, "avx512bw") && has_flag(flags, "avx512vl")) {
    if (!is_avx512_core(detected)) core = "SkylakeX";
  } else if (has_flag(flags, "avx2") && has_flag(flags, "fma")) {
    if (!is_avx2_core(detected)) core = "Haswell";
  }
  if (core == nullptr) return;
  setenv("OPENBLAS_CORETYPE", core, 1);
  setenv("PAPILLON_REEXEC", "1", 1);
  // Re-execute the same binary so OpenBLAS loads with the variable set. If exec fails we simply go
  // on with the slower kernels: results are the same.
  std::vector<char*> args(argv, argv + argc);
  args.push_back(nullptr);
  execv("/proc/self/exe", args.data());
}

std::string blas_core_description() {
  const char* core = std::getenv("OPENBLAS_CORETYPE");
  if (core != nullptr) return std::string(core);
  const std::string detected = detected_blas_core();
  return detected.empty() ? std::string("default (OpenBLAS auto-detection)")
                          : "default (OpenBLAS auto-detection: " + detected + ")";
}

int hardware_thread_count() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void set_thread_count(int n) {
  const int threads = n > 0 ? n : hardware_thread_count();
  at::set_num_threads(threads);
  static const auto set_blas = openblas_function<void (*)(int)>("openblas_set_num_threads");
  if (set_blas != nullptr) set_blas(threads);
}

int blas_thread_count() {
  static const auto get_blas = openblas_function<int (*)()>("openblas_get_num_threads");
  return get_blas != nullptr ? get_blas() : -1;
}

int thread_count() {
  return at::get_num_threads();
}

int auto_thread_count(int64_t model_parameters) {
  constexpr int64_t kSmallModel = 20'000'000;
  return model_parameters < kSmallModel ? 1 : hardware_thread_count();
}

}  // namespace papillon
