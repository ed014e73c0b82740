#pragma once
// One function per papillon-cli command; each returns the process exit code and throws
// papillon::Error for anything a user should read.
#include <string>
#include <vector>

namespace papillon::cli {

int cmd_generate(const std::vector<std::string>& args);
int cmd_inspect(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_train(const std::vector<std::string>& args);
int cmd_eval(const std::vector<std::string>& args);
int cmd_tokenize(const std::vector<std::string>& args);

extern const char* const kGenerateUsage;
extern const char* const kInspectUsage;
extern const char* const kBenchUsage;
extern const char* const kTrainUsage;
extern const char* const kEvalUsage;
extern const char* const kTokenizeUsage;

}  // namespace papillon::cli
