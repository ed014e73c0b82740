#pragma once
// A progress bar on stderr: "[#####-----] 12/50  3.40 it/s  ETA 0:11".
#include <chrono>
#include <string>

namespace papillon::cli {

class ProgressBar {
 public:
  ProgressBar(std::string label, int total);
  void update(int done);  // done steps so far
  void finish();

 private:
  std::string label_;
  int total_;
  bool tty_;
  int last_percent_ = -1;
  std::chrono::steady_clock::time_point start_;
};

std::string format_duration(double seconds);

}  // namespace papillon::cli
