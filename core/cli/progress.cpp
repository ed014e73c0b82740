#include "core/cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace papillon::cli {

std::string format_duration(double seconds) {
  if (seconds < 0 || seconds > 1e7) return "?";
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

ProgressBar::ProgressBar(std::string label, int total)
    : label_(std::move(label)),
      total_(total),
      tty_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(int done) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? done / elapsed : 0;
  const double eta = rate > 0 ? (total_ - done) / rate : -1;
  const int percent = total_ > 0 ? done * 100 / total_ : 100;
  // Not a terminal (a log, CI): one line every 10%.
  if (!tty_ && percent / 10 == last_percent_ / 10 && done != total_) return;
  last_percent_ = percent;
  constexpr int kWidth = 30;
  const int filled = total_ > 0 ? done * kWidth / total_ : kWidth;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '-');
  char rate_text[32];
  if (rate >= 1 || rate == 0) {
    std::snprintf(rate_text, sizeof rate_text, "%.2f it/s", rate);
  } else {
    std::snprintf(rate_text, sizeof rate_text, "%.2f s/it", 1 / rate);
  }
  std::fprintf(stderr, "%s%s [%s] %d/%d  %s  ETA %s%s", tty_ ? "\r" : "", label_.c_str(),
               bar.c_str(), done, total_, rate_text, format_duration(eta).c_str(),
               tty_ ? "" : "\n");
  std::fflush(stderr);
}

void ProgressBar::finish() {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "%s%s done: %d steps in %s\n", tty_ ? "\n" : "", label_.c_str(), total_,
               format_duration(elapsed).c_str());
}

}  // namespace papillon::cli
