// papillon-bench: `papillon-cli bench` for builds of the Qt-free core only
// (-DPAPILLON_WITH_QT=OFF), such as a GPU machine without Qt. Same options; the window's QImage
// preview step is not timed.
#include <cstdio>
#include <string>
#include <vector>

#include "core/cli/commands.h"
#include "core/util/environment.h"
#include "core/util/error.h"

int main(int argc, char** argv) {
  papillon::ensure_blas_environment(argc, argv);
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("%s", papillon::cli::kBenchUsage);
    return args.empty() ? 2 : 0;
  }
  try {
    return papillon::cli::cmd_bench(args);
  } catch (const papillon::Error& e) {
    std::fprintf(stderr, "papillon-bench: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "papillon-bench: internal error: %s\n", papillon::user_message(e).c_str());
    return 3;
  }
}
