#pragma once
// papillon-cli entry: parses argv, runs one command, returns the process exit code.
namespace papillon::cli {

int run(int argc, char** argv);

}  // namespace papillon::cli
