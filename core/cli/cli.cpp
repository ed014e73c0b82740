#include "core/cli/cli.h"

#include <cstdio>

namespace papillon::cli {

int run(int argc, char** argv) {
  (void)argc;
  (void)argv;
  std::fprintf(stderr, "papillon-cli: not implemented yet\n");
  return 2;
}

}  // namespace papillon::cli
