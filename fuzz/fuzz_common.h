#pragma once
// Shared by the libFuzzer harnesses (fuzz_*.cpp). Each harness defines LLVMFuzzerTestOneInput; it
// is linked either with libFuzzer (clang, -DPAPILLON_FUZZ=ON, see scripts/fuzz) or with
// replay_main.cpp (any compiler: the ctest regression check feeding every corpus and crash file
// once).
//
// The property every harness checks: a hostile input is either accepted, with invariants the
// harness verifies, or rejected with a papillon::Error carrying a message. Any other exception, an
// empty message, a crash, a sanitizer report or a huge allocation is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "core/util/error.h"

namespace papillon::fuzz {

// A per-process scratch folder (under $TMPDIR, else /tmp), created on first use.
const std::string& scratch_dir();

// Writes data to <scratch_dir>/<name> (replacing it) and returns the path: the readers under test
// take paths, and going through a real file exercises the code users hit (open, fstat, mmap).
std::string write_scratch_file(const std::string& name, const uint8_t* data, size_t size);

// The fixtures folder ($PAPILLON_FIXTURES, else the path configured at build time).
std::string fixtures_dir();

[[noreturn]] inline void fail(const char* what, const std::string& message) {
  std::fprintf(stderr, "FUZZ FINDING in %s: %s\n", what, message.c_str());
  std::fflush(stderr);
  std::abort();
}

// Runs fn(); a papillon::Error with a non-empty message is a clean rejection (returns false), any
// other exception aborts. Returns true when fn() completed.
template <class F>
bool run_expecting_clean_errors(const char* what, F&& fn) {
  try {
    fn();
    return true;
  } catch (const papillon::Error& e) {
    if (std::string(e.what()).empty()) fail(what, "papillon::Error with an empty message");
    return false;
  } catch (const std::exception& e) {
    fail(what, std::string("exception that is not a papillon::Error: ") + e.what());
  } catch (...) {
    fail(what, "unknown exception");
  }
}

}  // namespace papillon::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
