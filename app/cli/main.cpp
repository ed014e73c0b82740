// papillon-cli: headless generate / inspect / bench. All logic lives in core/cli.
#include "core/cli/cli.h"
#include "core/util/environment.h"

int main(int argc, char** argv) {
  papillon::ensure_blas_environment(argc, argv);
  return papillon::cli::run(argc, argv);
}
