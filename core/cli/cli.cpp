#include "core/cli/cli.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "core/cli/commands.h"
#include "core/util/error.h"
#include "papillon/build_config.h"

namespace papillon::cli {
namespace {

void print_usage() {
  std::printf(
      "papillon-cli %s — diffusion image models, headless\n\n"
      "usage: papillon-cli <command> [options]\n\n"
      "commands:\n"
      "  generate   make images with a diffusers model folder\n"
      "  inspect    describe a model folder (pipeline, components, parameters, configs)\n"
      "  bench      measure model speed and FLOP utilisation\n"
      "  train      train a diffusion model (image folder or Fashion-MNIST)\n"
      "  eval       score a class-conditional model with a classifier\n"
      "  tokenize   print the CLIP token ids of a text (Stable Diffusion models)\n\n"
      "papillon-cli <command> --help shows the options of a command.\n",
      PAPILLON_VERSION);
}

}  // namespace

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage();
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::printf("papillon-cli %s\n", PAPILLON_VERSION);
    return 0;
  }
  const std::string command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  const bool help = !rest.empty() && (rest[0] == "--help" || rest[0] == "-h");
  try {
    if (command == "generate") {
      if (help) return std::printf("%s", kGenerateUsage), 0;
      return cmd_generate(rest);
    }
    if (command == "inspect") {
      if (help) return std::printf("%s", kInspectUsage), 0;
      return cmd_inspect(rest);
    }
    if (command == "bench") {
      if (help) return std::printf("%s", kBenchUsage), 0;
      return cmd_bench(rest);
    }
    if (command == "train") {
      if (help) return std::printf("%s", kTrainUsage), 0;
      return cmd_train(rest);
    }
    if (command == "tokenize") {
      if (help) return std::printf("%s", kTokenizeUsage), 0;
      return cmd_tokenize(rest);
    }
    if (command == "eval") {
      if (help) return std::printf("%s", kEvalUsage), 0;
      return cmd_eval(rest);
    }
    std::fprintf(stderr, "papillon-cli: unknown command '%s'\n\n", command.c_str());
    print_usage();
    return 2;
  } catch (const Cancelled&) {
    std::fprintf(stderr, "papillon-cli: cancelled\n");
    return 130;
  } catch (const Error& e) {
    std::fprintf(stderr, "papillon-cli %s: error: %s\n", command.c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "papillon-cli %s: internal error: %s\n", command.c_str(), e.what());
    return 3;
  }
}

}  // namespace papillon::cli
