#pragma once
// Test helpers: locate ../shared/fixtures and compare tensors with golden data.
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>

#include "core/io/config.h"
#include "core/io/safetensors.h"

namespace papillon::test {

// $PAPILLON_FIXTURES, else the path configured at build time (../shared/fixtures beside the repo).
std::string fixtures_dir();
// fixtures_dir() + "/" + relative
std::string fixture_path(const std::string& relative);
Json fixture_json(const std::string& relative);
// The model shipped in resources/models/fashion-mnist (its papillon.json holds its defaults).
std::string bundled_model_dir();

// The message of the papillon::Error that `f` throws; empty when it throws none.
std::string error_of(const std::function<void()>& f);
// A fresh empty temporary directory for one test (removed by the OS / the next run).
std::string temp_dir(const std::string& tag);

struct Closeness {
  bool ok = false;
  double max_abs_diff = 0;
  double max_abs_expected = 0;
  std::string message;  // human-readable summary (shape mismatch, worst element ...)
};

// |actual - expected| <= atol + rtol * |expected| element-wise (numpy.allclose), after moving both
// to CPU float64. Shapes must match exactly.
Closeness compare(const at::Tensor& actual, const at::Tensor& expected, double atol, double rtol);

}  // namespace papillon::test

// QVERIFY-style: fails the current Qt test with the comparison summary.
#define PAPILLON_EXPECT_CLOSE(actual, expected, atol, rtol, what)                    \
  do {                                                                               \
    const auto _c = ::papillon::test::compare((actual), (expected), (atol), (rtol)); \
    QVERIFY2(_c.ok, (std::string(what) + ": " + _c.message).c_str());                \
  } while (false)
