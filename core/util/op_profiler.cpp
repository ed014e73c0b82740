#include "core/util/op_profiler.h"

#include <ATen/record_function.h>

#include <algorithm>
#include <chrono>
#include <map>

namespace papillon {
namespace {

using Clock = std::chrono::steady_clock;

struct ThreadState {
  std::vector<Clock::time_point> starts;
  std::map<std::string, OpProfiler::Entry> totals;
};
thread_local ThreadState state;

}  // namespace

OpProfiler::OpProfiler() {
  state = ThreadState{};
  auto callback = at::RecordFunctionCallback(
      [](const at::RecordFunction&) -> std::unique_ptr<at::ObserverContext> {
        state.starts.push_back(Clock::now());
        return nullptr;
      },
      [](const at::RecordFunction& fn, at::ObserverContext*) {
        if (state.starts.empty()) return;  // began before the profiler
        const auto start = state.starts.back();
        state.starts.pop_back();
        if (!state.starts.empty()) return;  // nested: counted in its outer op
        auto& entry = state.totals[fn.name()];
        entry.seconds += std::chrono::duration<double>(Clock::now() - start).count();
        ++entry.calls;
      });
  handle_ = at::addThreadLocalCallback(callback.scopes({at::RecordScope::FUNCTION}));
}

OpProfiler::~OpProfiler() {
  at::removeCallback(handle_);
}

std::vector<OpProfiler::Entry> OpProfiler::entries() const {
  std::vector<Entry> out;
  for (const auto& [name, entry] : state.totals) {
    out.push_back(entry);
    out.back().op = name;
  }
  std::sort(out.begin(), out.end(),
            [](const Entry& a, const Entry& b) { return a.seconds > b.seconds; });
  return out;
}

double OpProfiler::total_seconds() const {
  double total = 0;
  for (const auto& [name, entry] : state.totals)
    total += entry.seconds;
  return total;
}

}  // namespace papillon
