// EulerDiscreteScheduler against every euler__* fixture case (diffusers 0.27.2): float32 timesteps,
// sigmas, init_noise_sigma, scale_model_input, teacher-forced and free-running traces, RNG draws,
// add_noise.
#include <torch/torch.h>
#include <QtTest/QtTest>

#include "core/schedulers/scheduling_euler_discrete.h"
#include "tests/schedulers/scheduler_cases.h"

using namespace papillon;
using namespace papillon::test;

class TestSchedulerEuler : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }
  void fixture_cases_data() { add_case_rows("euler__", 2); }
  void fixture_cases() { PAPILLON_RUN_SCHEDULER_CASE(hooks_for<EulerDiscreteScheduler>()); }

  // Churn (Karras et al. Algorithm 2), which the fixtures do not cover: outside [s_tmin, s_tmax]
  // the step equals the churn-free one; inside, the sample is first raised to sigma_hat =
  // sigma * (1 + gamma), gamma = min(s_churn / (len(sigmas) - 1), sqrt(2) - 1), with the step's
  // own noise draw (one per step either way).
  void churn() {
    const Json cfg = {
        {"beta_schedule", "scaled_linear"}, {"beta_start", 0.00085}, {"beta_end", 0.012}};
    auto plain = make_scheduler("euler", cfg);
    auto churned = make_scheduler("euler", cfg);
    plain->set_timesteps(10);
    churned->set_timesteps(10);
    const at::Tensor sig = plain->sigmas();
    auto g_ref = Generators::from_seed(3);
    const at::Tensor x0 = g_ref.randn({1, 4, 8, 8}) * plain->init_noise_sigma();
    auto g1 = Generators::from_seed(7);
    auto g2 = Generators::from_seed(7);
    StepArgs a1, a2;
    a1.generators = &g1;
    a2.generators = &g2;
    a2.s_churn = 100;  // gamma capped at sqrt(2) - 1
    a2.s_tmin = 1.0;
    a2.s_tmax = 5.0;
    at::Tensor x = x0;
    for (int64_t i = 0; i < 10; ++i) {
      const double t = plain->timesteps()[i].item<double>();
      const at::Tensor mo = fake_model(plain->scale_model_input(x, t), t);
      churned->scale_model_input(x, t);
      auto replay = Generators::from_seed(7);
      for (int64_t k = 0; k < i; ++k)
        replay.randn({1, 4, 8, 8});
      const at::Tensor noise = replay.randn({1, 4, 8, 8});
      const at::Tensor a = plain->step(mo, t, x, a1).prev_sample;
      const at::Tensor b = churned->step(mo, t, x, a2).prev_sample;
      const double sigma = sig[i].item<float>();
      if (sigma < 1.0 || sigma > 5.0) {
        PAPILLON_EXPECT_CLOSE(b, a, 0, 0, "outside the churn window");
      } else {
        const at::Tensor s = sig[i];
        const at::Tensor s_hat = s * (std::sqrt(2.0) - 1 + 1);
        const at::Tensor xr = x + noise * (s_hat.pow(2) - s.pow(2)).pow(0.5);
        const at::Tensor want = xr + ((xr - (xr - s_hat * mo)) / s_hat) * (sig[i + 1] - s_hat);
        PAPILLON_EXPECT_CLOSE(b, want, 1e-6, 1e-6, "inside the churn window");
        QVERIFY((b - a).abs().max().item<double>() > 1e-3);
      }
      x = a;
    }
    // both generators made exactly one draw per step
    PAPILLON_EXPECT_CLOSE(g1.randn({1, 4, 8, 8}), g2.randn({1, 4, 8, 8}), 0, 0, "draw count");
  }
};

QTEST_APPLESS_MAIN(TestSchedulerEuler)
#include "tst_scheduler_euler.moc"
