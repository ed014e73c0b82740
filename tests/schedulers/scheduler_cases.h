#pragma once
// Shared driver for the scheduler tests: replays one fixture case (schedulers/<case>.json +
// .safetensors, see the fixtures README) against our scheduler built by make_scheduler():
// config, betas/alphas_cumprod, timesteps, init_noise_sigma, a teacher-forced per-step check, a
// free-running trace with the README's fake model, the RNG draw count/values and add_noise.
#include <torch/torch.h>
#include <QtTest/QtTest>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/io/safetensors.h"
#include "core/schedulers/scheduler_factory.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

namespace papillon::test {

// README "Recommended tolerances": teacher-forced single step atol 1e-5 + rtol 1e-5; free-running
// trace atol 1e-4 * max(1, max|x|); float timesteps / sigmas 1e-6 relative.
constexpr double kStepTol = 1e-5;
constexpr double kTraceTol = 1e-4;
constexpr double kSigmaRtol = 1e-6;

// Fixture cases whose name starts with `prefix` (e.g. "ddpm__"), sorted.
inline std::vector<std::string> scheduler_cases(const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(fixture_path("schedulers"))) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && e.path().extension() == ".json") {
      out.push_back(e.path().stem().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The README's fake model: c = 0.3*cos(t/1000) in double, then float32 ops.
inline at::Tensor fake_model(const at::Tensor& model_in, double t) {
  const double c = 0.3 * std::cos(t / 1000.0);
  return model_in * c + 0.1 * torch::sin(model_in);
}

inline std::string step_key(int64_t n, int64_t i, const std::string& what) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "n%lld.step%03lld.", static_cast<long long>(n),
                static_cast<long long>(i));
  return buf + what;
}

inline std::string rng_key(int64_t n, int64_t k) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "n%lld.rng_noise.%03lld", static_cast<long long>(n),
                static_cast<long long>(k));
  return buf;
}

struct CaseStats {
  double step_diff = 0;   // teacher-forced prev_sample / pred_original_sample
  double trace_diff = 0;  // free-running, relative to max(1, max|x|)
  double table_diff = 0;  // betas / alphas_cumprod / sigmas / float timesteps
  double add_noise_diff = 0;
};

// Accessors the generic driver cannot get from the Scheduler interface.
struct CaseHooks {
  std::function<at::Tensor(const Scheduler&)> betas;
  std::function<at::Tensor(const Scheduler&)> alphas_cumprod;
};

// Hooks for a scheduler class with betas() / alphas_cumprod() accessors.
template <typename S>
CaseHooks hooks_for() {
  CaseHooks h;
  h.betas = [](const Scheduler& s) { return dynamic_cast<const S&>(s).betas(); };
  h.alphas_cumprod = [](const Scheduler& s) { return dynamic_cast<const S&>(s).alphas_cumprod(); };
  return h;
}

// Runs every fixture case with the prefix, as a data-driven Qt test row.
inline void add_case_rows(const std::string& prefix, size_t at_least) {
  QTest::addColumn<QString>("name");
  const auto cases = scheduler_cases(prefix);
  QVERIFY2(cases.size() >= at_least, ("fixture cases " + prefix).c_str());
  for (const auto& c : cases)
    QTest::newRow(c.c_str()) << QString::fromStdString(c);
}

// Runs the case of the current data row and logs the measured maximum differences.
#define PAPILLON_RUN_SCHEDULER_CASE(hooks)                                                      \
  do {                                                                                          \
    QFETCH(QString, name);                                                                      \
    ::papillon::test::CaseStats _st;                                                            \
    ::papillon::test::run_scheduler_case(name.toStdString(), (hooks), _st);                     \
    qInfo("%s: max diff step %.3g, trace %.3g (rel), tables %.3g, add_noise %.3g",              \
          qPrintable(name), _st.step_diff, _st.trace_diff, _st.table_diff, _st.add_noise_diff); \
  } while (false)

#define PAPILLON_CHECK_CLOSE_STAT(actual, expected, atol, rtol, what, stat)          \
  do {                                                                               \
    const auto _c = ::papillon::test::compare((actual), (expected), (atol), (rtol)); \
    QVERIFY2(_c.ok, (std::string(what) + ": " + _c.message).c_str());                \
    (stat) = std::max((stat), _c.max_abs_diff);                                      \
  } while (false)

inline void check_config(const Scheduler& s, const Json& resolved, const std::string& c) {
  const Json ours = s.config();
  QCOMPARE(QString::fromStdString(ours.at("_class_name").get<std::string>()),
           QString::fromStdString(s.class_name()));
  for (auto it = ours.begin(); it != ours.end(); ++it) {
    if (it.key() == "_class_name") continue;
    QVERIFY2(resolved.contains(it.key()), (c + ": fixture config lacks " + it.key()).c_str());
    const Json& want = resolved.at(it.key());
    const bool same = (want.is_number() && it.value().is_number())
                          ? want.get<double>() == it.value().get<double>()
                          : want == it.value();
    QVERIFY2(same, (c + ": config key " + it.key() + " is " + it.value().dump() + ", diffusers " +
                    want.dump())
                       .c_str());
  }
}

// A fixture JSON written by Python's json module, whose non-finite numbers (-Infinity, e.g.
// DPM-Solver's lambda_min_clipped) become strings before parsing.
inline Json python_json(const std::string& relative) {
  std::ifstream in(fixture_path(relative));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  for (const std::string tok : {"-Infinity", "Infinity", "NaN"}) {
    const std::string from = ": " + tok;
    const std::string to = ": \"" + tok + "\"";
    for (size_t p = text.find(from); p != std::string::npos; p = text.find(from, p + to.size())) {
      text.replace(p, from.size(), to);
    }
  }
  return Json::parse(text);
}

inline void run_scheduler_case(const std::string& name, const CaseHooks& hooks, CaseStats& st) {
  const Json meta = python_json("schedulers/" + name + ".json");
  const auto file = SafetensorsFile::open(fixture_path("schedulers/" + name + ".safetensors"));
  const Json& cfg = meta.at("config_passed_to_from_config");
  const std::string cls = meta.at("scheduler_class").get<std::string>();
  auto make = [&] { return make_scheduler(cls, cfg); };

  auto sched = make();
  QCOMPARE(QString::fromStdString(sched->class_name()), QString::fromStdString(cls));
  check_config(*sched, meta.at("config_resolved"), name);
  if (QTest::currentTestFailed()) return;
  if (hooks.betas) {
    PAPILLON_CHECK_CLOSE_STAT(hooks.betas(*sched), file.get("betas"), 0, kSigmaRtol,
                              name + " betas", st.table_diff);
  }
  if (hooks.alphas_cumprod) {
    PAPILLON_CHECK_CLOSE_STAT(hooks.alphas_cumprod(*sched), file.get("alphas_cumprod"), 0,
                              kSigmaRtol, name + " alphas_cumprod", st.table_diff);
  }

  for (const Json& run : meta.at("runs")) {
    const int64_t n = run.at("num_inference_steps").get<int64_t>();
    const std::string tag = name + " N=" + std::to_string(n);
    if (run.contains("error")) {
      auto s = make();
      bool threw = false;
      try {
        s->set_timesteps(n);
      } catch (const Error&) {
        threw = true;
      }
      QVERIFY2(threw, (tag + ": diffusers raised " + run.at("error").dump()).c_str());
      continue;
    }
    StepArgs args;
    if (run.at("step_kwargs").contains("eta"))
      args.eta = run.at("step_kwargs").at("eta").get<double>();

    // --- timesteps, sigma, order
    auto s = make();
    s->set_timesteps(n);
    const at::Tensor ts = s->timesteps();
    const bool float_ts = run.at("timesteps_dtype").get<std::string>() == "float32";
    QCOMPARE(ts.scalar_type(), float_ts ? at::kFloat : at::kLong);
    const auto& want_ts = run.at("timesteps");
    QCOMPARE(ts.numel(), static_cast<int64_t>(want_ts.size()));
    if (float_ts) {
      std::vector<float> w;
      for (const auto& v : want_ts)
        w.push_back(static_cast<float>(v.get<double>()));
      PAPILLON_CHECK_CLOSE_STAT(ts, torch::tensor(w), 0, kSigmaRtol, tag + " timesteps",
                                st.table_diff);
    } else {
      for (int64_t i = 0; i < ts.numel(); ++i) {
        QCOMPARE(ts[i].item<int64_t>(), want_ts[static_cast<size_t>(i)].get<int64_t>());
      }
    }
    if (run.at("sigmas").is_array()) {
      std::vector<float> w;
      for (const auto& v : run.at("sigmas"))
        w.push_back(static_cast<float>(v.get<double>()));
      const at::Tensor sig = s->sigmas();
      QVERIFY2(sig.defined(), (tag + ": scheduler has no sigmas").c_str());
      PAPILLON_CHECK_CLOSE_STAT(sig, torch::tensor(w), 0, kSigmaRtol, tag + " sigmas",
                                st.table_diff);
    }
    const double ins = run.at("init_noise_sigma").get<double>();
    QVERIFY2(std::abs(s->init_noise_sigma() - ins) <= kSigmaRtol * std::abs(ins),
             (tag + ": init_noise_sigma " + std::to_string(s->init_noise_sigma())).c_str());
    QCOMPARE(s->order(), run.at("order").get<int>());

    const int64_t steps = run.at("num_steps_traced").get<int64_t>();
    QCOMPARE(steps, ts.numel());
    const at::Tensor x_init = file.get("n" + std::to_string(n) + ".x_init");
    PAPILLON_EXPECT_CLOSE(x_init, file.get("x0") * ins, 0, 1e-6, tag + " x_init");
    const at::IntArrayRef shape = x_init.sizes();

    // --- teacher-forced: each step from the fixture's sample and model output
    {
      auto gen = Generators::from_seed(7);
      args.generators = &gen;
      for (int64_t i = 0; i < steps; ++i) {
        const double t = ts[i].item<double>();
        const at::Tensor sample = i == 0 ? x_init : file.get(step_key(n, i - 1, "prev_sample"));
        const at::Tensor model_in = s->scale_model_input(sample, t);
        at::Tensor ref_in = model_in;
        if (file.contains(step_key(n, i, "model_in"))) {
          ref_in = file.get(step_key(n, i, "model_in"));
          PAPILLON_CHECK_CLOSE_STAT(model_in, ref_in, kStepTol, kStepTol,
                                    tag + " step " + std::to_string(i) + " model_in", st.step_diff);
        }
        const at::Tensor model_out = file.contains(step_key(n, i, "model_out"))
                                         ? file.get(step_key(n, i, "model_out"))
                                         : fake_model(ref_in, t);
        const auto out = s->step(model_out, t, sample, args);
        PAPILLON_CHECK_CLOSE_STAT(
            out.prev_sample, file.get(step_key(n, i, "prev_sample")), kStepTol, kStepTol,
            tag + " step " + std::to_string(i) + " prev_sample", st.step_diff);
        if (file.contains(step_key(n, i, "pred_original_sample"))) {
          QVERIFY2(out.pred_original_sample.defined(), "pred_original_sample missing");
          PAPILLON_CHECK_CLOSE_STAT(
              out.pred_original_sample, file.get(step_key(n, i, "pred_original_sample")), kStepTol,
              kStepTol, tag + " step " + std::to_string(i) + " x0", st.step_diff);
        }
      }
    }

    // --- free-running with the fake model, and the RNG draw count
    {
      auto fr = make();
      fr->set_timesteps(n);
      auto gen = Generators::from_seed(7);
      args.generators = &gen;
      at::Tensor x = x_init;
      for (int64_t i = 0; i < steps; ++i) {
        const double t = ts[i].item<double>();
        const at::Tensor model_in = fr->scale_model_input(x, t);
        x = fr->step(fake_model(model_in, t), t, x, args).prev_sample;
        const at::Tensor want = file.get(step_key(n, i, "prev_sample"));
        const double scale = std::max(1.0, want.abs().max().item<double>());
        const auto c = compare(x, want, kTraceTol * scale, 0);
        QVERIFY2(c.ok,
                 (tag + " free-running step " + std::to_string(i) + ": " + c.message).c_str());
        st.trace_diff = std::max(st.trace_diff, c.max_abs_diff / scale);
      }
      // The generator must have made exactly num_rng_draws draws of the sample's shape.
      const int64_t draws = run.at("num_rng_draws").get<int64_t>();
      auto ref = Generators::from_seed(7);
      for (int64_t k = 0; k < draws; ++k) {
        const at::Tensor d = ref.randn(shape);
        if (file.contains(rng_key(n, k))) {
          PAPILLON_EXPECT_CLOSE(d, file.get(rng_key(n, k)), 0, 0, tag + " rng draw");
        }
      }
      QVERIFY2(!file.contains(rng_key(n, draws)), (tag + ": more draws stored").c_str());
      PAPILLON_EXPECT_CLOSE(gen.randn(shape), ref.randn(shape), 0, 0,
                            tag + " generator position after the trace (draw count)");
    }
  }

  // --- add_noise on a fresh scheduler after set_timesteps(10)
  {
    auto s = make();
    s->set_timesteps(10);
    const at::Tensor t = file.get("add_noise.timesteps");
    const int64_t b = t.size(0);
    const at::Tensor out = s->add_noise(file.get("add_noise.clean").slice(0, 0, b),
                                        file.get("add_noise.noise").slice(0, 0, b), t);
    PAPILLON_CHECK_CLOSE_STAT(out, file.get("add_noise.out"), kStepTol, kStepTol,
                              name + " add_noise", st.add_noise_diff);
  }
}

}  // namespace papillon::test
