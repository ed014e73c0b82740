#include "core/tokenizers/sentencepiece_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <system_error>
#include <vector>

#include "core/util/error.h"
#include "papillon/sentencepiece_module_path.h"

namespace papillon {

namespace {

namespace fs = std::filesystem;

constexpr char kModuleFile[] = "libpapillon_sentencepiece.so";

std::string executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

bool is_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

struct Module {
  void* handle = nullptr;
  PapillonSpmCreateFn create = nullptr;
};

// ASan / TSan intercept dlopen and refuse RTLD_DEEPBIND (they abort the process): say so instead.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizerBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitizerBuild = true;
#else
constexpr bool kSanitizerBuild = false;
#endif
#else
constexpr bool kSanitizerBuild = false;
#endif

Module open_module() {
  if (kSanitizerBuild)
    throw Error(
        "the sentencepiece module cannot be loaded in a sanitizer build (ASan / TSan refuse "
        "RTLD_DEEPBIND, which keeps sentencepiece's protobuf apart from LibTorch's)");
  std::string tried;
  const std::string path = find_sentencepiece_module(&tried);
  if (path.empty())
    throw Error("the sentencepiece module " + std::string(kModuleFile) +
                " was not found (looked for " + tried +
                "); set PAPILLON_SENTENCEPIECE_MODULE to its path");
  // RTLD_DEEPBIND: the module and libsentencepiece resolve their own (bundled protobuf) symbols
  // before the process's, so LibTorch's protobuf never meets sentencepiece's.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (handle == nullptr) {
    const char* why = dlerror();
    throw Error(path + ": cannot load the sentencepiece module: " + (why ? why : "unknown error"));
  }
  auto version =
      reinterpret_cast<PapillonSpmApiVersionFn>(dlsym(handle, "papillon_spm_api_version"));
  auto create = reinterpret_cast<PapillonSpmCreateFn>(dlsym(handle, "papillon_spm_create"));
  if (version == nullptr || create == nullptr) {
    dlclose(handle);
    throw Error(path + ": not a Papillon sentencepiece module (entry points missing)");
  }
  if (version() != spm::kApiVersion) {
    const int found = version();
    dlclose(handle);
    throw Error(path + ": sentencepiece module interface version " + std::to_string(found) +
                ", this build needs " + std::to_string(spm::kApiVersion) +
                " (a module from another build)");
  }
  return {handle, create};
}

}  // namespace

std::string find_sentencepiece_module(std::string* tried) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("PAPILLON_SENTENCEPIECE_MODULE"); env != nullptr && *env) {
    // An explicit choice is the only candidate: a wrong override must not fall back silently.
    candidates.push_back(env);
  } else {
    const std::string exe_dir = executable_dir();
    if (!exe_dir.empty()) {
      candidates.push_back((fs::path(exe_dir) / kModuleFile).string());
      candidates.push_back((fs::path(exe_dir) / ".." / "lib" / "papillon" / kModuleFile).string());
    }
    candidates.push_back(PAPILLON_SENTENCEPIECE_MODULE_BUILD_PATH);
  }
  for (const std::string& candidate : candidates) {
    if (is_file(candidate)) return candidate;
  }
  if (tried != nullptr) {
    tried->clear();
    for (const std::string& candidate : candidates)
      *tried += (tried->empty() ? "" : ", ") + candidate;
  }
  return std::string();
}

std::shared_ptr<const spm::Processor> load_sentencepiece_model(const std::string& model_path) {
  // Opened once; never closed (sentencepiece keeps static state, and unloading buys nothing).
  static std::mutex mutex;
  static std::optional<Module> module;
  PapillonSpmCreateFn create = nullptr;
  {
    const std::lock_guard<std::mutex> lock(mutex);
    if (!module) module = open_module();
    create = module->create;
  }
  if (!is_file(model_path)) throw Error(model_path + ": sentencepiece model file not found");
  char error[1024] = {0};
  spm::Processor* processor = create(model_path.c_str(), error, sizeof error);
  if (processor == nullptr)
    throw Error(model_path + ": not a valid sentencepiece model (" +
                (error[0] ? std::string(error) : std::string("unknown error")) + ")");
  return std::shared_ptr<const spm::Processor>(processor);
}

}  // namespace papillon
