// DDPMScheduler against every ddpm__* fixture case (diffusers 0.27.2), plus the factory's
// from_config conversion rule and config errors.
#include <torch/torch.h>
#include <QtTest/QtTest>

#include "core/schedulers/scheduling_ddpm.h"
#include "tests/schedulers/scheduler_cases.h"

using namespace papillon;
using namespace papillon::test;

class TestSchedulerDdpm : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  void fixture_cases_data() {
    QTest::addColumn<QString>("name");
    const auto cases = scheduler_cases("ddpm__");
    QVERIFY(cases.size() >= 4);
    for (const auto& c : cases)
      QTest::newRow(c.c_str()) << QString::fromStdString(c);
  }

  void fixture_cases() {
    QFETCH(QString, name);
    CaseHooks hooks;
    hooks.betas = [](const Scheduler& s) { return dynamic_cast<const DDPMScheduler&>(s).betas(); };
    hooks.alphas_cumprod = [](const Scheduler& s) {
      return dynamic_cast<const DDPMScheduler&>(s).alphas_cumprod();
    };
    CaseStats st;
    run_scheduler_case(name.toStdString(), hooks, st);
    qInfo("%s: max diff step %.3g, trace %.3g (rel), tables %.3g, add_noise %.3g", qPrintable(name),
          st.step_diff, st.trace_diff, st.table_diff, st.add_noise_diff);
  }

  // The ddpm_tiny folder's scheduler_config.json: keys it has are taken, the rest are defaults.
  void folder_config() {
    const Json cfg = fixture_json("pipelines/ddpm_tiny/scheduler/scheduler_config.json");
    auto s = make_scheduler("ddpm", cfg);
    QCOMPARE(QString::fromStdString(s->class_name()), QString("DDPMScheduler"));
    const Json resolved = s->config();
    for (auto it = cfg.begin(); it != cfg.end(); ++it) {
      if (it.key()[0] == '_' || !resolved.contains(it.key())) continue;
      QVERIFY2(resolved.at(it.key()) == it.value(), it.key().c_str());
    }
    QCOMPARE(resolved.at("rescale_betas_zero_snr").get<bool>(), false);
  }

  void wrong_type_names_key() {
    Json cfg = {{"clip_sample", "yes"}};
    try {
      make_scheduler("ddpm", cfg);
      QFAIL("a string clip_sample was accepted");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("clip_sample") != std::string::npos, e.what());
    }
    try {
      make_scheduler("ddpm", Json::object(), {{"variance_type", "fixed_medium"}});
      QFAIL("an unknown variance_type was accepted");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("variance_type") != std::string::npos, e.what());
    }
    try {
      make_scheduler("no-such-scheduler", Json::object());
      QFAIL("an unknown scheduler name was accepted");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("ddim") != std::string::npos, e.what());
    }
  }

  // Options the fixtures do not cover: rescale_betas_zero_snr gives alphas_cumprod[-1] == 0 and
  // keeps alphas_cumprod[0]; dynamic thresholding clamps x0 to [-s, s] / s with s in [1, max].
  void rescale_and_threshold() {
    auto s = make_scheduler("ddpm", {{"beta_schedule", "scaled_linear"},
                                     {"beta_start", 0.00085},
                                     {"beta_end", 0.012},
                                     {"rescale_betas_zero_snr", true}});
    auto plain = make_scheduler(
        "ddpm", {{"beta_schedule", "scaled_linear"}, {"beta_start", 0.00085}, {"beta_end", 0.012}});
    const auto& a = dynamic_cast<const DDPMScheduler&>(*s).alphas_cumprod();
    const auto& b = dynamic_cast<const DDPMScheduler&>(*plain).alphas_cumprod();
    QVERIFY(std::abs(a[-1].item<double>()) < 1e-12);
    QVERIFY(std::abs(a[0].item<double>() - b[0].item<double>()) < 1e-6);

    const at::Tensor x = torch::linspace(-4, 4, 2 * 3 * 4 * 4).reshape({2, 3, 4, 4});
    const at::Tensor y = threshold_sample(x, 0.5, 3.0);
    // per sample: s = clamp(quantile(|x|, 0.5), 1, 3); values inside [-1, 1]
    QVERIFY(y.abs().max().item<double>() <= 1.0 + 1e-6);
    const at::Tensor row = x[0].reshape({-1});
    const double q = at::quantile(row.abs(), 0.5).item<double>();
    const double sv = std::min(std::max(q, 1.0), 3.0);
    QVERIFY(std::abs(y[0][0][0][0].item<double>() - std::max(-sv, -4.0) / sv) < 1e-6);
  }
};

QTEST_APPLESS_MAIN(TestSchedulerDdpm)
#include "tst_scheduler_ddpm.moc"
