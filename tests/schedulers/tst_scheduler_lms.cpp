// LMSDiscreteScheduler against every lms__* fixture case (diffusers 0.27.2): timesteps, sigmas,
// init_noise_sigma, teacher-forced and free-running traces, RNG draws, add_noise.
#include <torch/torch.h>
#include <QtTest/QtTest>

#include "core/schedulers/scheduling_lms_discrete.h"
#include "tests/schedulers/scheduler_cases.h"

using namespace papillon;
using namespace papillon::test;

class TestSchedulerLms : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }
  void fixture_cases_data() { add_case_rows("lms__", 1); }
  void fixture_cases() { PAPILLON_RUN_SCHEDULER_CASE(hooks_for<LMSDiscreteScheduler>()); }

  // The quad replacement: exact for polynomials in one Gauss-Kronrod panel, adaptive otherwise,
  // and reversed bounds give the negated integral (LMS integrates from sigma_t down to sigma_t+1).
  void quadrature() {
    const auto cubic = [](double x) { return (x - 1) * (x - 3) * (x + 0.5); };
    const auto antiderivative = [](double x) {
      return x * x * x * x / 4 - 3.5 * x * x * x / 3 + x * x / 2 + 1.5 * x;
    };
    const double want = antiderivative(0.5) - antiderivative(2.0);
    QVERIFY(std::abs(integrate_gk21(cubic, 2.0, 0.5) - want) < 1e-12);
    const double pi = std::acos(-1.0);
    QVERIFY(std::abs(integrate_gk21([](double x) { return std::sin(x); }, 0, pi) - 2) < 1e-12);
    // sqrt has an endpoint singularity in its derivative: needs subdivision to reach 1e-10
    const double r = integrate_gk21([](double x) { return std::sqrt(x); }, 0, 1, 0, 1e-10);
    QVERIFY2(std::abs(r - 2.0 / 3.0) < 1e-10, std::to_string(r).c_str());
  }
};

QTEST_APPLESS_MAIN(TestSchedulerLms)
#include "tst_scheduler_lms.moc"
